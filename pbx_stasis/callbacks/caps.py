"""The per-number callback cap (compliance's `callback_daily_cap`): how many callbacks a number
asked for in the last 24 hours, judged by compliance.judge_callback, refusals journaled like
refused dials. One check for the three ways to ask: a waiting caller's key, an IVR node, the
API."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from pbx_stasis.callbacks.store import CallbackStore
from pbx_stasis.dialing.compliance import CALLBACK_CAP_WINDOW, Ruling, judge_callback
from pbx_stasis.dialing.compliance_store import READ_TIMEOUT_S, Compliance

log = logging.getLogger(__name__)


async def within_cap(compliance: Compliance, store: CallbackStore, tenant_id: int,
                     number: str, *, now: datetime, call_id: str | None = None,
                     agent_user_id: int | None = None, by: str | None = None) -> Ruling:
    """Whether `number` may ask for one more callback now (a refusal is journaled). A
    database that does not answer within READ_TIMEOUT_S lets the request through: the cap
    guards against abuse, and the callback itself is judged again when it is dialled."""
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            rules = await compliance.rules(tenant_id)
            if rules.callback_daily_cap is None:
                return judge_callback(number, rules=rules, asked=0)
            asked = await store.asked_since(tenant_id, number, now - CALLBACK_CAP_WINDOW)
    except Exception as exc:  # unreachable or slow: not capped this time
        log.warning("tenant %d: callback cap of %s not read: %s", tenant_id, number[:64], exc)
        return Ruling(True, "ok", "the cap could not be read")
    ruling = judge_callback(number, rules=rules, asked=asked)
    if not ruling.allowed:
        compliance.journal_refusal(tenant_id, number, ruling, call_id=call_id,
                                   agent_user_id=agent_user_id, by=by)
    return ruling
