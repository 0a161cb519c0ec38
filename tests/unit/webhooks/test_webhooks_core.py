"""The pure rules of webhooks: Stripe-style signatures, the retry schedule, the pause, urls."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from pbx_stasis.bus import BusEvent
from pbx_stasis.bus.bus import encode
from pbx_stasis.calls.events import CALL_STATE, CallAnswered, CallStarted, CallUpdated
from pbx_stasis.store.tables import Direction
from pbx_stasis.tickets.events import TICKET_CHANGED, TicketCreated, TicketUpdated
from pbx_stasis.webhooks.core import Backoff, signature, url_problem, verify
from pbx_stasis.webhooks.events import BY_NAME, WEBHOOK_EVENTS, named

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def test_the_signature_is_stripes_scheme() -> None:
    body = b'{"id":"evt_1","type":"call.ended"}'
    header = signature("whsec_x", 1764662400, body)
    expected = hmac.new(b"whsec_x", b"1764662400." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1764662400,v1={expected}"
    assert verify("whsec_x", header, body, now=1764662400 + 10)


@pytest.mark.parametrize("secret, body, now", [
    ("whsec_other", b'{"id":"evt_1"}', 1764662400),  # another secret
    ("whsec_x", b'{"id":"evt_2"}', 1764662400),  # another body
    ("whsec_x", b'{"id":"evt_1"}', 1764662400 + 301),  # too old: a replayed capture
])
def test_a_receiver_refuses_what_the_secret_did_not_sign_now(secret: str, body: bytes,
                                                             now: int) -> None:
    header = signature("whsec_x", 1764662400, b'{"id":"evt_1"}')
    assert not verify(secret, header, body, now=now)
    assert not verify("whsec_x", "t=abc,v1=00", b"", now=now)


def test_retries_double_up_to_the_cap_and_stop_after_the_window() -> None:
    backoff = Backoff(first=30, cap=3600, retry_for=86400)
    assert [backoff.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff.delay(20) == timedelta(hours=1)
    until = T0 + timedelta(days=1)
    assert backoff.next_try(until, T0, 1) == T0 + timedelta(seconds=30)
    assert backoff.next_try(until, until - timedelta(minutes=5), 12) is None
    # Over a day: 30 s doubling to the hourly cap, then hourly: about 30 tries in all.
    at, tries = T0, 1
    while (following := backoff.next_try(until, at, tries)) is not None:
        at, tries = following, tries + 1
    assert 25 <= tries <= 35 and until - at < timedelta(hours=1)


def test_a_subscription_failing_for_the_whole_window_is_paused() -> None:
    backoff = Backoff(retry_for=86400)
    assert not backoff.paused(None, T0)
    assert not backoff.paused(T0, T0 + timedelta(hours=23))
    assert backoff.paused(T0, T0 + timedelta(days=1))


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8088/ari/channels", "http://127.1/", "http://2130706433/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/", "http://192.168.1.1/", "http://localhost:8080/", "http://metadata/",
    "http://db.internal/", "http://printer/",
])
def test_internal_urls_are_refused_unless_the_operator_allows_them(url: str) -> None:
    assert url_problem(url, internal_ok=False) is not None
    assert url_problem(url, internal_ok=True) is None


@pytest.mark.parametrize("url, why", [
    ("ftp://example.com/x", "http(s)"), ("https://u:p@example.com/", "user or password"),
    ("https://example.com/#x", "fragment"), ("https://" + "a" * 2000 + ".com/", "at most"),
    ("example.com/hook", "http(s)"),
])
def test_malformed_urls_say_why(url: str, why: str) -> None:
    problem = url_problem(url, internal_ok=True)
    assert problem is not None and why in problem


def test_public_urls_pass() -> None:
    assert url_problem("https://crm.example.com/hooks/pbx?x=1", internal_ok=False) is None


def test_each_bus_event_is_the_webhook_events_of_its_kind() -> None:
    call = {"call_id": "c1", "direction": Direction.INBOUND, "from_number": "+15550100",
            "to_number": "+15550001", "state": "ivr", "started_at": T0}
    started = BusEvent(CALL_STATE.name, 1, CallStarted(**call, channel_id="ch"))
    answered = BusEvent(CALL_STATE.name, 1, CallAnswered(**call, answered_at=T0))
    updated = BusEvent(CALL_STATE.name, 1, CallUpdated(**call))
    assert (named(started), named(answered), named(updated)) == (
        ["call.started"], ["call.answered"], [])
    assert len(BY_NAME) == len(WEBHOOK_EVENTS)  # one line per event, names unique


def test_ticket_changes_are_webhook_events_without_their_feed_audience() -> None:
    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    fields = (7, "Router down", "open", "high", "support", None, None, now, now, None)
    created = TicketCreated(*fields, audience=(12, 13))
    updated = TicketUpdated(*fields, ("status",), audience=(12,))
    assert named(BusEvent(TICKET_CHANGED.name, 1, created)) == ["ticket.created"]
    assert named(BusEvent(TICKET_CHANGED.name, 1, updated)) == ["ticket.updated"]
    # The body's data (bus.encode): who else works the queue is no receiver's business.
    assert "audience" not in encode(created) and encode(updated)["fields"] == ["status"]
