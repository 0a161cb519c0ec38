"""Plays the runner against the ACD core and checks every invariant after each step.

The Driver feeds events, carries out actions the way ARI would (an Offer rings until it is
answered, rejected, failed or cancelled), and checks after every step:
- no agent has two offers ringing, a call rings several agents only in a ringall queue, and only
  agents logged into the queue, registered and unpaused are offered calls;
- a call is connected to at most one agent, and only through an offer still ringing;
- no caller is lost: the core holds exactly the calls that arrived and did not leave, and each
  call's journal follows ENTERQUEUE (OFFER outcome)* then exactly one exit per stay;
- an agent is ringing iff an offer rings them (and no call is connected), on-call iff connected;
- wrap-up always ends; the core's own indexes agree with a recomputation (Acd.audit);
- the runner is told explicitly what its journal rows used to tell it: exactly one CallEnded for
  each call that ends by a hangup or a CallTransferred, and a ReleaseAgentLeg for each call whose
  agent is done with it while the agent's leg is still up.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pbx_stasis.acd import (
    EXIT_ACTIONS,
    Acd,
    AcdInput,
    Action,
    AgentConfig,
    AgentConfigChanged,
    AgentHungUp,
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentRegistered,
    AgentState,
    AgentStateChanged,
    AgentUnpause,
    AgentUnregistered,
    CallArrived,
    CallAway,
    CallbackAnswered,
    CallbackCancelled,
    CallbackFailed,
    CallbackQueued,
    CallbackRequested,
    CallEnd,
    CallEnded,
    CallerHungUp,
    CallHeld,
    CallResumed,
    CallTransferred,
    CancelOffer,
    Connect,
    DialCallback,
    EmptyPolicy,
    EscalationStep,
    JournalEvent,
    JournalRow,
    Offer,
    OfferAnswered,
    OfferFailed,
    OfferRejected,
    OverflowKind,
    OverflowTarget,
    QueueConfig,
    QueueConfigChanged,
    ReleaseAgentLeg,
    Strategy,
    TalkAdopted,
    Tick,
    TransferToQueue,
    WrapUpDone,
)
from pbx_stasis.acd.events import OutboundConnected, OutboundDialled

QUEUES = (
    QueueConfig(
        "ring",
        strategy=Strategy.RINGALL,
        ring_timeout=10,
        retry_delay=2,
        wrapup=5,
        announce_every=20,
        join_empty=EmptyPolicy.NO_REACHABLE,
    ),
    QueueConfig(
        "idle",
        strategy=Strategy.LONGEST_IDLE,
        ring_timeout=8,
        retry_delay=3,
        max_wait=90,
        overflow=OverflowTarget(OverflowKind.QUEUE, "rr"),
        max_penalty=1,
        escalation=(EscalationStep(30, relax=1, max_penalty=1), EscalationStep(60, relax=9)),
        autopause_after=2,
        leave_empty=EmptyPolicy.NO_REACHABLE,
    ),
    QueueConfig(
        "rr",
        strategy=Strategy.ROUND_ROBIN,
        agent_order=("a3", "a1", "a4"),
        ring_in_use=True,
        wrapup=12,
        join_empty=EmptyPolicy.NO_MEMBERS,
        max_wait=120,
        overflow=OverflowTarget(OverflowKind.FLOW, "after-hours"),
        max_callers=4,
    ),
    QueueConfig(
        "few",
        strategy=Strategy.FEWEST_CALLS,
        wrapup=30,
        retry_delay=0,
        autopause_after=None,
        leave_empty=EmptyPolicy.NO_AVAILABLE,
        overflow=OverflowTarget(OverflowKind.QUEUE, "idle"),
    ),
)
QUEUE_NAMES = tuple(q.name for q in QUEUES)
AGENTS = (
    AgentConfig("a0", "PJSIP/a0", skills={"sales": 4, "fr": 2}),
    AgentConfig("a1", "PJSIP/a1", skills={"sales": 2}, penalties={"idle": 1}),
    AgentConfig("a2", "PJSIP/a2", skills={"fr": 3}, wrapup=0),
    AgentConfig("a3", "PJSIP/a3", penalties={"idle": 2, "rr": 1}, wrapup=45),
    AgentConfig("a4", "PJSIP/a4", skills={"sales": 3, "fr": 1}),
)
AGENT_IDS = tuple(a.id for a in AGENTS)
SKILL_NEEDS: tuple[dict[str, int], ...] = (
    {},
    {"sales": 3},
    {"fr": 2},
    {"sales": 2, "fr": 1},
    {"sales": 5},
)
MAX_WRAPUP = 45.0
WAITING_EXITS = {
    JournalEvent.ABANDON,
    JournalEvent.EXITWITHTIMEOUT,
    JournalEvent.EXITEMPTY,
    JournalEvent.TRANSFER,
    JournalEvent.CALLBACKREQ,  # a callback takes the caller's place: their stay ends
}
TALK_EXITS = {JournalEvent.COMPLETECALLER, JournalEvent.COMPLETEAGENT, JournalEvent.TRANSFER}


@dataclass
class CallStory:
    """A call's journal so far, checked row by row."""

    stage: str = "out"  # out, waiting, connected
    open_offers: set[int] = field(default_factory=set)
    stays: int = 0
    exits: int = 0


@dataclass
class Desk:
    """What the runner knows of an agent from what it fed (plus the core's autopauses)."""

    queues: set[str] = field(default_factory=set)
    paused: bool = False
    registered: bool = False


class Driver:
    def __init__(self, seed: int) -> None:
        self.acd = Acd(QUEUES, AGENTS, rng=random.Random(seed), start=1_000_000.0)
        self.now = 1_000_000.0
        self.configs = {q.name: q for q in QUEUES}
        self.ringing: dict[int, Offer] = {}  # offers whose agent leg rings
        self.ended: list[Offer] = []  # offers cancelled or answered elsewhere: late answers
        self.connected: dict[str, str] = {}  # call -> agent, bridged by the runner
        self.alive: set[str] = set()  # calls the core holds
        self.stories: dict[str, CallStory] = {}
        self.states: dict[str, AgentState] = dict.fromkeys(AGENT_IDS, AgentState.OFFLINE)
        self.desks = {agent_id: Desk() for agent_id in AGENT_IDS}
        self.calls_made = 0
        self.connects = 0
        self.seen: set[JournalEvent] = set()
        self.callbacks: set[str] = set()  # callbacks the core holds (nobody on their line)
        self.answered_callbacks: set[str] = set()  # ... whose customer answered: a talk
        self.on_step: Callable[[list[Action]], None] | None = None  # sees every step's actions

    # --- feeding --------------------------------------------------------------------------------

    def feed(self, event: AcdInput) -> list[Action]:
        if isinstance(event, OfferRejected | OfferFailed):
            self.ringing.pop(event.offer_id, None)  # that leg is gone, whatever the core says
        was_alive, was_connected = set(self.alive), dict(self.connected)
        actions = self.acd.feed(event, self.now)
        for action in actions:
            self.observe(action, event)
        self.check_endings(event, actions, was_alive, was_connected)
        if self.on_step is not None:
            self.on_step(actions)
        for action in actions:
            if isinstance(action, CallEnded) and action.how is CallEnd.CALLBACK:
                self.alive.discard(action.call_id)  # the callback took the caller's place
            elif isinstance(action, CallEnded) and action.call_id in self.callbacks:
                self.alive.discard(action.call_id)  # a callback ends only by the core's word
                self.callbacks.discard(action.call_id)
                self.answered_callbacks.discard(action.call_id)
        # The runner knows these calls are over without being told.
        if isinstance(event, CallerHungUp | CallTransferred):
            self.alive.discard(event.call_id)
        elif (isinstance(event, AgentHungUp) and event.call_id not in self.connected
              and event.call_id not in self.callbacks):
            self.alive.discard(event.call_id)
        self.check()
        return actions

    def observe(self, action: Action, event: AcdInput) -> None:
        if isinstance(action, Offer):
            desk = self.desks[action.agent_id]
            assert all(o.agent_id != action.agent_id for o in self.ringing.values()), (
                f"{action.agent_id} offered two calls"
            )
            assert action.call_id in self.alive and action.call_id not in self.connected
            config = self.configs[action.queue]
            if any(o.call_id == action.call_id for o in self.ringing.values()):
                assert config.strategy is Strategy.RINGALL, "several agents outside ringall"
            assert action.queue in desk.queues and desk.registered and not desk.paused, (
                f"offered {action.agent_id} who cannot take calls: {desk}"
            )
            if action.agent_id in self.connected.values():
                assert config.ring_in_use
            self.ringing[action.offer_id] = action
        elif isinstance(action, CancelOffer):
            o = self.ringing.pop(action.offer_id, None)
            if o is None:  # only a late answer gets a CancelOffer for an offer not ringing
                assert isinstance(event, OfferAnswered) and event.offer_id == action.offer_id
            else:
                self.ended.append(o)
        elif isinstance(action, Connect):
            o = self.ringing.pop(action.offer_id)
            assert (o.call_id, o.agent_id) == (action.call_id, action.agent_id)
            assert action.call_id not in self.connected, "call connected to two agents"
            self.connected[action.call_id] = action.agent_id
            self.connects += 1
        elif isinstance(action, DialCallback):
            # The agent answered: reserved for the callback while its customer is dialled.
            o = self.ringing.pop(action.offer_id)
            assert (o.call_id, o.agent_id) == (action.call_id, action.agent_id)
            assert action.call_id in self.callbacks and action.call_id not in self.connected
            assert o.callback == action.number
            self.connected[action.call_id] = action.agent_id
        elif isinstance(action, EXIT_ACTIONS):
            self.alive.remove(action.call_id)
        elif isinstance(action, AgentStateChanged):
            self.states[action.agent_id] = action.state
        elif isinstance(action, JournalRow):
            self.story(action)

    def story(self, row: JournalRow) -> None:
        self.seen.add(row.event)
        if row.event is JournalEvent.PAUSE and row.agent_id is not None:
            self.desks[row.agent_id].paused = True  # autopause
        if row.call_id is None or row.event in (JournalEvent.WRAPUPSTART, JournalEvent.WRAPUPEND):
            return
        if row.event is JournalEvent.AWAY:
            assert row.call_id not in self.stories and row.agent_id is None  # never held
            return
        if row.data.get("ended_away"):
            assert row.call_id not in self.alive  # a talk that ended before the restart
            return
        s = self.stories.setdefault(row.call_id, CallStory())
        event, offer_id = row.event, row.data.get("offer_id")
        if event is JournalEvent.OUTDIAL:
            assert s.stage == "out" and row.agent_id is not None
            return
        if event is JournalEvent.OUTCONNECT:
            # An agent's own outside call: connected at once, no stay in a queue before it.
            assert s.stage == "out" and row.agent_id is not None
            s.stays += 1
            s.stage = "connected"
            self.connected[row.call_id] = row.agent_id
        elif event is JournalEvent.ADOPTED:
            # A stay (or talk) carried over a restart goes on: no new entry before it.
            assert s.stage == "out" and row.data["action"] in ("queue", "talk")
            s.stays += 1
            s.stage = "waiting" if row.data["action"] == "queue" else "connected"
            if s.stage == "connected":
                assert row.agent_id is not None
                self.connected[row.call_id] = row.agent_id
        elif event is JournalEvent.CALLBACKQUEUED:
            assert s.stage == "out"
            s.stage, s.stays = "waiting", s.stays + 1
        elif event is JournalEvent.CALLBACKDIAL:
            assert s.stage == "waiting" and offer_id in s.open_offers
            s.open_offers.discard(offer_id)
            s.stage = "connected"
        elif event is JournalEvent.CALLBACKCONNECT:
            assert s.stage == "connected"
        elif event is JournalEvent.CALLBACKFAIL:
            assert s.stage == "connected" and not s.open_offers
            self.connected.pop(row.call_id)
            if row.data["final"]:
                s.stage, s.exits = "out", s.exits + 1
            else:
                s.stage = "waiting"  # back in its place
        elif event is JournalEvent.CALLBACKCANCEL:
            assert s.stage == "waiting" and not s.open_offers
            s.stage, s.exits = "out", s.exits + 1
        elif s.stage == "out":
            assert event in (JournalEvent.ENTERQUEUE, JournalEvent.JOINEMPTY, JournalEvent.FULL), (
                f"{row.call_id}: {event} outside a stay"
            )
            if event is JournalEvent.ENTERQUEUE:
                s.stage, s.stays = "waiting", s.stays + 1
        elif event is JournalEvent.OFFER:
            assert s.stage == "waiting"
            assert isinstance(offer_id, int)
            s.open_offers.add(offer_id)
        elif event in (JournalEvent.RINGNOANSWER, JournalEvent.RINGCANCELED):
            assert offer_id in s.open_offers, f"{row.call_id}: outcome of an unknown offer"
            s.open_offers.discard(offer_id)
        elif event is JournalEvent.CONNECT:
            assert s.stage == "waiting" and offer_id in s.open_offers
            s.open_offers.discard(offer_id)
            s.stage = "connected"
        elif event in (JournalEvent.HOLD, JournalEvent.UNHOLD):
            assert s.stage == "connected"
        elif s.stage == "waiting":
            assert event in WAITING_EXITS, f"{row.call_id}: {event} while waiting"
            assert not s.open_offers, f"{row.call_id}: left with offers ringing"
            s.stage, s.exits = "out", s.exits + 1
            if event is JournalEvent.CALLBACKREQ:  # the callback waits on in the caller's place
                callback = row.data["callback"]
                assert isinstance(callback, str) and callback in self.callbacks
                self.stories[callback] = CallStory(stage="waiting", stays=1)
                self.alive.add(callback)
        else:
            assert event in TALK_EXITS, f"{row.call_id}: {event} while connected"
            assert not s.open_offers
            self.connected.pop(row.call_id)
            s.stage, s.exits = "out", s.exits + 1

    def check_endings(
        self,
        event: AcdInput,
        actions: list[Action],
        was_alive: set[str],
        was_connected: dict[str, str],
    ) -> None:
        """The runner settles calls and hangs up agent legs on actions, never on journal rows."""
        ended = [a for a in actions if isinstance(a, CallEnded)]
        expected: list[CallEnded] = []
        if isinstance(event, CallerHungUp) and event.call_id in was_alive:
            agent = was_connected.get(event.call_id)
            how = CallEnd.COMPLETED if agent is not None else CallEnd.ABANDONED
            expected = [CallEnded(event.call_id, how, agent)]
        elif (isinstance(event, AgentHungUp) and was_connected.get(event.call_id) == event.agent_id
              and event.call_id in self.answered_callbacks | (was_alive - self.callbacks)):
            expected = [CallEnded(event.call_id, CallEnd.COMPLETED, event.agent_id)]
        elif isinstance(event, CallTransferred) and event.call_id in was_alive:
            expected = [CallEnded(event.call_id, CallEnd.TRANSFERRED)]
        elif isinstance(event, CallbackRequested) and event.callback_id in self.alive:
            expected = [CallEnded(event.call_id, CallEnd.CALLBACK)]
        elif (isinstance(event, CallbackFailed) and event.callback_id in was_connected
              and self.acd.call(event.callback_id) is None):
            expected = [CallEnded(event.callback_id, CallEnd.CALLBACK_FAILED,
                                  was_connected[event.callback_id])]
        elif (isinstance(event, CallbackCancelled) and event.callback_id in was_alive
              and self.acd.call(event.callback_id) is None):
            expected = [CallEnded(event.callback_id, CallEnd.CALLBACK_CANCELLED)]
        assert ended == expected, f"{event}: {ended} != {expected}"
        released = {(a.call_id, a.agent_id) for a in actions if isinstance(a, ReleaseAgentLeg)}
        done = {(c, a) for c, a in was_connected.items() if self.connected.get(c) != a}
        if isinstance(event, AgentHungUp):  # their leg is gone already
            done.discard((event.call_id, event.agent_id))
        assert released == done, f"{event}: released {released}, done talking {done}"

    def check(self) -> None:
        assert self.acd.audit() == []
        assert set(self.acd.call_ids()) == self.alive, "a caller was lost or invented"
        for call_id, s in self.stories.items():
            assert (s.stage != "out") == (call_id in self.alive)
            assert s.stays - s.exits == (1 if call_id in self.alive else 0)
        for call_id in self.alive:
            view = self.acd.call(call_id)
            assert view is not None
            assert view.agent_id == self.connected.get(call_id)
            rung = {o.agent_id for o in self.ringing.values() if o.call_id == call_id}
            assert view.offered_to == rung
        for agent_id in AGENT_IDS:
            state = self.states[agent_id]
            on_call = agent_id in self.connected.values()
            ringing = any(o.agent_id == agent_id for o in self.ringing.values())
            assert (state is AgentState.ON_CALL) == on_call, f"{agent_id} {state}"
            assert (state is AgentState.RINGING) == (ringing and not on_call), f"{agent_id} {state}"

    # --- what can happen ------------------------------------------------------------------------

    def arrive(self, queue: int, priority: int, needs: int, max_wait: float | None) -> None:
        self.calls_made += 1
        call_id = f"c{self.calls_made}"
        self.alive.add(call_id)  # until the core says it left
        event = CallArrived(
            call_id,
            QUEUE_NAMES[queue % len(QUEUE_NAMES)],
            caller=f"+3361234{self.calls_made:04d}",
            priority=priority,
            skills=SKILL_NEEDS[needs % len(SKILL_NEEDS)],
            max_wait=max_wait,
        )
        self.feed(event)

    def adopt(self, pick: int, queue: int, talk: bool, ended: bool) -> None:
        """After a restart: a waiting caller put back, or a talk carried over (or ended while
        the app was away), with their original times."""
        self.calls_made += 1
        call_id = f"c{self.calls_made}"
        name = QUEUE_NAMES[queue % len(QUEUE_NAMES)]
        if not talk:
            self.alive.add(call_id)
            self.feed(CallArrived(call_id, name, caller="+33600000000", entered_at=self.now - 7,
                                  adopted=True))
            if ended:  # and one the dialplan let go while the app was away: counted only
                self.calls_made += 1
                self.feed(CallAway(f"c{self.calls_made}", name, "+33600000001",
                                   self.now - 31, self.now - 1, "refused"))
            return
        # An agent ringing for another call may be the one found talking (the offer ends).
        busy = set(self.connected.values())
        free = [agent_id for agent_id in AGENT_IDS if agent_id not in busy]
        if not free:
            return
        agent_id = free[pick % len(free)]
        if not ended:
            self.alive.add(call_id)
        self.feed(TalkAdopted(call_id, name, agent_id, self.now - 30, self.now - 40,
                              ended=ended))

    def request_callback(self, pick: int) -> None:
        """A waiting caller presses the callback key."""
        waiting = sorted(self.alive - self.callbacks - set(self.connected))
        if waiting:
            call_id = waiting[pick % len(waiting)]
            callback_id = f"cb-{call_id}"
            if callback_id in self.stories:
                return  # asked once already (a callback id is never reused)
            self.callbacks.add(callback_id)
            self.feed(CallbackRequested(call_id, callback_id, "+33600000001"))
            if callback_id not in self.alive:
                self.callbacks.discard(callback_id)  # refused: the caller was not waiting

    def queue_callback(self, queue: int, attempts: int, rest: float) -> None:
        """A scheduled or API callback joins a queue (or one is put back after a restart)."""
        self.calls_made += 1
        callback_id = f"cb{self.calls_made}"
        self.callbacks.add(callback_id)
        self.alive.add(callback_id)
        self.feed(CallbackQueued(callback_id, QUEUE_NAMES[queue % len(QUEUE_NAMES)],
                                 "+33600000002", entered_at=self.now - 20, attempts=attempts,
                                 not_before=self.now + rest if rest else None,
                                 adopted=attempts > 0))

    def callback_result(self, pick: int, result: str) -> None:
        """The customer of a callback being dialled answers, or not."""
        dialling = sorted(c for c in self.callbacks & set(self.connected)
                          if c not in self.answered_callbacks)
        if not dialling:
            return
        callback_id = dialling[pick % len(dialling)]
        if result == "answer":
            self.answered_callbacks.add(callback_id)
            self.feed(CallbackAnswered(callback_id))
        else:
            self.feed(CallbackFailed(callback_id, result, final=result == "not_allowed"))

    def cancel_callback(self, pick: int) -> None:
        callbacks = sorted(self.callbacks)
        if callbacks:
            self.feed(CallbackCancelled(callbacks[pick % len(callbacks)]))
    def outbound(self, pick: int, queue: int, answered: bool) -> None:
        """An agent dials out (not while on a call: their phone is busy); the number answers
        or not."""
        busy = set(self.connected.values())
        free = [agent_id for agent_id in AGENT_IDS if agent_id not in busy]
        if not free:
            return
        self.calls_made += 1
        call_id, agent_id = f"o{self.calls_made}", free[pick % len(free)]
        self.feed(OutboundDialled(call_id, agent_id, "+14155550199"))
        if answered:
            self.alive.add(call_id)
            self.feed(OutboundConnected(call_id, agent_id, "+14155550199",
                                        QUEUE_NAMES[queue % len(QUEUE_NAMES)]))

    def answer(self, pick: int) -> None:
        if self.ringing:
            o = sorted(self.ringing.values(), key=lambda o: o.offer_id)[pick % len(self.ringing)]
            self.feed(OfferAnswered(o.offer_id, o.call_id, o.agent_id))

    def answer_late(self, pick: int) -> None:
        if self.ended:
            o = self.ended[pick % len(self.ended)]
            self.feed(OfferAnswered(o.offer_id, o.call_id, o.agent_id))

    def refuse(self, pick: int, fail: bool) -> None:
        if self.ringing:
            o = sorted(self.ringing.values(), key=lambda o: o.offer_id)[pick % len(self.ringing)]
            kind = OfferFailed if fail else OfferRejected
            self.feed(kind(o.offer_id, o.call_id, o.agent_id))

    def hang_up(self, pick: int, agent_side: bool) -> None:
        if agent_side:
            if self.connected:
                call_id = sorted(self.connected)[pick % len(self.connected)]
                self.feed(AgentHungUp(call_id, self.connected[call_id]))
        else:
            # Nobody is on the line of a callback until its customer answers.
            lines = sorted(self.alive - (self.callbacks - self.answered_callbacks))
            if lines:
                self.feed(CallerHungUp(lines[pick % len(lines)]))

    def transfer(self, pick: int, queue: int | None) -> None:
        calls = sorted(self.alive - self.callbacks)  # callbacks have no transfer controls
        if calls:
            call_id = calls[pick % len(calls)]
            if queue is None:
                self.feed(CallTransferred(call_id, "+3312345678", attended=pick % 2 == 0))
            else:
                self.feed(TransferToQueue(call_id, QUEUE_NAMES[queue % len(QUEUE_NAMES)]))

    def hold(self, pick: int, on: bool) -> None:
        talks = sorted(set(self.connected) - self.callbacks)
        if talks:
            call_id = talks[pick % len(talks)]
            self.feed(CallHeld(call_id) if on else CallResumed(call_id))

    def agent(self, pick: int, what: str, queues: int) -> None:
        agent_id = AGENT_IDS[pick % len(AGENT_IDS)]
        desk = self.desks[agent_id]
        chosen = [name for i, name in enumerate(QUEUE_NAMES) if queues >> i & 1]
        if what == "login":
            desk.queues |= set(chosen)
            self.feed(AgentLogin(agent_id, chosen))
        elif what == "logout":
            gone = None if queues % 3 == 0 else chosen
            desk.queues -= desk.queues if gone is None else set(gone)
            self.feed(AgentLogout(agent_id, gone))
        elif what == "pause":
            desk.paused = True
            self.feed(AgentPause(agent_id, ("break", "lunch", "training")[queues % 3]))
        elif what == "unpause":
            desk.paused = False
            self.feed(AgentUnpause(agent_id))
        elif what == "register":
            desk.registered = True
            self.feed(AgentRegistered(agent_id))
        elif what == "unregister":
            desk.registered = False
            self.feed(AgentUnregistered(agent_id))
        elif what == "wrapup-done":
            self.feed(WrapUpDone(agent_id))
        elif what == "reskill":
            skills = {"sales": queues % 5, "fr": (queues // 5) % 4}
            base = AGENTS[pick % len(AGENTS)]
            self.feed(AgentConfigChanged(replace(base, skills=skills)))

    def reconfigure(self, queue: int, strategy: int) -> None:
        config = QUEUES[queue % len(QUEUES)]
        new = replace(config, strategy=list(Strategy)[strategy % len(Strategy)])
        self.configs[new.name] = new
        self.feed(QueueConfigChanged(new))

    def tick(self, seconds: float) -> None:
        self.now += seconds
        self.feed(Tick())

    def drain(self) -> None:
        """Long enough for every wrap-up: none may be left (no answer arrives meanwhile)."""
        self.tick(MAX_WRAPUP + 1)
        assert AgentState.WRAP_UP not in self.states.values(), "a wrap-up did not end"


AGENT_ACTIONS = (
    "login",
    "logout",
    "pause",
    "unpause",
    "register",
    "unregister",
    "wrapup-done",
    "reskill",
)


def random_day(driver: Driver, rng: random.Random, steps: int) -> None:
    """A busy floor: every agent starts logged in everywhere, then anything may happen."""
    for agent in range(len(AGENT_IDS)):
        driver.agent(agent, "register", 0)
        driver.agent(agent, "login", 0b1111)
    for _ in range(steps):
        roll = rng.random()
        pick = rng.randrange(50)
        if roll < 0.18:
            driver.arrive(rng.randrange(4), rng.randrange(3), rng.randrange(5), None)
        elif roll < 0.45:
            driver.answer(pick)
        elif roll < 0.48:
            driver.answer_late(pick)
        elif roll < 0.52:
            driver.refuse(pick, fail=rng.random() < 0.3)
        elif roll < 0.62:
            driver.hang_up(pick, agent_side=rng.random() < 0.5)
        elif roll < 0.65:
            driver.transfer(pick, rng.choice([None, 0, 1, 2, 3]))
        elif roll < 0.67:
            driver.hold(pick, rng.random() < 0.5)
        elif roll < 0.82:
            what = rng.choices(AGENT_ACTIONS, weights=(4, 1, 1, 4, 4, 1, 1, 1))[0]
            driver.agent(pick, what, rng.randrange(16))
        elif roll < 0.83:
            driver.reconfigure(rng.randrange(4), rng.randrange(6))
        elif roll < 0.84:
            driver.adopt(pick, rng.randrange(4), talk=rng.random() < 0.6,
                         ended=rng.random() < 0.3)
        elif roll < 0.85:
            driver.outbound(pick, rng.randrange(4), answered=rng.random() < 0.7)
        elif roll < 0.87:
            callback = rng.random()
            if callback < 0.3:
                driver.request_callback(pick)
            elif callback < 0.4:
                driver.queue_callback(rng.randrange(4), rng.randrange(3), rng.choice([0, 30]))
            elif callback < 0.9:
                driver.callback_result(
                    pick, rng.choice(["answer", "answer", "busy", "no_answer", "not_allowed"]))
            else:
                driver.cancel_callback(pick)
        else:
            driver.tick(rng.choice([0.0, 0.5, 0.5, 2.0, 2.0, 5.0, 9.0, 31.0]))
    driver.drain()
