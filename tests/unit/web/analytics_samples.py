"""Samples of the analytics and call-quality routes for test_web_access: a recorded call of the
owner tenant with its transcript and insights, a call with its quality figures (the path names
it, so the other tenant must get 404)."""

from __future__ import annotations

import itertools
from typing import Any

from pbx_stasis.analytics.insights import LeadRules, Line, insights_of
from pbx_stasis.analytics.speech import Interval
from pbx_stasis.analytics.store import DONE, AnalyticsStore
from pbx_stasis.quality.tables import CallQualityRow
from pbx_stasis.recording.store import new_recording_id, record_of
from pbx_stasis.recording.tables import Recording, RecordingKind
from pbx_stasis.store import utc_now

_unique = itertools.count(1)


async def transcribed_recording(world: Any, tenant: str) -> str:
    """A new recording of `tenant` with a transcript and insights; its id."""
    call_id = f"{next(_unique):08x}".rjust(32, "e")
    await world.add_call(tenant, call_id=call_id, from_number="+14155550100")
    now = utc_now()
    recording = Recording(
        id=new_recording_id(), tenant_id=world.tenant_ids[tenant], call_id=call_id,
        agent_user_id=None, queue="sales", kind=RecordingKind.CALL, mailbox_kind=None,
        mailbox=None, name="n", path="x.wav", tracks_path="x.tracks.wav", format="wav",
        started_at=now, duration_seconds=3.0, size_bytes=1, sha256="0" * 64, created_at=now)
    async with world.db.transaction() as tx:
        tx.add(recording)
    lines = [Line("customer", 0.5, 2.0, f"Acme buy order ({tenant})")]
    await AnalyticsStore(world.db).save(
        record_of(recording), status=DONE, language="en", engine="pocketsphinx", lines=lines,
        insights=insights_of({"agent": [], "customer": [Interval(0.5, 2.0)]}, 3.0, lines, [],
                             LeadRules(threshold=0.0)))  # every call a hot lead
    return recording.id


async def measured_call(world: Any, tenant: str) -> str:
    """A new call of `tenant` with both legs' quality figures; its id."""
    call_id = f"{next(_unique):08x}".rjust(32, "f")
    await world.add_call(tenant, call_id=call_id, from_number="+14155550100")
    async with world.db.transaction() as tx:
        tx.add_all(CallQualityRow(
            tenant_id=world.tenant_ids[tenant], call_id=call_id, leg=leg, mes=88.1,
            min_mes=88.1, jitter_ms=1.0, lost=0, received=500, rtt_ms=0.0, at=utc_now())
            for leg in ("customer", "agent"))
    return call_id
