"""`pbx check`: reach every dependency and say, one line each, what is wrong.

On the Asterisk side it checks what the README's "Using an Asterisk you already run" asks for and
ARI can see: the version, the modules the app uses, that PJSIP objects can be created at run time
(agents' endpoints: sorcery.conf's memory wizard) and that the `trunk` endpoint exists and is
identified by source address only. The dialplan can't be read over ARI: that every call enters
`Stasis(pbx,...)` stays the admin's part.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable

from pbx_stasis.app import ari_root
from pbx_stasis.ari import AriClient, AriError
from pbx_stasis.ari.models import Module
from pbx_stasis.config import Settings
from pbx_stasis.store import Database, Directory, StoreError, migrate

# The modules the app relies on, and what stops working without each.
REQUIRED_MODULES: dict[str, str] = {
    "res_ari.so": "ARI itself",
    "res_ari_applications.so": "ARI: event subscriptions",
    "res_ari_asterisk.so": "ARI: agents' endpoints, module and version checks",
    "res_ari_bridges.so": "ARI: bridges (queues, conversations)",
    "res_ari_channels.so": "ARI: call control",
    "res_ari_device_states.so": "ARI: agents' registration states",
    "res_ari_endpoints.so": "ARI: agents' registration states",
    "res_ari_events.so": "ARI: the events WebSocket",
    "res_ari_playbacks.so": "ARI: prompts and announcements",
    "res_ari_recordings.so": "ARI: recordings and voicemail",
    "res_ari_sounds.so": "ARI: checking an IVR flow's sounds",
    "app_stasis.so": "the dialplan's Stasis(), by which every call enters the app",
    "app_stack.so": "the dialplan's hold of callers while the app is away (Gosub)",
    "func_db.so": "recording callers the dialplan refused while the app was away (AstDB)",
    "app_amd.so": "answering-machine detection of campaign calls (the pbx-amd context)",
    "res_stasis.so": "Stasis applications",
    "res_stasis_answer.so": "answering calls",
    "res_stasis_device_state.so": "agents' registration states",
    "res_stasis_playback.so": "prompts and announcements",
    "res_stasis_recording.so": "recordings and voicemail",
    "res_stasis_snoop.so": "supervisors' listen and whisper",
    "chan_pjsip.so": "SIP phones and trunks",
    "res_pjsip_session.so": "SIP calls",
    "res_sorcery_memory.so": "agents' endpoints, created at run time",
    "res_http_websocket.so": "WebSockets (ARI events, browser softphones)",
    "res_pjsip_transport_websocket.so": "browser softphones (SIP over WebSocket)",
    "res_srtp.so": "browser softphones (WebRTC's encrypted audio)",
    "res_rtp_asterisk.so": "audio (RTP)",
    "bridge_simple.so": "two-party bridges",
    "bridge_softmix.so": "bridges of three or more (barge, consultation)",
    "res_musiconhold.so": "music on hold",
    "format_wav.so": "the IVR's prompts (.wav)",
}
TRUNK = "trunk"  # outside calls dial PJSIP/<number>@trunk (transfer/outside.py)
_SORCERY_HINT = (
    "in sorcery.conf, for res_pjsip, list a memory wizard after the config file for endpoint, "
    "auth and aor (README, \"Using an Asterisk you already run\")"
)


def missing_modules(modules: Iterable[Module]) -> list[str]:
    """One line per required module that is not loaded and running."""
    running = {m.get("name") for m in modules if m.get("status") == "Running"}
    return [
        f"Asterisk module {name} is not running: needed for {why} (modules.conf)"
        for name, why in REQUIRED_MODULES.items()
        if name not in running
    ]


async def run_checks(settings: Settings) -> list[str]:
    problems: list[str] = []
    try:
        db = Database.connect(settings.database.url)
    except StoreError as exc:
        problems.append(str(exc))
    else:
        try:
            await db.ping()
            revision = await migrate.current(settings.database.url)
            if revision != migrate.head():
                problems.append(
                    f"database schema is at {revision or 'nothing'}, expected {migrate.head()}: "
                    "run `pbx migrate`"
                )
            elif await Directory(db).get_tenant_by_slug(settings.calls.tenant) is None:
                # `pbx run` would create it empty: calls taken for a tenant nobody logs in to.
                slug = settings.calls.tenant
                problems.append(
                    f"calls.tenant (PBX_TENANT) {slug!r}: no such tenant in the database; "
                    f"`pbx user add NAME --tenant {slug} --role admin` creates it"
                )
        except StoreError as exc:
            problems.append(str(exc))
        finally:
            await db.dispose()

    try:
        async with AriClient(ari_root(settings.ari.url), settings.ari.user,
                             settings.ari.password, timeout=5.0) as ari:
            info = await ari.asterisk.info()
            version = info.get("system", {}).get("version", "?")
            if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 20:
                problems.append(f"ARI {settings.ari.url}: Asterisk {version} is older than 20")
            problems += missing_modules(await ari.asterisk.list_modules())
            problems += await _dynamic_endpoints(ari)
            problems += await _trunk(ari)
    except AriError as exc:
        problems.append(f"ARI (ari.url = {settings.ari.url}): {exc}")
    return problems


async def _dynamic_endpoints(ari: AriClient) -> list[str]:
    """Create (and delete) a throwaway auth, aor and endpoint, as the app does for agents."""
    name = f"pbx-check-{secrets.token_hex(4)}"
    objects = {
        "auth": {"auth_type": "userpass", "username": name, "password": secrets.token_hex(8)},
        "aor": {"max_contacts": "1"},
        "endpoint": {"auth": name, "aors": name},
    }
    created: list[str] = []
    try:
        for kind, fields in objects.items():
            try:
                await ari.asterisk.update_config("res_pjsip", kind, name, fields)
            except AriError as exc:
                if exc.status is None:
                    raise
                return [f"Asterisk refused to create a PJSIP {kind} over ARI ({exc.status} "
                        f"{exc.message}): agents' endpoints are created at run time; "
                        + _SORCERY_HINT]
            created.append(kind)
        return []
    finally:
        for kind in reversed(created):
            with contextlib.suppress(AriError):
                await ari.asterisk.delete_config("res_pjsip", kind, name)


async def _trunk(ari: AriClient) -> list[str]:
    try:
        fields = await ari.asterisk.get_config("res_pjsip", "endpoint", TRUNK)
    except AriError as exc:
        if exc.status != 404:
            raise
        return [f"no PJSIP endpoint named {TRUNK!r}: outbound calls and transfers to outside "
                f"numbers dial PJSIP/<number>@{TRUNK} (see pjsip/provider-trunk.conf.example)"]
    return trunk_identification({f["attribute"]: f["value"] for f in fields})


def trunk_identification(endpoint: dict[str, str]) -> list[str]:
    """The trunk must not be found by the From user unless it demands a password: the project's
    endpoint_identifier_order tries the From user first, so `From: trunk` from any address would
    otherwise be taken for the carrier's calls."""
    methods = {m.strip() for m in endpoint.get("identify_by", "").split(",") if m.strip()}
    if endpoint.get("auth") or not methods & {"username", "auth_username"}:
        return []
    return [f"PJSIP endpoint {TRUNK!r} can be found by the From user (identify_by = "
            f"{endpoint.get('identify_by')}) and has no auth: anyone who reaches the SIP port "
            "could call in as the carrier; set identify_by = ip on it (pjsip/pjsip.conf)"]
