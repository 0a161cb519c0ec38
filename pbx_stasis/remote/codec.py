"""JSON for the calls that cross between the processes (each service interface of
remote/interfaces.py), driven by the protocol's own methods and type annotations."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(kind: Any, value: Any) -> Any:
    """`value` (from JSON) as an instance of the annotation `kind`."""
    origin = typing.get_origin(kind)
    if kind is Any or kind is object:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return decode(options[0], value)
    if value is None:
        return None
    if origin is list:
        (item,) = typing.get_args(kind)
        return [decode(item, v) for v in value]
    if origin is tuple:
        args = typing.get_args(kind)
        return tuple(decode(args[0], v) for v in value)
    if origin in (dict, Mapping) or kind in (dict, Mapping) or (
        origin is not None and issubclass(origin, Mapping)
    ):
        key, item = typing.get_args(kind) or (str, Any)
        return {decode(key, k): decode(item, v) for k, v in value.items()}
    if isinstance(kind, type):
        if issubclass(kind, enum.Enum):
            return kind(value)
        if kind is datetime:
            return datetime.fromisoformat(value)
        if dataclasses.is_dataclass(kind):
            hints = _hints(kind)
            return kind(**{f.name: decode(hints[f.name], value[f.name])
                           for f in dataclasses.fields(kind) if f.init and f.name in value})
    return value


@cache
def _hints(kind: Any) -> dict[str, Any]:
    # No namespace given: each field's annotation is read in the module of the class that
    # declares it (a dataclass's inherited fields live in its base's module).
    return typing.get_type_hints(kind)


@dataclass(frozen=True)
class Method:
    """A protocol method as the wire sees it: its parameters (without self), their resolved
    annotations, and the return annotation."""

    name: str
    params: tuple[inspect.Parameter, ...]
    hints: dict[str, Any]
    returns: Any

    def body(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The call's arguments as a JSON object (defaults filled in)."""
        bound = inspect.Signature([*self.params]).bind(*args, **kwargs)
        bound.apply_defaults()
        return {name: encode(value) for name, value in bound.arguments.items()}

    def arguments(self, body: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """(positional, keyword) arguments decoded from a JSON object made by `body`."""
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        for param in self.params:
            if param.name in body:
                value = decode(self.hints[param.name], body[param.name])
            else:
                value = None if param.default is inspect.Parameter.empty else param.default
            if param.kind is inspect.Parameter.KEYWORD_ONLY:
                keywords[param.name] = value
            else:
                positional.append(value)
        return positional, keywords


def methods(protocol: Any) -> list[str]:
    """The names of `protocol`'s public methods: what crosses the wire, nothing else."""
    return [name for name, _ in inspect.getmembers(protocol, inspect.isfunction)
            if not name.startswith("_")]


@cache
def signature(protocol: Any, method: str) -> Method:
    """A public method of `protocol` (ContactCenter, SupervisionControl...); KeyError when it
    has none of that name."""
    function = getattr(protocol, method, None)
    if method.startswith("_") or not inspect.isfunction(function):
        raise KeyError(method)
    module = inspect.getmodule(protocol)
    hints = typing.get_type_hints(function, vars(module) if module else None)
    params = tuple(p for name, p in inspect.signature(function).parameters.items()
                   if name != "self")
    return Method(method, params, hints, hints.get("return", Any))
