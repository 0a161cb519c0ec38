"""Why a click-to-call cannot start: the policy refused the number, the caller ID chosen is not
the tenant's, or the phone is away."""

from __future__ import annotations

from pbx_stasis.dialing.policy import Verdict


class DialError(Exception):
    """A dial that cannot start; the message is for the person who asked."""


class DialRefused(DialError):
    """The tenant's dialling policy refused the number (journaled as DIAL_REFUSED)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


class CallerIdRefused(DialError):
    """The caller ID chosen for the call is not one of the tenant's outbound numbers."""


class PhoneNotRegistered(DialError):
    """The agent's softphone has no registered contact: there is nothing to ring."""

    def __init__(self) -> None:
        super().__init__("your phone is not registered: open the agent page (or start your "
                         "softphone) and try again")
