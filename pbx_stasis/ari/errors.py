"""Errors of the ARI layer: what Asterisk refused, and when it could not be reached."""

from __future__ import annotations


class AriError(Exception):
    """Asterisk answered an ARI request with an error status (or did not answer at all).

    `status` is the HTTP status, `None` only for `AriUnreachable`; `path` is the concrete
    path that was requested (ids filled in), `message` is Asterisk's own `{"message": ...}`.
    """

    def __init__(self, method: str, path: str, status: int | None, message: str) -> None:
        super().__init__(method, path, status, message)
        self.method = method
        self.path = path
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"ARI {self.method} {self.path}: {self.status} {self.message}"

    @property
    def not_found(self) -> bool:
        """True for a 404: the channel, bridge, playback... is gone (often a normal race)."""
        return self.status == 404

    @property
    def channel_gone(self) -> bool:
        """The channel asked about has hung up or left the app: a 404, or the answers bridge
        and channel operations give for it (400 "Channel not found" from addChannel; 409 or
        422 "Channel not in Stasis application"). A normal race when a caller hangs up."""
        return self.status == 404 or (
            self.status in (400, 409, 422)
            and self.message in ("Channel not found", "Channel not in Stasis application"))


class AriAuthError(AriError):
    """Asterisk rejected the ARI user or password (HTTP 401)."""

    def __init__(self, method: str, path: str, user: str, message: str = "") -> None:
        super().__init__(method, path, 401, message)
        self.user = user

    def __str__(self) -> str:
        return (
            f"ARI rejected user {self.user!r} (401): check PBX_ARI_USER/PBX_ARI_PASSWORD"
            f" ({self.method} {self.path})"
        )


class AriUnreachable(AriError):
    """No HTTP answer: connection refused, reset, DNS failure or timeout.

    A timed-out POST may still have taken effect in Asterisk; callers that must know resync
    (e.g. `GET /channels/{id}`) rather than retry blindly.
    """

    def __init__(self, method: str, path: str, reason: str) -> None:
        super().__init__(method, path, None, reason)

    def __str__(self) -> str:
        return f"ARI {self.method} {self.path}: unreachable ({self.message})"
