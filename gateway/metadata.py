"""The ERP's own data on an invoice (`metadata`): a free JSON object the gateway stores and gives back, never reads.

An ERP attaches what it needs to find the invoice again — its document id, a batch, a cost centre — and gets it
back in every answer about the invoice (`GET /api/v1/invoices/{id}`, the list) and in every webhook about it.
It travels in the intake JSON as the top-level `metadata` member, or, for a UBL, CII or Factur-X body, as the
`X-Gateway-Metadata` header holding the same object as JSON.

The gateway reads one member: `erp_reference`, a string, the ERP's reference of the invoice, which the invoice
list filters on (`?erp_reference=`).  Bounded so that it stays a label, not a second document:

- a JSON object, at most `MAX_BYTES` once serialized compactly (UTF-8), and at most `MAX_MEMBERS` members at all
  levels together;
- objects and arrays nested at most `MAX_DEPTH` deep (the metadata object itself is depth 1);
- member names of 1 to `MAX_NAME_LENGTH` characters; no control characters in names or strings; finite numbers;
- `erp_reference`, when present, a string of 1 to `MAX_REFERENCE_LENGTH` characters.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from gateway.errors import InputError

MAX_BYTES = 4096
MAX_MEMBERS = 50
MAX_DEPTH = 3
MAX_NAME_LENGTH = 100
MAX_REFERENCE_LENGTH = 200
REFERENCE = "erp_reference"
HEADER = "X-Gateway-Metadata"
POINTER = "/metadata"


@dataclass(frozen=True)
class Problem:
    """One problem in the metadata: where (JSON pointer) and what, in words."""

    pointer: str
    message: str


class InvalidMetadata(InputError):
    """Metadata the gateway does not keep: every problem is listed (answered like an invalid invoice: nothing is stored)."""

    status = 422
    code = "invalid_invoice"

    def __init__(self, problems: list[Problem], source: str = "the metadata member") -> None:
        super().__init__(f"The invoice's metadata ({source}) cannot be kept ({len(problems)} problem(s)): nothing was stored.", problems[0].pointer)
        self.details = problems


def _clean_text(text: str) -> bool:
    """No control characters (JSON in PostgreSQL refuses NUL) and no lone surrogates."""
    return all(ch in "\t\n\r" or (ch >= "\x20" and not "\ud800" <= ch <= "\udfff" and ch != "\x7f") for ch in text)


def _walk(value: Any, pointer: str, depth: int, problems: list[Problem]) -> int:
    """Check one value below the metadata object; the number of members and items it holds."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.append(Problem(pointer, "must be a finite number (NaN and Infinity are not JSON)"))
        return 0
    if isinstance(value, str):
        if not _clean_text(value):
            problems.append(Problem(pointer, "contains control characters"))
        return 0
    if isinstance(value, list | dict) and depth >= MAX_DEPTH:
        problems.append(Problem(pointer, f"nests too deep: objects and arrays nest {MAX_DEPTH} levels at most, counting the metadata itself"))
        return 0
    if isinstance(value, list):
        return len(value) + sum(_walk(item, f"{pointer}/{i}", depth + 1, problems) for i, item in enumerate(value))
    if isinstance(value, dict):
        return _members(value, pointer, depth + 1, problems)
    problems.append(Problem(pointer, f"is not a JSON value ({type(value).__name__})"))
    return 0


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _members(obj: dict[str, Any], pointer: str, depth: int, problems: list[Problem]) -> int:
    count = len(obj)
    for name, value in obj.items():
        where = f"{pointer}/{_escape(name)}"
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            problems.append(Problem(where, f"member names must be 1 to {MAX_NAME_LENGTH} characters long"))
        elif not _clean_text(name):
            problems.append(Problem(where, "the member name contains control characters"))
        count += _walk(value, where, depth, problems)
    return count


def check_metadata(value: Any, source: str = "the metadata member") -> dict[str, Any]:
    """`value` if it is metadata the gateway keeps, else `InvalidMetadata` naming every problem (pointers as in the intake JSON)."""
    pointer = POINTER
    if not isinstance(value, dict):
        raise InvalidMetadata([Problem(pointer, 'must be a JSON object, such as {"erp_reference": "SO-2026-0042"}')], source)
    problems: list[Problem] = []
    members = _members(value, pointer, 1, problems)
    if members > MAX_MEMBERS:
        problems.append(Problem(pointer, f"has {members} members and items in all; at most {MAX_MEMBERS} are kept"))
    if not problems:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
        if size > MAX_BYTES:
            problems.append(Problem(pointer, f"is {size} bytes long as compact JSON; at most {MAX_BYTES} bytes are kept"))
    reference = value.get(REFERENCE)
    if REFERENCE in value and not (isinstance(reference, str) and 1 <= len(reference) <= MAX_REFERENCE_LENGTH):
        problems.append(Problem(f"{pointer}/{REFERENCE}", f"the ERP's reference must be a string of 1 to {MAX_REFERENCE_LENGTH} characters"))
    if problems:
        raise InvalidMetadata(problems, source)
    return value


def parse_header(text: str) -> dict[str, Any]:
    """The metadata of the `X-Gateway-Metadata` header: JSON (UTF-8; non-ASCII may also be written as \\u escapes)."""
    source = f"the {HEADER} header"
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidMetadata([Problem("header", f"{HEADER} is not valid JSON: {exc}")], source) from None
    return check_metadata(data, source)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_schema() -> dict[str, Any]:
    """The `metadata` member of the intake format (its depth, size and characters are checked by `check_metadata`)."""
    return {
        "type": "object",
        "description": "Not part of the invoice: the ERP's own data on it (its document id, a batch …), given back as is by every API answer "
        f"and webhook about the invoice. At most {MAX_BYTES} bytes as compact JSON, {MAX_MEMBERS} members and items in all, nested "
        f"{MAX_DEPTH} levels deep counting this object. `erp_reference` is the ERP's reference of the invoice, which the invoice list "
        f"filters on. For a UBL, CII or Factur-X body, send the same object as JSON in the {HEADER} header.",
        "maxProperties": MAX_MEMBERS,
        "properties": {
            REFERENCE: {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_REFERENCE_LENGTH,
                "description": "The ERP's reference of the invoice (GET /api/v1/invoices?erp_reference=).",
            }
        },
    }


def erp_reference(metadata: dict[str, Any] | None) -> str | None:
    """The ERP's reference of the invoice, the one member the gateway reads."""
    return metadata.get(REFERENCE) if metadata else None
