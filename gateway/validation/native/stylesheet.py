"""Read a compiled schematron stylesheet (the ISO skeleton's XSLT 2.0 output) into patterns, rules, lets and checks.

Only the layout the ISO skeleton writes is read: one `match="/"` template listing the patterns in order, each
pattern a mode whose rule templates carry a descending priority (first match wins), `xsl:variable` lets,
`xsl:choose` asserts and `xsl:if` reports, and a walk of `*` or `@*|*` in that mode; plus `xsl:function` and
global `xsl:variable` / `xsl:param`.  Anything else raises `Unsupported`, naming the construct: the artefact is
then run by Saxon, never half-read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from gateway.validation.native.xpath import Parser, Unsupported, parse, parse_pattern

XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"
SKELETON_MODES = {
    "schematron-select-full-path",
    "schematron-get-full-path",
    "schematron-get-full-path-2",
    "schematron-get-full-path-3",
    "generate-id-from-path",
    "generate-id-2",
}
SKELETON_PARAMS = {"archiveDirParameter", "archiveNameParameter", "fileNameParameter", "fileDirParameter"}
IGNORED_CHECK_ATTRIBUTES = {"test", "role", "see", "icon", "fpi", "subject"}


@dataclass
class Check:
    """An assert (fails when its test is false) or a report (fires when true)."""

    kind: str
    test: tuple
    rule_id: str | None
    flag: str | None
    message: list  # str literals and XPath ASTs (xsl:value-of)
    source: str


@dataclass
class Rule:
    alternatives: list  # match pattern alternatives (path ASTs)
    body: list  # ("let", name, ast) and Check, in stylesheet order (a let is in scope for what follows it)
    context: str


@dataclass
class Pattern:
    mode: str
    name: str
    rules: list[Rule]
    walks_attributes: bool


@dataclass
class Function:
    name: str
    params: list[tuple[str, tuple | None]]
    body: list[tuple[str, tuple, tuple | None]]  # lets, in order
    result: tuple
    result_type: tuple | None


@dataclass
class Stylesheet:
    patterns: list[Pattern] = field(default_factory=list)
    functions: dict[str, Function] = field(default_factory=dict)
    globals: list[tuple[str, tuple, tuple | None]] = field(default_factory=list)


def _ns(element: etree._Element) -> dict:
    return {k: v for k, v in element.nsmap.items() if k}


def _clark(name: str, element: etree._Element) -> str:
    if ":" in name:
        prefix, local = name.split(":", 1)
        uri = element.nsmap.get(prefix)
        if uri is None:
            raise Unsupported(f"unknown prefix in the name {name!r}")
        return f"{{{uri}}}{local}"
    return name


def _xpath(element: etree._Element, attribute: str) -> tuple:
    text = element.get(attribute)
    if text is None:
        raise Unsupported(f"xsl:{etree.QName(element).localname} without @{attribute} (line {element.sourceline})")
    return parse(text, _ns(element))


def _type(element: etree._Element) -> tuple | None:
    text = element.get("as")
    if text is None:
        return None
    parser = Parser(text, _ns(element))
    result = parser.sequence_type()
    if parser.peek()[0] != "end":
        raise Unsupported(f"sequence type {text!r}")
    return result


def _xsl(element: etree._Element) -> str | None:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(f"{{{XSL}}}"):
        return tag[len(XSL) + 2 :]
    return None


def _children(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)]


def _refuse(element: etree._Element, what: str = "") -> Unsupported:
    name = etree.QName(element).localname if isinstance(element.tag, str) else "node"
    return Unsupported(f"{what or 'construct'} <{name}> at line {element.sourceline}")


def _variable(element: etree._Element) -> tuple[str, tuple, tuple | None]:
    if len(element) or (element.text or "").strip():
        raise _refuse(element, "variable with content (not @select)")
    return _clark(element.get("name") or "", element), _xpath(element, "select"), _type(element)


def read(path: Path) -> Stylesheet:
    """The stylesheet's patterns, functions and globals; raises `Unsupported` for any other construct."""
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    if _xsl(root) not in ("stylesheet", "transform"):
        raise Unsupported("not an XSLT stylesheet")
    if root.get("version") != "2.0":
        raise Unsupported(f"XSLT version {root.get('version')}")
    if root.get("xpath-default-namespace") is not None:
        raise Unsupported("xpath-default-namespace")
    sheet = Stylesheet()
    modes: dict[str, list[etree._Element]] = {}
    order: list[tuple[str, str]] = []
    for element in _children(root):
        kind = _xsl(element)
        if kind is None:
            continue  # top-level data elements (svrl:text titles) are ignored by XSLT
        if kind == "output":
            continue
        if kind == "param" and element.get("name") in SKELETON_PARAMS:
            continue
        if kind == "variable" and element.get("name") == "document-uri":
            continue
        if kind in ("variable", "param"):
            sheet.globals.append(_variable(element))
        elif kind == "function":
            function = _function(element)
            sheet.functions[function.name] = function
        elif kind == "template":
            mode = element.get("mode")
            if mode in SKELETON_MODES:
                _check_skeleton_template(element, mode)
            elif mode is None and element.get("match") == "text()":
                continue
            elif mode is None and element.get("match") == "/":
                order = _pattern_order(element)
            elif mode is not None and element.get("match"):
                modes.setdefault(mode, []).append(element)
            else:
                raise _refuse(element, f"template (match={element.get('match')!r}, name={element.get('name')!r})")
        else:
            raise _refuse(element, f"top-level xsl:{kind}")
    if not order:
        raise Unsupported("no schematron root template (match='/')")
    for mode, name in order:
        sheet.patterns.append(_pattern(mode, name, modes.get(mode, [])))
    return sheet


def _check_skeleton_template(element: etree._Element, mode: str) -> None:
    """The location paths are computed natively: make sure the stylesheet's own path templates are the skeleton's."""
    if mode == "schematron-get-full-path" and element.get("match") == "*":
        text = etree.tostring(element, encoding="unicode")
        for marker in ("*:", "[namespace-uri()='", "preceding-sibling::*[local-name()=local-name(current())"):
            if marker not in text:
                raise _refuse(element, "non-standard schematron-get-full-path template")


def _pattern_order(template: etree._Element) -> list[tuple[str, str]]:
    order = []
    name = ""
    for element in _children(template):
        if element.tag != f"{{{SVRL}}}schematron-output":
            raise _refuse(element, "root template content")
        for child in _children(element):
            kind = _xsl(child)
            if child.tag == f"{{{SVRL}}}active-pattern":
                name = next((a.text or "" for a in _children(child) if _xsl(a) == "attribute" and a.get("name") == "id"), "")
            elif kind == "apply-templates" and child.get("select") == "/" and child.get("mode"):
                order.append((child.get("mode") or "", name))
            elif kind == "comment" or child.tag == f"{{{SVRL}}}ns-prefix-in-attribute-values" or child.tag == f"{{{SVRL}}}text":
                continue
            else:
                raise _refuse(child, "root template content")
    return order


def _walk_of(element: etree._Element, mode: str) -> str:
    kind = _xsl(element)
    if kind != "apply-templates" or element.get("mode") != mode or len(element):
        raise _refuse(element, f"rule template end in mode {mode}")
    select = " ".join((element.get("select") or "").split())
    if select not in ("*", "@*|*", "@*|node()", "node()|@*", "*|@*"):
        raise _refuse(element, f"walk select={select!r}")
    return "*" if select == "*" else "@*|*"


def _pattern(mode: str, name: str, templates: list[etree._Element]) -> Pattern:
    rules: list[tuple[float, Rule]] = []
    walks: set[str] = set()
    for template in templates:
        match = template.get("match")
        priority = template.get("priority")
        body = _children(template)
        if match == "text()" and priority == "-1" and not body:
            continue
        if match in ("@*|node()", "node()|@*") and priority == "-2":
            if len(body) != 1:
                raise _refuse(template, "default template")
            walks.add(_walk_of(body[0], mode))
            continue
        if priority is None:
            raise _refuse(template, "rule template without priority")
        rule = _rule(template, match or "", mode, walks)
        rules.append((float(priority), rule))
    if len(walks) > 1:
        raise Unsupported(f"pattern {name}: mixed walks {sorted(walks)}")
    if not walks:
        raise Unsupported(f"pattern {name}: no default template in mode {mode}")
    priorities = [p for p, _ in rules]
    if len(set(priorities)) != len(priorities):
        raise Unsupported(f"pattern {name}: equal rule priorities")
    ordered = [rule for _, rule in sorted(rules, key=lambda item: -item[0])]
    return Pattern(mode, name, ordered, walks.pop() == "@*|*")


def _rule(template: etree._Element, match: str, mode: str, walks: set[str]) -> Rule:
    body = _children(template)
    if (template.text or "").strip():
        raise _refuse(template, "text in a rule template")
    items: list = []
    for element in body[:-1]:
        kind = _xsl(element)
        if element.tag == f"{{{SVRL}}}fired-rule":
            continue
        if kind == "variable":
            name, expression, declared = _variable(element)
            if declared is not None:
                raise _refuse(element, "typed rule variable")
            items.append(("let", name, expression))
        elif kind == "choose":
            items.append(_assert(element))
        elif kind == "if":
            items.append(_report(element))
        else:
            raise _refuse(element, "rule content")
        if (element.tail or "").strip():
            raise _refuse(element, "text in a rule template")
    if not body:
        raise _refuse(template, "empty rule template")
    walks.add(_walk_of(body[-1], mode))
    return Rule(parse_pattern(match, _ns(template)), items, match)


def _assert(choose: etree._Element) -> Check:
    parts = _children(choose)
    if len(parts) != 2 or _xsl(parts[0]) != "when" or _xsl(parts[1]) != "otherwise" or _children(parts[0]):
        raise _refuse(choose, "assert layout")
    inner = _children(parts[1])
    if len(inner) != 1 or inner[0].tag != f"{{{SVRL}}}failed-assert":
        raise _refuse(choose, "assert layout")
    return _check("assert", _xpath(parts[0], "test"), inner[0], parts[0].get("test") or "")


def _report(element: etree._Element) -> Check:
    inner = _children(element)
    if len(inner) != 1 or inner[0].tag != f"{{{SVRL}}}successful-report":
        raise _refuse(element, "report layout")
    return _check("report", _xpath(element, "test"), inner[0], element.get("test") or "")


def _check(kind: str, test: tuple, element: etree._Element, source: str) -> Check:
    values: dict[str, str | None] = {"id": None, "flag": None}
    for attribute, value in element.attrib.items():
        if attribute in values:
            if "{" in value:
                raise _refuse(element, f"attribute value template in @{attribute}")
            values[attribute] = value
        elif attribute not in IGNORED_CHECK_ATTRIBUTES:
            raise _refuse(element, f"@{attribute} on the check")
    message: list = []
    seen_text = False
    for child in _children(element):
        kind_ = _xsl(child)
        if kind_ == "attribute":
            name = child.get("name")
            if name == "location":
                walk = _children(child)
                if (
                    len(walk) != 1
                    or _xsl(walk[0]) != "apply-templates"
                    or walk[0].get("mode") != "schematron-select-full-path"
                    or walk[0].get("select") != "."
                ):
                    raise _refuse(child, "location other than schematron-select-full-path of the context")
            elif name in values:
                if _children(child):
                    raise _refuse(child, f"computed @{name}")
                values[name] = child.text or ""
            elif name not in IGNORED_CHECK_ATTRIBUTES:
                raise _refuse(child, f"xsl:attribute {name}")
        elif child.tag == f"{{{SVRL}}}text":
            if seen_text:
                raise _refuse(child, "second svrl:text")
            seen_text = True
            message = _message(child)
        elif child.tag in (f"{{{SVRL}}}diagnostic-reference", f"{{{SVRL}}}property-reference"):
            continue  # not part of the report shape (parse_svrl reads the check's own svrl:text)
        else:
            raise _refuse(child, "check content")
    return Check(kind, test, values["id"], values["flag"], message, source)


def _message(element: etree._Element) -> list:
    """Literal text and xsl:value-of parts; whitespace-only text nodes are stripped, as XSLT does."""
    parts: list = []

    def text(value: str | None) -> None:
        if value and value.strip():
            parts.append(value)

    text(element.text)
    for child in element:
        if not isinstance(child.tag, str):  # comments in the stylesheet
            text(child.tail)
            continue
        kind = _xsl(child)
        if kind == "value-of":
            if len(child) or child.get("separator") is not None:
                raise _refuse(child, "value-of with content or separator")
            parts.append(_xpath(child, "select"))
        elif kind == "text":
            if len(child):
                raise _refuse(child, "xsl:text with content")
            if child.text:
                parts.append(child.text)
        elif child.tag == f"{{{SVRL}}}text" or kind is None:
            raise _refuse(child, "markup in a message")
        else:
            raise _refuse(child, "message content")
        text(child.tail)
    return parts


def _function(element: etree._Element) -> Function:
    name = _clark(element.get("name") or "", element)
    params: list[tuple[str, tuple | None]] = []
    lets: list[tuple[str, tuple, tuple | None]] = []
    result = None
    for child in _children(element):
        kind = _xsl(child)
        if kind == "param":
            if result is not None or lets or child.get("select") is not None or len(child):
                raise _refuse(child, "function param")
            params.append((_clark(child.get("name") or "", child), _type(child)))
        elif kind == "variable":
            lets.append(_variable(child))
        elif kind == "sequence" and result is None:
            result = _xpath(child, "select")
        else:
            raise _refuse(child, f"function {name} content")
    if result is None:
        raise _refuse(element, f"function {name} without xsl:sequence")
    if element.get("override") is not None or element.get("override-extension-function") is not None:
        raise _refuse(element, "function override attribute")
    return Function(name, params, lets, result, _type(element))
