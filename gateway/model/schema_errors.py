"""JSON Schema errors said in words: what the value must be, never the schema's own notation.

jsonschema's messages quote the rule (`'12,50' does not match '^[+-]?(\\d+(\\.\\d*)?|\\.\\d+)$'`), which an ERP
developer must decode and an accountant cannot.  Each keyword is answered with a sentence: a pattern by the form
it describes (a known one by name, a simple one such as `^[0-9]{9}$` as "9 digits", any other by the property's
description), an enumeration by its values (or, for a long code list, by what the list is), a missing property
with what it is for, an unknown one with the nearest known name.  The value given is quoted, shortened.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

MAX_LISTED = 12  # enumerations longer than this are described, not listed
MAX_QUOTED = 40  # characters of a given value quoted back

# Patterns of the gateway's schemas, by what they mean (gateway.model.schema, the status format).
KNOWN_PATTERNS = {
    r"^[+-]?(\d+(\.\d*)?|\.\d+)$": 'a decimal number written as a string with a point, such as "12.50" or "-3"',
    r"^-?\d+(\.\d+)?$": 'a decimal number written as a string with a point, such as "12.50"',
    r"^-?[0-9]+(\.[0-9]+)?$": 'a decimal number written as a string with a point, such as "12.50"',
    r"^\d{4}-\d{2}-\d{2}$": 'a date written YYYY-MM-DD, such as "2026-11-20"',
}
FORMATS = {
    "date": 'a real calendar date written YYYY-MM-DD, such as "2026-11-20"',
    "date-time": 'a date and time with its time zone, such as "2026-11-20T10:30:00+01:00"',
    "email": "an e-mail address",
    "uri": "an absolute URI",
    "uuid": "a UUID",
}
TYPES = {
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a JSON object",
    "array": "a JSON array (a list)",
    "null": "null",
}
# Character classes a simple pattern is made of, in words: (one, several).
CLASSES = {
    r"[0-9]": ("digit", "digits"),
    r"\d": ("digit", "digits"),
    r"[A-Z]": ("capital letter", "capital letters"),
    r"[a-z]": ("lower-case letter", "lower-case letters"),
    r"[A-Za-z]": ("letter", "letters"),
    r"[a-zA-Z]": ("letter", "letters"),
    r"[A-Z0-9]": ("capital letter or digit", "capital letters or digits"),
    r"[0-9A-Z]": ("capital letter or digit", "capital letters or digits"),
    r"[A-Za-z0-9]": ("letter or digit", "letters or digits"),
}
_SIMPLE = re.compile(r"^\^(?P<cls>\\d|\[[^\]]+\])(?P<count>\{\d+(,\d*)?\}|\+|\*)?\$$")


@dataclass(frozen=True)
class Detail:
    """One problem in a JSON body: where (JSON pointer) and what, in words."""

    pointer: str
    message: str


def pointer_of(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def details(error: ValidationError) -> list[Detail]:
    """One detail per offending value: a missing property or an unexpected one points at itself."""
    return list(_details(error))


def _details(error: ValidationError) -> Iterator[Detail]:
    base = pointer_of(error.absolute_path)
    instance, schema = error.instance, error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required" and isinstance(instance, dict):
        properties = schema.get("properties", {})
        for name in error.validator_value:
            if name not in instance:
                about = _about(properties.get(name, {}))
                yield Detail(f"{base}/{name}", f"is required{f' ({about})' if about else ''}")
        return
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        for name in instance:
            if name not in known:
                yield Detail(f"{base}/{name}", unknown_property(name, known))
        return
    yield Detail(base, message(error))


def unknown_property(name: str, known: list[str]) -> str:
    """An unexpected member: refused (a typo must not drop data silently), with the nearest known name."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; the known ones here are {', '.join(known)}" if len(known) <= MAX_LISTED else ""
    return f"is not a property of the format{hint}"


def message(error: ValidationError) -> str:
    """The sentence for one failed keyword, followed by the value that was given."""
    said = _sentence(error)
    given = _given(error.instance)
    return f"{said} ({given} was given)" if given else said


def _sentence(error: ValidationError) -> str:
    keyword, rule = error.validator, error.validator_value
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    about = _about(schema)
    if keyword == "type":
        return f"must be {_expected(schema, rule)}"
    if keyword == "pattern":
        return f"must be {pattern_words(str(rule), about)}"
    if keyword == "format":
        return f"must be {FORMATS.get(str(rule), f'a valid {rule}')}"
    if keyword == "enum":
        return _enumeration(list(rule), about)
    if keyword == "const":
        return f"must be {json.dumps(rule, ensure_ascii=False)}"
    if keyword == "minLength":
        return "must not be empty" if rule == 1 else f"must be at least {rule} characters long"
    if keyword == "maxLength":
        return f"must be at most {rule} characters long"
    if keyword == "minItems":
        return "needs at least one entry" if rule == 1 else f"needs at least {rule} entries"
    if keyword == "maxItems":
        return f"may have at most {rule} entries"
    if keyword == "uniqueItems":
        return "must not list the same entry twice"
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than", "exclusiveMaximum": "less than"}
        return f"must be {words[keyword]} {rule}"
    if keyword == "minProperties":
        return f"needs at least {rule} member{'s' if rule != 1 else ''}"
    if keyword == "maxProperties":
        return f"may have at most {rule} members"
    if keyword in ("oneOf", "anyOf") and error.context:
        return _sentence(best_match(error.context))
    if keyword == "not":
        return "is not allowed here"
    return f"is not accepted here{f' ({about})' if about else ''}"


def _about(schema: Any) -> str:
    """What a property is, from its schema: its title, else its description (its business term and meaning)."""
    if not isinstance(schema, dict):
        return ""
    return str(schema.get("title") or schema.get("description") or "").strip().rstrip(".")


def _expected(schema: dict[str, Any], rule: Any) -> str:
    """The type expected, said with the form a string must take when the schema gives one (decimals, dates)."""
    names = rule if isinstance(rule, list) else [rule]
    if names == ["string"] and "pattern" in schema:
        form = KNOWN_PATTERNS.get(schema["pattern"])
        if form:
            return form + ", not a JSON number" if "decimal" in form else form
    if names == ["string"] and schema.get("format") in FORMATS:
        return FORMATS[schema["format"]]
    return " or ".join(TYPES.get(str(name), str(name)) for name in names)


def pattern_words(pattern: str, about: str = "") -> str:
    """A pattern in words: a known one by name, a simple one by its characters and length, else what the property is."""
    if pattern in KNOWN_PATTERNS:
        return KNOWN_PATTERNS[pattern]
    simple = _SIMPLE.match(pattern)
    if simple and simple["cls"] in CLASSES:
        (one, several), count = CLASSES[simple["cls"]], simple["count"]
        if count is None:
            return f"a single {one}"
        if count in ("+", "*"):
            return f"{several} only"
        low, comma, high = count.strip("{}").partition(",")
        if not comma:
            return f"exactly {low} {several}" if low != "1" else f"a single {one}"
        return f"{low} or more {several}" if not high else f"{low} to {high} {several}"
    return f"a valid value for {about}" if about else "a value of the expected form (see the property's description in the schema)"


def _enumeration(values: list[Any], about: str) -> str:
    shown = [json.dumps(v, ensure_ascii=False) for v in values]
    if len(values) <= MAX_LISTED:
        return f"must be one of {', '.join(shown)}"
    sample = ", ".join(shown[:3])
    of = f" of {about}" if about else ""
    return f"must be one of the {len(values)} codes{of} (such as {sample})"


def _given(value: Any) -> str:
    """The value given, as JSON and shortened; nothing for objects and arrays (their pointer says where)."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    text = json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return text
    if isinstance(value, int | float):
        return f"the number {text}"
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1] + '…"'
