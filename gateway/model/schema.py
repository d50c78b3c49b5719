"""The intake JSON Schema (2020-12), generated from the canonical model.

`schemas/invoice.schema.json` is this function's output, committed so ERP
developers can read it; a test keeps the file equal to the model.
Regenerate with `python -m gateway.model.schema > schemas/invoice.schema.json`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import date
from decimal import Decimal
from typing import Any

from gateway import metadata
from gateway.model.invoice import Invoice

SCHEMA_ID = "https://pdp-gateway.example/schemas/invoice.schema.json"
DECIMAL_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def _describe(meta: typing.Mapping[str, Any]) -> dict[str, Any]:
    bt, doc = meta.get("bt"), meta.get("doc", "")
    out: dict[str, Any] = {"description": f"{bt} — {doc}" if bt else doc}
    if bt:
        out["x-business-term"] = bt
    return out


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return _type_schema(inner, defs)
    if origin is list:
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0], defs)}
    if dataclasses.is_dataclass(tp):
        _define(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if tp is Decimal:
        return {"type": "string", "pattern": DECIMAL_PATTERN}
    if tp is date:
        return {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    if tp is str:
        return {"type": "string", "minLength": 1}
    raise TypeError(f"no JSON Schema for {tp!r}")


def _object_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required = []
    for f in dataclasses.fields(cls):
        schema = _type_schema(hints[f.name], defs)
        # A $ref with siblings is fine in 2020-12; keep the term documented at the use site.
        properties[f.name] = {**schema, **f.metadata.get("schema", {}), **_describe(f.metadata)}
        if f.metadata.get("required"):
            required.append(f.name)
    out: dict[str, Any] = {
        "type": "object",
        "description": " ".join((cls.__doc__ or "").split()),
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    return out


def _define(cls: type, defs: dict[str, Any]) -> None:
    if cls.__name__ not in defs:
        defs[cls.__name__] = {}  # placeholder against recursion
        defs[cls.__name__] = _object_schema(cls, defs)


def invoice_json_schema() -> dict[str, Any]:
    """The JSON Schema of the intake format (= the canonical invoice's JSON form)."""
    defs: dict[str, Any] = {}
    root = _object_schema(Invoice, defs)
    root["properties"]["lines"]["minItems"] = 1
    root["properties"]["metadata"] = metadata.json_schema()  # the ERP's own data: stored beside the invoice, not in it
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "PDP Gateway invoice intake format",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def schema_text() -> str:
    return json.dumps(invoice_json_schema(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
