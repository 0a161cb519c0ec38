"""store/commands.py, what the `pbx` commands share: a command's work runs on the database,
disposed however the work ends; the tenant a command names is found by its slug, or said
missing on one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pbx_stasis.store import Database, Directory
from pbx_stasis.store.commands import for_tenant, tenant_id, with_database


class Broken(Exception):
    pass


@pytest.fixture
def url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file of the test's own."""
    shutil.copyfile(sqlite_template, tmp_path / "pbx.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'pbx.db'}"


@pytest.fixture
def disposed(monkeypatch: pytest.MonkeyPatch) -> list[Database]:
    """The databases disposed during the test (really disposed, then noted)."""
    noted: list[Database] = []
    dispose = Database.dispose

    async def noting(self: Database) -> None:
        await dispose(self)
        noted.append(self)

    monkeypatch.setattr(Database, "dispose", noting)
    return noted


def test_the_works_exit_code_comes_back_and_the_database_is_disposed_however_it_ends(
    url: str, disposed: list[Database],
) -> None:
    given: list[Database] = []

    async def work(db: Database) -> int:
        given.append(db)
        await Directory(db).ensure_tenant("acme")  # the database at `url`, migrated
        return 3

    async def broken(db: Database) -> int:
        given.append(db)
        raise Broken

    assert with_database(url, work) == 3
    with pytest.raises(Broken):
        with_database(url, broken)
    assert len(given) == 2 and disposed == given


def test_a_known_tenant_is_its_id_whatever_the_case_of_the_slug(
    url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    async def work(db: Database) -> int:
        acme = await Directory(db).ensure_tenant("acme")
        assert await tenant_id(db, "acme") == acme.id
        assert await tenant_id(db, "ACME") == acme.id
        return 0

    assert with_database(url, work) == 0
    assert capsys.readouterr().err == ""


def test_an_unknown_tenant_is_none_and_one_line_on_stderr(
    url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    async def work(db: Database) -> int:
        return 1 if await tenant_id(db, "Globex") is None else 0

    assert with_database(url, work) == 1
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "error: no tenant 'Globex'\n")


def test_a_tenants_work_gets_its_id_and_an_unknown_slug_exits_1(
    url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    async def made(db: Database) -> int:
        return (await Directory(db).ensure_tenant("acme")).id

    acme = with_database(url, made)
    given: list[int] = []

    async def work(db: Database, tenant: int) -> int:
        given.append(tenant)
        return 0

    assert for_tenant(url, "Acme", work) == 0
    assert for_tenant(url, "globex", work) == 1
    assert given == [acme]
    assert capsys.readouterr().err == "error: no tenant 'globex'\n"
