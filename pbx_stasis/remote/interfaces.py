"""What the web process may ask of the Stasis process: an `Interface` is a feature's service
protocol as the wire sees it, declared by the feature beside the protocol (its service.py) and
handed to the kernel by its plugin. The protocol's methods and type annotations drive the
generated proxy, the server's dispatch and the codec; `name` is its part of the URLs
(`/rpc/<name>/<method>`); `error` is the one exception type its callers catch, rebuilt on the web
side with the same code and message; `carried` are the exceptions that come back with their
values (a flow set's problems). Adding a method to a protocol needs nothing here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

UNAVAILABLE = "unavailable"
P = TypeVar("P")


@dataclass(frozen=True)
class Carried:
    """An exception the wire carries with its values: raised again as `error(values)`."""

    error: type[Exception]
    attribute: str  # the exception's attribute holding the values it was made with
    values: Any  # their type, for the codec (e.g. list[Problem])


@dataclass(frozen=True)
class Interface(Generic[P]):
    """A service protocol `P` as the wire sees it."""

    name: str
    protocol: Any  # the Protocol class P; its public methods are the only ones served
    error: type[Exception]  # with `code` and `message` (and maybe `field`) attributes
    rebuild: Callable[[str, str, str | None], Exception]  # (code, message, field) -> error
    carried: tuple[Carried, ...] = ()

    def unavailable(self, message: str) -> Exception:
        """The error the web side gets when the Stasis process cannot answer (503)."""
        return self.rebuild(UNAVAILABLE, message, None)


@dataclass(frozen=True)
class Offered(Generic[P]):
    """An implementation the Stasis process serves for `interface` (type-checked against its
    protocol where it is made)."""

    interface: Interface[P]
    implementation: P
