"""Canonical invoice <-> JSON-ready dict.

The JSON form is the project's intake format and the canonical JSON the gateway
stores: decimals as strings (exactly as held), dates as ISO 8601, absent values
and empty lists left out.  Decoding is driven by the dataclass type hints, so the
model stays the single definition of the format.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, TypeVar

from gateway.model.invoice import Invoice

T = TypeVar("T")


class DecodeError(ValueError):
    """A value that does not fit the model; `pointer` is its JSON pointer."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(f"{pointer or '/'}: {message}")
        self.pointer = pointer
        self.message = message


def to_dict(obj: Any) -> Any:
    """Encode a model object (or list of them) as JSON-ready data."""
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is None or value == []:
                continue
            out[f.name] = to_dict(value)
        return out
    if isinstance(obj, list):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    return obj


def to_json(invoice: Invoice) -> bytes:
    """The canonical JSON bytes of an invoice (stable key order)."""
    return json.dumps(to_dict(invoice), ensure_ascii=False, indent=1, sort_keys=False).encode()


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_dict(cls: type[T], data: Any, pointer: str = "") -> T:
    """Decode JSON-ready data into `cls`; raise `DecodeError` naming the faulty field."""
    if not isinstance(data, dict):
        raise DecodeError(pointer, "expected an object")
    hints = _hints(cls)
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise DecodeError(f"{pointer}/{unknown[0]}", "unknown property")
    kwargs = {}
    for name, f in names.items():
        if name in data:
            kwargs[name] = _decode(hints[name], data[name], f"{pointer}/{name}")
        elif f.metadata.get("required"):
            raise DecodeError(f"{pointer}/{name}", "required property missing")
    return cls(**kwargs)


def _decode(tp: Any, value: Any, pointer: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner, value, pointer)
    if origin is list:
        if not isinstance(value, list):
            raise DecodeError(pointer, "expected an array")
        (inner,) = typing.get_args(tp)
        return [_decode(inner, v, f"{pointer}/{i}") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, pointer)
    if tp is Decimal:
        if not isinstance(value, str):
            raise DecodeError(pointer, 'expected a decimal number written as a string, e.g. "12.50"')
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise DecodeError(pointer, f"not a decimal number: {value!r}") from None
        if not number.is_finite():
            raise DecodeError(pointer, f"not a finite decimal number: {value!r}")
        return number
    if tp is date:
        if not isinstance(value, str):
            raise DecodeError(pointer, "expected an ISO 8601 date string (YYYY-MM-DD)")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise DecodeError(pointer, f"not an ISO 8601 date (YYYY-MM-DD): {value!r}") from None
    if tp is str:
        if not isinstance(value, str):
            raise DecodeError(pointer, "expected a string")
        return value
    raise TypeError(f"unsupported type {tp!r} at {pointer}")  # a model bug, not bad input


def invoice_from_json(data: Any) -> Invoice:
    """Decode an intake JSON document into an `Invoice`."""
    return from_dict(Invoice, data)
