"""The account rules shared by the CLI and the admin pages (store/accounts.py)."""

from __future__ import annotations

import pytest

from pbx_stasis.store import StoreError, accounts
from pbx_stasis.store.accounts import AccountInvalid


@pytest.mark.parametrize(("given", "stored"), [
    ("alice", "alice"), ("THROW2", "throw2"), ("Jean.Dupont", "jean.dupont"), ("a", "a"),
    ("x" * 64, "x" * 64), ("agent_7-b", "agent_7-b"),
])
def test_usernames_are_stored_in_lower_case(given: str, stored: str) -> None:
    assert accounts.username(given) == stored


@pytest.mark.parametrize("bad", [
    "", " ", " alice", "alice ", "al ice", "-alice", ".alice", "x" * 65, "alice\n", "al\x00ice",
    "élise", "alice@acme", "a/b", "../etc", "\udcff",
])
def test_bad_usernames_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(AccountInvalid) as caught:
        accounts.username(bad)
    assert caught.value.field == "username"
    assert isinstance(caught.value, StoreError)  # the CLI prints it as one line
    assert "\n" not in str(caught.value) and str(caught.value).startswith("username: ")


@pytest.mark.parametrize(("given", "stored"), [
    ("default", "default"), ("Acme", "acme"), ("ACME", "acme"), ("tenant-2", "tenant-2"),
])
def test_tenant_slugs_are_stored_in_lower_case(given: str, stored: str) -> None:
    assert accounts.tenant_slug(given) == stored


@pytest.mark.parametrize("bad", ["", "  ", "ac me", "acme.com", "-acme", "a" * 65, "acme\t"])
def test_bad_tenant_slugs_are_refused(bad: str) -> None:
    with pytest.raises(AccountInvalid, match=r"^tenant: "):
        accounts.tenant_slug(bad)


@pytest.mark.parametrize(("password", "problem"), [
    ("a", "must be at least 8 characters"),
    ("", "must be at least 8 characters"),
    ("1234567", "must be at least 8 characters"),
    ("x" * 201, "must be at most 200 characters"),
    (" leading space", "must not start or end with a space"),
    ("bell\x07inside", "must not contain control characters"),
    (None, None),
])
def test_passwords_need_eight_characters_and_no_control_characters(
    password: str | None, problem: str | None
) -> None:
    if password is None:
        assert accounts.password_problem("correct horse battery") is None
        assert accounts.password_problem("x" * 200) is None
        return
    assert accounts.password_problem(password) == problem


def test_display_names_are_trimmed_and_refused_when_empty_long_or_with_controls() -> None:
    assert accounts.display_name("  Alice Martin ") == "Alice Martin"
    assert accounts.display_name("Zoë ZWNJ\u200cname") == "Zoë ZWNJ\u200cname"
    for bad in ("", "   ", "x" * 201, "red\x1b[31m", "evil\u202egpj.exe"):
        with pytest.raises(AccountInvalid, match=r"^name: "):
            accounts.display_name(bad)


@pytest.mark.parametrize("good", [
    "sip:1001@192.0.2.10:5060",
    "sip:192.0.2.10:5060",
    "sips:desk@phone.example.com:5061",
    "sip:1001@[2001:db8::10]:5060",
    "sip:1001@phone-3.lan:5070;transport=tcp",
])
def test_desk_phone_contacts_are_sip_uris_with_host_and_port(good: str) -> None:
    assert accounts.contact(good) == good


@pytest.mark.parametrize("bad", [
    "", "1001@192.0.2.10:5060", "sip:1001@192.0.2.10", "sip:1001@192.0.2.10:0",
    "sip:1001@192.0.2.10:99999", "sip:1001@192.0.2.10:50a0", "http://192.0.2.10:5060",
    "sip:1001@999.0.2.10:5060", "sip:1001@[2001:db8::zz]:5060", "sip:1001@-phone.lan:5060",
    "sip:1001@phone..lan:5060", "sip:1001@:5060",
    # a comma would give the aor a second contact; blanks and newlines would break pjsip.conf
    "sip:1001@192.0.2.10:5060,sip:evil@198.51.100.7:5060", "sip:1001@192.0.2.10:5060\n",
    "sip:10 01@192.0.2.10:5060", "sip:1001@192.0.2.10:5060;transport=tcp\r\nx=y",
    "sip:" + "a" * 300 + "@h:5060",
])
def test_bad_contacts_are_refused(bad: str) -> None:
    with pytest.raises(AccountInvalid, match=r"^contact: "):
        accounts.contact(bad)


def test_an_agent_may_only_join_queues_of_the_tenant() -> None:
    assert accounts.queues(["sales", "support"], ["support", "sales", "vip"]) == [
        "sales", "support"
    ]
    assert accounts.queues([], []) == []
    with pytest.raises(AccountInvalid, match=r"^queues: unknown queue\(s\): nosuch, other$"):
        accounts.queues(["other", "sales", "nosuch"], ["sales"])
