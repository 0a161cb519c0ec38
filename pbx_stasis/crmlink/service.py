"""The external CRM link as the web side holds it: each tenant's settings, and the lookups.

A lookup never sits on the call path: it runs in the web process, started when a call comes
in (call:state's CallStarted, call:incoming's CallRinging: the watcher in `running`) and
awaited by the screen pop's own request, which the page makes beside the card of our
contact. One request per number at a time (the watcher's and the pages' share it), bounded by
the tenant's timeout, its answer kept `cache_s` seconds. A tenant's lookups reach internal
addresses only when the operator lists it in `[ivr] internal_lookups` (the rule of the IVR's
lookups, ivr/addresses.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select

from pbx_stasis.bus import Bus
from pbx_stasis.calls.events import CALL_INCOMING, CALL_STATE, CallRinging, CallStarted
from pbx_stasis.crm.phones import Numbering, to_e164
from pbx_stasis.crmlink.core import (
    LOOKUP_PLACEHOLDERS,
    Lookup,
    LookupCache,
    Status,
    answered,
    failed,
    link_values,
    open_link,
    render,
    timed_out,
)
from pbx_stasis.crmlink.tables import CrmLinkSettings
from pbx_stasis.ivr.addresses import PublicResolver, refused_url
from pbx_stasis.store import Direction
from pbx_stasis.store.base import utc_now
from pbx_stasis.store.db import Database
from pbx_stasis.store.tables import Tenant
from pbx_stasis.web.routing import RouteRequest

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 256 * 1024  # of a CRM's answer; a longer one is a failed lookup
SETTINGS_TTL_S = 30.0  # a tenant's settings are read again after this (another web process)
DEFAULT_TIMEOUT_MS = 1500
DEFAULT_CACHE_S = 300


@dataclass(frozen=True)
class LinkSettings:
    """A tenant's CRM link (crmlink/tables.py), and whether its lookups may reach internal
    addresses (the operator's choice)."""

    lookup_url: str | None = None
    token: str | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    cache_s: int = DEFAULT_CACHE_S
    mapping: Mapping[str, str] | None = None
    open_url: str | None = None
    internal_ok: bool = False
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def timeout_s(self) -> float:
        return self.timeout_ms / 1000


class ExternalCrm:
    """Every tenant's CRM link: settings, lookups (cached, one in flight per number)."""

    def __init__(self, db: Database, numbering: Numbering, internal_tenants: tuple[str, ...],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.numbering = numbering
        self.internal_tenants = frozenset(internal_tenants)
        self.clock = clock
        self.cache = LookupCache()
        self._settings: dict[int, tuple[float, LinkSettings]] = {}
        self._flying: dict[tuple[int, str], asyncio.Task[Lookup]] = {}
        self._http: aiohttp.ClientSession | None = None
        self._public_http: aiohttp.ClientSession | None = None
        self.requests = 0  # lookups sent to CRMs (the cache's misses), for the tests' and ops' eyes

    async def settings(self, tenant_id: int) -> LinkSettings:
        kept = self._settings.get(tenant_id)
        now = self.clock()
        if kept is not None and kept[0] > now:
            return kept[1]
        statement = (select(CrmLinkSettings, Tenant.slug)
                     .join(Tenant, Tenant.id == CrmLinkSettings.tenant_id, isouter=True)
                     .where(CrmLinkSettings.tenant_id == tenant_id))
        async with self.db.session() as session:
            found = (await session.execute(statement)).first()
            slug = found[1] if found is not None else await session.scalar(
                select(Tenant.slug).where(Tenant.id == tenant_id))
        internal_ok = slug in self.internal_tenants
        if found is None:
            settings = LinkSettings(internal_ok=internal_ok)
        else:
            row = found[0]
            settings = LinkSettings(
                lookup_url=row.lookup_url, token=row.token, timeout_ms=row.timeout_ms,
                cache_s=row.cache_s, mapping=dict(row.mapping), open_url=row.open_url,
                internal_ok=internal_ok, updated_at=row.updated_at, updated_by=row.updated_by)
        self._settings[tenant_id] = (now + SETTINGS_TTL_S, settings)
        return settings

    async def save(self, tenant_id: int, by: str, *, lookup_url: str | None,
                   token: str | None, keep_token: bool, timeout_ms: int, cache_s: int,
                   mapping: Mapping[str, str], open_url: str | None) -> LinkSettings:
        async with self.db.transaction() as session:
            row = await session.get(CrmLinkSettings, tenant_id)
            if row is None:
                row = CrmLinkSettings(tenant_id=tenant_id)
                session.add(row)
            elif keep_token:
                token = row.token
            row.lookup_url = lookup_url
            row.token = token
            row.timeout_ms = timeout_ms
            row.cache_s = cache_s
            row.mapping = dict(mapping)
            row.open_url = open_url
            row.updated_at = utc_now()
            row.updated_by = by
        self._settings.pop(tenant_id, None)
        self.cache.forget(tenant_id)
        return await self.settings(tenant_id)

    def _key(self, number: str) -> str | None:
        return to_e164(number, self.numbering)

    async def lookup(self, tenant_id: int, number: str) -> Lookup:
        """The CRM's record of a caller: cached, or the request in flight for that number,
        or a new one (bounded by the tenant's timeout)."""
        settings = await self.settings(tenant_id)
        e164 = self._key(number)
        if not settings.lookup_url:
            return Lookup(Status.OFF)
        if e164 is None:
            return Lookup(Status.NOT_FOUND, note="Not a phone number: not looked up.")
        key = (tenant_id, e164)
        cached = self.cache.get(key, self.clock())
        if cached is not None:
            return cached
        task = self._flying.get(key)
        if task is None:
            task = asyncio.create_task(self._fetch(key, settings), name=f"crm-lookup-{e164}")
            self._flying[key] = task
            task.add_done_callback(lambda _: self._flying.pop(key, None))
        return await asyncio.shield(task)

    def prefetch(self, tenant_id: int, number: str) -> None:
        """Start the lookup of a caller now (a call came in); nobody waits for it here."""
        task = asyncio.create_task(self.lookup(tenant_id, number), name="crm-prefetch")
        task.add_done_callback(_quiet)

    async def _fetch(self, key: tuple[int, str], settings: LinkSettings) -> Lookup:
        assert settings.lookup_url is not None
        digits = key[1].lstrip("+")
        url = render(settings.lookup_url, {"number": key[1], "digits": digits})
        result = await self._request(url, settings)
        self.cache.put(key, result, self.clock(), settings.cache_s)
        return result

    async def _request(self, url: str, settings: LinkSettings) -> Lookup:
        http = self._http if settings.internal_ok else self._public_http
        if http is None:
            return failed("the web app is not running")
        if not settings.internal_ok and (why := refused_url(url)) is not None:
            return failed(f"refused: {why}")
        headers = {"Accept": "application/json"}
        if settings.token:
            headers["Authorization"] = f"Bearer {settings.token}"
        self.requests += 1
        started = time.monotonic()
        try:
            async with asyncio.timeout(settings.timeout_s), http.get(
                url, headers=headers, allow_redirects=settings.internal_ok,
            ) as response:
                raw = await response.content.read(MAX_ANSWER_BYTES + 1)
                status = response.status
        except TimeoutError:
            return timed_out(settings.timeout_s)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return failed(f"unreachable: {type(exc).__name__}")
        took_ms = round((time.monotonic() - started) * 1000)
        if len(raw) > MAX_ANSWER_BYTES:
            return failed("answer too large")
        try:
            payload: Any = json.loads(raw) if raw else None
        except ValueError:
            if status == 404:
                payload = None
            else:
                return failed(f"the CRM answered {status} without JSON")
        return answered(status, payload, settings.mapping or {}, took_ms)

    def link(self, settings: LinkSettings, number: str | None, contact_id: int | None,
             external_id: str | None) -> str | None:
        e164 = self._key(number) if number else None
        return open_link(settings.open_url, link_values(e164 or number, contact_id,
                                                        external_id) or {})

    def lookup_url_problem(self, template: str, internal_ok: bool) -> str | None:
        """Why a lookup template would reach an address this tenant may not, or None."""
        if internal_ok:
            return None
        why = refused_url(render(template, dict.fromkeys(LOOKUP_PLACEHOLDERS, "1")))
        if why is None:
            return None
        return (f"{why}; CRM lookups reach only public addresses unless the operator lists "
                "the tenant in [ivr] internal_lookups")


def _quiet(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("crm lookup failed: %s", task.exception())


EXTERNAL_CRM: web.AppKey[ExternalCrm] = web.AppKey("external_crm")


def external_crm_of(req: RouteRequest) -> ExternalCrm:
    return req.http.app[EXTERNAL_CRM]


def incoming_number(event: object) -> str | None:
    """The caller's number of a call coming in to the agents (None: not one)."""
    if isinstance(event, CallStarted | CallRinging) and event.direction is Direction.INBOUND:
        return event.from_number or None
    return None


def running(crm: ExternalCrm, bus: Bus) -> Callable[[web.Application], AsyncIterator[None]]:
    """The lookups' HTTP sessions and the watcher that starts a lookup for each incoming
    call, for the web app's lifetime (its cleanup context)."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        crm._http = aiohttp.ClientSession()
        crm._public_http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=PublicResolver()))
        subscription = bus.subscribe((CALL_STATE, CALL_INCOMING), size=1000)

        async def watch() -> None:
            async for event in subscription:
                number = incoming_number(event.payload)
                if number is not None:
                    try:
                        settings = await crm.settings(event.tenant_id)
                    except Exception as exc:  # the database away: the page's request retries
                        log.warning("crm prefetch: %s", exc)
                        continue
                    if settings.lookup_url:
                        crm.prefetch(event.tenant_id, number)

        watcher = asyncio.create_task(watch(), name="crm-lookup-watcher")
        yield
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        subscription.close()
        for task in list(crm._flying.values()):
            task.cancel()
        await crm._http.close()
        await crm._public_http.close()

    return run
