"""Listen, whisper and barge on live calls: snoop channels, a bridge per session, the audit.

A session rings the supervisor's phone (an endpoint originated into Stasis), then places it as
`core.plan` says: in the session's own bridge with a snoop channel on the agent's leg, or in the
call's bridge for barge. Switching mode only changes snoops and bridge membership; the
supervisor's channel stays up. A session ends when the supervisor hangs up, when the call leaves
the ACD (caller or agent hung up, transfer), when the agent's leg goes (its snoop dies with it),
or on `stop`; whatever ends it, the supervisor's channel, the snoop and the bridge go, and the
audit and journal are closed once.

The service is a talk watcher of the ACD (`AcdService.talk_watchers`): it only supervises
calls whose caller and agent are connected. `SupervisionControl` is what the HTTP routes ask of
it, declared once here: `Supervision` implements it in the Stasis process, and a web process of
its own gets a proxy generated from it (pbx_stasis.remote).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pbx_stasis.acd.runner import Talk
from pbx_stasis.ari import AriClient, AriError, AriUnreachable
from pbx_stasis.calls.actor import ChannelGone, EventInbox
from pbx_stasis.calls.router import CallRouter
from pbx_stasis.remote.interfaces import Interface
from pbx_stasis.store import Database, utc_now
from pbx_stasis.supervision.audit import SegmentRecord, Supervised, SupervisionAudit
from pbx_stasis.supervision.core import (
    AddSnoop,
    DropSnoop,
    JoinCall,
    JoinSession,
    Mode,
    Step,
    plan,
)
from pbx_stasis.web.contract import ServiceError, ServiceErrorCode

log = logging.getLogger(__name__)

PREFIX = "sv-"  # ids of supervision channels and bridges (strays after a restart are hung up)


class SupervisionError(ServiceError):
    """Why a supervision request was refused: not-found, conflict or unavailable."""


@dataclass(frozen=True, slots=True)
class SessionView:
    """A live supervision session as the API shows it."""

    session_id: str
    tenant_id: int
    call_id: str
    supervisor_user_id: int | None
    supervisor_line: str
    agent_user_id: int | None
    mode: Mode | None  # None while the supervisor's phone rings
    started_at: datetime


@dataclass(frozen=True, slots=True)
class Switched:
    """The outcome of a switch: the session now, and how long the switch took in Asterisk."""

    session: SessionView
    took: float


@dataclass(frozen=True, slots=True)
class SupervisedCall:
    """A call connected to an agent, since when, and the live supervision sessions on it."""

    talk: Talk
    connected_at: datetime | None
    sessions: list[SessionView]


class SupervisionControl(Protocol):
    """What the routes ask of the Stasis side's supervision (errors: SupervisionError).

    `Supervision` in the same process; from a web process of its own, the same calls go over
    the loopback RPC channel (pbx_stasis.remote), so every method is async and takes and
    returns plain values the codec knows."""

    async def supervised_calls(self, tenant_id: int) -> list[SupervisedCall]:
        """The tenant's calls connected to an agent, with their sessions."""
        ...

    async def sessions(self, tenant_id: int, call_id: str | None = None) -> list[SessionView]:
        """The tenant's live sessions (on one call when `call_id` is given)."""
        ...

    async def session(self, tenant_id: int, session_id: str) -> SessionView:
        """A live session of the tenant; SupervisionError not-found otherwise."""
        ...

    async def talk(self, tenant_id: int, call_id: str) -> Talk | None:
        """The tenant's call connected to an agent, None when there is none."""
        ...

    async def start(
        self,
        tenant_id: int,
        call_id: str,
        line: str,
        mode: Mode,
        *,
        supervisor_user_id: int | None = None,
    ) -> SessionView:
        """Ring the supervisor's `line` and, once answered, supervise the call in `mode`."""
        ...

    async def switch(
        self, session_id: str, mode: Mode, *, tenant_id: int | None = None
    ) -> Switched:
        """Change the mode of a live session; the supervisor's channel stays connected."""
        ...

    async def stop(self, session_id: str, *, tenant_id: int | None = None) -> None:
        """End a session: the supervisor's phone is hung up."""
        ...

    async def history(
        self, tenant_id: int, *, call_id: str | None = None, limit: int = 100
    ) -> list[SegmentRecord]:
        """The audit: who supervised which call, in which mode, from when to when."""
        ...


# SupervisionControl as a web process of its own reaches it (pbx_stasis.remote).
SUPERVISION_SERVICE: Interface[SupervisionControl] = Interface(
    "supervision", SupervisionControl, SupervisionError, SupervisionError.rebuild)


@dataclass
class _Snoop:
    channel_id: str
    inbox: EventInbox
    watcher: asyncio.Task[None] | None = None


@dataclass
class _Session:
    who: Supervised
    talk: Talk
    channel_id: str
    bridge_id: str
    inbox: EventInbox
    started_at: datetime
    started_mono: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    mode: Mode | None = None
    snoop: _Snoop | None = None
    segment_id: int | None = None
    snoops_made: int = 0
    ended: bool = False
    watcher: asyncio.Task[None] | None = None

    def view(self) -> SessionView:
        who = self.who
        return SessionView(
            session_id=who.session_id,
            tenant_id=who.tenant_id,
            call_id=who.call_id,
            supervisor_user_id=who.supervisor_user_id,
            supervisor_line=who.supervisor_line,
            agent_user_id=who.agent_user_id,
            mode=self.mode,
            started_at=self.started_at,
        )


class Supervision:
    """Supervision sessions on the calls the ACD has connected (a `TalkWatcher`); implements
    SupervisionControl."""

    def __init__(
        self,
        ari: AriClient,
        router: CallRouter,
        db: Database,
        app: str,
        *,
        ring_timeout: int = 30,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.ari = ari
        self.router = router
        self.app = app
        self.audit = SupervisionAudit(db)
        self.ring_timeout = ring_timeout
        self.clock = clock
        self.talks: dict[str, Talk] = {}
        self.connected_at: dict[str, datetime] = {}  # when each talk started
        self._sessions: dict[str, _Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # A number as a user's phone may show it, masked for a role that sees numbers masked
        # (masking/agents.py, set by app.py); whole by default.
        self.shown: Callable[[int, str], str] = lambda user_id, number: number

    # --- talk watcher ---------------------------------------------------------------------

    def talk_started(self, talk: Talk) -> None:
        self.talks[talk.call_id] = talk
        self.connected_at[talk.call_id] = self.clock()

    def talk_ended(self, talk: Talk) -> None:
        self.talks.pop(talk.call_id, None)
        self.connected_at.pop(talk.call_id, None)
        for session in list(self._sessions.values()):
            if session.who.call_id == talk.call_id:
                self._spawn(self._end(session, "call ended"))
                self._spawn(self._stop_ringing(session))

    # --- queries --------------------------------------------------------------------------

    async def supervised_calls(self, tenant_id: int) -> list[SupervisedCall]:
        return [
            SupervisedCall(talk, self.connected_at.get(talk.call_id),
                           self._views(tenant_id, talk.call_id))
            for talk in self.talks.values() if talk.tenant_id == tenant_id
        ]

    async def sessions(self, tenant_id: int, call_id: str | None = None) -> list[SessionView]:
        return self._views(tenant_id, call_id)

    def _views(self, tenant_id: int, call_id: str | None) -> list[SessionView]:
        return [
            session.view()
            for session in self._sessions.values()
            if session.who.tenant_id == tenant_id
            and not session.ended
            and (call_id is None or session.who.call_id == call_id)
        ]

    async def session(self, tenant_id: int, session_id: str) -> SessionView:
        """A live session of the tenant; SupervisionError not-found otherwise."""
        return self._session(tenant_id, session_id).view()

    async def talk(self, tenant_id: int, call_id: str) -> Talk | None:
        talk = self.talks.get(call_id)
        return talk if talk is not None and talk.tenant_id == tenant_id else None

    async def history(
        self, tenant_id: int, *, call_id: str | None = None, limit: int = 100
    ) -> list[SegmentRecord]:
        return await self.audit.history(tenant_id, call_id=call_id, limit=limit)

    def _session(self, tenant_id: int, session_id: str) -> _Session:
        session = self._sessions.get(session_id)
        if session is None or session.ended or session.who.tenant_id != tenant_id:
            raise SupervisionError(ServiceErrorCode.NOT_FOUND, "no such supervision session")
        return session

    # --- actions --------------------------------------------------------------------------

    async def listen(
        self, tenant_id: int, call_id: str, line: str, *, supervisor_user_id: int | None = None
    ) -> SessionView:
        """Ring `line` (e.g. PJSIP/sup-1); once answered it hears the call, unheard."""
        return await self.start(tenant_id, call_id, line, Mode.LISTEN,
                                supervisor_user_id=supervisor_user_id)

    async def whisper(
        self, tenant_id: int, call_id: str, line: str, *, supervisor_user_id: int | None = None
    ) -> SessionView:
        """As listen, and the agent (only) hears the supervisor."""
        return await self.start(tenant_id, call_id, line, Mode.WHISPER,
                                supervisor_user_id=supervisor_user_id)

    async def barge(
        self, tenant_id: int, call_id: str, line: str, *, supervisor_user_id: int | None = None
    ) -> SessionView:
        """As listen, and both the caller and the agent hear the supervisor."""
        return await self.start(tenant_id, call_id, line, Mode.BARGE,
                                supervisor_user_id=supervisor_user_id)

    async def start(
        self,
        tenant_id: int,
        call_id: str,
        line: str,
        mode: Mode,
        *,
        supervisor_user_id: int | None = None,
    ) -> SessionView:
        """Ring the supervisor's `line` and, once answered, supervise the call in `mode`.

        Returns when the supervisor is connected. not-found: no such connected call in the
        tenant; conflict: the phone did not answer or the call ended meanwhile.
        """
        talk = self.talks.get(call_id)
        if talk is None or talk.tenant_id != tenant_id:
            raise SupervisionError(ServiceErrorCode.NOT_FOUND, "no such call connected to an agent")
        session_id = secrets.token_hex(12)
        who = Supervised(
            session_id=session_id,
            tenant_id=tenant_id,
            call_id=call_id,
            supervisor_user_id=supervisor_user_id,
            supervisor_line=line,
            agent_user_id=talk.agent_user_id,
            queue=talk.queue,
        )
        channel_id = f"{PREFIX}{session_id}"
        session = _Session(
            who=who,
            talk=talk,
            channel_id=channel_id,
            bridge_id=channel_id,
            inbox=self.router.claim(channel_id),
            started_at=self.clock(),
            started_mono=time.monotonic(),
        )
        self._sessions[session_id] = session
        async with session.lock:
            try:
                await self._ring(session, mode)
                session.segment_id = await self.audit.started(who, mode, self.clock())
            except BaseException as exc:
                reason = "cancelled" if isinstance(exc, asyncio.CancelledError) else "failed"
                await self._close(session, reason)
                self._sessions.pop(session_id, None)
                if isinstance(exc, AriUnreachable):
                    raise SupervisionError(ServiceErrorCode.UNAVAILABLE,
                                           "Asterisk is not reachable") from exc
                if isinstance(exc, AriError):
                    raise SupervisionError(ServiceErrorCode.CONFLICT,
                                           f"cannot supervise: {exc}") from exc
                raise
        session.watcher = self._spawn(self._watch_supervisor(session))
        return session.view()

    def _caller_id(self, session: _Session, mode: Mode) -> str:
        """What the supervisor's phone shows: the mode and the caller, masked (and no number)
        for a supervisor whose role sees numbers masked."""
        number = session.talk.from_number
        who = session.who.supervisor_user_id
        shown = number if who is None else self.shown(who, number)
        return f'"{mode.value} {shown}" <{number if shown == number else ""}>'

    async def _ring(self, session: _Session, mode: Mode) -> None:
        talk = session.talk
        await self.ari.bridges.create("mixing", bridge_id=session.bridge_id, name="supervision")
        variables = {"PBX_CALL_ID": talk.call_id}
        if session.who.supervisor_line.startswith("PJSIP/"):
            # The browser softphone answers these by itself, as for click-to-call.
            variables |= {
                "PJSIP_HEADER(add,X-PBX-Auto-Answer)": "yes",
                "PJSIP_HEADER(add,X-PBX-Call-Id)": talk.call_id,
                "PJSIP_HEADER(add,X-PBX-Supervision)": mode.value,
            }
        await self.ari.channels.originate(
            session.who.supervisor_line,
            app=self.app,
            app_args=["supervisor", session.who.session_id],
            channel_id=session.channel_id,
            caller_id=self._caller_id(session, mode),
            dial_timeout=self.ring_timeout,
            variables=variables,
        )
        try:
            await session.inbox.wait_for({"StasisStart"}, within=self.ring_timeout + 5)
        except (ChannelGone, TimeoutError) as exc:
            raise SupervisionError(ServiceErrorCode.CONFLICT,
                                   "the supervisor's phone did not answer") from exc
        if talk.call_id not in self.talks:
            raise SupervisionError(ServiceErrorCode.CONFLICT,
                                   "the call ended before the supervisor answered")
        await self._apply(session, plan(None, mode))
        session.mode = mode

    async def switch(
        self, session_id: str, mode: Mode, *, tenant_id: int | None = None
    ) -> Switched:
        """Change the mode of a live session; the supervisor's channel stays connected."""
        session = self._sessions.get(session_id)
        if session is None or (tenant_id is not None and session.who.tenant_id != tenant_id):
            raise SupervisionError(ServiceErrorCode.NOT_FOUND, "no such supervision session")
        async with session.lock:
            if session.ended or session.mode is None:
                raise SupervisionError(ServiceErrorCode.CONFLICT, "the session is not connected")
            old = session.mode
            if old is mode:
                return Switched(session.view(), 0.0)
            began = time.monotonic()
            try:
                await self._apply(session, plan(old, mode))
            except AriUnreachable as exc:
                raise SupervisionError(ServiceErrorCode.UNAVAILABLE,
                                       "Asterisk is not reachable") from exc
            except AriError as exc:
                # Half a switch is no mode at all: end it rather than leave it undefined.
                self._spawn(self._end(session, "failed"))
                raise SupervisionError(ServiceErrorCode.CONFLICT, f"cannot switch: {exc}") from exc
            took = time.monotonic() - began
            session.mode = mode
            assert session.segment_id is not None
            session.segment_id = await self.audit.switched(
                session.who, session.segment_id, old.value, mode.value, self.clock(), took
            )
            return Switched(session.view(), took)

    async def stop(self, session_id: str, *, tenant_id: int | None = None) -> None:
        """End a session: the supervisor's phone is hung up."""
        session = self._sessions.get(session_id)
        if session is None or (tenant_id is not None and session.who.tenant_id != tenant_id):
            raise SupervisionError(ServiceErrorCode.NOT_FOUND, "no such supervision session")
        await self._stop_ringing(session)
        await self._end(session, "stopped")

    async def clear_leftovers(self) -> int:
        """Hang up supervision channels and destroy supervision bridges no session owns (left
        by a previous run of the app: call after every (re)connect, before adopting calls)."""
        ours = {session.channel_id for session in self._sessions.values()}
        cleared = 0
        for channel in await self.ari.channels.list():
            channel_id = str(channel.get("id", ""))
            if channel_id.startswith(PREFIX) and channel_id.split("-s")[0] not in ours:
                with contextlib.suppress(AriError):
                    await self.ari.channels.hangup(channel_id)
                    cleared += 1
        for bridge in await self.ari.bridges.list():
            bridge_id = str(bridge.get("id", ""))
            if bridge_id.startswith(PREFIX) and bridge_id not in ours:
                with contextlib.suppress(AriError):
                    await self.ari.bridges.destroy(bridge_id)
                    cleared += 1
        return cleared

    async def close(self) -> None:
        """End every session (the app stops)."""
        for session in list(self._sessions.values()):
            await self._end(session, "shutdown")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _stop_ringing(self, session: _Session) -> None:
        """Hang up a supervisor's phone still ringing: `start` then fails and tidies up."""
        if session.mode is None and not session.ended:
            with contextlib.suppress(AriError):
                await self.ari.channels.hangup(session.channel_id)

    # --- carrying out steps ---------------------------------------------------------------

    async def _apply(self, session: _Session, steps: list[Step]) -> None:
        previous = session.snoop
        for step in steps:
            if isinstance(step, AddSnoop):
                session.snoop = await self._add_snoop(session, step)
            elif isinstance(step, JoinSession):
                await self.ari.bridges.add_channel(session.bridge_id, session.channel_id)
            elif isinstance(step, JoinCall):
                await self.ari.bridges.add_channel(session.talk.bridge_id, session.channel_id)
                session.snoop = None
            elif isinstance(step, DropSnoop) and previous is not None:
                await self._drop_snoop(previous)

    async def _add_snoop(self, session: _Session, step: AddSnoop) -> _Snoop:
        session.snoops_made += 1
        snoop_id = f"{session.channel_id}-s{session.snoops_made}"
        snoop = _Snoop(snoop_id, self.router.claim(snoop_id))
        try:
            await self.ari.channels.snoop(
                session.talk.agent_channel_id,
                self.app,
                spy=step.spec.spy,
                whisper=step.spec.whisper,
                app_args=["snoop", session.who.session_id],
                snoop_id=snoop_id,
            )
            await snoop.inbox.wait_for({"StasisStart"}, within=5)
            await self.ari.bridges.add_channel(session.bridge_id, snoop_id)
        except BaseException:
            await self._drop_snoop(snoop)
            raise
        snoop.watcher = self._spawn(self._watch_snoop(session, snoop))
        return snoop

    async def _drop_snoop(self, snoop: _Snoop) -> None:
        if snoop.watcher is not None and snoop.watcher is not asyncio.current_task():
            snoop.watcher.cancel()
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(snoop.channel_id)
        self.router.release(snoop.channel_id)

    # --- endings --------------------------------------------------------------------------

    async def _watch_supervisor(self, session: _Session) -> None:
        with contextlib.suppress(ChannelGone):
            await session.inbox.wait_for(lambda _: False)
        await self._end(session, "supervisor hung up")

    async def _watch_snoop(self, session: _Session, snoop: _Snoop) -> None:
        with contextlib.suppress(ChannelGone):
            await snoop.inbox.wait_for(lambda _: False)
        # The snoop dies with the agent's leg (hangup, transfer); a dropped one is cancelled
        # before it gets here.
        if session.snoop is snoop:
            await self._end(session, "agent left")

    async def _end(self, session: _Session, reason: str) -> None:
        async with session.lock:
            if session.ended:
                return
            mode = session.mode
            await self._close(session, reason)
            seconds = time.monotonic() - session.started_mono
            try:
                await self.audit.ended(
                    session.who, session.segment_id, mode.value if mode else None,
                    self.clock(), reason, seconds,
                )
            except Exception:
                log.exception("supervision %s: could not write its end", session.who.session_id)
            self._sessions.pop(session.who.session_id, None)

    async def _close(self, session: _Session, reason: str) -> None:
        """Hang up and tear down what the session made (idempotent, never raises AriError)."""
        session.ended = True
        if session.watcher is not None and session.watcher is not asyncio.current_task():
            session.watcher.cancel()
        if session.snoop is not None:
            await self._drop_snoop(session.snoop)
            session.snoop = None
        with contextlib.suppress(AriError):
            await self.ari.channels.hangup(session.channel_id)
        with contextlib.suppress(AriError):
            await self.ari.bridges.destroy(session.bridge_id)
        self.router.release(session.channel_id)
        log.info("supervision %s of call %s ended: %s",
                 session.who.session_id, session.who.call_id, reason)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
