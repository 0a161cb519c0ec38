"""The external CRM link's pure rules: url templates, mapping an answer, outcomes, the cache."""

from __future__ import annotations

from pbx_stasis.crmlink.core import (
    LOOKUP_PLACEHOLDERS,
    ExternalRecord,
    Lookup,
    LookupCache,
    Status,
    answered,
    link_values,
    mapped,
    open_link,
    render,
    template_problem,
    timed_out,
)

MAPPING = {"external_id": "id", "name": "person.full_name", "company": "account.name",
           "plan": "account.plan", "seats": "account.seats"}


def test_a_template_names_only_known_placeholders_in_an_http_url() -> None:
    assert template_problem("https://crm.example.com/people?phone={number}") is None
    assert template_problem("https://crm.example.com/c/{contact_id}/{external_id}") is None
    assert "{name}" in (template_problem("https://crm.example.com/?q={name}") or "")
    assert "{contact_id}" in (template_problem(
        "https://crm.example.com/c/{contact_id}", LOOKUP_PLACEHOLDERS) or "")
    assert template_problem("https://crm.example.com/?q={number") is not None  # unclosed
    assert template_problem("https://crm.example.com/?q={number!r}") is not None
    assert template_problem("https://crm.example.com/?q={number:>9}") is not None
    assert template_problem("ftp://crm.example.com/{number}") == (
        "must be an http(s) url with a host")
    assert template_problem("https://{number}.example.com/") == (
        "must name its host without placeholders")
    assert template_problem("https://u:p@crm.example.com/{number}") is not None
    assert template_problem("https://crm.example.com/{{literal}}/{digits}") is None


def test_values_are_percent_encoded_so_they_never_change_the_url_shape() -> None:
    url = render("https://crm.example.com/people?phone={number}", {"number": "+1 415&x=/../"})
    assert url == "https://crm.example.com/people?phone=%2B1%20415%26x%3D%2F..%2F"


def test_an_open_link_needs_every_value_it_names() -> None:
    values = link_values("+14155550123", 7, None)
    assert values == {"number": "+14155550123", "digits": "14155550123", "contact_id": "7"}
    assert open_link("https://crm.example.com/c/{contact_id}?p={digits}", values) == (
        "https://crm.example.com/c/7?p=14155550123")
    assert open_link("https://crm.example.com/r/{external_id}", values) is None
    assert open_link(None, values) is None
    assert open_link("", values) is None


def test_an_answer_is_mapped_onto_a_contact() -> None:
    answer = {"id": 4711, "person": {"full_name": "  Grace   Hopper "},
              "account": {"name": "Navy", "plan": "Gold", "seats": 12, "tags": ["a"]}}
    assert mapped(answer, MAPPING) == ExternalRecord(
        external_id="4711", name="Grace Hopper", company="Navy",
        custom_fields={"plan": "Gold", "seats": 12})
    # Missing, empty, object and list values are left out.
    assert mapped({"person": {"full_name": ""}, "account": {"plan": {"x": 1}}}, MAPPING) == (
        ExternalRecord())
    assert mapped({"items": [{"n": "First"}]}, {"name": "items.0.n"}).name == "First"
    assert mapped({"items": []}, {"name": "items.3.n"}).name is None
    assert len(mapped({"n": "x" * 500}, {"name": "n"}).name or "") == 200


def test_what_an_answer_tells_the_agent() -> None:
    found = answered(200, [{"id": 1, "person": {"full_name": "Ada"}}], MAPPING, 12)
    assert found.status is Status.FOUND and found.record is not None
    assert found.record.name == "Ada" and found.took_ms == 12
    assert answered(200, [], MAPPING, 5).status is Status.NOT_FOUND
    assert answered(404, None, MAPPING, 5).status is Status.NOT_FOUND
    assert answered(200, None, MAPPING, 5).status is Status.NOT_FOUND
    broken = answered(500, {"error": "boom"}, MAPPING, 5)
    assert broken.status is Status.FAILED and "answered 500" in broken.note
    assert answered(200, "hello", MAPPING, 5).status is Status.FAILED
    slow = timed_out(1.5)
    assert slow.status is Status.TIMEOUT and "1.5 s" in slow.note


def test_the_cache_keeps_answers_not_failures() -> None:
    cache = LookupCache(size=2)
    found = Lookup(Status.FOUND, ExternalRecord(name="Ada"))
    cache.put((1, "+1"), found, now=0, ttl=60)
    cache.put((1, "+2"), timed_out(1), now=0, ttl=60)
    cache.put((1, "+3"), found, now=0, ttl=0)
    assert cache.get((1, "+1"), now=59) is found
    assert cache.get((1, "+2"), now=1) is None
    assert cache.get((1, "+3"), now=1) is None
    assert cache.get((1, "+1"), now=60) is None  # expired
    cache.put((1, "+4"), found, now=0, ttl=60)
    cache.put((2, "+4"), found, now=0, ttl=60)
    cache.put((1, "+5"), found, now=0, ttl=60)  # bounded: the oldest goes
    assert cache.get((1, "+4"), now=1) is None and cache.get((1, "+5"), now=1) is found
    cache.forget(2)
    assert cache.get((2, "+4"), now=1) is None
