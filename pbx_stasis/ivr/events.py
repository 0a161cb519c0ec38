"""The IVR's bus event: `IvrUpdated` on ivr:updated, when a flow version is applied or rolled
back (the flows page reloads its list)."""

from __future__ import annotations

from dataclasses import dataclass

from pbx_stasis.bus import EventTopic
from pbx_stasis.store.tables import Role


@dataclass(frozen=True)
class IvrUpdated:
    """The tenant's flows now run this version."""

    name: str  # the flow's name, or the version's files
    version: int
    user_id: int | None  # who applied it
    files: tuple[str, ...]


IVR_UPDATED = EventTopic("ivr:updated", IvrUpdated, readers=frozenset({Role.ADMIN}))

__all__ = ["IVR_UPDATED", "IvrUpdated"]
