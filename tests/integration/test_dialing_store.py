"""Dialling policies as stored, on SQLite and PostgreSQL: the default until one is set, each
tenant its own, and what the trunk is told about a number."""

from __future__ import annotations

from pbx_stasis.dialing import DialPolicies, DialPolicy, policy_from
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
