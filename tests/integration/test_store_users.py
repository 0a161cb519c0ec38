"""Tenants and users: created on demand, unique names per tenant in any case, roles checked;
`pbx user add` and `pbx agent set` apply the account rules and write nothing on bad input."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from pbx_stasis.cli.main import main as cli_main
from pbx_stasis.store import AlreadyExists, Database, Directory, Role, StoreError
from pbx_stasis.store.tables import Tenant, User


async def test_adding_a_user_creates_its_tenant(db: Database) -> None:
    directory = Directory(db)
    assert await directory.get_tenant_by_slug("acme") is None
    alice = await directory.add_user(
        "acme", "alice", Role.SUPERVISOR, display_name="Alice Martin", password_hash="$argon2id$x"
    )
    acme = await directory.get_tenant_by_slug("acme")
    assert acme is not None and acme.slug == "acme"
    assert alice.tenant_id == acme.id
    assert (alice.role, alice.display_name, alice.disabled) == (
        Role.SUPERVISOR,
        "Alice Martin",
        False,
    )
    assert await directory.get_user(acme.id, "alice") == alice
    assert await directory.get_user_by_id(alice.id) == alice
    assert alice.created_at.tzinfo is not None

    bob = await directory.add_user("acme", "bob", "agent")
    assert (bob.tenant_id, bob.display_name, bob.password_hash) == (acme.id, "bob", None)
    assert [u.username for u in await directory.list_users(acme.id)] == ["alice", "bob"]


async def test_the_default_tenant_is_created_once(db: Database) -> None:
    directory = Directory(db)
    first = await directory.ensure_default_tenant()
    again = await directory.ensure_default_tenant()
    assert first == again and first.slug == "default"
    racing = await asyncio.gather(*(directory.ensure_tenant("race") for _ in range(5)))
    assert len({t.id for t in racing}) == 1


async def test_user_names_are_unique_per_tenant_only(db: Database) -> None:
    directory = Directory(db)
    await directory.add_user("default", "carol", Role.AGENT)
    with pytest.raises(AlreadyExists, match="'carol' already exists in tenant 'default'"):
        await directory.add_user("default", "carol", Role.ADMIN)
    other = await directory.add_user("acme", "carol", Role.ADMIN)
    assert other.role is Role.ADMIN


async def test_unknown_roles_are_refused(db: Database) -> None:
    with pytest.raises(StoreError, match="unknown role 'boss': expected one of agent"):
        await Directory(db).add_user("default", "dave", "boss")
    assert await Directory(db).get_tenant_by_slug("default") is None


async def test_password_and_disabled_flag_can_change(db: Database) -> None:
    directory = Directory(db)
    user = await directory.add_user("default", "erin", Role.MANAGER)
    assert await directory.set_password_hash(user.id, "$argon2id$new")
    assert await directory.set_disabled(user.id, True)
    changed = await directory.get_user_by_id(user.id)
    assert changed is not None
    assert (changed.password_hash, changed.disabled) == ("$argon2id$new", True)
    assert not await directory.set_disabled(9999, True)


async def test_names_differing_only_in_case_are_the_same_account(db: Database) -> None:
    directory = Directory(db)
    throw2 = await directory.add_user("acme", "throw2", Role.AGENT)
    with pytest.raises(AlreadyExists, match="'throw2' already exists in tenant 'acme'"):
        await directory.add_user("ACME", "THROW2", Role.ADMIN)
    acme = await directory.get_tenant_by_slug("Acme")
    assert acme is not None and acme.slug == "acme"
    assert await directory.get_user(acme.id, "Throw2") == throw2
    assert (await directory.ensure_tenant("ACME")).id == acme.id


async def test_the_database_refuses_upper_case_names_whoever_writes_them(db: Database) -> None:
    # The CHECK of migration 0006: a path that forgets the rules cannot shadow an account.
    tenant = await Directory(db).ensure_tenant("acme")
    with pytest.raises(StoreError, match="lower_case"):
        async with db.transaction() as tx:
            tx.add(User(tenant_id=tenant.id, username="Throw2", display_name="x",
                        role=Role.AGENT, disabled=False))
    with pytest.raises(StoreError, match="lower_case"):
        async with db.transaction() as tx:
            tx.add(Tenant(slug="Acme", name="Acme"))


# `pbx user add` and `pbx agent set`: each bad input is one line on stderr and writes nothing.


def _snapshot(url: str) -> list[tuple[object, ...]]:
    async def read() -> list[tuple[object, ...]]:
        database = Database.connect(url)
        try:
            async with database.session() as session:
                rows: list[tuple[object, ...]] = []
                for table in ("tenants", "users", "agents", "queues"):
                    result = await session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
                    rows += [(table, *row) for row in result.all()]
                return rows
        finally:
            await database.dispose()

    return asyncio.run(read())


@pytest.fixture
def pbx(
    migrated_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    """`pbx ARGS...` in this process on the test's database: (exit status, stderr)."""
    monkeypatch.setenv("PBX_DATABASE_URL", migrated_db_url)
    monkeypatch.delenv("PBX_CONFIG", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no pbx.toml here

    def run(*argv: str, stdin: str | None = None) -> tuple[int, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        status = cli_main(list(argv))
        return status, capsys.readouterr().err

    return run


def _refused(pbx: Callable[..., tuple[int, str]], url: str, *argv: str, stdin: str | None = None,
             says: str) -> None:
    before = _snapshot(url)
    status, err = pbx(*argv, stdin=stdin)
    assert status != 0, argv
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: ") and says in lines[0], (argv, err)
    assert _snapshot(url) == before, f"{argv} wrote something"


def test_pbx_user_add_applies_the_account_rules(
    pbx: Callable[..., tuple[int, str]], migrated_db_url: str
) -> None:
    url = migrated_db_url
    assert pbx("user", "add", "throw2", "--role", "agent", "--password", "long enough")[0] == 0
    assert pbx("user", "add", "bob", "--role", "admin", "--tenant", "acme")[0] == 0
    add = ("user", "add")
    _refused(pbx, url, *add, "carol", "--role", "agent", "--password", "a",
             says="password: must be at least 8 characters")
    _refused(pbx, url, *add, "carol", "--role", "agent", "--password", "",
             says="password: must be at least 8 characters")
    _refused(pbx, url, *add, "carol", "--role", "agent", "--password-stdin", stdin="short\n",
             says="password: must be at least 8 characters")
    _refused(pbx, url, *add, "", "--role", "agent", says="username: must not be empty")
    _refused(pbx, url, *add, "ca rol", "--role", "agent", says="username: must be 1-64")
    _refused(pbx, url, *add, "--role", "agent", "--", "-carol", says="username: must be 1-64")
    _refused(pbx, url, *add, "x" * 65, "--role", "agent", says="username: must be 1-64")
    _refused(pbx, url, *add, "carol", "--role", "agent", "--tenant", "",
             says="tenant: must not be empty")
    _refused(pbx, url, *add, "carol", "--role", "agent", "--tenant", "ac me",
             says="tenant: must be 1-64")
    _refused(pbx, url, *add, "carol", "--role", "agent", "--name", "red\x1b[31m",
             says="name: must not contain control characters")
    # case variants of an existing user or tenant are that user or tenant
    _refused(pbx, url, *add, "THROW2", "--role", "agent", "--password", "long enough",
             says="user 'throw2' already exists in tenant 'default'")
    _refused(pbx, url, *add, "BOB", "--role", "agent", "--tenant", "Acme",
             says="user 'bob' already exists in tenant 'acme'")
    assert pbx(*add, "Carol", "--role", "agent", "--tenant", "ACME")[0] == 0
    users = [row for row in _snapshot(url) if row[0] == "users"]
    tenants = [row[3] for row in _snapshot(url) if row[0] == "tenants"]
    assert sorted(row[3] for row in users) == ["bob", "carol", "throw2"]
    assert sorted(tenants) == ["acme", "default"]


def test_pbx_agent_set_refuses_unknown_queues_and_bad_contacts(
    pbx: Callable[..., tuple[int, str]], migrated_db_url: str
) -> None:
    url = migrated_db_url
    assert pbx("user", "add", "alice", "--role", "agent", "--tenant", "acme")[0] == 0
    assert pbx("queue", "set", "support", "--tenant", "acme")[0] == 0
    agent = ("agent", "set", "alice", "--tenant", "acme")
    _refused(pbx, url, *agent, "--queues", "support,nosuch",
             says="queues: unknown queue(s): nosuch")
    for contact in ("sip:1001@192.0.2.10", "sip:1001@192.0.2.10:99999", "http://192.0.2.10:5060",
                    "sip:1001@192.0.2.10:5060,sip:evil@198.51.100.7:5060", "sip:1001@:5060",
                    "sip:1001@999.1.1.1:5060"):
        _refused(pbx, url, *agent, "--contact", contact, says="contact: must be a SIP URI")
    _refused(pbx, url, "agent", "set", "nobody", "--tenant", "acme", says="no user 'nobody'")
    status, err = pbx("agent", "set", "ALICE", "--tenant", "Acme", "--queues", "support",
                      "--contact", "sip:1001@192.0.2.10:5060")
    assert status == 0, err
    agents = [row for row in _snapshot(url) if row[0] == "agents"]
    assert len(agents) == 1 and "sip:1001@192.0.2.10:5060" in agents[0]


def test_pbx_queue_set_applies_the_api_rules(
    pbx: Callable[..., tuple[int, str]], migrated_db_url: str
) -> None:
    # One schema (acd/settings.py) for the API and the CLI: what POST /api/queues refuses,
    # `pbx queue set` refuses too, naming the field.
    url = migrated_db_url
    assert pbx("user", "add", "alice", "--role", "agent")[0] == 0  # makes the tenant
    name_hint = "name: must be 1-64 lowercase letters, digits, - or _"
    _refused(pbx, url, "queue", "set", "Sales", says=name_hint)
    _refused(pbx, url, "queue", "set", "stats", says=name_hint)
    _refused(pbx, url, "queue", "set", "x" * 65, says="name: must be at most 64 characters")
    _refused(pbx, url, "queue", "set", "sales", "--settings", '{"ring_timeout": 0.5}',
             says="ring_timeout: must be at least 1")
    _refused(pbx, url, "queue", "set", "sales", "--settings", '{"weight": 5000}',
             says="weight: must be at most 1000")
    _refused(pbx, url, "queue", "set", "sales", "--settings",
             '{"escalation": [{"after": 5, "relax": "1"}]}',
             says="escalation.0.relax: must be a whole number")
    _refused(pbx, url, "queue", "set", "sales", "--settings", '{"moh_class": "a b"}',
             says="moh_class: must match")
    _refused(pbx, url, "queue", "set", "sales", "--settings", '{"colour": "red"}',
             says="colour: is not a known field")
    assert pbx("queue", "set", "sales", "--settings", '{"ring_timeout": 20, "weight": 3.0}',
               "--strategy", "ringall")[0] == 0
    # Later changes keep the stored settings and check the whole result again.
    assert pbx("queue", "set", "sales", "--settings", '{"wrapup": 5}')[0] == 0
    _refused(pbx, url, "queue", "set", "sales", "--settings", '{"escalation": '
             '[{"after": 60}, {"after": 30}]}', says="escalation: escalation steps must be in")


def test_pbx_agent_set_applies_the_api_rules(
    pbx: Callable[..., tuple[int, str]], migrated_db_url: str
) -> None:
    # One schema (acd/settings.py) for the admin's agent page and `pbx agent set`.
    url = migrated_db_url
    assert pbx("user", "add", "alice", "--role", "agent", "--tenant", "acme")[0] == 0
    assert pbx("queue", "set", "support", "--tenant", "acme")[0] == 0
    agent = ("agent", "set", "alice", "--tenant", "acme")
    _refused(pbx, url, *agent, "--skills", "english:120",
             says="skills.english: must be at most 100")  # the API's level range
    _refused(pbx, url, *agent, "--skills", "bad/name:1",
             says="skills.bad/name: is not a valid name: names are 1-64 letters")
    _refused(pbx, url, *agent, "--wrapup", "5000", says="wrapup: must be at most 3600")
    _refused(pbx, url, *agent, "--wrapup", "nan", says="wrapup: must be a number")
    _refused(pbx, url, *agent, "--queues", "support:5000",
             says="queues.support: must be at most 1000")
    assert pbx(*agent, "--skills", "english:100,french", "--queues", "support:2",
               "--wrapup", "10")[0] == 0
