"""validation.py's shared types as routes use them: a query string's numbers and flags read as
before (int(text, 10), true/false/1/0/yes/no), fields left out stay out, defaults are filled."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from pbx_stasis.validation import (
    QUERY_WHOLE,
    Flag,
    Model,
    ModelBody,
    ModelQuery,
    QueryFlag,
    left_out,
    text,
)


class _Page(Model):
    limit: Annotated[int, Field(ge=1, le=200), QUERY_WHOLE] = 50
    all: QueryFlag = False
    q: Annotated[str, text(max_length=10)] = left_out()


PAGE = ModelQuery(_Page)


@pytest.mark.parametrize(
    ("query", "clean"),
    [
        ({}, {"limit": 50, "all": False}),
        ({"limit": " 7 ", "all": "YES"}, {"limit": 7, "all": True}),
        ({"limit": "+5", "all": "0"}, {"limit": 5, "all": False}),
        ({"q": " ann "}, {"limit": 50, "all": False, "q": "ann"}),
    ],
)
def test_a_query_string_reads_as_before(query: dict[str, str], clean: dict[str, object]) -> None:
    assert PAGE.validate(query) == (clean, {})


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"limit": "5.0"}, {"limit": "must be a whole number"}),
        ({"limit": "0x5"}, {"limit": "must be a whole number"}),
        ({"limit": "9" * 5000}, {"limit": "must be a whole number"}),
        ({"limit": "201"}, {"limit": "must be at most 200"}),
        ({"all": "on"}, {"all": "must be true or false"}),
        ({"q": ""}, {"q": "must not be empty"}),
        ({"colour": "red"}, {"colour": "is not a known field"}),
    ],
)
def test_a_bad_query_names_its_field(query: dict[str, str], errors: dict[str, str]) -> None:
    assert PAGE.validate(query) == ({}, errors)


class _Change(Model):
    name: Annotated[str, text(max_length=10)] = left_out()
    active: Flag = left_out()
    notes: Annotated[str, text(min_length=0, max_length=10)] | None = None


def test_a_body_leaves_out_what_was_not_given_and_fills_the_defaults() -> None:
    body = ModelBody(_Change, defaults=True)
    assert body.validate({}) == ({"notes": None}, {})
    assert body.validate({"active": True}) == ({"active": True, "notes": None}, {})
    assert body.validate({"name": None}) == ({}, {"name": "must not be null"})
    assert body.validate({"active": 1}) == ({}, {"active": "must be true or false"})
    schema = body.schema()["properties"]
    assert "default" not in schema["name"] and schema["notes"]["default"] is None
