"""A command's failure is one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from pbx_stasis.cli.main import main
from pbx_stasis.store import Database, Directory


def test_a_path_that_cannot_be_written_is_one_line(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "pbx.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'pbx.db'}"
    monkeypatch.setenv("PBX_DATABASE_URL", url)

    async def seed() -> None:
        db = Database.connect(url)
        await Directory(db).ensure_tenant("default")
        await db.dispose()

    asyncio.run(seed())
    missing = tmp_path / "no-such-dir" / "queue_log"
    assert main(["export", "queue-log", "-o", str(missing)]) == 1
    assert capsys.readouterr().err == f"error: {missing}: No such file or directory\n"


def test_a_database_never_migrated_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """`pbx journal` in a second terminal that does not point at the app's database."""
    monkeypatch.setenv("PBX_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'other.db'}")
    assert main(["journal"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "no such table: call_events" in err and "`pbx migrate`" in err
