"""What the ACD's runner asks of the callbacks feature (pbx_stasis.callbacks implements it):
a waiting caller's request, dialling a callback's customer, and the callback rows journaled."""

from __future__ import annotations

from typing import Protocol

from pbx_stasis.acd.actions import DialCallback, JournalRow
from pbx_stasis.acd.stay import Leg, Waiting


class CallbackDesk(Protocol):
    async def request(self, waiting: Waiting) -> tuple[str, str] | None:
        """A waiting caller pressed the callback key: the callback's id and the number it will
        dial (the caller's, as the dialling policy judged it), or None (refused, journaled)."""
        ...

    def dial(self, action: DialCallback, agent_leg: Leg | None) -> None:
        """The agent reserved for the callback answered: dial its customer and bridge them
        (CallbackAnswered / CallbackFailed back to the ACD)."""
        ...

    def noted(self, row: JournalRow, tenant_id: int, queue: str | None,
              agent_user_id: int | None) -> None:
        """A journal row about a callback (its record follows it)."""
        ...
