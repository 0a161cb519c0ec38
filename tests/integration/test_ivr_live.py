"""IVR flows on live calls: sipp callers keying RFC 2833 DTMF into the sandbox Asterisk, the IVR
runner driving their channels over ARI, every step checked in the journal (call_events).

The real StasisApp runs in this process (events -> router -> run_call with the script its
IvrService picks for the dialled number, the ACD as queue desk, the trunk as outside line), so
the clock, the CRM and the far end of a transfer can be arranged by each test.
"""

from __future__ import annotations

import array
import asyncio
import hashlib
import math
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pbxproc import read_calls
from polling import eventually
from sandbox import (
    CALLER_MEDIA_RANGE,
    SIPP_DIR,
    Sandbox,
    SippAgent,
    SippResult,
    caller_dtmf_scenario,
    free_media_port,
    run_sipp_async,
)

from pbx_stasis.app import StasisApp
from pbx_stasis.ari import AriError
from pbx_stasis.bus import Bus
from pbx_stasis.config import (
    AriSettings,
    DatabaseSettings,
    IvrSettings,
    RecordingSettings,
    Settings,
)
from pbx_stasis.store import CallRecord, CallRecords, Database, JournalEntry

pytestmark = pytest.mark.integration

G711A_VOICE = Path("/usr/share/sip-tester/g711a.pcap")  # ~7 s of speech, PCMA, 30 ms packets
FRIDAY_MORNING = datetime.fromisoformat("2026-11-20T10:00:00+04:00")


class Clock:
    """The clock the flows read (schedules, time variables); tests set it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class LiveIvr:
    """The real StasisApp (`pbx`) on the sandbox, in this process, with a clock of the test's."""

    def __init__(self, sandbox: Sandbox, db: Database, recordings: Path, clock: Clock) -> None:
        settings = Settings(
            ari=AriSettings(url=sandbox.ari_url, user=sandbox.user, password=sandbox.password),
            database=DatabaseSettings(url=str(db.url)),
            recordings=RecordingSettings(dir=str(recordings)),
            # The test CRM listens on 127.0.0.1: the tenant is opted in to internal lookups.
            ivr=IvrSettings(internal_lookups=("default",)),
        )
        self.sandbox = sandbox
        self.db = db
        self.bus = Bus()
        self.app = StasisApp(settings, db, self.bus, clock=lambda: clock.now.timestamp())
        self.ari = self.app.ari
        self.service = self.app.ivr
        self.recordings = self.app.recordings
        self.router = self.app.router
        self._callers = 0

    @property
    def tenant_id(self) -> int:
        return self.app.tenant_id

    async def start(self) -> None:
        await self.app.start()
        async with asyncio.timeout(15):
            await self.app.events.wait_connected()

    async def stop(self) -> None:
        await self.app.stop()

    async def apply(self, text: str, file: str = "flows.yaml") -> int:
        applied = await self.service.apply(self.tenant_id, [(file, text)], "test")
        assert applied.version is not None, [str(p) for p in applied.problems]
        return applied.version.number

    async def call(
        self, scenario: str | Path, did: str, caller: str = "+15551230000", **options: Any
    ) -> SippResult:
        # Callers started together must not pick the same media ports.
        self._callers += 1
        media_port = free_media_port(low=CALLER_MEDIA_RANGE[0] + (self._callers % 60) * 40)
        result = await run_sipp_async(
            scenario,
            self.sandbox.sip_target,
            service=did,
            caller=caller,
            media_port=media_port,
            timeout=options.pop("timeout", 20),
            **options,
        )
        assert result.ok, result.describe()
        return result

    async def settled(self, within: float = 10.0) -> None:
        """Wait until every call task is over (records closed, journal written)."""
        await eventually(lambda: self.router.live_calls, until=lambda live: not live,
                         within=within, what="no call still running")

    async def journals(self) -> list[tuple[CallRecord, list[JournalEntry]]]:
        await self.settled()
        await self.app.db.writes.settle()
        return await read_calls(str(self.db.url))

    async def journal_of(self, caller: str) -> tuple[CallRecord, list[JournalEntry]]:
        found = [(r, j) for r, j in await self.journals() if r.from_number == caller]
        assert len(found) == 1, f"{len(found)} calls from {caller}"
        return found[0]


@asynccontextmanager
async def live_ivr(
    sandbox: Sandbox, sqlite_template: Path, tmp_path: Path, clock: Clock | None = None
) -> AsyncIterator[LiveIvr]:
    db_path = tmp_path / "pbx.db"
    shutil.copyfile(sqlite_template, db_path)
    db = Database.connect(f"sqlite+aiosqlite:///{db_path}")
    app = LiveIvr(sandbox, db, tmp_path / "recordings", clock or Clock(FRIDAY_MORNING))
    try:
        await app.start()
        yield app
    finally:
        await app.stop()
        await db.dispose()


def story(journal: list[JournalEntry]) -> list[str]:
    """The IVR's journal lines of one call as short readable lines."""
    lines: list[str] = []
    for entry in journal:
        d = entry.data
        if entry.event == "ivr.enter":
            lines.append(f"enter {d['node']}")
        elif entry.event == "ivr.leave":
            extra = f" {d['digits']}" if d.get("digits") else ""
            lines.append(f"leave {d['node']} {d['result']}{extra}")
        elif entry.event == "ivr.input":
            lines.append(f"input {d['node']} {d['result']} {d['digits']}".rstrip())
        elif entry.event == "ivr.end":
            lines.append(f"end {d['outcome']}")
        elif entry.event == "ivr.language":
            continue  # the call's language, for the transcription worker: not a step of the walk
        elif entry.event.startswith(("ivr.", "transfer.")):
            lines.append(entry.event)
    return lines


def data_of(journal: list[JournalEntry], event: str, **match: object) -> dict[str, Any]:
    found = [
        e.data for e in journal
        if e.event == event and all(e.data.get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, f"{event} {match}: {found}"
    return found[0]


def _scenario_copy(
    source: Path, directory: Path, name: str, edit: Callable[[str], str]
) -> Path:
    text = edit(source.read_text())
    path = directory / name
    path.write_text(text)
    return path


def _pcma(text: str) -> str:
    """Offer PCMA (what the speech capture is) instead of PCMU."""
    return text.replace("RTP/AVP 0 101", "RTP/AVP 8 101").replace(
        "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000"
    )


def _speak() -> str:
    return f'<nop><action><exec play_pcap_audio="{G711A_VOICE}"/></action></nop>'


def talking_caller(directory: Path) -> Path:
    """A caller that speaks from the moment it is answered and hangs up after key `talk_ms`."""
    return _scenario_copy(
        SIPP_DIR / "caller-hangs-up.xml",
        directory,
        "caller-talks.xml",
        lambda text: _pcma(text).replace(
            '<pause variable="talk"/>', f'{_speak()}\n  <pause variable="talk"/>'
        ),
    )


def talking_caller_ending_with(directory: Path, key: str, talk_ms: int) -> Path:
    """A caller that speaks for `talk_ms`, then keys `key`, then waits for the BYE."""
    base = caller_dtmf_scenario(key, directory, first_delay_ms=talk_ms)
    return _scenario_copy(
        base,
        directory,
        f"caller-talks-then-{'pound' if key == '#' else key}.xml",
        lambda text: _pcma(text).replace(
            "<!-- dtmf:begin -->", f"{_speak()}\n  <!-- dtmf:begin -->", 1
        ),
    )


def rms(pcm16: bytes) -> float:
    samples = array.array("h", pcm16[: len(pcm16) - len(pcm16) % 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


# --- menus ----------------------------------------------------------------------------------

MENUS = """
flows:
  menus:
    dids: ["+15550001"]
    entry: main
    prompts:
      main: {en: {file: digits/1}}
      sub: {en: {file: digits/2}}
      invalid: {en: {file: digits/3}}
      no_key: {en: {file: digits/4}}
      thanks: {en: {file: beep}}
    nodes:
      main:
        kind: menu
        prompts: main
        options: {"4": sub, "5": thanks}
        timeout: 1
        max_retries: 1
        invalid_prompts: invalid
        timeout_prompts: no_key
        on_failure: gave_up
      sub:
        kind: menu
        prompts: sub
        options: {"6": thanks, "*": main}
        timeout: 3
        on_failure: gave_up
      thanks: {kind: play, prompts: thanks, next: bye}
      gave_up: {kind: hangup, cause: busy}
      bye: {kind: hangup}
"""


async def test_caller_walks_a_two_level_menu_and_another_times_out(
    sandbox: Sandbox, sqlite_template: Path, tmp_path: Path
) -> None:
    async with live_ivr(sandbox, sqlite_template, tmp_path) as app:
        await app.apply(MENUS)
        # 2 is no option (invalid), 4 opens the sub menu during the replayed prompts, 6 there.
        # (The sipp DTMF captures carry fixed RTP sequence numbers; Asterisk drops a digit
        # whose numbers go backwards, so a caller's keys follow 1..9, *, #, 0 order.)
        walker = caller_dtmf_scenario("246", tmp_path, first_delay_ms=1200, gap_ms=700)
        await asyncio.gather(
            app.call(walker, "+15550001", caller="+15550101"),
            app.call(SIPP_DIR / "caller-waits-bye.xml", "+15550001", caller="+15550102"),
        )
        record, journal = await app.journal_of("+15550101")
        assert story(journal) == [
            "ivr.start",
            "enter main",
            "input main invalid 2",
            "leave main option 4",
            "enter sub",
            "leave sub option 6",
            "enter thanks",
            "leave thanks played",
            "enter bye",
            "leave bye hangup",
            "end hung_up",
        ]
        assert journal[0].event == "CALLSTART" and journal[1].event == "ANSWER"
        assert journal[-1].event == "CALLEND" and journal[-1].data["by"] == "app"
        assert data_of(journal, "ivr.start")["version"] == 1
        assert data_of(journal, "ivr.start")["did"] == "+15550001"
        assert record.hangup_cause == 16

        silent_record, silent = await app.journal_of("+15550102")
        assert story(silent) == [
            "ivr.start",
            "enter main",
            "input main timeout",
            "input main timeout",
            "leave main failed",
            "enter gave_up",
            "leave gave_up hangup",
            "end hung_up",
        ]
        assert silent_record.hangup_cause == 17  # the hangup node's cause: busy
        assert silent[-1].data["by"] == "app"
        timeouts = [e for e in silent if e.event == "ivr.input"]
        # each wait lasted the menu's timeout after its prompt (about 1 s), not less
        assert (timeouts[1].at - timeouts[0].at).total_seconds() > 1.5


# --- schedule -------------------------------------------------------------------------------

HOURS = """
flows:
  hours:
    dids: ["+15550002"]
    entry: hours
    timezone: Asia/Dubai
    prompts:
      open: {en: {file: digits/1}}
      closed: {en: {file: digits/2}}
    nodes:
      hours:
        kind: schedule
        weekly: {mon-fri: "08:00-20:00", sat: "09:00-14:00"}
        exceptions:
          - {date: "2026-12-02", until: "2026-12-03", name: National Day}
        open: open
        closed: closed
      open: {kind: play, prompts: open, next: bye}
      closed: {kind: play, prompts: closed, next: bye}
      bye: {kind: hangup}
"""


async def test_schedule_branches_on_the_injected_clock(
    sandbox: Sandbox, sqlite_template: Path, tmp_path: Path
) -> None:
    clock = Clock(FRIDAY_MORNING)
    async with live_ivr(sandbox, sqlite_template, tmp_path, clock) as app:
        await app.apply(HOURS)
        moments = {
            "+15550201": "2026-11-20T10:00:00+04:00",  # Friday morning: open
            "+15550202": "2026-11-20T21:00:00+04:00",  # Friday night: closed
            "+15550203": "2026-12-02T10:00:00+04:00",  # a Wednesday, but National Day
        }
        for caller, moment in moments.items():
            clock.now = datetime.fromisoformat(moment)
            await app.call(SIPP_DIR / "caller-waits-bye.xml", "+15550002", caller=caller)
            await app.settled()
        results = {}
        for caller in moments:
            _, journal = await app.journal_of(caller)
            results[caller] = data_of(journal, "ivr.leave", node="hours")
            assert story(journal)[-1] == "end hung_up"
        assert results["+15550201"]["result"] == "open"
        assert results["+15550202"]["result"] == "closed"
        assert results["+15550203"]["result"] == "closed"
        assert results["+15550203"]["exception"] == "National Day"
        assert "exception" not in results["+15550202"]


# --- lookup ---------------------------------------------------------------------------------

LOOKUP = """
flows:
  crm:
    dids: ["+15550003"]
    entry: lookup
    variables: {tier: unknown}
    prompts:
      gold: {en: {file: digits/1}}
      other: {en: {file: digits/2}}
      sorry: {en: {file: digits/3}}
    nodes:
      lookup:
        kind: lookup
        url: "http://127.0.0.1:PORT/customers?caller=${caller}"
        timeout: 1
        into: {tier: customer.tier}
        next: check
        on_failure: sorry
      check:
        kind: branch
        cases:
          - {if: 'tier == "gold"', next: gold}
        else: other
      gold: {kind: play, prompts: gold, next: bye}
      other: {kind: play, prompts: other, next: bye}
      sorry: {kind: play, prompts: sorry, next: bye}
      bye: {kind: hangup}
"""


@asynccontextmanager
async def crm_server(seen: list[str]) -> AsyncIterator[int]:
    """A CRM that knows one gold customer and is too slow for +15550302."""

    async def customers(request: web.Request) -> web.StreamResponse:
        caller = request.query.get("caller", "")
        seen.append(caller)
        if caller == "+15550302":
            await asyncio.sleep(3)  # on purpose: slower than the IVR's lookup timeout
        return web.json_response({"customer": {"name": "Layla", "tier": "gold"}})

    app = web.Application()
    app.router.add_get("/customers", customers)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_lookup_answers_and_times_out(
    sandbox: Sandbox, sqlite_template: Path, tmp_path: Path
) -> None:
    seen: list[str] = []
    async with crm_server(seen) as port, live_ivr(sandbox, sqlite_template, tmp_path) as app:
        await app.apply(LOOKUP.replace("PORT", str(port)))
        waits = SIPP_DIR / "caller-waits-bye.xml"
        await asyncio.gather(
            app.call(waits, "+15550003", caller="+15550301"),
            app.call(waits, "+15550003", caller="+15550302"),
        )
        _, known = await app.journal_of("+15550301")
        assert story(known) == [
            "ivr.start",
            "enter lookup",
            "leave lookup ok",
            "enter check",
            "leave check case 1",
            "enter gold",
            "leave gold played",
            "enter bye",
            "leave bye hangup",
            "end hung_up",
        ]
        assert data_of(known, "ivr.leave", node="lookup")["status"] == 200

        _, slow = await app.journal_of("+15550302")
        failed = data_of(slow, "ivr.leave", node="lookup")
        assert failed["result"] == "failed" and failed["reason"] == "timeout"
        assert "enter sorry" in story(slow)
        lookup_started = next(e.at for e in slow if e.event == "ivr.enter")
        lookup_left = next(e.at for e in slow if e.event == "ivr.leave")
        assert 0.9 < (lookup_left - lookup_started).total_seconds() < 2.0
        assert sorted(seen) == ["+15550301", "+15550302"]  # ${caller} was URL-encoded and sent


# --- transfer to an outside number ---------------------------------------------------------

TRANSFER = """
flows:
  out:
    dids: ["+15550004"]
    entry: connecting
    prompts:
      connecting: {en: {file: beep}}
      sorry: {en: {file: digits/3}}
    nodes:
      connecting: {kind: play, prompts: connecting, next: payments}
      payments:
        kind: transfer
        number: "+14155559001"
        on_failure: sorry
      sorry: {kind: play, prompts: sorry, next: bye}
      bye: {kind: hangup}
"""


async def test_transfer_to_a_number_through_the_trunk(
    sandbox: Sandbox, sqlite_template: Path, tmp_path: Path
) -> None:
    async with live_ivr(sandbox, sqlite_template, tmp_path) as app:
        await app.apply(TRANSFER)
        waits = SIPP_DIR / "caller-waits-bye.xml"
        # The carrier's side of the trunk answers, talks 1.5 s and hangs up.
        with SippAgent(
            "agent-answer-hangs-up.xml",
            sip_port=sandbox.trunk_port,
            media_port=free_media_port(),
            keys={"ring_ms": "200", "talk_ms": "1500"},
            workdir=tmp_path / "far-end",
        ) as far_end:
            await app.call(waits, "+15550004", caller="+15550401")
            await app.settled()
        assert far_end.result is not None and far_end.result.successful == 1, (
            far_end.result.describe() if far_end.result else "no result"
        )
        # Then the number is busy.
        with SippAgent(
            "agent-reject.xml",
            sip_port=sandbox.trunk_port,
            media_port=free_media_port(),
            workdir=tmp_path / "busy",
        ):
            await app.call(waits, "+15550004", caller="+15550402")
            await app.settled()

        _, talked = await app.journal_of("+15550401")
        assert story(talked) == [
            "ivr.start",
            "enter connecting",
            "leave connecting played",
            "enter payments",
            "transfer.dial",
            "transfer.answered",
            "transfer.end",
            "leave payments transferred",
            "end transferred",
        ]
        assert data_of(talked, "transfer.dial")["number"] == "+14155559001"
        assert data_of(talked, "transfer.end")["by"] == "far end"
        answered = next(e.at for e in talked if e.event == "transfer.answered")
        ended = next(e.at for e in talked if e.event == "transfer.end")
        assert 1.2 < (ended - answered).total_seconds() < 3.0  # the far end talked 1.5 s
        assert talked[-1].event == "CALLEND"

        _, busy = await app.journal_of("+15550402")
        assert data_of(busy, "transfer.end")["result"] == "busy"
        assert data_of(busy, "ivr.leave", node="payments")["reason"] == "busy"
        assert "enter sorry" in story(busy)
        assert story(busy)[-1] == "end hung_up"
        # no bridge or far leg left behind
        assert await app.ari.bridges.list() == []


# --- voicemail --------------------------------------------------------------------------------

VOICEMAIL = """
flows:
  vm:
    dids: ["+15550005"]
    entry: message
    prompts:
      thanks: {en: {file: beep}}
    nodes:
      message:
        kind: voicemail
        queue: support
        max_seconds: 30
        max_silence: 20
        next: thanks
      thanks: {kind: play, prompts: thanks, next: bye}
      bye: {kind: hangup}
"""


async def test_voicemail_is_recorded_and_kept_with_its_duration(
    sandbox: Sandbox, sqlite_template: Path, tmp_path: Path
) -> None:
    async with live_ivr(sandbox, sqlite_template, tmp_path) as app:
        await app.apply(VOICEMAIL)
        await asyncio.gather(
            # speaks 3.5 s from the answer (the beep takes ~0.5 s of it), then hangs up
            app.call(
                talking_caller(tmp_path), "+15550005", caller="+15550501",
                keys={"talk_ms": "3500"},
            ),
            # speaks 2.5 s, then ends the message with # and stays for the rest of the flow
            app.call(
                talking_caller_ending_with(tmp_path, "#", 2500), "+15550005", caller="+15550502"
            ),
        )
        for caller, expected, story_end in (
            ("+15550501", 3.0, ["ivr.voicemail", "leave message caller_hung_up",
                                "end caller_hung_up"]),
            ("+15550502", 2.0, ["ivr.voicemail", "leave message recorded", "enter thanks",
                                "leave thanks played", "enter bye", "leave bye hangup",
                                "end hung_up"]),
        ):
            record, journal = await app.journal_of(caller)
            assert story(journal)[-len(story_end):] == story_end, story(journal)
            [kept] = await app.recordings.for_call(record.id)
            assert abs(kept.duration_seconds - expected) < 1.0, kept
            assert kept.kind == "voicemail"
            assert (kept.mailbox_kind, kept.mailbox) == ("queue", "support")
            assert data_of(journal, "ivr.voicemail")["recording"] == kept.id
            path = app.recordings.path_of(kept)
            data = path.read_bytes()
            assert len(data) == kept.size_bytes
            assert hashlib.sha256(data).hexdigest() == kept.sha256
            assert data[:4] == b"RIFF" and rms(data[44:]) > 200  # the caller's voice, not silence
            with pytest.raises(AriError) as gone:  # taken out of Asterisk's spool
                await app.ari.recordings.get_stored(kept.name)
            assert gone.value.status == 404
        _, keyed = await app.journal_of("+15550502")
        left = data_of(keyed, "ivr.leave", node="message")
        assert left["recording"] == data_of(keyed, "ivr.voicemail")["recording"]


# --- versions and hot reload -----------------------------------------------------------------

RELOAD_V1 = """
flows:
  reload:
    dids: ["+15550006"]
    entry: menu
    prompts:
      menu: {en: {file: digits/1}}
      first: {en: {file: beep}}
    nodes:
      menu: {kind: menu, prompts: menu, options: {"1": first_version}, timeout: 5,
             on_failure: bye}
      first_version: {kind: play, prompts: first, next: bye}
      bye: {kind: hangup}
"""

RELOAD_V2 = RELOAD_V1.replace("first_version", "second_version").replace(
    "first: {en: {file: beep}}", "first: {en: {file: digits/2}}"
)


async def test_hot_reload_leaves_a_call_in_progress_on_its_version(
    sandbox: Sandbox, sqlite_template: Path, tmp_path: Path
) -> None:
    async with live_ivr(sandbox, sqlite_template, tmp_path) as app:
        assert await app.apply(RELOAD_V1) == 1
        updates = app.bus.subscribe(["ivr:updated"])
        slow_key = caller_dtmf_scenario("1", tmp_path, first_delay_ms=3000)
        in_progress = asyncio.create_task(app.call(slow_key, "+15550006", caller="+15550601"))
        # wait until that call waits in the menu, then install version 2
        await eventually(
            lambda: read_calls(str(app.db.url)), within=10, every=0.1,
            until=lambda calls: any(e.event == "ivr.enter" for _, j in calls for e in j))
        assert await app.apply(RELOAD_V2) == 2
        assert updates.get_nowait() is not None
        await app.call(caller_dtmf_scenario("1", tmp_path, first_delay_ms=1000), "+15550006",
                       caller="+15550602")
        await in_progress

        _, old = await app.journal_of("+15550601")
        _, new = await app.journal_of("+15550602")
        assert data_of(old, "ivr.start")["version"] == 1
        assert "enter first_version" in story(old)
        assert data_of(new, "ivr.start")["version"] == 2
        assert "enter second_version" in story(new)
        assert [v.number for v in await app.service.list_versions(app.tenant_id)] == [2, 1]
        assert "+      second_version" in await app.service.diff(app.tenant_id, 1, 2)


async def test_a_version_with_missing_sounds_is_refused_and_the_live_one_serves(
    sandbox: Sandbox, sqlite_template: Path, tmp_path: Path
) -> None:
    async with live_ivr(sandbox, sqlite_template, tmp_path) as app:
        await app.apply(RELOAD_V1)
        broken = RELOAD_V1.replace("{file: beep}", "{file: pbx/never-recorded}")
        applied = await app.service.apply(app.tenant_id, [("flows.yaml", broken)], "test")
        assert applied.version is None
        [problem] = applied.problems
        assert str(problem).startswith("flows.yaml:8:")
        assert "en/pbx/never-recorded" in problem.message
        live = app.service.live(app.tenant_id)
        assert live is not None and live.number == 1
        await app.call(caller_dtmf_scenario("1", tmp_path, first_delay_ms=1000), "+15550006",
                       caller="+15550701")
        _, journal = await app.journal_of("+15550701")
        assert "enter first_version" in story(journal)


# --- queue node into the real ACD -------------------------------------------------------------

QUEUE = """
flows:
  queued:
    dids: ["+15550008"]
    entry: vip
    variables: {priority: 3}
    prompts:
      hold: {en: {file: beep}}
      busy: {en: {file: digits/3}}
    nodes:
      vip: {kind: set, variables: {priority: 7}, next: hold}
      hold: {kind: play, prompts: hold, next: in_queue}
      in_queue:
        kind: queue
        queue: "${queue_name}"
        priority: "${priority}"
        skills: {"lang_${language}": 1}
        max_wait: 3
        next: everyone_busy
      everyone_busy: {kind: play, prompts: busy, next: bye}
      bye: {kind: hangup}
"""


async def test_queue_node_enqueues_into_the_acd_and_an_agent_answers(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from callcenter import call_center

    queues: dict[str, dict[str, object]] = {"sales": {}, "empty": {}}
    async with call_center(sandbox, tmp_path, queues) as center:
        app = center.app
        for queue_name, caller in (("sales", "+15550801"), ("empty", "+15550802")):
            flows = QUEUE.replace('"${queue_name}"', queue_name)
            applied = await app.ivr.apply(app.tenant_id, [("queued.yaml", flows)], "test")
            assert applied.version is not None, applied.problems
            if queue_name == "sales":
                agent = await center.add_agent(
                    "ivr-alice", 170, queues={"sales": 0}, skills={"lang_en": 5},
                    scenario="agent-answer-hangs-up.xml",
                    keys={"ring_ms": "200", "talk_ms": "1000"},
                )
            result = await run_sipp_async(
                SIPP_DIR / "caller-waits-bye.xml", sandbox.sip_target, service="+15550008",
                caller=caller, timeout=20, media_port=free_media_port(),
            )
            if not result.ok:  # where the call stopped, as the journal has it so far
                await asyncio.sleep(1)  # the journal's write-behind flush
                lines = [f"{e.at:%H:%M:%S.%f} {e.event} {e.queue or ''} {e.data}"
                         for r, j in await read_calls(str(center.db.url))
                         if r.from_number == caller for e in j]
                raise AssertionError(result.describe() + "\njournal:\n" + "\n".join(lines))
            await center.idle()

        journals = {r.from_number: j for r, j in await read_calls(str(center.db.url))}
        served = journals["+15550801"]
        assert story(served)[-3:] == ["enter in_queue", "leave in_queue answered", "end enqueued"]
        assert data_of(served, "ivr.leave", node="in_queue")["agent"] == agent.username
        [enter] = [e for e in served if e.event == "ENTERQUEUE"]
        assert enter.queue == "sales"
        assert enter.data["priority"] == 7  # the flow's variable, set by the `vip` node
        assert "CONNECT" in [e.event for e in served]

        waited = journals["+15550802"]
        left = data_of(waited, "ivr.leave", node="in_queue")
        assert left["result"] == "exited" and left["next"] == "everyone_busy"
        assert story(waited)[-1] == "end hung_up"
        assert next(e.event for e in waited if e.queue == "empty") == "ENTERQUEUE"


TO_MAILBOX = """
flows:
  overflowing:
    dids: ["+15550009"]
    entry: in_queue
    nodes:
      in_queue: {kind: queue, queue: sales, max_wait: 2, next: bye}
      bye: {kind: hangup}
  waiting:
    dids: ["+15550010"]
    entry: in_queue
    nodes:
      in_queue: {kind: queue, queue: sales, max_wait: 60, next: bye}
      bye: {kind: hangup}
"""


async def test_callers_sent_to_a_queues_mailbox_leave_their_message(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """By the queue's overflow (max wait) or by a supervisor: the caller leaves the queue's
    bridge before the message is recorded. Asterisk refuses to record a channel it still counts
    in a bridge, and destroying the bridge does not wait for that (a caller a supervisor sent
    to voicemail was once hung up on under load)."""
    from callcenter import call_center

    queues = {"sales": {"overflow": {"kind": "voicemail", "target": "sales"}}}
    async with call_center(sandbox, tmp_path, queues) as center:
        app = center.app
        applied = await app.ivr.apply(app.tenant_id, [("mailbox.yaml", TO_MAILBOX)], "test")
        assert applied.version is not None, applied.problems
        overflowing = [f"+1555090{n}" for n in range(2)]
        sent = [f"+1555091{n}" for n in range(3)]

        async def supervisor() -> None:
            entered = await center.wait_for("ENTERQUEUE", count=len(overflowing) + len(sent))
            for row in entered:
                record = await CallRecords(center.db).get(row.call_id or "")
                if record is not None and record.from_number in sent:
                    await app.acd.to_voicemail(row.call_id or "", by="sup")

        # Each speaks from the answer and hangs up 5.5 s later: ~3 s of message after 2 s in
        # the queue; a supervisor sends the others as soon as all of them wait.
        calls = [
            run_sipp_async(talking_caller(tmp_path), sandbox.sip_target, service=did,
                           caller=caller, timeout=20, keys={"talk_ms": "5500"},
                           media_port=free_media_port(low=CALLER_MEDIA_RANGE[0] + n * 40))
            for n, (did, caller) in enumerate([("+15550009", c) for c in overflowing]
                                              + [("+15550010", c) for c in sent])
        ]
        *results, _ = await asyncio.gather(*calls, supervisor())
        assert all(result.ok for result in results), [r.describe() for r in results]
        await center.idle()
        journals = {r.from_number: (r, j) for r, j in await read_calls(str(center.db.url))}
        for caller in overflowing + sent:
            record, journal = journals[caller]
            events = [e.event for e in journal]
            how = "EXITWITHTIMEOUT" if caller in overflowing else "supervisor.voicemail"
            assert how in events and "ivr.voicemail" in events, (caller, events)
            [kept] = await app.recordings.for_call(record.id)
            assert (kept.kind, kept.mailbox_kind, kept.mailbox) == ("voicemail", "queue", "sales")
            assert kept.duration_seconds > 1.5, kept
            data = app.recordings.path_of(kept).read_bytes()
            assert rms(data[44:]) > 200  # the caller's voice, not the queue's music
