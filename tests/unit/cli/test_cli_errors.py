"""A command's failure is one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import pytest

from pbx_stasis.cli.main import main
from pbx_stasis.store import Database, Directory, utc_now
from pbx_stasis.web.passwords import verify_password
from pbx_stasis.web.sessions import SessionPolicy, Sessions


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated database with the default tenant, the commands' PBX_DATABASE_URL."""
    shutil.copyfile(sqlite_template, tmp_path / "pbx.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'pbx.db'}"
    monkeypatch.setenv("PBX_DATABASE_URL", url)

    async def seed() -> None:
        db = Database.connect(url)
        await Directory(db).ensure_tenant("default")
        await db.dispose()

    asyncio.run(seed())
    return url


def test_a_path_that_cannot_be_written_is_one_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
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


def test_an_admin_who_forgot_their_password_gets_a_new_one_and_their_sessions_end(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    url = database
    assert main(["user", "add", "Boss", "--role", "admin", "--password", "first-password"]) == 0

    async def log_in() -> None:
        db = Database.connect(url)
        tenant = await Directory(db).ensure_tenant("default")
        user = await Directory(db).get_user(tenant.id, "boss")
        assert user is not None
        await Sessions(db, SessionPolicy(), utc_now).open(user.id, tenant.id, "127.0.0.1", "t")
        await db.dispose()

    asyncio.run(log_in())
    capsys.readouterr()

    monkeypatch.setattr("sys.stdin", io.StringIO("a-new-password\n"))
    assert main(["user", "password", "BOSS", "--password-stdin"]) == 0
    assert capsys.readouterr().out == ("password of admin 'boss' changed; "
                                       "1 browser session(s) ended\n")

    async def stored() -> str | None:
        db = Database.connect(url)
        user = await Directory(db).get_user(
            (await Directory(db).ensure_tenant("default")).id, "boss")
        await db.dispose()
        return None if user is None else user.password_hash

    hashed = asyncio.run(stored())
    assert hashed is not None and verify_password(hashed, "a-new-password")
    assert main(["user", "list"]) == 0
    assert capsys.readouterr().out.split("\t")[1:4] == ["boss", "admin", "active"]

    # Each mistake one line, nothing changed.
    assert main(["user", "password", "boss", "--password", "short"]) == 2
    assert capsys.readouterr().err == "error: password: must be at least 8 characters\n"
    assert main(["user", "password", "nobody", "--password", "long-enough"]) == 1
    assert capsys.readouterr().err == "error: no user 'nobody' in tenant 'default'\n"
    assert main(["user", "list", "--tenant", "globex"]) == 1
    assert capsys.readouterr().err == "error: no tenant 'globex'\n"
    assert verify_password(asyncio.run(stored()) or "", "a-new-password")
