"""The XPath 2.0 functions and node steps the compiled rules call (see `codegen` for how arguments arrive)."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from functools import lru_cache

from lxml import etree

from gateway.validation.native.runtime import (
    CTX,
    NODE_TYPES,
    WS,
    Attr,
    Doc,
    Element,
    NativeUnsupported,
    U,
    XDate,
    XPathError,
    arith,
    atomize,
    atomize1,
    ebv1,
    one_atom,
    round_half_up,
    string1,
    string_value,
    to_date,
    to_decimal,
    to_double,
    to_integer,
    to_string,
    type_name,
)

_WS_RUN = re.compile("[ \t\n\r]+")
ANY = etree.Element


# -- argument helpers


def ostr1(value: object) -> str | None:
    """An `xs:string?` argument from zero or one atomic value."""
    if value is None or type(value) is str:
        return value  # type: ignore[return-value]
    if isinstance(value, NODE_TYPES):
        return string_value(value)
    if type(value) is U:
        return str(value)
    raise XPathError(f"XPTY0004: {type_name(value)} supplied where xs:string? is required")


def os_(value: object) -> list:
    return [] if value is None else [value]


def dbl1(seq: list) -> float:
    value = one_atom(seq, "numeric argument")
    if value is None:
        raise XPathError("XPTY0004: empty sequence where xs:double is required")
    if type(value) is bool or not isinstance(value, (int, Decimal, float, U)):
        raise XPathError(f"XPTY0004: {type_name(value)} where xs:double is required")
    return to_double(value)


def onum(value: object) -> object:
    """A numeric? argument (abs, round …): U becomes xs:double."""
    if value is None:
        return None
    if type(value) is U:
        return to_double(value)
    if type(value) is bool or not isinstance(value, (int, Decimal, float)):
        raise XPathError(f"XPTY0004: {type_name(value)} where a number is required")
    return value


# -- strings


def normalize_space(value: str | None) -> str:
    return _WS_RUN.sub(" ", value).strip(" ") if value else ""


def substring(value: str | None, start: float, length: float | None = None) -> str:
    text = value or ""
    first = round_half_up(start)
    if first != first:  # NaN
        return ""
    if length is None:
        begin = max(first, 1)  # type: ignore[type-var]
        if begin == math.inf:
            return ""
        return text[int(begin) - 1 :]
    size = round_half_up(length)
    end = first + size  # type: ignore[operator]
    if end != end:
        return ""
    begin = max(first, 1)  # type: ignore[type-var]
    if end <= begin:  # type: ignore[operator]
        return ""
    stop = len(text) + 1 if end == math.inf else min(int(end), len(text) + 1)
    return text[int(begin) - 1 : stop - 1]


def substring_after(value: str | None, search: str | None) -> str:
    text, key = value or "", search or ""
    index = text.find(key)
    return "" if index < 0 else text[index + len(key) :]


def substring_before(value: str | None, search: str | None) -> str:
    text, key = value or "", search or ""
    index = text.find(key)
    return "" if index < 0 else text[:index]


def concat(*values: object) -> str:
    return "".join("" if v is None else to_string(v) for v in values)


def string_join(seq: list, separator: str | None) -> str:
    parts = []
    for item in atomize(seq):
        if type(item) is U:
            parts.append(str(item))
        elif type(item) is str:
            parts.append(item)
        else:
            raise XPathError(f"XPTY0004: string-join of {type_name(item)}")
    return (separator or "").join(parts)


def translate(value: str | None, source: str | None, target: str | None) -> str:
    table: dict[int, int | None] = {}
    target = target or ""
    for i, char in enumerate(source or ""):
        if ord(char) not in table:
            table[ord(char)] = ord(target[i]) if i < len(target) else None
    return (value or "").translate(table)


def string_fn(seq: list) -> str:
    if not seq:
        return ""
    if len(seq) > 1:
        raise XPathError("XPTY0004: fn:string of more than one item")
    return string1(seq[0])


def number_fn(seq: list) -> float:
    value = one_atom(seq, "argument of fn:number")
    if value is None:
        return math.nan
    try:
        return to_double(value)
    except XPathError:
        return math.nan


# -- regular expressions (XML Schema flavour → Python re)


@lru_cache(maxsize=512)
def regex(pattern: str, flags: str = "") -> re.Pattern:
    out = []
    i = 0
    in_class = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise XPathError("FORX0002: trailing backslash in a regular expression")
            nxt = pattern[i + 1]
            if nxt == "s":
                out.append(" \\t\\n\\r" if in_class else "[ \\t\\n\\r]")
            elif nxt in "dD" or nxt in "nrt\\|.-^?*+{}()[]$":
                out.append("\\" + nxt)
            elif nxt == "/":
                out.append("/")
            else:
                raise NativeUnsupported(f"regular expression escape \\{nxt}")
            i += 2
            continue
        if in_class:
            if ch == "[":
                raise NativeUnsupported("character class subtraction or nesting in a regular expression")
            if ch == "]":
                in_class -= 1
            out.append(ch)
        elif ch == "[":
            in_class += 1
            out.append(ch)
            if pattern[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
        elif ch == ".":
            out.append("[^\\n\\r]" if "s" not in flags else "(?s:.)")
        elif ch == "$":
            out.append("(?!\\n)\\Z" if "m" not in flags else "$")
        elif ch == "(" and pattern[i + 1 : i + 2] == "?":
            raise NativeUnsupported("(? in a regular expression")
        else:
            out.append(ch)
        i += 1
    python_flags = 0
    for flag in flags:
        if flag == "i":
            python_flags |= re.IGNORECASE
        elif flag == "m":
            python_flags |= re.MULTILINE
        elif flag != "s":
            raise NativeUnsupported(f"regular expression flag {flag!r}")
    try:
        return re.compile("".join(out), python_flags)
    except re.error as exc:
        raise XPathError(f"FORX0002: invalid regular expression {pattern!r}: {exc}") from exc


def matches(value: str | None, pattern: str | None, flags: str | None = None) -> bool:
    return regex(pattern or "", flags or "").search(value or "") is not None


def replace(value: str | None, pattern: str | None, replacement: str | None, flags: str | None = None) -> str:
    compiled = regex(pattern or "", flags or "")
    if compiled.match(""):
        raise XPathError("FORX0003: the regular expression of fn:replace matches the empty string")
    template = replacement or ""

    def expand(match: re.Match) -> str:
        out, i = [], 0
        while i < len(template):
            ch = template[i]
            if ch == "\\" and i + 1 < len(template) and template[i + 1] in "\\$":
                out.append(template[i + 1])
                i += 2
            elif ch == "$" and i + 1 < len(template) and template[i + 1].isdigit():
                group = int(template[i + 1])
                out.append(match.group(group) or "" if group <= compiled.groups else "")
                i += 2
            elif ch in "\\$":
                raise XPathError("FORX0004: invalid replacement string")
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    return compiled.sub(expand, value or "")


def tokenize(value: str | None, pattern: str | None) -> list:
    text = value or ""
    if not text:
        return []
    compiled = regex(pattern or "")
    if compiled.match(""):
        raise XPathError("FORX0003: the regular expression of fn:tokenize matches the empty string")
    out, last = [], 0
    for match in compiled.finditer(text):
        out.append(text[last : match.start()])
        last = match.end()
    out.append(text[last:])
    return out


# -- numbers and sequences


def sum_fn(seq: list) -> object:
    """fn:sum: the first value itself, then additions (sum of one -0.0 is -0.0, as in Saxon); () is 0."""
    total: object = None
    for item in seq:
        value = atomize1(item)
        if type(value) is U:
            value = to_double(value)
        elif type(value) is bool or not isinstance(value, (int, Decimal, float)):
            raise XPathError(f"FORG0006: sum of {type_name(value)}")
        total = value if total is None else arith("+", total, value)
    return 0 if total is None else total


def abs_fn(value: object) -> object:
    value = onum(value)
    if value is None:
        return None
    if type(value) is Decimal:
        return CTX.abs(value)  # type: ignore[arg-type]
    return abs(value)  # type: ignore[arg-type]


def distinct_values(seq: list) -> list:
    out, seen = [], set()
    for item in atomize(seq):
        if type(item) is U:
            item = str(item)
        if type(item) is float and item != item:
            key: object = ("nan",)
        elif isinstance(item, (int, Decimal, float)) and type(item) is not bool:
            key = ("num", Decimal(item) if not (type(item) is float and item in (math.inf, -math.inf)) else item)
        elif type(item) is XDate:
            raise NativeUnsupported("distinct-values of xs:date")
        else:
            key = (type(item).__name__, item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def name_fn(seq: list, local: bool) -> str:
    if not seq:
        return ""
    if len(seq) > 1:
        raise XPathError("XPTY0004: name() of more than one node")
    node = seq[0]
    if type(node) is Attr:
        qname = etree.QName(node.name)  # type: ignore[union-attr]
        if local or qname.namespace is None:
            return qname.localname
        prefix = next((p for p, uri in node.parent.nsmap.items() if uri == qname.namespace and p), None)  # type: ignore[union-attr]
        if prefix is None:
            raise NativeUnsupported("name() of an attribute without a prefix in scope")
        return f"{prefix}:{qname.localname}"
    if type(node) is Doc:
        return ""
    if not isinstance(node, Element):
        raise XPathError("XPTY0004: name() of an atomic value")
    qname = etree.QName(node)
    if local or not node.prefix:
        return qname.localname
    return f"{node.prefix}:{qname.localname}"


# -- constructor functions (casts)


def cast(kind: str, value: object) -> object:
    if value is None:
        return None
    if kind == "decimal":
        return to_decimal(value)
    if kind == "double":
        return to_double(value)
    if kind == "integer":
        return to_integer(value)
    if kind == "string":
        return to_string(value)
    if kind == "date":
        return to_date(value)
    if kind == "boolean":
        if type(value) in (U, str):
            text = value.strip(WS)  # type: ignore[union-attr]
            if text in ("true", "1"):
                return True
            if text in ("false", "0"):
                return False
            raise XPathError(f"FORG0001: cannot convert {value!r} to xs:boolean")
        return ebv1(value)
    raise NativeUnsupported(f"cast to xs:{kind}")


def castable(kind: str, value: object, optional: bool) -> bool:
    if value is None:
        return optional
    try:
        cast(kind, value)
    except XPathError:
        return False
    return True


def to_range(a: object, b: object) -> list:
    if a is None or b is None:
        return []
    return list(range(to_integer_strict(a), to_integer_strict(b) + 1))


def to_integer_strict(value: object) -> int:
    if type(value) is U:
        return to_integer(value)
    if type(value) is not int:
        raise XPathError(f"XPTY0004: {type_name(value)} in a range")
    return value  # type: ignore[return-value]
