"""The config files of one instance: the project's dialplan/ and pjsip/ plus generated ones."""

from __future__ import annotations

import glob
import re
from pathlib import Path

from .settings import ARI_USER, BENCH_CALLER_ADDRESS, REPO, SandboxError, Settings

# Loaded when present; Asterisk's own dependency order applies, so the order here is for readers.
MODULES = (
    # HTTP server add-ons, ARI and Stasis
    "res_http_websocket",
    "res_websocket_client",
    "res_ari",
    "res_ari_model",
    "res_ari_applications",
    "res_ari_asterisk",
    "res_ari_bridges",
    "res_ari_channels",
    "res_ari_device_states",
    "res_ari_endpoints",
    "res_ari_events",
    "res_ari_playbacks",
    "res_ari_recordings",
    "res_ari_sounds",
    "res_stasis",
    "res_stasis_answer",
    "res_stasis_device_state",
    "res_stasis_playback",
    "res_stasis_recording",
    "res_stasis_snoop",
    "app_stasis",
    # sorcery wizards: config files first, memory for endpoints the app creates over ARI
    "res_sorcery_config",
    "res_sorcery_memory",
    "res_sorcery_memory_cache",
    "res_sorcery_astdb",
    # PJSIP
    "res_pjproject",
    "res_pjsip",
    "res_pjsip_session",
    "res_pjsip_sdp_rtp",
    "res_pjsip_authenticator_digest",
    "res_pjsip_outbound_authenticator_digest",
    "res_pjsip_outbound_registration",
    "res_pjsip_registrar",
    "res_pjsip_endpoint_identifier_user",
    "res_pjsip_endpoint_identifier_ip",
    "res_pjsip_endpoint_identifier_anonymous",
    "res_pjsip_transport_websocket",
    "res_pjsip_caller_id",
    "res_pjsip_diversion",
    "res_pjsip_rfc3326",
    "res_pjsip_dtmf_info",
    "res_pjsip_empty_info",
    "res_pjsip_dlg_options",
    "res_pjsip_header_funcs",
    "res_pjsip_nat",
    "res_pjsip_acl",
    "res_pjsip_path",
    "res_pjsip_logger",
    "res_pjsip_refer",
    "res_pjsip_pubsub",
    "chan_pjsip",
    # media
    "res_rtp_asterisk",
    "res_srtp",
    "res_crypto",
    "res_timing_timerfd",
    "res_musiconhold",
    "res_format_attr_opus",
    "codec_opus_open_source",
    "codec_ulaw",
    "codec_alaw",
    "codec_a_mu",
    "codec_gsm",
    "codec_g722",
    "codec_resample",
    "format_wav",
    "format_wav_gsm",
    "format_gsm",
    "format_pcm",
    "format_sln",
    "format_g722",
    "format_ogg_opus_open_source",
    # bridges and the channels ARI uses for snoop, announcements and external media
    "bridge_simple",
    "bridge_softmix",
    "bridge_holding",
    "bridge_native_rtp",
    "chan_bridge_media",
    "res_rtp_multicast",
    "chan_rtp",
    "chan_websocket",
    # dialplan: only the Stasis entry points and the app_queue benchmark baseline
    "pbx_config",
    "app_stack",  # Gosub: the dialplan's hold while the app is away (pbx-away)
    "func_db",  # AstDB: calls refused while the app is away, read back at reconnect
    "app_dial",
    "app_playback",
    "app_echo",
    "app_amd",  # answering-machine detection of campaign calls (pbx-amd)
    "app_queue",
    "func_channel",
    "func_callerid",
    "func_strings",
    "func_logic",
    "func_math",
    "func_global",
    "func_cut",
    "func_uuid",
    "func_hangupcause",
    "func_holdintercept",
    "func_talkdetect",
    "func_volume",
    "func_devstate",
    "func_pjsip_endpoint",
    "func_pjsip_contact",
    "func_pjsip_aor",
)
# Without these the project cannot work at all: a missing one is an error, not a skip.
REQUIRED = {
    "res_ari",
    "res_ari_channels",
    "res_ari_bridges",
    "res_ari_events",
    "res_ari_asterisk",
    "res_stasis",
    "res_stasis_snoop",
    "res_stasis_recording",
    "res_stasis_playback",
    "app_stasis",
    "res_pjsip",
    "chan_pjsip",
    "res_pjsip_transport_websocket",
    "res_http_websocket",
    "res_websocket_client",
    "res_sorcery_memory",
    "res_rtp_asterisk",
    "res_srtp",
    "bridge_softmix",
    "app_queue",
    "pbx_config",
}
# Project files copied into the instance; placeholders @NAME@ are filled from Settings.
PROJECT_FILES = {
    "extensions.conf": REPO / "dialplan" / "extensions.conf",
    "amd.conf": REPO / "dialplan" / "amd.conf",
    "pjsip.conf": REPO / "pjsip" / "pjsip.conf",
    "stasis.conf": REPO / "stasis" / "stasis.conf",
}
# Sandbox-only config (the benchmark's app_queue baseline), appended to the project file of the
# same name or installed alone: what a deployment copies (dialplan/, pjsip/, stasis/) never
# holds it.
SANDBOX_ONLY_DIR = Path(__file__).resolve().parent / "bench-app-queue"
SANDBOX_ONLY_FILES = ("pjsip.conf", "extensions.conf", "queues.conf")


def module_dir(settings: Settings) -> str:
    """The module directory inside the chroot (multiarch path, e.g. x86_64-linux-gnu)."""
    found = sorted(glob.glob(str(settings.root / "usr/lib/*/asterisk/modules")))
    if not found:
        raise SandboxError(f"no asterisk modules directory under {settings.root}/usr/lib")
    return "/" + str(Path(found[0]).relative_to(settings.root))


def _modules_conf(settings: Settings, moddir: str) -> str:
    available = {p.stem for p in (settings.root / moddir.lstrip("/")).glob("*.so")}
    missing_required = sorted(REQUIRED - available)
    if missing_required:
        raise SandboxError(
            "the installed Asterisk lacks required modules: " + ", ".join(missing_required)
        )
    lines = [
        "; Generated by scripts/asterisk-sandbox: an explicit list, because autoload pulls in",
        "; ~350 modules (realtime/ODBC/ALSA noise and slower start).",
        "[modules]",
        "autoload = no",
    ]
    for module in MODULES:
        if module in available:
            lines.append(f"load = {module}.so")
        else:
            lines.append(f"; not in this build: {module}.so")
    return "\n".join(lines) + "\n"


def _asterisk_conf(settings: Settings, moddir: str) -> str:
    home = settings.home_in_chroot
    return f"""; Generated by scripts/asterisk-sandbox for instance {settings.name!r}.
[directories]
astetcdir => {home}/etc
astmoddir => {moddir}
astvarlibdir => {home}/lib
astdbdir => {home}/lib
astkeydir => {home}/lib
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => {home}/spool
astrundir => {home}/run
astlogdir => {home}/log
astcachedir => {home}/cache
astsbindir => /usr/sbin

[options]
verbose = {settings.verbose}
debug = 0
maxfiles = 65536
defaultlanguage = en
documentation_language = en_US
hideconnect = yes
{f"systemname = {settings.systemname}{chr(10)}" if settings.systemname else ""}"""


def _generated(settings: Settings, moddir: str) -> dict[str, str]:
    return {
        "asterisk.conf": _asterisk_conf(settings, moddir),
        "modules.conf": _modules_conf(settings, moddir),
        "logger.conf": (
            "[general]\n"
            "dateformat = %F %T.%3q\n"
            "[logfiles]\n"
            "messages.log => notice,warning,error,verbose\n"
        ),
        "http.conf": (
            "; ARI and the WebSocket SIP transport (/ws) share this server.\n"
            "[general]\n"
            "enabled = yes\n"
            "bindaddr = 127.0.0.1\n"
            f"bindport = {settings.ari_port}\n"
            "sessionlimit = 1000\n"
        ),
        "ari.conf": (
            "[general]\n"
            "enabled = yes\n"
            "pretty = no\n"
            "; the default 100 ms drops the events socket when the app is briefly busy\n"
            "websocket_write_timeout = 1000\n"
            f"[{ARI_USER}]\n"
            "type = user\n"
            "read_only = no\n"
            "password_format = plain\n"
            f"password = {settings.ari_password}\n"
        ),
        "rtp.conf": (
            "; A narrow range made calls fail under load; icesupport=no broke WebRTC audio.\n"
            "[general]\n"
            f"rtpstart = {settings.rtp_start}\n"
            f"rtpend = {settings.rtp_end}\n"
            "icesupport = yes\n"
        ),
        "musiconhold.conf": (
            "[default]\n"
            "mode = files\n"
            "; relative to astdatadir: /usr/share/asterisk/moh (asterisk-moh-opsound-wav)\n"
            "directory = moh\n"
            "sort = alpha\n"
        ),
        "sorcery.conf": (
            "; pjsip.conf first, then memory: the app creates agent endpoints over ARI\n"
            "; (PUT /ari/asterisk/config/dynamic/res_pjsip/...); they vanish on restart.\n"
            "[res_pjsip]\n"
            "endpoint = config,pjsip.conf,criteria=type=endpoint\n"
            "endpoint = memory\n"
            "auth = config,pjsip.conf,criteria=type=auth\n"
            "auth = memory\n"
            "aor = config,pjsip.conf,criteria=type=aor\n"
            "aor = memory\n"
        ),
        "cdr.conf": "[general]\nenable = no\n",
        "cel.conf": "[general]\nenable = no\n",
        "manager.conf": "[general]\nenabled = no\n",
        "features.conf": "[general]\n",
        "ccss.conf": "[general]\n",
        "udptl.conf": "[general]\n",
        "acl.conf": "",
        "dnsmgr.conf": "[general]\nenable = no\n",
        "pjproject.conf": "[log_mappings]\ntype = log_mappings\nasterisk_error = 0\n"
        "asterisk_warning = 1\nasterisk_notice = 2\nasterisk_debug = 3,4,5,6\n",
        "codecs.conf": "",
        "extconfig.conf": "",
        "cli.conf": "",
        "queuerules.conf": "",
        "websocket_client.conf": "",
        "chan_websocket.conf": "",
    }


def _fill(text: str, settings: Settings) -> str:
    values = {
        "@SIP_ADDRESS@": "127.0.0.1",
        "@SIP_PORT@": str(settings.sip_port),
        "@TRUNK_ADDRESS@": "127.0.0.1",
        "@TRUNK_PORT@": str(settings.trunk_port),
        "@RTP_TIMEOUT@": str(settings.rtp_timeout),
        # on hold the far end may rightly send nothing: ten times longer
        "@RTP_TIMEOUT_HOLD@": str(10 * settings.rtp_timeout),
        "@BENCH_CALLER_ADDRESS@": BENCH_CALLER_ADDRESS,
        "@INSTANCE@": settings.name,
    }
    for key, value in values.items():
        text = text.replace(key, value)
    leftovers = sorted(set(re.findall(r"@[A-Z][A-Z_]*@", text)))
    if leftovers:
        raise SandboxError(f"unknown placeholders: {', '.join(leftovers)}")
    return text


def render(settings: Settings) -> dict[str, str]:
    """Every file of the instance's etc dir, by name."""
    moddir = module_dir(settings)
    files = _generated(settings, moddir)
    stock_indications = settings.root / "etc" / "asterisk" / "indications.conf"
    # tones for ringing/busy indications (ARI `ring`); the stock file is fine as is
    files["indications.conf"] = stock_indications.read_text(encoding="utf-8", errors="replace")
    for name, source in PROJECT_FILES.items():
        if not source.is_file():
            raise SandboxError(f"missing project file {source}")
        files[name] = _fill(source.read_text(encoding="utf-8"), settings)
    for name in SANDBOX_ONLY_FILES:
        source = SANDBOX_ONLY_DIR / name
        if not source.is_file():
            raise SandboxError(f"missing sandbox file {source}")
        extra = _fill(source.read_text(encoding="utf-8"), settings)
        files[name] = f"{files[name]}\n{extra}" if name in files else extra
    return files


def write(settings: Settings, files: dict[str, str]) -> bool:
    """Write the etc dir (and the instance's other dirs); True when any file changed."""
    for sub in ("etc", "run", "log", "spool", "lib", "lib/keys", "cache"):
        (settings.home / sub).mkdir(parents=True, exist_ok=True)
    (settings.spool / "recording").mkdir(exist_ok=True)
    etc = settings.home / "etc"
    changed = False
    for name, text in files.items():
        path = etc / name
        if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
            continue
        path.write_text(text, encoding="utf-8")
        changed = True
    for stale in etc.iterdir():
        if stale.is_file() and stale.name not in files:
            stale.unlink()
            changed = True
    return changed
