"""HTTP routes of recordings: list and filter, play (HTTP Range, for seeking) and download with an
audit row per request, queue policies, tenant rules, and pause/resume on a live call.

Route table entries (pbx_stasis.web.routing.Route) for the web sidecar's table. Recordings are
read from the database and the recordings directory (`settings.recordings.dir`), so the list,
play and download work in a web process of its own; live control (start/pause/resume) reaches
the Stasis side's recorder through the app key RECORDER, a `RecordingControl` (service.py):
the CallRecorder itself when one process runs both, or the proxy that pbx_stasis.remote
generates from the interface (`pbx run --part web`); 503 without it.

Who sees what: supervisors, managers and admins every recording of their tenant; agents only
their own calls' and only when the tenant's rules allow it (403 otherwise). A recording is named
by an unguessable id and is looked up in the session's tenant on every request (404 for another
tenant's).
"""

from __future__ import annotations

from functools import wraps
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from pbx_stasis.acd.http.control import acd_of
from pbx_stasis.recording.library import (
    AccessRecord,
    ListedRecording,
    RecordingFilter,
    RecordingLibrary,
)
from pbx_stasis.recording.policy import (
    PolicyMode,
    RecordingPolicy,
    RecordingPolicyFields,
    RecordingRules,
    RecordingRulesFields,
)
from pbx_stasis.recording.policy_store import RecordingPolicies
from pbx_stasis.recording.service import LiveRecordingView, RecordingControl, RecordingError
from pbx_stasis.recording.tables import RecordingKind
from pbx_stasis.store.tables import Role
from pbx_stasis.validation import (
    DB_INT_MAX,
    QUERY_WHOLE,
    Day,
    Model,
    ModelBody,
    ModelQuery,
    left_out,
    text,
)
from pbx_stasis.web.call_access import only_agent
from pbx_stasis.web.routing import (
    ANYONE,
    Handler,
    Route,
    RouteRequest,
    WebError,
    at_least,
    client_ip,
    from_service,
    invalid,
    not_found,
    reply,
)

# The CallRecorder itself (one process runs both) or a proxy forwarding to it.
RECORDER: web.AppKey[RecordingControl] = web.AppKey("recorder")
AUDIO_TYPES = {"wav": "audio/wav", "gsm": "audio/gsm", "ulaw": "audio/basic", "mp3": "audio/mpeg"}
FILE_TYPES = (*AUDIO_TYPES.values(), "application/octet-stream")  # what _send may answer
def library_of(req: RouteRequest) -> RecordingLibrary:
    ctx = req.site.ctx
    return RecordingLibrary(ctx.db, ctx.settings.recordings.dir)


def recorder_of(req: RouteRequest) -> RecordingControl:
    recorder = req.http.app.get(RECORDER)
    if recorder is None:
        raise WebError(503, "unavailable", "Live recording control is not available here")
    return recorder


def _answering(handler: Handler) -> Handler:
    """A RecordingError the handler did not turn into something else (the Stasis process is
    unreachable, Asterisk refused...) is answered with its status and message."""

    @wraps(handler)
    async def answer(req: RouteRequest) -> web.StreamResponse:
        try:
            return await handler(req)
        except RecordingError as error:
            raise from_service(error) from None

    return answer


async def _only_agent(req: RouteRequest) -> int | None:
    """None: the whole tenant; a user id: only that agent's calls; 403 when agents may not."""
    who = req.who
    if only_agent(who) is None:
        return None
    rules = await RecordingPolicies(req.site.ctx.db).rules(who.tenant_id)
    if not rules.agents_hear_own:
        raise WebError(403, "forbidden", "Your tenant does not let agents hear recordings")
    return who.user_id


def recording_json(item: ListedRecording) -> dict[str, Any]:
    record = item.recording
    return {
        "id": record.id,
        "call_id": record.call_id,
        "kind": record.kind.value,
        "queue": record.queue,
        "agent_user_id": record.agent_user_id,
        "agent_name": item.agent_name,
        "from_number": item.from_number,
        "to_number": item.to_number,
        "disposition": item.disposition,
        "started_at": record.started_at,
        "duration_seconds": record.duration_seconds,
        "size_bytes": record.size_bytes,
        "format": record.format,
        "sha256": record.sha256,
        "audio_url": f"/api/recordings/{record.id}/audio",
        "download_url": f"/api/recordings/{record.id}/download",
    }


class RecordingSearch(Model):
    """GET /api/recordings: which recordings, newest first."""

    # `from` is a Python keyword: the field is named by its alias.
    since: Day = left_out(alias="from", description="first day (UTC), YYYY-MM-DD")
    until: Day = left_out(alias="to", description="last day (UTC), included")
    agent: Annotated[
        int, Field(ge=1, le=DB_INT_MAX, description="the agent's user id"), QUERY_WHOLE
    ] = left_out()
    queue: Annotated[str, text(max_length=100)] = left_out()
    disposition: Annotated[str, text(max_length=100)] = left_out()
    kind: RecordingKind = RecordingKind.CALL
    limit: Annotated[int, Field(ge=1, le=200), QUERY_WHOLE] = 50
    offset: Annotated[int, Field(ge=0, le=100_000), QUERY_WHOLE] = 0


LIST_QUERY = ModelQuery(RecordingSearch)


async def list_recordings(req: RouteRequest) -> web.StreamResponse:
    only_agent = await _only_agent(req)
    query = req.query
    wanted = RecordingFilter(
        since=query.get("from"),
        until=query.get("to"),
        agent_user_id=query.get("agent"),
        queue=query.get("queue"),
        disposition=query.get("disposition"),
        kind=RecordingKind(query["kind"]),
        limit=query["limit"],
        offset=query["offset"],
    )
    if wanted.since and wanted.until and wanted.since > wanted.until:
        raise invalid({"to": "must not be before from"})
    found = await library_of(req).search(req.who.tenant_id, wanted, only_agent=only_agent)
    return reply({"recordings": [recording_json(item) for item in found]})


async def _recording(req: RouteRequest) -> ListedRecording:
    only_agent = await _only_agent(req)
    found = await library_of(req).find(
        req.who.tenant_id, req.param("recording_id"), only_agent=only_agent
    )
    if found is None:
        raise not_found("recording")
    return found


async def get_recording(req: RouteRequest) -> web.StreamResponse:
    return reply({"recording": recording_json(await _recording(req))})


async def _send(req: RouteRequest, action: str) -> web.StreamResponse:
    item = await _recording(req)
    library = library_of(req)
    path = library.file_of(item.recording)
    if path is None:
        raise WebError(410, "gone", "The recording's file is no longer there")
    await library.note_access(
        item.recording,
        user_id=req.who.user_id,
        action=action,
        ip=client_ip(req.http),
        byte_range=req.http.headers.get("Range"),
    )
    record = item.recording
    disposition = "attachment" if action == "download" else "inline"
    filename = f"call-{record.call_id}-{record.started_at:%Y%m%d-%H%M%S}.{record.format}"
    return web.FileResponse(
        path,
        headers={
            "Content-Type": AUDIO_TYPES.get(record.format, FILE_TYPES[-1]),
            "Content-Disposition": f'{disposition}; filename="{filename}"',
        },
    )


async def play_recording(req: RouteRequest) -> web.StreamResponse:
    """The audio, inline; honours Range so a browser's player can seek."""
    return await _send(req, "play")


async def download_recording(req: RouteRequest) -> web.StreamResponse:
    return await _send(req, "download")


def access_json(row: AccessRecord) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "action": row.action,
        "byte_range": row.byte_range,
        "ip": row.ip,
        "at": row.at,
    }


async def recording_accesses(req: RouteRequest) -> web.StreamResponse:
    item = await _recording(req)
    rows = await library_of(req).accesses(req.who.tenant_id, item.recording.id)
    return reply({"accesses": [access_json(row) for row in rows]})


# --- queue policies and tenant rules -----------------------------------------------------------


def policy_json(queue: str, policy: RecordingPolicy) -> dict[str, Any]:
    return {"queue": queue, "mode": policy.mode.value, "sample_percent": policy.sample_percent}


async def list_recording_policies(req: RouteRequest) -> web.StreamResponse:
    """Every queue with its policy (queues without one record nothing)."""
    tenant_id = req.who.tenant_id
    stored = await RecordingPolicies(req.site.ctx.db).policies(tenant_id)
    names = [queue.name for queue in await acd_of(req).queues(tenant_id)]
    queues = sorted(set(names) | set(stored))
    return reply(
        {"policies": [policy_json(q, stored.get(q, RecordingPolicy())) for q in queues]}
    )


POLICY = ModelBody(RecordingPolicyFields, defaults=True)


async def set_recording_policy(req: RouteRequest) -> web.StreamResponse:
    tenant_id = req.who.tenant_id
    queue = req.param("queue")
    names = [q.name for q in await acd_of(req).queues(tenant_id)]
    if queue not in names:
        raise not_found("queue")
    try:
        policy = RecordingPolicy(PolicyMode(req.body["mode"]), float(req.body["sample_percent"]))
    except ValueError as exc:
        raise invalid({"sample_percent": str(exc)}) from None
    await RecordingPolicies(req.site.ctx.db).set_policy(tenant_id, queue, policy)
    return reply({"policy": policy_json(queue, policy)})


def rules_json(rules: RecordingRules) -> dict[str, Any]:
    return {"retention_days": rules.retention_days, "agents_hear_own": rules.agents_hear_own}


async def get_recording_rules(req: RouteRequest) -> web.StreamResponse:
    rules = await RecordingPolicies(req.site.ctx.db).rules(req.who.tenant_id)
    return reply({"rules": rules_json(rules)})


RULES = ModelBody(RecordingRulesFields)


async def set_recording_rules(req: RouteRequest) -> web.StreamResponse:
    rules = RecordingRules(req.body["retention_days"], req.body["agents_hear_own"])
    await RecordingPolicies(req.site.ctx.db).set_rules(req.who.tenant_id, rules)
    return reply({"rules": rules_json(rules)})


# --- live calls --------------------------------------------------------------------------------


def live_json(view: LiveRecordingView) -> dict[str, Any]:
    return {
        "call_id": view.call_id,
        "state": view.state.value,
        "policy": view.policy,
        "agent_may_start": view.agent_may_start,
        "recorded_seconds": view.recorded_seconds,
        "paused_seconds": view.paused_seconds,
    }


async def _live_call(req: RouteRequest) -> tuple[RecordingControl, str]:
    """The recorder and the call named in the path, if this user may act on it."""
    recorder = recorder_of(req)
    who = req.who
    call_id = req.param("call_id")
    try:
        talk = await recorder.talk(who.tenant_id, call_id)
    except RecordingError as error:
        if error.code != "not-found":
            raise
        raise not_found("call connected to an agent") from None
    if who.role is Role.AGENT and talk.agent_user_id != who.user_id:
        raise not_found("call connected to an agent")
    return recorder, call_id


@_answering
async def live_recording(req: RouteRequest) -> web.StreamResponse:
    recorder, call_id = await _live_call(req)
    return reply({"recording": live_json(await recorder.state(req.who.tenant_id, call_id))})


async def _control(req: RouteRequest, verb: str) -> web.StreamResponse:
    recorder, call_id = await _live_call(req)
    who = req.who
    action = {"start": recorder.start, "pause": recorder.pause, "resume": recorder.resume}[verb]
    # The journal names the person logged in here, whichever process records the call.
    view = await action(who.tenant_id, call_id, by_user_id=who.user_id)
    return reply({"recording": live_json(view)})


@_answering
async def start_call_recording(req: RouteRequest) -> web.StreamResponse:
    return await _control(req, "start")


@_answering
async def pause_call_recording(req: RouteRequest) -> web.StreamResponse:
    return await _control(req, "pause")


@_answering
async def resume_call_recording(req: RouteRequest) -> web.StreamResponse:
    return await _control(req, "resume")


def _live_route(verb: str, handler: Handler, summary: str) -> Route:
    return Route("POST", f"/api/calls/{{call_id}}/recording/{verb}", handler, ANYONE, summary,
                 tag="recordings")


ROUTES: list[Route] = [
    Route("GET", "/api/recordings", list_recordings, ANYONE,
          "Recordings, newest first, filtered by day, agent, queue, disposition "
          "(agents: their own, where the tenant allows)",
          query=LIST_QUERY, tag="recordings"),
    Route("GET", "/api/recordings/{recording_id}", get_recording, ANYONE,
          "One recording's details", tag="recordings"),
    Route("GET", "/api/recordings/{recording_id}/audio", play_recording, ANYONE,
          "The recording's audio to play (HTTP Range for seeking; each request audited)",
          tag="recordings", produces=FILE_TYPES, ranged=True),
    Route("GET", "/api/recordings/{recording_id}/download", download_recording, ANYONE,
          "The recording's file as a download (audited)", tag="recordings",
          produces=FILE_TYPES, ranged=True),
    Route("GET", "/api/recordings/{recording_id}/accesses", recording_accesses,
          at_least(Role.MANAGER), "Who played or downloaded the recording, when",
          tag="recordings"),
    Route("GET", "/api/recording/policies", list_recording_policies, at_least(Role.SUPERVISOR),
          "Each queue's recording policy", tag="recordings"),
    Route("PUT", "/api/recording/policies/{queue}", set_recording_policy,
          at_least(Role.MANAGER), "Set a queue's recording policy (all, none, on-demand, "
          "sample)", body=POLICY, tag="recordings"),
    Route("GET", "/api/recording/rules", get_recording_rules, at_least(Role.SUPERVISOR),
          "The tenant's retention and agents' access to recordings", tag="recordings"),
    Route("PUT", "/api/recording/rules", set_recording_rules, frozenset({Role.ADMIN}),
          "Set the tenant's retention and agents' access to recordings", body=RULES,
          tag="recordings"),
    Route("GET", "/api/calls/{call_id}/recording", live_recording, ANYONE,
          "Whether a live call is being recorded (agents: their own calls)", tag="recordings"),
    _live_route("start", start_call_recording,
                "Start recording a live call (queues recorded on demand)"),
    _live_route("pause", pause_call_recording,
                "Pause the recording: silence goes into the file until resumed"),
    _live_route("resume", resume_call_recording, "Resume the recording"),
]
