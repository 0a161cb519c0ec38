"""Hostile flow text over the web API: answered at once with the line and column of the
problem (validate: the problems; apply: 400 naming the field), never a 500 or a stalled server.

On main the alias bomb held the server for over 10 s and the deep condition and the control
character answered 500.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from web_world import World

from pbx_stasis.store.tables import Role

HOSTILE = Path(__file__).parents[1] / "ivr" / "hostile"
SECONDS = 2.0  # of CPU (the server's and the client's, one process): what the work costs

# file of the corpus -> (line, column, start of the message)
CASES = {
    "alias_bomb_231_bytes.yaml": (6, 8, "YAML aliases expand to more than 10000 values"),
    "condition_300_parentheses.yaml": (12, 51, "condition: the condition nests more than 32"),
    "nested_500_brackets.yaml": (2, 57, "nested more than 50 levels deep"),
    "escape_character.yaml": (9, 64, "control character U+001B (escape) is not allowed"),
    "lookup_metadata.yaml": (9, 30, "lookup node 'a': url: 169.254.169.254 is an internal"),
    "sound_traversal.yaml": (9, 41, "play node 'a', prompts: '../../../../etc/passwd' is not"),
}


def _text(name: str) -> str:
    return (HOSTILE / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
async def test_validate_answers_a_hostile_flow_with_its_position(world: World, name: str) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    line, column, message = CASES[name]
    started = time.process_time()
    response = await world.request(
        admin, "POST", "/api/ivr/flows/main/validate", {"yaml": _text(name)}
    )
    elapsed = time.process_time() - started
    assert response.status == 200, await response.text()
    body = await response.json()
    assert not body["valid"]
    first = body["problems"][0]
    assert (first["line"], first["column"]) == (line, column), first
    assert first["message"].startswith(message), first
    assert elapsed < SECONDS, f"{elapsed:.2f} s"


@pytest.mark.parametrize("name", sorted(CASES))
async def test_applying_a_hostile_flow_is_refused_naming_the_field(
    world: World, name: str
) -> None:
    admin = await world.log_in(world.person("acme", Role.ADMIN))
    line, column, message = CASES[name]
    started = time.process_time()
    response = await world.request(admin, "PUT", "/api/ivr/flows/main", {"yaml": _text(name)})
    elapsed = time.process_time() - started
    assert response.status == 400, await response.text()
    body = await response.json()
    assert body["fields"]["yaml"].startswith(f"line {line}, column {column}: {message}")
    assert elapsed < SECONDS, f"{elapsed:.2f} s"
