"""An XPath 2.0 parser for the expressions of the official schematron stylesheets: text → a small tuple AST.

Why our own: the native engine translates every rule into Python, so it needs the syntax tree with the
namespace prefixes resolved, and it must refuse (raise `Unsupported`) anything it does not translate exactly.
The AST nodes are tuples whose first member names the node:

    ("lit", value)             integer → int, decimal → Decimal, double → float, string → str
    ("empty",)  ("seq", [e…])  ("var", name)  ("ctx",)  ("root",)
    ("call", name, [args])     name is "{uri}local" for prefixed functions, "local" for the fn: namespace
    ("filter", primary, [predicates])
    ("step", axis, test, [predicates])      test: ("name", clark) ("any",) ("ns", uri) ("local", name) ("kind", kind)
    ("path", first, [(separator, step)…])   separator "/" or "//"
    ("op", operator, left, right)  ("neg", e)  ("if", c, t, e)
    ("for" | "some" | "every", [(var, e)…], body)
    ("cast" | "castable", e, type_clark, optional)  ("instance" | "treat", e, (kind_or_type, occurrence))
"""

from __future__ import annotations

import re
from decimal import Decimal

FN = "http://www.w3.org/2005/xpath-functions"
XS = "http://www.w3.org/2001/XMLSchema"


class Unsupported(Exception):
    """A construct the native compiler does not translate: the whole stylesheet is refused (it then runs in Saxon)."""


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"]|"")*"|'(?:[^']|'')*')
  | (?P<comment>\(:)
  | (?P<name>(?:[A-Za-z_][\w.\-]*:)?(?:[A-Za-z_][\w.\-]*|\*)|\*:[A-Za-z_][\w.\-]*)
  | (?P<sym>!=|<=|>=|<<|>>|//|::|\.\.|[=<>()\[\],/@$.|+\-*?])
    )""",
    re.X,
)

AXES = {
    "child",
    "descendant",
    "attribute",
    "self",
    "descendant-or-self",
    "following-sibling",
    "following",
    "parent",
    "ancestor",
    "preceding-sibling",
    "preceding",
    "ancestor-or-self",
}
REVERSE_AXES = {"parent", "ancestor", "preceding-sibling", "preceding", "ancestor-or-self"}
KIND_TESTS = {"node", "text", "element", "attribute", "comment", "processing-instruction", "document-node", "item", "empty-sequence"}
OPERATOR_WORDS = {"and", "or", "div", "idiv", "mod", "eq", "ne", "lt", "le", "gt", "ge", "is", "to", "union", "intersect", "except"}
COMPARISONS = {"=", "!=", "<", "<=", ">", ">=", "eq", "ne", "lt", "le", "gt", "ge", "is", "<<", ">>"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        if text.startswith("(:", pos):  # comments, possibly nested
            depth, pos = 1, pos + 2
            while depth and pos < len(text):
                if text.startswith("(:", pos):
                    depth, pos = depth + 1, pos + 2
                elif text.startswith(":)", pos):
                    depth, pos = depth - 1, pos + 2
                else:
                    pos += 1
            continue
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Unsupported(f"XPath: cannot read {text[pos : pos + 20]!r} in {text!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        # A name right after an operand is an operator word; `*` after an operand is multiplication.
        prev = out[-1] if out else None
        operand_before = prev is not None and (prev[0] in ("num", "str", "name", "var") or prev[1] in (")", "]", ".", ".."))
        if kind == "name" and operand_before and value in OPERATOR_WORDS:
            kind = "word"
        elif kind == "name" and value == "*" and operand_before:
            kind, value = "sym", "*op"
        if kind == "name" and prev is not None and prev == ("sym", "$"):
            out[-1] = ("var", value)
            pos = match.end()
            continue
        out.append((kind, value))
        pos = match.end()
    return out


class Parser:
    """Recursive descent over the tokens; `namespaces` resolves the prefixes (the stylesheet's in-scope namespaces)."""

    def __init__(self, text: str, namespaces: dict[str | None, str]) -> None:
        self.text = text
        self.namespaces = namespaces
        self.tokens = _tokens(text)
        self.i = 0

    # -- helpers
    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.i += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise Unsupported(f"XPath: expected {value!r}, found {token[1]!r} in {self.text!r}")

    def at(self, value: str) -> bool:
        return self.peek()[1] == value and self.peek()[0] in ("sym", "word", "name")

    def qname(self, name: str, *, function: bool = False) -> str:
        if ":" in name:
            prefix, local = name.split(":", 1)
            if prefix == "*":
                raise Unsupported(f"XPath: wildcard {name} here in {self.text!r}")
            uri = self.namespaces.get(prefix)
            if uri is None:
                raise Unsupported(f"XPath: unknown prefix {prefix!r} in {self.text!r}")
            if function and uri == FN:
                return local
            return f"{{{uri}}}{local}"
        return name

    # -- grammar
    def parse(self):
        expr = self.expr()
        if self.peek()[0] != "end":
            raise Unsupported(f"XPath: unexpected {self.peek()[1]!r} in {self.text!r}")
        return expr

    def expr(self):
        items = [self.single()]
        while self.at(","):
            self.take()
            items.append(self.single())
        return items[0] if len(items) == 1 else ("seq", items)

    def single(self):
        kind, value = self.peek()
        if kind == "name" and value in ("for", "some", "every") and self.peek(1)[1] == "$":
            return self.binding(value)
        if kind == "name" and value in ("for", "some", "every") and self.peek(1)[0] == "var":
            return self.binding(value)
        if kind == "name" and value == "if" and self.peek(1)[1] == "(":
            self.take()
            self.expect("(")
            cond = self.expr()
            self.expect(")")
            if self.take()[1] != "then":
                raise Unsupported(f"XPath: if without then in {self.text!r}")
            then = self.single()
            if self.take()[1] != "else":
                raise Unsupported(f"XPath: if without else in {self.text!r}")
            return ("if", cond, then, self.single())
        return self.or_expr()

    def binding(self, word: str):
        self.take()
        bindings = []
        while True:
            kind, name = self.take()
            if kind != "var":
                raise Unsupported(f"XPath: {word} without a variable in {self.text!r}")
            if self.take()[1] != "in":
                raise Unsupported(f"XPath: {word} without in in {self.text!r}")
            bindings.append((self.qname(name), self.single()))
            if not self.at(","):
                break
            self.take()
        closing = self.take()[1]
        if closing != ("return" if word == "for" else "satisfies"):
            raise Unsupported(f"XPath: malformed {word} in {self.text!r}")
        return (word, bindings, self.single())

    def _left(self, sub, words):
        left = sub()
        while self.peek()[1] in words and self.peek()[0] in ("word", "sym"):
            op = self.take()[1]
            left = ("op", "|" if op == "union" else op, left, sub())
        return left

    def or_expr(self):
        return self._left(self.and_expr, {"or"})

    def and_expr(self):
        return self._left(self.comparison, {"and"})

    def comparison(self):
        left = self.range_expr()
        if self.peek()[1] in COMPARISONS and self.peek()[0] in ("word", "sym"):
            op = self.take()[1]
            return ("op", op, left, self.range_expr())
        return left

    def range_expr(self):
        left = self.additive()
        if self.peek() == ("word", "to"):
            self.take()
            return ("op", "to", left, self.additive())
        return left

    def additive(self):
        return self._left(self.multiplicative, {"+", "-"})

    def multiplicative(self):
        left = self.union()
        while self.peek() in (("sym", "*op"), ("word", "div"), ("word", "idiv"), ("word", "mod")):
            op = self.take()[1]
            left = ("op", "*" if op == "*op" else op, left, self.union())
        return left

    def union(self):
        return self._left(self.intersect, {"|", "union"})

    def intersect(self):
        return self._left(self.instance_of, {"intersect", "except"})

    def instance_of(self):
        left = self.treat()
        if self.peek()[1] == "instance" and self.peek(1)[1] == "of":
            self.take(), self.take()
            return ("instance", left, self.sequence_type())
        return left

    def treat(self):
        left = self.castable()
        if self.peek()[1] == "treat" and self.peek(1)[1] == "as":
            self.take(), self.take()
            return ("treat", left, self.sequence_type())
        return left

    def castable(self):
        left = self.cast()
        if self.peek()[1] == "castable" and self.peek(1)[1] == "as":
            self.take(), self.take()
            name, optional = self.single_type()
            return ("castable", left, name, optional)
        return left

    def cast(self):
        left = self.unary()
        if self.peek()[1] == "cast" and self.peek(1)[1] == "as":
            self.take(), self.take()
            name, optional = self.single_type()
            return ("cast", left, name, optional)
        return left

    def single_type(self):
        kind, name = self.take()
        if kind != "name":
            raise Unsupported(f"XPath: expected a type in {self.text!r}")
        optional = False
        if self.at("?"):
            self.take()
            optional = True
        return self.qname(name), optional

    def sequence_type(self):
        kind, name = self.take()
        if kind != "name":
            raise Unsupported(f"XPath: expected a sequence type in {self.text!r}")
        if name in KIND_TESTS and self.at("("):
            self.take()
            if not self.at(")"):
                raise Unsupported(f"XPath: {name}(…) with arguments in {self.text!r}")
            self.take()
            item = ("kind", name)
        else:
            item = ("atomic", self.qname(name))
        occurrence = ""
        if self.peek() in (("sym", "?"), ("sym", "*op"), ("sym", "+")):
            occurrence = self.take()[1].replace("*op", "*")
        return item, occurrence

    def unary(self):
        if self.peek() in (("sym", "-"), ("sym", "+")):
            sign = self.take()[1]
            operand = self.unary()
            return ("neg", operand) if sign == "-" else ("op", "+", ("lit", 0), operand)
        return self.path()

    def path(self):
        kind, value = self.peek()
        if kind == "sym" and value == "/":
            self.take()
            if self._starts_step():
                return self.relative(("root",))
            return ("root",)
        if kind == "sym" and value == "//":
            self.take()
            return self.relative(("root",), "//")
        return self.relative(None)

    def _starts_step(self) -> bool:
        kind, value = self.peek()
        return kind in ("name", "var", "num", "str") or value in ("@", ".", "..", "(", "*")

    def relative(self, first, separator: str | None = None):
        steps = []
        if first is None:
            first = self.step()
        else:
            steps.append((separator or "/", self.step()))
        while self.peek()[0] == "sym" and self.peek()[1] in ("/", "//"):
            sep = self.take()[1]
            steps.append((sep, self.step()))
        return ("path", first, steps) if steps else first

    def predicates(self) -> list:
        preds = []
        while self.at("["):
            self.take()
            preds.append(self.expr())
            self.expect("]")
        return preds

    def step(self):
        kind, value = self.peek()
        if kind == "sym" and value == "..":
            self.take()
            return ("step", "parent", ("kind", "node"), self.predicates())
        if kind == "sym" and value == "@":
            self.take()
            return ("step", "attribute", self.node_test("attribute"), self.predicates())
        if kind == "name" and self.peek(1)[1] == "::":
            if value not in AXES:
                raise Unsupported(f"XPath: axis {value} in {self.text!r}")
            self.take(), self.take()
            return ("step", value, self.node_test(value), self.predicates())
        if kind == "name" and self.peek(1)[1] == "(" and value not in KIND_TESTS:
            return self.filter(self.function_call())
        if kind == "name":
            return ("step", "child", self.node_test("child"), self.predicates())
        return self.filter(self.primary())

    def filter(self, primary):
        preds = self.predicates()
        return ("filter", primary, preds) if preds else primary

    def node_test(self, axis: str):
        kind, value = self.take()
        if kind != "name":
            raise Unsupported(f"XPath: expected a node test, found {value!r} in {self.text!r}")
        if value in KIND_TESTS and self.at("("):
            self.take()
            if not self.at(")"):
                raise Unsupported(f"XPath: {value}(…) with arguments in {self.text!r}")
            self.take()
            return ("kind", value)
        if value == "*":
            return ("any",)
        if value.startswith("*:"):
            return ("local", value[2:])
        if value.endswith(":*"):
            uri = self.namespaces.get(value[:-2])
            if uri is None:
                raise Unsupported(f"XPath: unknown prefix in {value} in {self.text!r}")
            return ("ns", uri)
        return ("name", self.qname(value))

    def function_call(self):
        _, name = self.take()
        self.expect("(")
        args = []
        if not self.at(")"):
            args.append(self.single())
            while self.at(","):
                self.take()
                args.append(self.single())
        self.expect(")")
        return ("call", self.qname(name, function=True), args)

    def primary(self):
        kind, value = self.take()
        if kind == "num":
            if "e" in value or "E" in value:
                return ("lit", float(value))
            if "." in value:
                return ("lit", Decimal(value))
            return ("lit", int(value))
        if kind == "str":
            quote = value[0]
            return ("lit", value[1:-1].replace(quote * 2, quote))
        if kind == "var":
            return ("var", self.qname(value))
        if kind == "sym" and value == ".":
            return ("ctx",)
        if kind == "sym" and value == "(":
            if self.at(")"):
                self.take()
                return ("empty",)
            inner = self.expr()
            self.expect(")")
            return inner
        raise Unsupported(f"XPath: unexpected {value!r} in {self.text!r}")


def parse(text: str, namespaces: dict[str | None, str]):
    """The AST of one XPath 2.0 expression (raises `Unsupported` for what is not read)."""
    return Parser(text, namespaces).parse()


def parse_pattern(text: str, namespaces: dict[str | None, str]) -> list:
    """An XSLT match pattern as its alternatives (each a path AST); only paths of child/attribute steps with `/`, `//`."""
    tree = parse(text, namespaces)
    alternatives = []

    def split(node):
        if node[0] == "op" and node[1] == "|":
            split(node[2])
            split(node[3])
        else:
            alternatives.append(node)

    split(tree)
    return alternatives
