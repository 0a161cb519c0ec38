"""The API fuzz: schemathesis over a running instance's own OpenAPI document, as every role.

A real `pbx run` (web and Stasis app in one process) on a private sandbox Asterisk and SQLite,
seeded like the demo (one user of each role) plus a second tenant with its own admin and agent.
Each persona logs in through the login form, then schemathesis sends generated requests (valid
and invalid) to every operation of /api/openapi.json with that session; last, a visitor without
one. The run fails on any
5xx, on an answer the document does not describe (status code, content type, headers such as
`Allow` on 405), and on an ERROR line or a traceback in the server's log.

Bounded and reproducible: deterministic generation (the same requests on every run), 4
examples per operation in the fuzzing phase, no shrinking, one worker per run, and a time
budget for all the personas together. The time is schemathesis's own CPU (generating, checking:
~90 %; the server answers the requests in the rest), so the runs go in two waves, each run of a
wave started at once to use both cores: first every persona but the first tenant's admin (none
of them can change what another's answers may be), then that admin, the long run (the coverage
phase: 7,500 requests), cut in two halves of the operations side by side. Alone on a quiet
2-core machine the module took 273 s with the admin's run whole and the others one by one (the
CPU used: 1.14 cores on average).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from faults_process import pbx_all
from pbxproc import PbxProcess, pbx_command
from sandbox import Sandbox
from sqlalchemy import select

from pbx_stasis.recording.tables import Recording, RecordingKind
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Call, CallStatus, Direction, User

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
MAX_EXAMPLES = 4  # per operation in the fuzzing phase; the coverage phase adds its own
# Seconds for all the personas together, from the first one's start: a run past it fails
# rather than stalls CI (a run takes 4-7 minutes on a 2-core machine, busy or not).
TIME_BUDGET = 600.0
CHECKS = ",".join(
    [
        "not_a_server_error",  # any 5xx
        "status_code_conformance",  # a status the operation does not document
        "content_type_conformance",  # a content type not documented for that status
        "response_headers_conformance",  # a documented header missing (Location, Allow...)
        "response_schema_conformance",  # an error body that is not the Error schema
        "unsupported_method",  # a method the path does not take must be 405 with Allow
        "allow_header_conformance",  # ...and Allow must list the documented methods
    ]
)
# Operations the fuzz leaves out, and why:
# - POST /logout and /logout/everywhere end the very session the run uses (and every other
#   persona's session of the same user), so every later request would only test the 401 path.
# - GET /ws is the WebSocket feed: an upgrade, not a request/response operation.
# - A route that changes the session's own password (under /api/me) would end the session too.
#   An admin's PATCH /api/users/{id} stays in: the ids it is given are never the admin's own
#   (Instance.known), and the server refuses to disable or demote oneself. The test checks at
#   the end that the session is still alive.
EXCLUDED_PATHS = ("/logout", "/logout/everywhere", "/ws")
EXCLUDED_PATH_PATTERN = r"^/api/me/.*password"
OTHER_TENANT = "globex"
OTHER_PASSWORD = "globex admin password"


# Schemathesis's phases: examples (none in the document), coverage (every boundary and every way
# to be invalid, per parameter: most of the requests) and fuzzing; not the stateful phase: no
# route's answer links to another's input. The coverage phase runs once, as the admin who reaches
# every handler; each other persona checks what differs for it, by fuzzing.
EVERY_PHASE = "examples,coverage,fuzzing"
FUZZING = "examples,fuzzing"


@dataclass(frozen=True)
class Persona:
    tenant: str
    username: str
    role: str
    phases: str = FUZZING
    # Only the operations the role may call (x-roles): every other one answers 403 before it
    # reads anything, which the role x route table (tests/unit/web/test_web_access.py) checks.
    own_operations: bool = False
    examples: int = MAX_EXAMPLES
    # Which part of the operations, of how many (a long run is cut, its parts side by side).
    part: int = 0
    parts: int = 1
    # The wave it runs in, with the wave's other runs. The first tenant's admin goes last: what
    # it changes there (users disabled, queues deleted) would change the others' answers.
    wave: int = 1


PERSONAS = [
    Persona("default", "alice", "agent", own_operations=True),
    Persona("default", "sam", "supervisor", own_operations=True),
    Persona("default", "maya", "manager", own_operations=True),
    # Another tenant's admin on every operation, given the first tenant's ids: all 404.
    Persona(OTHER_TENANT, "gadmin", "admin"),
    *(Persona("default", "adam", "admin", EVERY_PHASE, part=part, parts=2, wave=2)
      for part in range(2)),
]
# Without a session: everything but the public routes must answer 401 (or 303 to the login).
VISITOR = Persona("none", "", "visitor", examples=1)


@dataclass
class Instance:
    base: str
    process: PbxProcess
    passwords: dict[str, str]
    sessions: dict[str, tuple[str, str]]  # username -> (session cookie header, CSRF token)
    known: dict[str, list[str]]  # path parameter -> ids of the first tenant's objects
    operations: list[dict[str, Any]]  # the OpenAPI document's, in its order (read once)
    fuzz_started: float | None = None
    started: dict[Persona, Run] = field(default_factory=dict)  # with their wave, not yet judged

    def fuzz_deadline(self) -> float:
        """When the time budget of the whole fuzz (all personas) runs out."""
        if self.fuzz_started is None:
            self.fuzz_started = time.monotonic()
        return self.fuzz_started + TIME_BUDGET


def _free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _log_in(base: str, persona: Persona, password: str) -> tuple[str, str]:
    """Log in through the login form as a browser would; the session cookie and CSRF token."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page[:500]
    form = urllib.parse.urlencode(
        {"tenant": persona.tenant, "username": persona.username, "password": password,
         "csrf_token": token.group(1), "next": ""}
    ).encode()
    opener.open(f"{base}/login", data=form)  # 303 to the start page, followed
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    me = urllib.request.Request(f"{base}/api/me", headers={"Cookie": cookie})
    with urllib.request.urlopen(me) as answer:
        who = json.loads(answer.read())
    assert who["user"]["username"] == persona.username, who
    return cookie, str(who["csrf_token"])


@contextlib.contextmanager
def running_instance(sandbox: Sandbox, workdir: Path) -> Iterator[Instance]:
    """`pbx run` with the web on a free port, seeded, every persona logged in."""
    port = _free_tcp_port()
    env = {
        **sandbox.app_env(),
        "PBX_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'pbx.db'}",
        "PBX_RECORDINGS_DIR": str(workdir / "recordings"),
        "PBX_WEB_ENABLED": "true",
        "PBX_WEB_PORT": str(port),
        "PYTHONPATH": str(REPO),  # the code of this checkout, whatever the venv installed
    }
    done = pbx_command(["migrate"], env)
    assert done.returncode == 0, done.stderr
    # The demo seed keeps its logins in ./var; the work directory has no pbx.toml either.
    seeded = subprocess.run(
        [sys.executable, "-m", "pbx_stasis.demo", "seed"], env={**os.environ, **env},
        cwd=workdir, capture_output=True, text=True, timeout=120, check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    passwords: dict[str, str] = json.loads((workdir / "var/demo-logins.json").read_text())
    others = (("gadmin", "admin"), ("gagent", "agent"))
    pbx_all(env, *[["user", "add", username, "--role", role, "--tenant", OTHER_TENANT,
                    "--password", OTHER_PASSWORD] for username, role in others])
    passwords.update((username, OTHER_PASSWORD) for username, _ in others)
    known = asyncio.run(_seed_call(env["PBX_DATABASE_URL"], workdir / "recordings"))
    process = PbxProcess(env, workdir / "pbx.log")
    running: Instance | None = None
    try:
        process.wait_for_log("web pages at http://", 60)
        process.wait_for_log("ARI events connected", 30)
        base = f"http://127.0.0.1:{port}"
        # Every persona logs in before any fuzzing: the fuzzed login form counts failed logins
        # against 127.0.0.1.
        sessions = {name: _log_in(base, p, passwords[name])
                    for name, p in {p.username: p for p in PERSONAS}.items()}
        with urllib.request.urlopen(f"{base}/api/openapi.json") as answer:
            document = json.loads(answer.read())
        operations = [operation for methods in document["paths"].values()
                      for operation in methods.values() if isinstance(operation, dict)]
        running = Instance(base, process, passwords, sessions, known, operations)
        yield running
    finally:
        for left in running.started.values() if running is not None else ():
            left.process.kill()  # started with its wave, its test not reached
            left.process.wait()
        process.terminate()


@pytest.fixture(scope="module")
def instance(private_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Instance]:
    with running_instance(private_sandbox, tmp_path_factory.mktemp("fuzz")) as running:
        yield running


async def _seed_call(url: str, recordings: Path) -> dict[str, list[str]]:
    """An ended call of alice's with a recording on disk, so that the call and recording routes
    get past 404; with the seed's users, contacts, queues and flow, the ids the fuzz tries."""
    db = Database.connect(url)
    try:
        async with db.session() as session:
            users = dict((await session.execute(select(User.username, User.id))).all())
        call_id, recording_id = uuid.uuid4().hex, secrets.token_urlsafe(32)
        audio = recordings / f"{call_id}.wav"
        audio.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(audio), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\0\0" * 8000)
        data = audio.read_bytes()
        started = utc_now() - timedelta(hours=1)
        async with db.transaction() as tx:
            tx.add(Call(id=call_id, tenant_id=1, channel_id=f"fuzz-{call_id}",
                        direction=Direction.INBOUND, from_number="+971501234567",
                        to_number="+97145550100", started_at=started,
                        answered_at=started + timedelta(seconds=5),
                        ended_at=started + timedelta(seconds=65), queue="support",
                        agent_user_id=users["alice"], status=CallStatus.ENDED))
            await tx.flush()
            tx.add(Recording(id=recording_id, tenant_id=1, call_id=call_id,
                             agent_user_id=users["alice"], queue="support",
                             kind=RecordingKind.CALL, name=call_id, path=audio.name,
                             format="wav", started_at=started, duration_seconds=1.0,
                             size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest()))
    finally:
        await db.dispose()
    return {
        "call_id": [call_id],
        "recording_id": [recording_id],
        # Never the session's own user: a password change there would end the run's session.
        "user_id": [str(users["alice"]), str(users["gagent"])],
        "contact_id": ["1", "2"],
        "disposition_id": ["1", "2"],
        "name": ["support", "sales"],
        "queue": ["support"],
    }


def _config(known: dict[str, list[str]], path: Path) -> Path:
    """A schemathesis config: half the time a path parameter is one of the known ids."""
    lines = []
    for name, values in known.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    lines += [f'"path.{name}" = {{ dictionary = "{name}", probability = 0.5 }}'
              for name in known]
    path.write_text("\n".join(lines) + "\n")
    return path


def _log_errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]


@dataclass
class Run:
    """One persona's schemathesis, running or done."""

    persona: Persona
    process: subprocess.Popen[bytes]
    workdir: Path
    started: float
    logged_before: int  # the server's log up to the run's start

    @property
    def report(self) -> Path:
        return self.workdir / "requests.har"


def _start(instance: Instance, persona: Persona, workdir: Path) -> Run:
    cookie, csrf = instance.sessions.get(persona.username, ("", ""))
    command = [
        SCHEMATHESIS, "--config-file", str(_config(instance.known, workdir / "st.toml")),
        "run", f"{instance.base}/api/openapi.json",
        "--url", instance.base,
        *(["--header", f"Cookie: {cookie}", "--header", f"X-CSRF-Token: {csrf}"] if cookie
          else []),
        "--checks", CHECKS,
        "--phases", persona.phases,
        "--max-examples", str(persona.examples),
        "--generation-deterministic",
        "--generation-with-security-parameters", "false",
        "--no-shrink",
        "--workers", "1",
        "--request-timeout", "20",
        "--max-redirects", "0",
        "--report", "har", "--report-har-path", str(workdir / "requests.har"),
        "--no-color",
    ]
    for path in EXCLUDED_PATHS:
        command += ["--exclude-path", path]
    command += ["--exclude-path-regex", EXCLUDED_PATH_PATTERN]
    if persona.own_operations or persona.parts > 1:
        operations = _operations_of(instance.operations,
                                    None if persona.parts > 1 else persona.role)
        for operation in operations[persona.part::persona.parts]:
            command += ["--include-operation-id", operation]
    if persona is not VISITOR:
        # The login form is the same for everyone: the visitor fuzzes it. Each failed login
        # counts against 127.0.0.1 (throttling), so six runs of it would only test that.
        command += ["--exclude-operation-id", "login"]
    instance.fuzz_deadline()  # the budget runs from the first start
    logged_before = len(instance.process.log())
    with (workdir / "out.txt").open("wb") as out, (workdir / "err.txt").open("wb") as err:
        process = subprocess.Popen(  # its replay store (.schemathesis/) goes to its workdir
            command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=workdir)
    return Run(persona, process, workdir, time.monotonic(), logged_before)


def _persona_id(persona: Persona) -> str:
    part = f"-{persona.part + 1}of{persona.parts}" if persona.parts > 1 else ""
    return f"{persona.tenant}-{persona.role}{part}"


# Past the suite's limit per test (setup.cfg): one persona may use whatever is left of the
# fuzz's own budget, and the first one starts the instance as well.
@pytest.mark.timeout(TIME_BUDGET + 180)
@pytest.mark.parametrize("persona", sorted([*PERSONAS, VISITOR], key=lambda p: p.wave),
                         ids=_persona_id)
def test_api_fuzz_finds_no_server_error_and_no_undocumented_answer(
    instance: Instance, persona: Persona, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if persona not in instance.started:  # the first of its wave: the whole wave starts now
        selected = {item.name for item in request.session.items}
        for other in (*PERSONAS, VISITOR):
            if (other.wave == persona.wave
                    and f"{request.function.__name__}[{_persona_id(other)}]" in selected):
                workdir = tmp_path / _persona_id(other)
                workdir.mkdir()
                instance.started[other] = _start(instance, other, workdir)
    run = instance.started.pop(persona)
    try:
        code = run.process.wait(max(instance.fuzz_deadline() - time.monotonic(), 1.0))
    except subprocess.TimeoutExpired:
        run.process.kill()
        run.process.wait()
        pytest.fail(f"the fuzz went past its {TIME_BUDGET:.0f} s budget as {persona}: "
                    f"{(run.workdir / 'out.txt').read_text(errors='replace')[-3000:]}")
    took = time.monotonic() - run.started
    requests = _count_requests(run.report)
    print(f"fuzz as {persona.tenant}/{persona.role}: {requests} requests in {took:.1f} s")
    stdout = (run.workdir / "out.txt").read_text(errors="replace")
    stderr = (run.workdir / "err.txt").read_text(errors="replace")
    failures = stdout[stdout.find("FAILURES"):] if "FAILURES" in stdout else stdout
    assert code == 0, failures[:12000] + stderr[-3000:]
    # (with runs side by side, an error line is blamed on each run it happened during)
    server_errors = _log_errors(instance.process.log()[run.logged_before:])
    assert not server_errors, "\n".join(server_errors[:20])
    if persona is VISITOR:
        return
    # The session survived the run: every operation was tested as this persona.
    cookie, _ = instance.sessions[persona.username]
    check = urllib.request.Request(f"{instance.base}/api/me", headers={"Cookie": cookie})
    with urllib.request.urlopen(check) as answer:
        assert json.loads(answer.read())["user"]["username"] == persona.username


def _operations_of(operations: list[dict[str, Any]], role: str | None) -> list[str]:
    """The ids of the operations the document lets `role` call (None: every operation), in
    the document's order."""
    chosen = [str(operation["operationId"]) for operation in operations
              if role is None or role in operation.get("x-roles", [])]
    assert chosen, f"no operation for the role {role}"
    return chosen


def _count_requests(report: Path) -> int:
    """Requests sent: the entries of schemathesis's HAR file (one per request and answer)."""
    if not report.exists():
        return 0
    return len(json.loads(report.read_text())["log"]["entries"])
