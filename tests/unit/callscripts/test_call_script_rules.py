"""The pure rules of call scripts: variables checked and filled, which script a call gets, and
the IVR trail a call's journal gives."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pbx_stasis.callscripts.core import (
    MISSING,
    Candidate,
    ScriptBody,
    choose,
    filled,
    ivr_trail,
    variables,
)


def body(**fields: object) -> ScriptBody:
    return ScriptBody.model_validate({"headline": "T", **fields})


def test_variables_are_filled_and_the_missing_ones_named() -> None:
    script = body(
        opening="Hello {contact.name}, this is {agent.name}.",
        main_points=["Your plan: {contact.plan}", "You chose {ivr.main_menu} in {ivr.language}"],
        objections=[{"objection": "Too expensive", "reply": "{contact.name}, {contact.offer}"}],
        closing="Thanks for calling {call.dialled}",
    )
    assert variables(script) == ["contact.name", "agent.name", "contact.plan", "ivr.main_menu",
                                 "ivr.language", "contact.offer", "call.dialled"]
    out = filled("sales", 3, script, {
        "contact.name": "Layla", "agent.name": "Alice", "contact.plan": "Fiber 1G",
        "ivr.main_menu": "2", "ivr.language": "ar", "call.dialled": "+97145550200",
    })
    assert out.opening == "Hello Layla, this is Alice."
    assert out.main_points == ("Your plan: Fiber 1G", "You chose 2 in ar")
    assert out.objections == (("Too expensive", f"Layla, {MISSING}"),)
    assert out.closing == "Thanks for calling +97145550200"
    assert out.missing == ("contact.offer",)
    assert (out.name, out.version) == ("sales", 3)


def test_an_unknown_namespace_is_refused_where_it_is_written() -> None:
    with pytest.raises(ValidationError) as refused:
        body(main_points=["fine", "Dear {customer.name}"])
    error = refused.value.errors()[0]
    assert error["loc"] == ("main_points.1",)
    assert "{customer.…} is not a variable" in error["msg"]
    assert "{like this}" in body(opening="Braces {like this} stay as written").opening


def test_a_call_gets_its_ivr_paths_script_then_its_queues_then_the_default() -> None:
    default = Candidate("a-default", 1, body())
    support = Candidate("support", 2, body(queues=["support"]))
    billing = Candidate("billing", 1, body(ivr_nodes=["to_billing"]))
    outage = Candidate("outage", 1, body(ivr_nodes=["outage_notice"]))
    scripts = [support, default, billing, outage]
    assert choose(scripts, "support", ["welcome", "to_billing"]) is billing
    # The latest node of the path says most about the call.
    assert choose(scripts, "support", ["outage_notice", "to_billing"]) is billing
    assert choose(scripts, "support", ["to_billing", "outage_notice"]) is outage
    assert choose(scripts, "support", ["welcome"]) is support
    assert choose(scripts, "sales", []) is default
    assert choose([support], "sales", []) is None


def test_the_ivr_trail_from_the_journal() -> None:
    rows = [
        ("ivr.start", {"flow": "support", "language": "en"}),
        ("ivr.enter", {"node": "lang"}),
        ("ivr.leave", {"node": "lang", "kind": "language", "result": "ar"}),
        ("ivr.enter", {"node": "main_menu"}),
        ("ivr.input", {"node": "main_menu", "result": "invalid", "digits": "9"}),
        ("ivr.leave", {"node": "main_menu", "kind": "menu", "result": "option", "digits": "2"}),
        ("ivr.enter", {"node": "to_billing"}),
    ]
    trail = ivr_trail(rows)
    assert (trail.flow, trail.language) == ("support", "ar")
    assert trail.path == ("lang", "main_menu", "to_billing")
    assert trail.answers == {"lang": "ar", "main_menu": "2"}
