"""Settings: defaults, pbx.toml, environment overrides and one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbx_stasis.config import ConfigError, load_settings


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = load_settings(None, environ={})
    assert settings.ari.app == "pbx"
    assert settings.database.url.startswith("sqlite")


def test_file_and_env_override(tmp_path: Path) -> None:
    path = tmp_path / "pbx.toml"
    path.write_text('[ari]\nurl = "http://10.0.0.1:8088/"\nuser = "u"\n[web]\nport = 9000\n')
    settings = load_settings(path, environ={"PBX_ARI_USER": "envuser", "PBX_WEB_PORT": "9100"})
    assert settings.ari.url == "http://10.0.0.1:8088"
    assert settings.ari.user == "envuser"
    assert settings.web.port == 9100
    assert settings.source == str(path)


def test_every_problem_named_with_expected_form(tmp_path: Path) -> None:
    path = tmp_path / "pbx.toml"
    path.write_text('[ari]\nurl = "ftp://x"\ncolour = 1\n[web]\nport = 70000\n[nope]\na = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"PBX_DATABASE_URL": "mysql://x/y"})
    problems = caught.value.problems
    assert any("ari.url" in p and "http(s)://host:port" in p for p in problems)
    assert any("web.port" in p and "1-65535" in p for p in problems)
    assert any("unknown section [nope]" in p for p in problems)
    assert any("unknown setting ari.colour" in p for p in problems)
    assert any("PBX_DATABASE_URL" in p and "postgresql+asyncpg" in p for p in problems)
    assert len(problems) == 5


def test_malformed_toml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "pbx.toml"
    path.write_text("[ari\nurl = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert str(path) in str(caught.value) and "line 1" in str(caught.value)


def test_explicit_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(environ={"PBX_CONFIG": str(tmp_path / "missing.toml")})


def test_every_region_the_phone_plans_know_is_a_region(tmp_path: Path) -> None:
    # crm/phones.py reads numbers of every region phonenumbers knows; config accepts exactly those.
    from pbx_stasis.crm.phones import NUMBERINGS

    for region in ("JP", "br", "NZ"):
        settings = load_settings(None, environ={"PBX_REGION": region})
        assert settings.crm.region == region.upper() and settings.crm.region in NUMBERINGS
    with pytest.raises(ConfigError, match="unknown numbering region 'ZZ'"):
        load_settings(None, environ={"PBX_REGION": "ZZ"})


def test_the_trunks_caller_id_is_read_as_e164(tmp_path: Path) -> None:
    path = tmp_path / "pbx.toml"
    path.write_text('[trunk]\ncaller_id = "+1 (415) 555-0100"\n')
    assert load_settings(path, environ={}).trunk.caller_id == "+14155550100"
    assert load_settings(None, environ={}).trunk.caller_id is None
    # An empty environment value undoes the file's.
    assert load_settings(path, environ={"PBX_TRUNK_CALLER_ID": ""}).trunk.caller_id is None
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"PBX_TRUNK_CALLER_ID": "4155550100"})
    assert caught.value.problems == [
        "PBX_TRUNK_CALLER_ID (environment): expected a phone number in international form, "
        "e.g. +14155550100, got '4155550100'"]
    with pytest.raises(ConfigError, match=r"trunk.caller_id: \+15559876543 is not a valid"):
        path.write_text('[trunk]\ncaller_id = "+15559876543"\n')
        load_settings(path, environ={})


def test_config_imports_no_feature() -> None:
    # The kernel's settings must load without any feature package (issue 12: a thin kernel).
    import subprocess
    import sys

    code = ("import sys, pbx_stasis.config; "
            "print(sorted(m for m in sys.modules if m.startswith(('pbx_stasis.crm', "
            "'pbx_stasis.acd', 'pbx_stasis.ivr', 'pbx_stasis.dialing'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
