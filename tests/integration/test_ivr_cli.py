"""`pbx ivr ...` commands on a real database (SQLite), and prompts generated with espeak-ng into
a sounds directory that sits in a chroot like the sandbox's."""

from __future__ import annotations

import argparse
import os
import shutil
import wave
from pathlib import Path

import pytest
from ports import free_port

from pbx_stasis.config import AriSettings, DatabaseSettings, Settings
from pbx_stasis.ivr.cli import add_commands, host_path, install_prompts
from pbx_stasis.ivr.loader import load_flowset

FLOW = """\
flows:
  main:
    dids: ["+15550001"]
    entry: hello
    languages: [en, ar]
    prompts:
      hello:
        en: Hello.
        ar: مرحبا.
    nodes:
      hello: {kind: play, prompts: hello, next: bye}
      bye: {kind: hangup}
"""



@pytest.fixture
def settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    db = tmp_path / "pbx.db"
    shutil.copyfile(sqlite_template, db)
    return Settings(
        # an ARI nobody listens on: the sound check must say it could not check
        ari=AriSettings(url=f"http://127.0.0.1:{free_port()}", password="x"),
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{db}"),
    )


def pbx_ivr(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="pbx")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["ivr", *argv])
    code: int = args.func(args, settings)
    return code


def test_apply_versions_show_diff_and_activate(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = tmp_path / "main.yaml"
    flow.write_text(FLOW)
    assert pbx_ivr(settings, "apply", str(flow), "--user", "alice", "--comment", "first") == 0
    out, err = capsys.readouterr()
    assert out == f"applied version 1 for tenant 'default' ({flow}); new calls use it now\n"
    assert err.startswith("warning: sound files not checked on Asterisk:")

    flow.write_text(FLOW.replace("Hello.", "Hello again."))
    assert pbx_ivr(settings, "apply", str(flow), "--user", "bob", "--no-sound-check") == 0
    capsys.readouterr()

    flow.write_text(FLOW.replace("next: bye", "next: nowhere"))
    assert pbx_ivr(settings, "apply", str(flow), "--no-sound-check") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{flow}:11:49: 'nowhere' is not a node of flow 'main'" in err
    assert err.endswith("nothing applied\n")

    assert pbx_ivr(settings, "versions") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("*    2 ") and " bob " in lines[0]
    assert lines[1].startswith("     1 ") and lines[1].endswith(f"{flow}  first")

    assert pbx_ivr(settings, "diff", "1", "2") == 0
    assert "-        en: Hello.\n+        en: Hello again.\n" in capsys.readouterr().out

    assert pbx_ivr(settings, "show", "1") == 0
    assert capsys.readouterr().out == f"# --- {flow} (version 1)\n{FLOW}"

    assert pbx_ivr(settings, "activate", "1") == 0
    assert "version 1 is active" in capsys.readouterr().out
    assert pbx_ivr(settings, "versions") == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("*    1 ")

    assert pbx_ivr(settings, "diff", "1", "7") == 1
    assert "no IVR version 7" in capsys.readouterr().err
    assert pbx_ivr(settings, "versions", "--tenant", "nobody") == 1


def test_validate_and_simulate_run_offline(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = tmp_path / "main.yaml"
    flow.write_text(FLOW)
    assert pbx_ivr(settings, "validate", str(flow)) == 0
    assert capsys.readouterr().out.startswith("ok: 1 flow(s), 2 nodes")
    assert pbx_ivr(settings, "simulate", str(flow), "--did", "+15550001",
                   "--at", "2026-11-20T10:00+04:00") == 0
    out = capsys.readouterr().out
    assert out.startswith("call from anonymous to +15550001 at 2026-11-20T10:00:00+04:00")
    assert out.rstrip().endswith("end: hung_up after 2 steps")


def test_prompts_are_generated_inside_a_chroot_like_the_sandbox(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ROOT/usr/share/asterisk/sounds/en -> /etc/alternatives/prompt-en (absolute, chroot-relative)
    root = tmp_path / "root"
    sounds = root / "usr/share/asterisk/sounds"
    (sounds / "en_US_f_Allison").mkdir(parents=True)
    (root / "etc/alternatives").mkdir(parents=True)
    os.symlink("/usr/share/asterisk/sounds/en_US_f_Allison", root / "etc/alternatives/prompt-en")
    os.symlink("/etc/alternatives/prompt-en", sounds / "en")
    assert host_path(sounds / "en" / "pbx", root) == sounds / "en_US_f_Allison" / "pbx"

    flowset = load_flowset([("main.yaml", FLOW)])
    written = install_prompts(flowset, sounds, chroot=root)
    assert sorted(written) == [
        sounds / "ar/pbx/hello.wav",
        sounds / "en_US_f_Allison/pbx/hello.wav",
    ]
    for path in written:
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            assert w.getnframes() > 2000  # some speech, not an empty file
    assert not (tmp_path / "etc").exists()  # nothing written outside the chroot
    assert install_prompts(flowset, sounds, chroot=root) == []  # kept: already there

    flow = tmp_path / "main.yaml"
    flow.write_text(FLOW)
    assert pbx_ivr(settings, "prompts", str(flow), "--out", str(sounds), "--chroot", str(root),
                   "--overwrite", "--languages", "ar") == 0
    out, err = capsys.readouterr()
    assert out == f"{sounds / 'ar/pbx/hello.wav'}\n"
    assert err == "1 prompt file(s) written\n"
    assert pbx_ivr(settings, "prompts", str(flow), "--list") == 0
    assert capsys.readouterr().out.splitlines() == [
        "ar\thello\tpbx/hello\tمرحبا.", "en\thello\tpbx/hello\tHello."
    ]
