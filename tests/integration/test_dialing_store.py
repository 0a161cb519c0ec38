"""Dialling policies as stored, on SQLite and PostgreSQL: the default until one is set, each
tenant its own, and what the trunk is told about a number."""

from __future__ import annotations

import pytest

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.acd.settings import SettingsInvalid
from pbx_stasis.dialing import DialPolicies, DialPolicy, policy_from
from pbx_stasis.dialing.caller_id_store import CallerIdStore
from pbx_stasis.dialing.caller_ids import CallerIds, OutboundNumber
from pbx_stasis.store import Database, Directory
from pbx_stasis.store.tables import Role


async def test_a_tenant_has_the_default_policy_until_one_is_set_and_keeps_its_own(
    db: Database,
) -> None:
    directory = Directory(db)
    acme = await directory.ensure_tenant("acme")
    globex = await directory.ensure_tenant("globex")
    policies = DialPolicies(db, "us")
    assert await policies.policy(acme.id) == DialPolicy.default("US")

    wider = policy_from(countries=["US", "CA"], allow=["+1900555"], block=["+1876"],
                        roles=["supervisor"])
    await policies.set_policy(acme.id, wider, by="root")
    assert await policies.policy(acme.id) == wider
    assert await policies.policy(globex.id) == DialPolicy.default("US")

    allowed = await policies.judge(acme.id, "+19005550123", role=Role.SUPERVISOR)
    assert allowed.allowed and allowed.reason == "allowed-prefix"
    refused = await policies.judge(globex.id, "+19005550123", role=Role.SUPERVISOR)
    assert not refused.allowed and refused.reason == "premium-rate"
    assert (await policies.judge(acme.id, "+14155550199", role=Role.AGENT)).reason == "role"

    narrower = policy_from(countries=["US"])
    await policies.set_policy(acme.id, narrower, by="cli")
    assert await policies.policy(acme.id) == narrower


async def test_a_tenants_numbers_are_its_own_and_a_queue_presents_only_one_of_them(
    db: Database,
) -> None:
    directory = Directory(db)
    acme = await directory.ensure_tenant("acme")
    globex = await directory.ensure_tenant("globex")
    store = CallerIdStore(db)
    assert await store.caller_ids(acme.id) == CallerIds()
    numbers = CallerIds((OutboundNumber("+14155550100", "Sales", default=True),
                         OutboundNumber("+14155550111", "Support")))
    await store.set_caller_ids(acme.id, numbers, by="root")
    assert await store.caller_ids(acme.id) == numbers
    assert await store.caller_ids(globex.id) == CallerIds()

    queues = AcdDirectory(db)
    config = await queues.save_queue(acme.id, "sales", {"caller_id": "+1 415 555 0111"})
    assert config.caller_id == "+14155550111"
    [(_, stored)] = await queues.queues(acme.id)
    assert stored.caller_id == "+14155550111"
    # Another tenant's number, or a number nobody listed, is refused by field.
    with pytest.raises(SettingsInvalid) as refused:
        await queues.save_queue(globex.id, "sales", {"caller_id": "+14155550111"})
    assert refused.value.problems == {"caller_id": "+14155550111 is not one of the tenant's "
                                                   "outbound numbers (it has none yet)"}
    with pytest.raises(SettingsInvalid, match=r"\(\+14155550100, \+14155550111\)"):
        await queues.save_queue(acme.id, "support", {"caller_id": "+14155550122"})
