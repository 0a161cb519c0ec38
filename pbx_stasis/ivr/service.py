"""Live IVR flows: the active version of each tenant in memory, new versions validated, stored
and swapped in at once (hot reload), and the call script for a dialled number.

A FlowSet is immutable and each call's script holds the one it started with, so swapping in a
new version serves new calls only; calls already in a flow finish on theirs. Versions applied
by another process (`pbx ivr apply`) are noticed by `watch` (a cheap poll of the active version
numbers) and swapped in the same way.

    tools = FlowTools(http=session, recordings=..., desk=..., line=...)
    ivr = IvrService(db, bus, ari, tools=tools)
    await ivr.start()                               # load the active versions, watch for more
    script = ivr.script_for(tenant_id, dialed)      # None: no flow answers that number
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.bus import Bus
from pbx_stasis.calls.inbound import CallScript
from pbx_stasis.ivr.errors import FlowSetInvalid, Pos, Problem
from pbx_stasis.ivr.events import IVR_UPDATED, IvrUpdated
from pbx_stasis.ivr.loader import check_sources
from pbx_stasis.ivr.model import FlowSet
from pbx_stasis.ivr.prompts import asterisk_sounds, prompt_files
from pbx_stasis.ivr.runner import FlowTools, flow_script
from pbx_stasis.ivr.source import YMap, YNode, YScalar, YSeq, parse_yaml
from pbx_stasis.ivr.versions import IvrVersion, IvrVersions, Source, UnknownVersion, diff_versions
from pbx_stasis.remote.interfaces import Carried, Interface
from pbx_stasis.store import Database, Directory, StoreError
from pbx_stasis.store.polling import poll
from pbx_stasis.web.contract import ServiceError

log = logging.getLogger(__name__)

TOPIC = IVR_UPDATED.name
# Sound checks run a few ARI requests at a time: a flow has tens of prompts, not thousands.
SOUND_CHECKS_AT_ONCE = 8


@dataclass(frozen=True)
class FlowSummary:
    name: str
    version: int
    updated_at: datetime | None
    updated_by: str | None = None


@dataclass(frozen=True)
class FlowDocument:
    name: str
    version: int
    yaml_text: str


class FlowControl(Protocol):
    """The IVR's operations behind the web pages and API: a tenant's flows, their newest text,
    validation and applying a new version. Errors: the kernel's ServiceError (NOT_FOUND...), and
    FlowSetInvalid from apply_flow. The ivr:updated bus event carries
    {"name": flow, "version": int, "user_id": int | None} when a flow is applied."""

    async def flows(self, tenant_id: int) -> list[FlowSummary]: ...

    async def flow(self, tenant_id: int, name: str) -> FlowDocument:
        """The newest version of a flow; NOT_FOUND if none."""
        ...

    async def validate_flow(self, tenant_id: int, name: str, yaml_text: str) -> list[Problem]:
        """Every problem of the flow text (none: it is valid); positions are in `yaml_text`."""
        ...

    async def apply_flow(
        self, tenant_id: int, name: str, yaml_text: str, user_id: int
    ) -> FlowSummary:
        """Store the text as the flow's new version and route new calls with it.

        Raises pbx_stasis.ivr.errors.FlowSetInvalid (with every problem) when it is not valid;
        nothing changes then.
        """
        ...


# FlowControl as a web process of its own reaches it (pbx_stasis.remote): a refused flow set
# comes back with its problems.
FLOW_SERVICE: Interface[FlowControl] = Interface(
    "flows", FlowControl, ServiceError, ServiceError.rebuild,
    carried=(Carried(FlowSetInvalid, "problems", list[Problem]),))


@dataclass(frozen=True)
class LiveFlows:
    """What serves a tenant's new calls: a version number and its FlowSet."""

    number: int
    flowset: FlowSet


@dataclass(frozen=True)
class Applied:
    """The outcome of installing a version: the version stored, or every problem found.

    `warnings` do not block (e.g. the sound files could not be checked: ARI unreachable).
    """

    version: IvrVersion | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.version is not None


class IvrService:
    """The tenants' live IVR flows and their versions in the database."""

    def __init__(
        self,
        db: Database,
        bus: Bus | None = None,
        ari: AriClient | None = None,
        *,
        tools: FlowTools | None = None,
        poll_seconds: float = 2.0,
        internal_lookups: Collection[str] = (),
    ) -> None:
        self.db = db
        # Tenants (slugs, from [ivr] internal_lookups) whose lookups may reach internal
        # addresses, and the ids of those that exist (a tenant may be created later).
        self.internal_lookups = frozenset(internal_lookups)
        self._internal_ids: dict[str, int] = {}
        self.bus = bus
        self.ari = ari
        self.tools = tools
        self.poll_seconds = poll_seconds
        self.versions = IvrVersions(db)
        self._live: dict[int, LiveFlows] = {}
        self._watch: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load every tenant's active version, then watch for versions applied elsewhere."""
        await self.load()
        if self._watch is None:
            self._watch = asyncio.create_task(self.watch(), name="ivr-versions")

    async def stop(self) -> None:
        """Stop watching for versions applied elsewhere."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None

    async def load(self) -> None:
        """Serve the active version of every tenant (tenants without one get no flows)."""
        await self._find_internal_tenants()
        for version in await self.versions.all_active():
            await self._serve(version)

    async def watch(self) -> None:
        """Poll the active version numbers and swap in the ones that changed, until cancelled."""
        async def refresh() -> None:
            await self.refresh()

        await poll(refresh, self.poll_seconds, "IVR versions", errors=(StoreError,))

    async def refresh(self) -> list[int]:
        """Swap in versions activated since the last look (by another process); the tenants."""
        await self._find_internal_tenants()
        numbers = await self.versions.active_numbers()
        changed: list[int] = []
        for tenant_id in list(self._live):
            if tenant_id not in numbers:
                del self._live[tenant_id]
                changed.append(tenant_id)
        for tenant_id, number in numbers.items():
            live = self._live.get(tenant_id)
            if live is not None and live.number == number:
                continue
            version = await self.versions.get(tenant_id, number)
            if version is not None and await self._serve(version):
                changed.append(tenant_id)
                self._publish(version, None)
        return changed

    async def _find_internal_tenants(self) -> None:
        for slug in self.internal_lookups - set(self._internal_ids):
            tenant = await Directory(self.db).get_tenant_by_slug(slug)
            if tenant is not None:
                self._internal_ids[slug] = tenant.id

    def internal_lookups_allowed(self, tenant_id: int) -> bool:
        """Whether the tenant's flows may look up internal addresses."""
        return tenant_id in self._internal_ids.values()

    async def check(
        self, sources: Sequence[Source], tenant_id: int | None
    ) -> tuple[FlowSet | None, list[Problem]]:
        """check_sources in a worker thread: a flow set near the size bound takes about a second
        to read, which the event loop (carrying calls) must not wait for. `tenant_id` None: a stored
        version being served again, whose lookups the runner checks at each call."""
        if tenant_id is not None:
            await self._find_internal_tenants()
        internal = tenant_id is None or self.internal_lookups_allowed(tenant_id)
        return await asyncio.to_thread(
            functools.partial(check_sources, list(sources), internal_lookups=internal)
        )

    async def _serve(self, version: IvrVersion) -> bool:
        flowset, problems = await self.check(version.sources, None)
        if flowset is None:
            # It was valid when applied; a newer loader or zoneinfo may disagree. The previous
            # flows (if any) keep serving and the admin sees why.
            log.error(
                "IVR version %d of tenant %d no longer loads; not served:\n%s",
                version.number,
                version.tenant_id,
                "\n".join(str(p) for p in problems),
            )
            return False
        self._live[version.tenant_id] = LiveFlows(version.number, flowset)
        if self.ari is not None:
            try:
                for problem in await check_sounds(flowset, self.ari):
                    log.warning("IVR version %d: %s", version.number, problem)
            except AriError as exc:
                log.warning("IVR version %d: sound files not checked: %s", version.number, exc)
        return True

    # --- serving calls ------------------------------------------------------------------------

    def live(self, tenant_id: int) -> LiveFlows | None:
        return self._live.get(tenant_id)

    def tenant_for(self, did: str, prefer: int) -> int | None:
        """The tenant whose live flows answer `did` (None: nobody's). Should two tenants claim
        the same number, `prefer` (the default tenant) wins, else the oldest tenant."""
        claiming = sorted(tenant_id for tenant_id, live in self._live.items()
                          if live.flowset.flow_for_did(did) is not None)
        if not claiming:
            return None
        return prefer if prefer in claiming else claiming[0]

    def queue_for(self, tenant_id: int, did: str) -> str | None:
        """The queue a call to `did` reaches through the tenant's live flow with no choice on
        the way (`Flow.first_queue`), or None."""
        live = self._live.get(tenant_id)
        flow = None if live is None else live.flowset.flow_for_did(did)
        return None if flow is None else flow.first_queue()

    def script_for(self, tenant_id: int, did: str) -> CallScript | None:
        """The script walking a call to `did` through the tenant's live flows, or None."""
        live = self._live.get(tenant_id)
        if live is None or live.flowset.flow_for_did(did) is None:
            return None
        if self.tools is None:
            raise RuntimeError("IvrService.tools is not set: flows cannot run calls")
        return flow_script(
            live.flowset,
            self.tools,
            version=live.number,
            internal_lookups=self.internal_lookups_allowed(tenant_id),
        )

    # --- versions -----------------------------------------------------------------------------

    async def apply(
        self,
        tenant_id: int,
        sources: Sequence[Source],
        user: str,
        *,
        user_id: int | None = None,
        comment: str | None = None,
        check_sounds_on_asterisk: bool = True,
        name: str | None = None,
    ) -> Applied:
        """Validate `sources` (file name, text) as one FlowSet; if valid (and its sound files
        exist on Asterisk), store it as the tenant's new active version and serve new calls
        with it at once. Otherwise nothing changes and every problem is returned."""
        flowset, problems = await self.check(sources, tenant_id)
        if flowset is None:
            return Applied(None, problems)
        warnings = [str(problem) for problem in problems]  # a flow set that loads has only those
        if check_sounds_on_asterisk and self.ari is not None:
            try:
                missing = await check_sounds(flowset, self.ari)
            except AriError as exc:
                warnings.append(f"sound files not checked on Asterisk: {exc}")
            else:
                if missing:
                    return Applied(None, missing)
        version = await self.versions.add(
            tenant_id, list(sources), created_by=user, user_id=user_id, comment=comment
        )
        self._live[tenant_id] = LiveFlows(version.number, flowset)
        self._publish(version, user_id, name)
        return Applied(version, [], warnings)

    async def apply_file(
        self,
        tenant_id: int,
        file: str,
        text: str,
        user: str,
        *,
        user_id: int | None = None,
        comment: str | None = None,
        check_sounds_on_asterisk: bool = True,
    ) -> Applied:
        """Replace (or add) one file of the active version and apply the result (the web
        editor edits one flow file at a time)."""
        active = await self.versions.active(tenant_id)
        sources = [s for s in (active.sources if active else ()) if s[0] != file]
        sources.append((file, text))
        return await self.apply(
            tenant_id,
            sources,
            user,
            user_id=user_id,
            comment=comment,
            check_sounds_on_asterisk=check_sounds_on_asterisk,
            name=file,
        )

    async def activate(
        self, tenant_id: int, number: int, *, user_id: int | None = None
    ) -> Applied:
        """Serve an earlier version again (a rollback); refused if it no longer validates."""
        old = await self.versions.get(tenant_id, number)
        if old is None:
            raise UnknownVersion(f"no IVR version {number}")
        flowset, problems = await self.check(old.sources, tenant_id)
        if flowset is None:
            return Applied(None, problems)
        version = await self.versions.activate(tenant_id, number)
        self._live[tenant_id] = LiveFlows(version.number, flowset)
        self._publish(version, user_id)
        return Applied(version)

    async def list_versions(self, tenant_id: int) -> list[IvrVersion]:
        return await self.versions.list(tenant_id)

    async def diff(self, tenant_id: int, old: int, new: int) -> str:
        """Unified diff between two versions of the tenant."""
        versions = []
        for number in (old, new):
            version = await self.versions.get(tenant_id, number)
            if version is None:
                raise UnknownVersion(f"no IVR version {number}")
            versions.append(version)
        return diff_versions(versions[0], versions[1])

    def _publish(self, version: IvrVersion, user_id: int | None, name: str | None = None) -> None:
        if self.bus is None:
            return
        self.bus.publish(
            IVR_UPDATED,
            version.tenant_id,
            IvrUpdated(
                name=name if name is not None else ", ".join(version.files),
                version=version.number,
                user_id=user_id if user_id is not None else version.created_by_user_id,
                files=tuple(version.files),
            ),
        )


# --- sound files on Asterisk --------------------------------------------------------------------


async def check_sounds(flowset: FlowSet, ari: AriClient) -> list[Problem]:
    """Every sound the flows play that the Asterisk behind `ari` does not have, as problems at
    the place the flow names it.

    Prompt files (`sound:<lang>/<file>`) must exist in that language's directory: ARI's sound
    index lists `<file>` with that language. Asterisk's own sounds played by name must exist in
    some language. Raises AriError when ARI cannot be asked.
    """
    limit = asyncio.Semaphore(SOUND_CHECKS_AT_ONCE)

    async def languages(sound: str) -> set[str] | None:
        async with limit:
            try:
                found = await ari.sounds.get(sound)
            except AriError as exc:
                if exc.status == 404:
                    return None
                raise
        return {str(f.get("language")) for f in found.get("formats", [])}

    needs = prompt_files(flowset)
    stock = asterisk_sounds(flowset)
    found = await asyncio.gather(
        *(languages(n.file) for n in needs), *(languages(s) for s in stock)
    )
    problems: list[Problem] = []
    # Re-reading the files to point at each missing sound takes as long as validating them:
    # off the event loop too.
    places = await asyncio.to_thread(_Places, flowset.sources)
    for need, langs in zip(needs, found[: len(needs)], strict=True):
        if langs is None or need.language not in langs:
            problems.append(
                Problem(
                    places.prompt(need.name, need.language),
                    f"prompt '{need.name}' ({need.language}): no sound file "
                    f"{need.language}/{need.file} on Asterisk"
                    + (" (generate it: pbx ivr prompts)" if need.text else " (record it)"),
                )
            )
    for sound, langs in zip(stock, found[len(needs) :], strict=True):
        if not langs:
            problems.append(
                Problem(places.sound(sound), f"sound '{sound}' does not exist on Asterisk")
            )
    return sorted(problems)


class _Places:
    """Where a prompt's language entry or a `{sound: ...}` item is written in the sources."""

    def __init__(self, sources: Sequence[tuple[str, str]]) -> None:
        self._trees: list[tuple[str, YNode]] = []
        for file, text in sources:
            tree, _ = parse_yaml(file, text)
            if tree is not None:
                self._trees.append((file, tree))
        self._fallback = Pos(sources[0][0] if sources else "<flows>", 1, 1)

    def prompt(self, name: str, language: str) -> Pos:
        for _, tree in self._trees:
            flows = tree.get("flows") if isinstance(tree, YMap) else None
            if not isinstance(flows, YMap):
                continue
            for _, flow in flows:
                prompts = flow.get("prompts") if isinstance(flow, YMap) else None
                entry = prompts.get(name) if isinstance(prompts, YMap) else None
                if isinstance(entry, YMap):
                    key = entry.key(language)
                    if key is not None:
                        return key.pos
        return self._fallback

    def sound(self, sound: str) -> Pos:
        for _, tree in self._trees:
            for node in _walk(tree):
                if isinstance(node, YMap):
                    value = node.get("sound")
                    if isinstance(value, YScalar) and value.text == sound:
                        return value.pos
        return self._fallback


def _walk(node: YNode) -> Iterator[YNode]:
    yield node
    if isinstance(node, YMap):
        for _, value in node:
            yield from _walk(value)
    elif isinstance(node, YSeq):
        for item in node.items:
            yield from _walk(item)


__all__ = ["TOPIC", "Applied", "IvrService", "LiveFlows", "check_sounds"]
