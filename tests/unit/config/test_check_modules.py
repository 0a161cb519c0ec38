"""`pbx check` names each Asterisk module the app needs that is not running, and why."""

from pbx_stasis.ari.models import Module
from pbx_stasis.check import REQUIRED_MODULES, missing_modules


def _module(name: str, status: str = "Running") -> Module:
    return Module(name=name, description="", use_count=0, status=status, support_level="core")


def test_all_running_is_fine_and_extra_modules_do_not_matter() -> None:
    modules = [_module(name) for name in REQUIRED_MODULES] + [_module("chan_iax2.so")]
    assert missing_modules(modules) == []


def test_a_missing_or_stopped_module_is_named_with_what_it_is_for() -> None:
    modules = [_module(name) for name in REQUIRED_MODULES
               if name not in ("res_stasis_snoop.so", "res_srtp.so")]
    modules.append(_module("res_srtp.so", status="Not Running"))
    assert missing_modules(modules) == [
        "Asterisk module res_stasis_snoop.so is not running: needed for supervisors' listen and "
        "whisper (modules.conf)",
        "Asterisk module res_srtp.so is not running: needed for browser softphones (WebRTC's "
        "encrypted audio) (modules.conf)",
    ]
