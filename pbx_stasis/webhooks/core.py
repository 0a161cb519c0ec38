"""The pure rules of webhooks: the signature (Stripe's scheme), the retry schedule, when a
failing subscription is paused, and which urls a subscription may name. No IO, time given."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from yarl import URL

from pbx_stasis.ivr.addresses import refused_url

SIGNATURE_HEADER = "X-Pbx-Signature"
DELIVERY_HEADER = "X-Pbx-Delivery"  # the event's id: the same on every retry and replay
EVENT_HEADER = "X-Pbx-Event"
MAX_URL = 2000


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`: the timestamp is signed
    with the body, so a receiver that refuses old timestamps refuses replayed captures."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver checks: a v1 signature of this body by this secret, made within
    `tolerance` seconds of `now` (compared in constant time)."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).rsplit("v1=", 1)[1]
    return any(hmac.compare_digest(expected, sent) for sent in parts.get("v1", []))


@dataclass(frozen=True)
class Backoff:
    """Retries after a failed attempt: `first` seconds, doubled each time up to `cap`, for
    `retry_for` seconds after the event (or its replay); a subscription whose deliveries have
    all failed for `retry_for` is paused."""

    first: float = 30.0
    cap: float = 3600.0
    retry_for: float = 86400.0

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1, 2, ...)."""
        doublings = min(max(attempts - 1, 0), 40)
        return timedelta(seconds=min(self.cap, self.first * 2.0**doublings))

    def next_try(self, retry_until: datetime, now: datetime, attempts: int) -> datetime | None:
        """When to try again after `attempts` failures, None once past `retry_until`."""
        at = now + self.delay(attempts)
        return at if at <= retry_until else None

    def paused(self, failing_since: datetime | None, now: datetime) -> bool:
        return failing_since is not None and now - failing_since >= timedelta(
            seconds=self.retry_for)


def url_problem(url: str, *, internal_ok: bool) -> str | None:
    """Why a subscription may not name this url, or None. Internal addresses (loopback,
    private, link-local: the rule of ivr/addresses.py) only when the operator allows them; a
    name is checked again at each delivery, on the addresses it resolves to."""
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    try:
        parsed = URL(url)
    except ValueError:
        return "is not a url"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "must be an http(s) url with a host"
    if parsed.user is not None or parsed.password is not None:
        return "must not carry a user or password (the signature authenticates the sender)"
    if parsed.fragment:
        return "must not have a #fragment"
    if not internal_ok:
        why = refused_url(url)
        if why is not None:
            return f"{why}; webhooks reach only public addresses unless the operator sets " \
                   "[webhooks] internal_urls"
    return None
