"""`pbx check` refuses a trunk that Asterisk would find by the From user (issue 11, finding 2)."""

import pytest

from pbx_stasis.check import trunk_identification


@pytest.mark.parametrize("fields", [
    {"identify_by": "ip", "auth": ""},
    {"identify_by": "ip,header", "auth": ""},
    {"identify_by": "username,ip", "auth": "trunk-auth"},  # found by name, but must authenticate
])
def test_a_trunk_found_by_address_or_demanding_a_password_is_fine(fields: dict[str, str]) -> None:
    assert trunk_identification(fields) == []


@pytest.mark.parametrize("identify_by", ["username,ip", "auth_username,ip", "username"])
def test_a_trunk_anyone_can_claim_by_name_is_named_with_the_fix(identify_by: str) -> None:
    [problem] = trunk_identification({"identify_by": identify_by, "auth": ""})
    assert f"identify_by = {identify_by}" in problem and "set identify_by = ip" in problem
