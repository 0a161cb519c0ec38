"""The ARI client against Asterisk's own REST API description files (Swagger 1.2).

Needs the sandbox chroot's files, not a running Asterisk: ROOT/usr/share/asterisk/rest-api,
where ROOT is $PBX_SANDBOX_ROOT, else $PBX_SANDBOX_DIR/root, else
~/.cache/pbx-stasis/sandbox/root. Checks, in order of strength:
- every operation in the client's table exists with that verb and path, and every parameter
  it may send is declared there (required ones included);
- every client method is in the table, and calling each one with all its options against a
  server generated from the description files sends only declared, well-typed values;
- the TypedDict models and Literal choices mirror the description files exactly.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from polling import eventually

from pbx_stasis.ari import AriClient, EventStream
from pbx_stasis.ari import client as client_module
from pbx_stasis.ari.models import EVENT_MODELS, MODELS, AriEvent
from pbx_stasis.ari.operations import OPERATIONS

pytestmark = pytest.mark.integration

# What the project needs from ARI; the table may hold a few more that tests use as tools.
REQUIRED = {
    ("GET", "/events"),
    ("GET", "/channels"),
    ("GET", "/channels/{channelId}"),
    ("POST", "/channels"),
    ("DELETE", "/channels/{channelId}"),
    ("POST", "/channels/{channelId}/answer"),
    ("POST", "/channels/{channelId}/ring"),
    ("POST", "/channels/{channelId}/play"),
    ("POST", "/channels/{channelId}/record"),
    ("POST", "/channels/{channelId}/snoop"),
    ("POST", "/channels/{channelId}/dtmf"),
    ("POST", "/channels/{channelId}/mute"),
    ("DELETE", "/channels/{channelId}/mute"),
    ("POST", "/channels/{channelId}/moh"),
    ("DELETE", "/channels/{channelId}/moh"),
    ("GET", "/channels/{channelId}/variable"),
    ("POST", "/channels/{channelId}/variable"),
    ("POST", "/channels/externalMedia"),
    ("GET", "/bridges"),
    ("GET", "/bridges/{bridgeId}"),
    ("POST", "/bridges"),
    ("DELETE", "/bridges/{bridgeId}"),
    ("POST", "/bridges/{bridgeId}/addChannel"),
    ("POST", "/bridges/{bridgeId}/removeChannel"),
    ("POST", "/bridges/{bridgeId}/play"),
    ("POST", "/bridges/{bridgeId}/record"),
    ("DELETE", "/playbacks/{playbackId}"),
    ("GET", "/recordings/live/{recordingName}"),
    ("POST", "/recordings/live/{recordingName}/stop"),
    ("POST", "/recordings/live/{recordingName}/mute"),
    ("DELETE", "/recordings/live/{recordingName}/mute"),
    ("GET", "/recordings/stored/{recordingName}"),
    ("DELETE", "/recordings/stored/{recordingName}"),
    ("GET", "/recordings/stored/{recordingName}/file"),
    ("GET", "/endpoints/{tech}/{resource}"),
    ("GET", "/sounds/{soundId}"),
    ("GET", "/applications/{applicationName}"),
    ("POST", "/applications/{applicationName}/subscription"),
    ("DELETE", "/applications/{applicationName}/subscription"),
    ("PUT", "/applications/{applicationName}/eventFilter"),
    ("GET", "/asterisk/info"),
    ("GET", "/asterisk/ping"),
    ("GET", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}"),
    ("PUT", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}"),
    ("DELETE", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}"),
    ("GET", "/asterisk/modules"),
}


# -- the description files ----------------------------------------------------------------


def rest_api_dir() -> Path:
    root = os.environ.get("PBX_SANDBOX_ROOT")
    if root is None:
        sandbox = os.environ.get("PBX_SANDBOX_DIR", "~/.cache/pbx-stasis/sandbox")
        root = str(Path(sandbox).expanduser() / "root")
    return Path(root) / "usr" / "share" / "asterisk" / "rest-api"


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # path, query, body
    data_type: str
    required: bool
    multiple: bool
    choices: tuple[str, ...] | None


@dataclass
class SwaggerOperation:
    method: str
    path: str
    nickname: str
    response: str
    params: dict[str, Param]
    pattern: re.Pattern[str] = field(init=False)
    literal_segments: int = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(self.path))
        self.pattern = re.compile(f"^{regex}$")
        self.literal_segments = sum("{" not in part for part in self.path.split("/"))

    def named(self, kind: str) -> set[str]:
        return {p.name for p in self.params.values() if p.kind == kind}


@dataclass
class Swagger:
    operations: dict[tuple[str, str], SwaggerOperation]
    models: dict[str, dict[str, Any]]

    def match(self, method: str, raw_path: str) -> SwaggerOperation | None:
        candidates = [
            op
            for (verb, _), op in self.operations.items()
            if verb == method and op.pattern.match(raw_path)
        ]
        # Asterisk prefers a literal segment over a path variable (/channels/create).
        return max(candidates, key=lambda op: op.literal_segments, default=None)


@pytest.fixture(scope="module")
def swagger() -> Swagger:
    directory = rest_api_dir()
    files = sorted(directory.glob("*.json"))
    if not files:
        pytest.fail(
            f"Asterisk's REST API description files are missing ({directory}/*.json): "
            "run `scripts/asterisk-sandbox install` (or set PBX_SANDBOX_ROOT)",
            pytrace=False,
        )
    operations: dict[tuple[str, str], SwaggerOperation] = {}
    models: dict[str, dict[str, Any]] = {}
    for path in files:
        document = json.loads(path.read_text())
        models.update(document.get("models", {}))
        for api in document.get("apis", []):
            for op in api.get("operations", []):
                params = {
                    p["name"]: Param(
                        p["name"],
                        p["paramType"],
                        p["dataType"],
                        bool(p.get("required")),
                        bool(p.get("allowMultiple")),
                        tuple(p["allowableValues"]["values"])
                        if p.get("allowableValues", {}).get("valueType") == "LIST"
                        else None,
                    )
                    for p in op.get("parameters", [])
                }
                entry = SwaggerOperation(
                    op["httpMethod"], api["path"], op["nickname"], op["responseClass"], params
                )
                operations[(entry.method, entry.path)] = entry
    assert operations, f"no operations found in {directory}"
    return Swagger(operations, models)


# -- the operation table ------------------------------------------------------------------


def test_every_client_operation_is_declared_by_asterisk(swagger: Swagger) -> None:
    problems: list[str] = []
    for op in OPERATIONS.values():
        declared = swagger.operations.get((op.method, op.path))
        if declared is None:
            problems.append(f"{op.name}: {op.method} {op.path} is not an ARI operation")
            continue
        if op.path_params != declared.named("path"):
            problems.append(f"{op.name}: path params {sorted(op.path_params)}")
        for name in sorted(op.query - declared.named("query")):
            problems.append(f"{op.name}: sends undeclared query parameter {name!r}")
        missing = {
            p.name for p in declared.params.values() if p.kind == "query" and p.required
        } - op.query
        for name in sorted(missing):
            problems.append(f"{op.name}: cannot send required query parameter {name!r}")
        if op.body is not None and op.body not in declared.named("body"):
            problems.append(f"{op.name}: body {op.body!r} not declared")
        if op.body is None and any(
            p.required for p in declared.params.values() if p.kind == "body"
        ):
            problems.append(f"{op.name}: cannot send the required body")
    assert not problems, "\n".join(problems)


def test_the_operations_the_project_needs_are_covered(swagger: Swagger) -> None:
    registered = {(op.method, op.path) for op in OPERATIONS.values()}
    missing = REQUIRED - registered
    assert not missing, f"client lacks {sorted(missing)}"
    unknown = REQUIRED - set(swagger.operations)
    assert not unknown, f"no longer in Asterisk's API: {sorted(unknown)}"
    print(
        f"\nARI coverage: {len(registered)} of {len(swagger.operations)} operations "
        f"({len(REQUIRED)} required). Not used: "
        + ", ".join(f"{m} {p}" for m, p in sorted(set(swagger.operations) - registered))
    )


def test_every_client_method_has_exactly_one_operation() -> None:
    methods: set[str] = set()
    ari = AriClient("http://127.0.0.1:1/ari", "u", "p")
    for attribute, resource in vars(ari).items():
        if attribute.startswith("_"):
            continue
        for name, _member in inspect.getmembers(resource, inspect.iscoroutinefunction):
            base = name.removeprefix("start_")
            if base != name and inspect.iscoroutinefunction(getattr(resource, base, None)):
                continue  # start_X: X's operation, sent now, its answer awaited later
            if not name.startswith("_"):
                methods.add(f"{attribute}.{name}")
    assert methods == set(OPERATIONS) - {"events.websocket"}


# -- the wire: every method, every option, against a server made from the files -----------


@dataclass
class Violations:
    hits: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _check_value(where: str, param: Param, value: str, problems: list[str]) -> None:
    values = value.split(",") if param.multiple else [value]
    for item in values:
        if param.data_type == "boolean" and item not in ("true", "false"):
            problems.append(f"{where}: {param.name}={item!r} is not true/false")
        if param.data_type in ("int", "long") and not re.fullmatch(r"-?\d+", item):
            problems.append(f"{where}: {param.name}={item!r} is not an integer")
        if param.choices is not None and item not in param.choices:
            problems.append(f"{where}: {param.name}={item!r} not in {param.choices}")


def _sample_answer(response: str) -> web.StreamResponse:
    if response == "void":
        return web.Response(status=204)
    if response == "binary":
        return web.Response(body=b"RIFF", content_type="audio/wav")
    if response.startswith("List["):
        return web.json_response([])
    if response == "Variable":
        return web.json_response({"value": "v"})
    if response == "Variables":
        return web.json_response({"variables": {}})
    return web.json_response({})


def swagger_server(swagger: Swagger, seen: Violations) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0].removeprefix("/ari")
        op = swagger.match(request.method, raw_path)
        if op is None:
            seen.problems.append(f"{request.method} {raw_path}: no such ARI operation")
            return web.json_response({"message": "no such operation"}, status=404)
        seen.hits.add((op.method, op.path))
        where = f"{op.method} {op.path}"
        query_params = {p.name: p for p in op.params.values() if p.kind == "query"}
        for name in request.query:
            if len(request.query.getall(name)) > 1:
                seen.problems.append(f"{where}: {name} repeated (Asterisk keeps the last)")
            param = query_params.get(name)
            if param is None:
                seen.problems.append(f"{where}: undeclared query parameter {name!r}")
            else:
                _check_value(where, param, request.query[name], seen.problems)
        for param in query_params.values():
            if param.required and param.name not in request.query:
                seen.problems.append(f"{where}: required {param.name!r} missing")
        if request.can_read_body:
            body = await request.json()
            body_params = [p for p in op.params.values() if p.kind == "body"]
            if not body_params:
                seen.problems.append(f"{where}: sent a body it does not take")
            elif body_params[0].data_type == "containers" and set(body) != {body_params[0].name}:
                # Asterisk reads a "containers" body from the key named after the parameter.
                seen.problems.append(
                    f"{where}: body keys {sorted(body)} != [{body_params[0].name}]"
                )
        if op.path == "/events":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.close()
            return ws
        return _sample_answer(op.response)

    app = web.Application()
    app.router.add_route("*", "/ari/{tail:.*}", handle)
    return app


@pytest.fixture
async def wire(swagger: Swagger) -> AsyncIterator[tuple[AriClient, Violations]]:
    seen = Violations()
    runner = web.AppRunner(swagger_server(swagger, seen), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with AriClient(f"http://127.0.0.1:{port}/ari", "pbx", "secret") as ari:
            yield ari, seen
    finally:
        await runner.cleanup()


def every_call(ari: AriClient) -> list[Callable[[], Awaitable[object]]]:
    """Each client method once, with every option it has set."""
    ch, br, rec, app = ari.channels, ari.bridges, ari.recordings, ari.applications
    var = {"PBX_CALL": "call-1"}
    return [
        lambda: ch.list(),
        lambda: ch.get("c1"),
        lambda: ch.originate(
            "PJSIP/agent-1",
            app="pbx",
            app_args=["agent", "call-1"],
            caller_id='"Sales" <100>',
            dial_timeout=20,
            variables=var,
            channel_id="c2",
            other_channel_id="c3",
            originator="c1",
            formats=["ulaw", "opus"],
        ),
        lambda: ch.originate(
            "PJSIP/agent-1", extension="100", context="stasis", priority=1, label="start"
        ),
        lambda: ch.hangup("c1", "busy", reason_code="17"),
        lambda: ch.answer("c1"),
        lambda: ch.ring("c1"),
        lambda: ch.continue_in_dialplan("c1", context="pbx-amd"),
        lambda: ch.send_dtmf("c1", "12#", before=10, between=100, duration=120, after=10),
        lambda: ch.mute("c1", "in"),
        lambda: ch.unmute("c1", "out"),
        lambda: ch.start_moh("c1", "default"),
        lambda: ch.stop_moh("c1"),
        lambda: ch.play(
            "c1",
            ["sound:hello-world", "digits:12"],
            lang="en",
            offsetms=0,
            skipms=3000,
            playback_id="p1",
        ),
        lambda: ch.record(
            "c1",
            "calls/c1",
            "wav",
            max_duration_seconds=3600,
            max_silence_seconds=0,
            if_exists="overwrite",
            beep=True,
            terminate_on="#",
        ),
        lambda: ch.get_variable("c1", "CALLERID(num)"),
        lambda: ch.set_variable("c1", "PBX_CALL", "call-1", report_events=False),
        lambda: ch.get_variables("c1", ["PBX_CALL", "PBX_QUEUE"]),
        lambda: ch.snoop("c1", "pbx", spy="both", whisper="out", app_args="listen", snoop_id="s1"),
        lambda: ch.rtp_statistics("c1"),
        lambda: ch.external_media(
            "pbx",
            "slin16",
            external_host="127.0.0.1:9999",
            channel_id="em1",
            encapsulation="rtp",
            transport="udp",
            connection_type="client",
            direction="both",
            data="x",
            transport_data="y",
            variables=var,
        ),
        lambda: br.list(),
        lambda: br.get("b1"),
        lambda: br.create(["mixing", "dtmf_events"], bridge_id="b1", name="call-1"),
        lambda: br.destroy("b1"),
        lambda: br.add_channel(
            "b1",
            ["c1", "c2"],
            role="agent",
            absorb_dtmf=True,
            mute=False,
            inhibit_connected_line_updates=True,
        ),
        lambda: br.remove_channel("b1", "c1"),
        lambda: br.play(
            "b1",
            "sound:beep",
            lang="en",
            offsetms=0,
            skipms=1000,
            playback_id="p2",
            announcer_format="ulaw",
        ),
        lambda: br.record(
            "b1",
            "calls/b1",
            "wav",
            max_duration_seconds=60,
            max_silence_seconds=5,
            if_exists="append",
            beep=False,
            terminate_on="none",
            recorder_format="ulaw",
        ),
        lambda: ari.playbacks.get("p1"),
        lambda: ari.playbacks.stop("p1"),
        lambda: rec.get_live("r1"),
        lambda: rec.stop("r1"),
        lambda: rec.mute("r1"),
        lambda: rec.unmute("r1"),
        lambda: rec.get_stored("calls/r1"),
        lambda: rec.delete_stored("calls/r1"),
        lambda: rec.stored_file("calls/r1"),
        lambda: ari.endpoints.get("PJSIP", "agent-1"),
        lambda: ari.sounds.get("hello-world"),
        lambda: app.get("pbx"),
        lambda: app.subscribe("pbx", ["endpoint:PJSIP", "deviceState:Stasis:agent-1"]),
        lambda: app.unsubscribe("pbx", "endpoint:PJSIP"),
        lambda: app.set_event_filter("pbx", allowed=["StasisStart"], disallowed=[]),
        lambda: ari.asterisk.info(["build", "status"]),
        lambda: ari.asterisk.ping(),
        lambda: ari.asterisk.get_config("res_pjsip", "endpoint", "agent-1"),
        lambda: ari.asterisk.update_config(
            "res_pjsip", "endpoint", "agent-1", {"webrtc": "yes", "allow": "opus,ulaw"}
        ),
        lambda: ari.asterisk.delete_config("res_pjsip", "endpoint", "agent-1"),
        lambda: ari.asterisk.list_modules(),
    ]


async def test_every_method_sends_only_what_asterisk_declares(
    wire: tuple[AriClient, Violations],
) -> None:
    ari, seen = wire
    for call in every_call(ari):
        await call()

    async def handler(event: AriEvent) -> None:
        pass

    stream = EventStream(ari, "pbx", handler)
    stream.start()
    await eventually(lambda: stream.stats.connects, every=0.01)
    await stream.close()

    assert not seen.problems, "\n".join(seen.problems)
    registered = {(op.method, op.path) for op in OPERATIONS.values()}
    assert seen.hits == registered, sorted(registered - seen.hits)


# -- models and choices --------------------------------------------------------------------

_SCALARS: dict[str, type] = {
    "string": str,
    "Date": str,
    "int": int,
    "long": int,
    "double": float,
    "boolean": bool,
}
_RENAMED = {"RTPstat": "RtpStat"}


def _type_problem(where: str, declared: str, hint: Any) -> str | None:
    listed = re.fullmatch(r"List\[(.+)\]", declared)
    if listed:
        if typing.get_origin(hint) is not list:
            return f"{where}: {hint} is not a list of {listed.group(1)}"
        return _type_problem(where, listed.group(1), typing.get_args(hint)[0])
    if declared in _SCALARS:
        return None if hint is _SCALARS[declared] else f"{where}: {hint} != {declared}"
    if declared == "object":
        return None if typing.get_origin(hint) is dict else f"{where}: {hint} is not a dict"
    if getattr(hint, "__name__", None) == _RENAMED.get(declared, declared):
        return None
    return f"{where}: {hint} != model {declared}"


def _properties(swagger: Swagger, name: str) -> dict[str, dict[str, Any]]:
    """A model's properties including those of the models it extends (Event, Message)."""
    parents = [
        parent for parent, model in swagger.models.items() if name in model.get("subTypes", [])
    ]
    merged: dict[str, dict[str, Any]] = {}
    for parent in parents:
        merged.update(_properties(swagger, parent))
    merged.update(swagger.models[name].get("properties", {}))
    return merged


def test_models_mirror_asterisk(swagger: Swagger) -> None:
    problems: list[str] = []
    for name, model in {**MODELS, **EVENT_MODELS}.items():
        if name not in swagger.models:
            problems.append(f"{name}: no such model in Asterisk")
            continue
        declared = _properties(swagger, name)
        hints = typing.get_type_hints(model, include_extras=True)
        for key in sorted(set(declared) ^ set(hints)):
            side = "missing from" if key in declared else "unknown to Asterisk in"
            problems.append(f"{name}.{key}: {side} the client's model")
        for key in sorted(set(declared) & set(hints)):
            hint = hints[key]
            optional = typing.get_origin(hint) is typing.NotRequired
            if optional == bool(declared[key].get("required")):
                problems.append(f"{name}.{key}: required={not optional} disagrees with Asterisk")
            inner = typing.get_args(hint)[0] if optional else hint
            problem = _type_problem(f"{name}.{key}", declared[key]["type"], inner)
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems)


CHOICES = [
    (client_module.HangupReason, "DELETE", "/channels/{channelId}", "reason"),
    (client_module.MuteDirection, "POST", "/channels/{channelId}/mute", "direction"),
    (client_module.SnoopDirection, "POST", "/channels/{channelId}/snoop", "spy"),
    (client_module.SnoopDirection, "POST", "/channels/{channelId}/snoop", "whisper"),
    (client_module.IfExists, "POST", "/channels/{channelId}/record", "ifExists"),
    (client_module.TerminateOn, "POST", "/bridges/{bridgeId}/record", "terminateOn"),
    (client_module.InfoPart, "GET", "/asterisk/info", "only"),
    (
        client_module.ExternalMediaEncapsulation,
        "POST",
        "/channels/externalMedia",
        "encapsulation",
    ),
    (client_module.ExternalMediaTransport, "POST", "/channels/externalMedia", "transport"),
    (
        client_module.ExternalMediaConnection,
        "POST",
        "/channels/externalMedia",
        "connection_type",
    ),
]


@pytest.mark.parametrize(("alias", "method", "path", "param"), CHOICES)
def test_literal_choices_are_asterisks(
    swagger: Swagger, alias: Any, method: str, path: str, param: str
) -> None:
    declared = swagger.operations[(method, path)].params[param].choices
    assert declared is not None
    assert set(typing.get_args(alias)) == set(declared)
