"""The voicemail inbox's rules, IO-free: which messages are kept at all, whose inbox a message is
in, who may delete or assign, when retention removes it, and a message's status.

A voicemail is a recording of kind voicemail (recording/tables.py) left in an IVR voicemail node
for a mailbox: a queue's, an agent's, or the general one (neither). Its inbox state (new or
heard, assigned agent) is the voicemail feature's own row beside it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pbx_stasis.store.tables import Role

# Under this much audio a message is empty (the caller hung up at the beep, or pressed # at
# once): it is not stored, and the journal says so (ivr.voicemail_empty).
MIN_SECONDS = 1.0
# How long a voicemail is kept when the tenant set no retention of its own.
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650


def is_empty(seconds: float | None) -> bool:
    """Whether a message of `seconds` of audio is empty (unknown length counts as empty: a
    recording Asterisk could not time holds nothing a person can play)."""
    return seconds is None or seconds < MIN_SECONDS


class Status(enum.StrEnum):
    NEW = "new"
    HEARD = "heard"


@dataclass(frozen=True, slots=True)
class Mailbox:
    """Whose messages: ("queue", "billing"), ("agent", "alice"), or (None, None): general."""

    kind: str | None
    name: str | None

    @property
    def label(self) -> str:
        if self.kind is None:
            return "general"
        return f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Reader:
    """Who is asking: role, user id and name, the queues they belong to."""

    role: Role
    user_id: int
    username: str
    queues: tuple[str, ...] = ()


def agent_mailboxes(reader: Reader) -> set[str]:
    """The names an agent mailbox of this user may carry: the IVR's `agent:` takes a user's
    name or id."""
    return {reader.username, str(reader.user_id)}


def may_read(reader: Reader, mailbox: Mailbox, assigned_user_id: int | None) -> bool:
    """Supervisors and up read every inbox of their tenant; an agent reads their own mailbox,
    their queues' mailboxes and what is assigned to them."""
    if reader.role is not Role.AGENT:
        return True
    if assigned_user_id == reader.user_id:
        return True
    if mailbox.kind == "agent":
        return mailbox.name in agent_mailboxes(reader)
    if mailbox.kind == "queue":
        return mailbox.name in reader.queues
    return False


def may_delete(reader: Reader) -> bool:
    """Deleting by hand is a supervisor's (and up): an agent marks heard, a message stays."""
    return reader.role is not Role.AGENT


def may_assign(reader: Reader, to_user_id: int | None) -> bool:
    """Supervisors assign to anyone (or clear it); an agent may only take a message for
    themselves."""
    return reader.role is not Role.AGENT or to_user_id == reader.user_id


def retention_cutoff(now: datetime, retention_days: int | None) -> datetime | None:
    """Messages older than this are deleted (None: kept until deleted by hand)."""
    if retention_days is None:
        return None
    return now - timedelta(days=retention_days)


def new_per_queue(rows: Iterable[tuple[Mailbox, Status]]) -> dict[str, int]:
    """The wallboard's waiting work: new voicemails per queue mailbox."""
    counts: dict[str, int] = {}
    for mailbox, status in rows:
        if mailbox.kind == "queue" and mailbox.name is not None and status is Status.NEW:
            counts[mailbox.name] = counts.get(mailbox.name, 0) + 1
    return counts
