"""`pbx callbacks`: add (the number judged by the dialling policy, the queue the tenant's), list,
cancel; each error one line naming what is wrong."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.cli.main import main
from pbx_stasis.store import Database, Directory


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "pbx.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    monkeypatch.setenv("PBX_DATABASE_URL", url)

    async def seed() -> None:
        db = Database.connect(url)
        tenant = await Directory(db).ensure_tenant("default")
        await AcdDirectory(db).save_queue(tenant.id, "sales", {})
        await db.dispose()

    asyncio.run(seed())
    return url


def test_add_list_cancel(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["callbacks", "add", "(415) 555-0123", "--queue", "sales",
                 "--contact", "Bo"]) == 0
    added = capsys.readouterr().out
    callback_id = added.split()[0]
    assert "scheduled" in added and "+14155550123 (Bo)" in added
    assert main(["callbacks", "list"]) == 0
    assert callback_id in capsys.readouterr().out
    assert main(["callbacks", "cancel", callback_id]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert main(["callbacks", "list"]) == 0
    assert capsys.readouterr().out == "no callbacks\n"


def test_errors_are_one_line(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["callbacks", "add", "+19005550123", "--queue", "sales"]) == 3
    assert capsys.readouterr().err == "refused: +19005550123 is a premium-rate number\n"
    assert main(["callbacks", "add", "+14155550123", "--queue", "nope"]) == 2
    assert capsys.readouterr().err == "error: --queue: no queue 'nope'\n"
    assert main(["callbacks", "add", "+14155550123", "--queue", "sales",
                 "--at", "2026-12-02T10:00"]) == 2
    assert "needs its UTC offset" in capsys.readouterr().err
    assert main(["callbacks", "cancel", "cb-nothing"]) == 1
    assert capsys.readouterr().err == "error: no callback 'cb-nothing'\n"
