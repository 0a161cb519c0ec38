"""JSON for ContactCenter calls, driven by the protocol's own type annotations."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from pbx_stasis.web import services
from pbx_stasis.web.services import ContactCenter


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
    return typing.get_type_hints(kind, vars(inspect.getmodule(kind)) | vars(services))


@cache
def signature(method: str) -> tuple[list[tuple[str, Any]], Any]:
    """(parameters with their annotations, return annotation) of a ContactCenter method."""
    function = getattr(ContactCenter, method, None)
    if function is None or method.startswith("_"):
        raise KeyError(method)
    hints = typing.get_type_hints(function, vars(services))
    names = [p for p in inspect.signature(function).parameters if p != "self"]
    return [(name, hints[name]) for name in names], hints.get("return", Any)
