"""A queue's and an agent's one schema (acd/settings.py): the API's body, `pbx queue set` /
`pbx agent set` and the stored rows give the same answer, and the OpenAPI document is generated
from it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbx_stasis.acd.directory import AcdDirectory
from pbx_stasis.acd.http import queues
from pbx_stasis.acd.model import EscalationStep, OverflowKind, OverflowTarget, Strategy
from pbx_stasis.acd.settings import (
    AgentProfileFields,
    NewQueue,
    QueueSettings,
    SettingsInvalid,
    agent_settings,
    queue_config,
    queue_settings,
)
from pbx_stasis.acd.tables import QueueRow
from pbx_stasis.store import Database, Directory, StoreError
from pbx_stasis.store.accounts import CONTACT_HINT
from pbx_stasis.users import http as users
from pbx_stasis.validation import inline_schema
from pbx_stasis.web import openapi


def _problems(name: str, settings: Any) -> dict[str, str]:
    with pytest.raises(SettingsInvalid) as caught:
        queue_config(name, settings)
    return caught.value.problems


@pytest.mark.parametrize(
    ("name", "settings", "problems"),
    [
        # The copies disagreed here: the loader took any of these, the API none.
        ("Sales", {}, {"name": "must be 1-64 lowercase letters, digits, - or _, starting with "
                               "a letter or digit (not stats)"}),
        ("stats", {}, {"name": "must be 1-64 lowercase letters, digits, - or _, starting with "
                               "a letter or digit (not stats)"}),
        ("x" * 65, {}, {"name": "must be at most 64 characters"}),
        ("sales", {"ring_timeout": 0.5}, {"ring_timeout": "must be at least 1"}),
        ("sales", {"ring_timeout": 1e300}, {"ring_timeout": "must be at most 600"}),
        ("sales", {"weight": 10**30}, {"weight": "must be at most 1000"}),
        ("sales", {"escalation": [{"after": 5, "relax": "1"}]},
         {"escalation.0.relax": "must be a whole number"}),
        ("sales", {"escalation": [{"after": 5, "relax": 1.5}]},
         {"escalation.0.relax": "must be a whole number"}),
        ("sales", {"moh_class": "a b"}, {"moh_class": "must match [A-Za-z0-9_\\-]+"}),
        ("sales", {"overflow": {"kind": "queue", "target": ""}},
         {"overflow.target": "must not be empty"}),
        ("sales", {"agent_order": ["7", "7"]}, {"agent_order": "'7' is a duplicate"}),
        # ...and here they agreed, and still do.
        ("sales", {"ring_in_use": 1}, {"ring_in_use": "must be true or false"}),
        ("sales", {"wrapup": True}, {"wrapup": "must be a number"}),
        ("sales", {"wrapup": float("nan")}, {"wrapup": "must be a number"}),
        ("sales", {"strategy": None}, {"strategy": "must not be null"}),
        ("sales", {"colour": "red"}, {"colour": "is not a known field"}),
        ("sales", {"escalation": [{"after": 60}, {"after": 30}]},
         {"escalation": "escalation steps must be in increasing `after`"}),
        ("sales", ["not", "an", "object"], {"settings": "must be a JSON object"}),
    ],
)
def test_one_rule_names_each_bad_field(name: str, settings: Any, problems: dict[str, str]) -> None:
    assert _problems(name, settings) == problems
    # The API's body gives the same messages (POST: the name is in the body).
    if isinstance(settings, dict) and "escalation steps" not in str(problems):
        _, errors = queues.NEW_QUEUE.validate({"name": name, **settings})
        assert errors == problems


def test_every_bad_field_at_once() -> None:
    assert set(_problems("Bad Name", {"ring_timeout": -1, "strategy": "fastest"})) == {
        "name", "ring_timeout", "strategy"}


def test_defaults_are_the_acds() -> None:
    config = queue_config("sales", {})
    assert config.strategy is Strategy.LONGEST_IDLE and config.ring_timeout == 15.0
    assert config.autopause_after == 3 and config.moh_class == "default"


def test_json_whole_numbers_and_names_as_typed() -> None:
    config = queue_config(" sales ", {"weight": 3.0, "max_wait": 60, "escalation": [
        {"after": 30, "relax": 1}], "overflow": {"kind": "flow", "target": " main "}})
    assert config.name == "sales" and config.weight == 3 and isinstance(config.weight, int)
    assert config.max_wait == 60.0
    assert config.escalation == (EscalationStep(after=30.0, relax=1, max_penalty=None),)
    assert config.overflow == OverflowTarget(OverflowKind.FLOW, "main")


_SETTINGS = st.fixed_dictionaries(
    {},
    optional={
        "strategy": st.sampled_from([s.value for s in Strategy]),
        "ring_timeout": st.floats(1, 600),
        "wrapup": st.integers(0, 3600),
        "max_wait": st.none() | st.floats(1, 86400),
        "weight": st.integers(-1000, 1000),
        "agent_order": st.lists(st.text("abc123", min_size=1, max_size=5), unique=True,
                                max_size=5),
        "escalation": st.lists(st.floats(0, 86400), max_size=5).map(
            lambda afters: [{"after": a, "relax": 1} for a in sorted(afters)]),
        "overflow": st.none() | st.builds(
            lambda kind: {"kind": kind, "target": "elsewhere"},
            st.sampled_from([k.value for k in OverflowKind])),
    },
)


@given(settings=_SETTINGS)
def test_stored_settings_load_back_to_the_same_queue(settings: dict[str, Any]) -> None:
    # What the API and the CLI save (queue_settings) is what the directory loads (queue_config).
    config = queue_config("sales", settings)
    stored = queue_settings(config)
    assert queue_config("sales", stored) == config
    assert QueueSettings.model_validate(stored).model_dump(mode="json") == stored


def test_the_openapi_document_is_the_schema() -> None:
    document = openapi.document(queues.ROUTES)
    create = document["paths"]["/api/queues"]["post"]["requestBody"]["content"]
    update = document["paths"]["/api/queues/{name}"]["put"]["requestBody"]["content"]
    assert create["application/json"]["schema"] == inline_schema(NewQueue)
    assert update["application/json"]["schema"] == inline_schema(QueueSettings)
    assert "#/$defs" not in str(document) and "$defs" not in str(create)
    schema = inline_schema(NewQueue)
    assert schema["required"] == ["name"] and schema["additionalProperties"] is False
    assert schema["properties"]["weight"] == {
        "default": 0, "maximum": 1000, "minimum": -1000, "type": "integer"}
    assert schema["properties"]["strategy"]["enum"] == [s.value for s in Strategy]


async def test_a_stored_row_goes_through_the_same_schema(db: Database) -> None:
    tenant = (await Directory(db).ensure_tenant("acme")).id
    directory = AcdDirectory(db)
    await directory.save_queue(tenant, "sales", {"wrapup": 5})
    assert [c.wrapup for _, c in await directory.queues(tenant)] == [5.0]
    async with db.transaction() as tx:  # what an older, laxer `pbx queue set` let through
        tx.add(QueueRow(tenant_id=tenant, name="Sales", settings={"ring_timeout": 0.5}))
    with pytest.raises(StoreError) as caught:
        await directory.queues(tenant)
    assert str(caught.value) == (
        f"queue 'Sales' of tenant {tenant} as stored is invalid: name: must be 1-64 lowercase "
        "letters, digits, - or _, starting with a letter or digit (not stats); ring_timeout: "
        "must be at least 1")


@pytest.mark.parametrize(
    ("given", "problems"),
    [
        # `pbx agent set` took any level >= 0 and any skill name; the API 0-100 and names.
        ({"skills": {"english": 120}}, {"skills.english": "must be at most 100"}),
        ({"skills": {"bad/name": 1}},
         {"skills.bad/name": "is not a valid name: names are 1-64 letters, digits, spaces, . _ -"}),
        ({"skills": {f"s{i}": 1 for i in range(51)}}, {"skills": "must have at most 50 entries"}),
        ({"skills": {"english": True}}, {"skills.english": "must be a whole number"}),
        ({"queues": {"Support": 0}}, {"queues.Support": "is not a valid name: must be 1-64 "
                                      "lowercase letters, digits, - or _, starting with a letter "
                                      "or digit (not stats)"}),
        ({"queues": {"support": -1}}, {"queues.support": "must be at least 0"}),
        ({"wrapup": -1.0}, {"wrapup": "must be at least 0"}),
        ({"wrapup": float("inf")}, {"wrapup": "must be a number"}),
        ({"contact": "http://192.0.2.10:5060"}, {"contact": CONTACT_HINT}),
    ],
)
def test_one_agent_rule(given: dict[str, Any], problems: dict[str, str]) -> None:
    with pytest.raises(SettingsInvalid) as caught:
        agent_settings(**given)
    assert caught.value.problems == problems
    if "skills" in given:  # the admin's agent page says the same
        _, errors = users.AGENT_PROFILE.validate({"skills": given["skills"], "queues": []})
        assert errors == problems


def test_agent_profile_body_is_the_schema() -> None:
    assert users.AGENT_PROFILE.schema() == inline_schema(AgentProfileFields)
    _, errors = users.AGENT_PROFILE.validate({"skills": {}, "queues": ["support", "support"]})
    assert errors == {"queues": "'support' is a duplicate"}
    assert agent_settings(contact="", wrapup=3).wrapup == 3.0  # "" goes back to the softphone


def test_a_queues_caller_id_is_read_as_e164_and_named_when_bad() -> None:
    assert queue_config("sales", {}).caller_id is None
    config = queue_config("sales", {"caller_id": "+1 (415) 555-0100"})
    assert config.caller_id == "+14155550100"
    assert queue_settings(config)["caller_id"] == "+14155550100"
    with pytest.raises(SettingsInvalid) as refused:
        queue_config("sales", {"caller_id": "4155550100"})
    assert refused.value.problems == {
        "caller_id": "must be a phone number in international form, e.g. +14155550100"}
