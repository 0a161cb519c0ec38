"""Tenants and users: created on demand, unique names per tenant, roles checked."""

from __future__ import annotations

import asyncio

import pytest

from pbx_stasis.store import AlreadyExists, Database, Directory, Role, StoreError


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
