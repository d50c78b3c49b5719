"""A read stylesheet → the source of one Python module: its rules, functions, globals and dispatch table.

The module defines:
- `RULES`: per rule, (pattern number, rule function, match alternatives); an alternative is
  (anchored, steps right to left as (axis, node test, predicate functions, separator to the left)).
- `PATTERNS`: (name, walks attributes) per pattern, in the stylesheet's order.
- rule functions `r_N(c, R)` returning the failed checks as (id, flag, message) triples.
"""

from __future__ import annotations

import re
from decimal import Decimal

from lxml import etree

from gateway.validation.native.codegen import Env, Generator
from gateway.validation.native.stylesheet import Check, Stylesheet
from gateway.validation.native.xpath import Unsupported


def _literal(value: object) -> str:
    if value is etree.Element:
        return "ANY"
    if type(value) is Decimal:
        return f"Decimal({str(value)!r})"
    if isinstance(value, tuple):
        return "(" + "".join(_literal(v) + ", " for v in value) + ")"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value)
    raise Unsupported(f"constant {value!r}")


def _conversion(gen: Generator, code: str, kind: str, declared: tuple | None, what: str) -> tuple[str, str]:
    if declared is None:
        return code, kind
    item, occurrence = declared
    converted = f"conform({gen.seq(code, kind)}, {_literal(item)}, {occurrence!r}, {what!r})"
    if item == ("atomic", "{http://www.w3.org/2001/XMLSchema}boolean") and occurrence == "":
        return f"bool_result({converted})", "bool"
    return converted, "seq"


def generate(sheet: Stylesheet, base: str) -> str:
    """Python source for the stylesheet (raises `Unsupported` when any expression cannot be translated)."""
    boolean = (("atomic", "{http://www.w3.org/2001/XMLSchema}boolean"), "")
    functions = {name: (f"f_{i}", f.params, "bool" if f.result_type == boolean else "seq") for i, (name, f) in enumerate(sheet.functions.items())}
    globals_ = {name: (i, "seq") for i, (name, _, _) in enumerate(sheet.globals)}
    gen = Generator(functions, globals_)
    out: list[str] = []

    # globals, evaluated once per document on first use, the document node as context
    lines = []
    for i, (name, expression, declared) in enumerate(sheet.globals):
        env = Env({}, "R.doc", "R.doc")
        code, kind = gen.gen(expression, env)
        code, kind = _conversion(gen, code, kind, declared, f"${name}")
        lines.append(f"def g_{i}(R):\n    return {gen.seq(code, kind)}\n")
    out.extend(lines)
    out.append("GLOBALS = [" + ", ".join(f"g_{i}" for i in range(len(sheet.globals))) + "]\n")
    out.append(
        "def gv(R, i):\n"
        "    key = (ART, i)\n"
        "    value = R.globals.get(key)\n"
        "    if value is None:\n"
        "        value = R.globals[key] = GLOBALS[i](R)\n"
        "    return value\n"
    )

    for name, function in sheet.functions.items():
        py = functions[name][0]
        params = [f"a{i}" for i in range(len(function.params))]
        body = []
        env = Env({}, None, None)
        for i, (pname, declared) in enumerate(function.params):
            code, kind = _conversion(gen, f"a{i}", "seq", declared, f"parameter ${pname} of {name}")
            body.append(f"    a{i} = {code}")
            env = env.bind(pname, f"a{i}", "seq")
        for j, (vname, expression, declared) in enumerate(function.body):
            code, kind = gen.gen(expression, env)
            code, kind = _conversion(gen, code, kind, declared, f"${vname}")
            body.append(f"    w{j} = {code}")
            env = env.bind(vname, f"w{j}", kind)
        code, kind = gen.gen(function.result, env)
        code, kind = _conversion(gen, code, kind, function.result_type, f"result of {name}")
        expected = functions[name][2]
        body.append(f"    return {code if expected == kind else gen.seq(code, kind)}")
        out.append(f"def {py}(R, {', '.join(params)}):\n" + "\n".join(body) + "\n")

    rules = []
    predicates: list[str] = []
    for pattern_no, pattern in enumerate(sheet.patterns):
        for rule in pattern.rules:
            rule_no = len(rules)
            body = ["    out = []"]
            env = Env({}, "c", "c")
            for item in rule.body:
                if isinstance(item, tuple):
                    _, name, expression = item
                    code, kind = gen.gen(expression, env)
                    py = gen.fresh("v")
                    if _cheap(code):
                        body.append(f"    {py} = {code}")
                        env = env.bind(name, py, kind)
                    else:  # computed on first use, as Saxon does (an unused let costs nothing and raises nothing)
                        body.append(f"    {py} = Lazy(lambda: {code})")
                        env = env.bind(name, f"{py}()", kind)
                else:
                    body.extend(_check(gen, item, env))
            body.append("    return out")
            out.append(f"def r_{rule_no}(c, R):\n" + "\n".join(body) + "\n")
            alternatives = [a for alt in rule.alternatives for a in _alternatives(gen, alt, predicates)]
            rules.append(f"({pattern_no}, r_{rule_no}, [{', '.join(alternatives)}])")
    out.append("P = [\n" + "".join(f"    {p},\n" for p in predicates) + "]\n")
    out.append("RULES = [\n" + "".join(f"    {r},\n" for r in rules) + "]\n")
    out.append("PATTERNS = " + repr([(p.name, p.walks_attributes) for p in sheet.patterns]) + "\n")
    header = [
        "from gateway.validation.native.prelude import *  # noqa: F403",
        f"BASE = {base!r}",
        "ART = object()",
        "K = [" + ", ".join(_literal(c) for c in gen.constants) + "]",
    ]
    return "\n".join(header) + "\n" + "\n".join(out)


def _cheap(code: str) -> bool:
    """A let that is a child or attribute path from the context: computing it is cheaper than deferring it."""
    return all(token in ("child", "child1", "attr", "attr1") for token in re.findall(r"([a-z_0-9]+)\(", code))


def _check(gen: Generator, check: Check, env: Env) -> list[str]:
    code, kind = gen.gen(check.test, env)
    test = gen.ebv(code, kind)
    parts = []
    for part in check.message:
        if isinstance(part, str):
            parts.append(repr(part))
        else:
            pcode, pkind = gen.gen(part, env)
            parts.append(f"value_of({gen.seq(pcode, pkind)})")
    message = " + ".join(parts) if parts else "''"
    condition = f"not {test}" if check.kind == "assert" else test
    return [f"    if {condition}:", f"        out.append(({check.rule_id!r}, {check.flag!r}, {message}))"]


def _linear(node: tuple) -> list[tuple[bool, list]]:
    """A match pattern as alternatives of (anchored, [(separator, step)…]): unions inside paths distributed."""
    kind = node[0]
    if kind == "step":
        return [(False, [(None, node)])]
    if kind == "root":
        return [(True, [])]
    if kind == "op" and node[1] == "|":
        return _linear(node[2]) + _linear(node[3])
    if kind == "filter":
        out = []
        for anchored, steps in _linear(node[1]):
            if not steps:
                raise Unsupported("predicate on '/' in a match pattern")
            sep, (_, axis, test, predicates) = steps[-1]
            out.append((anchored, [*steps[:-1], (sep, ("step", axis, test, predicates + node[2]))]))
        return out
    if kind == "path":
        alternatives = _linear(node[1])
        for separator, step in node[2]:
            joined = []
            for anchored, steps in alternatives:
                for sub_anchored, sub in _linear(step):
                    if sub_anchored or not sub:
                        raise Unsupported("absolute step inside a match pattern")
                    joined.append((anchored, [*steps, (separator, sub[0][1]), *sub[1:]]))
            alternatives = joined
        return alternatives
    raise Unsupported(f"match pattern {kind}")


def _alternatives(gen: Generator, node: tuple, predicates: list[str]) -> list[str]:
    """Each alternative as (anchored, steps right to left): child and attribute steps with `/` and `//` only."""
    out = []
    for anchored, steps in _linear(node):
        if not steps:
            raise Unsupported("a rule on the document node")  # its SVRL location is not the skeleton's element path
        encoded = []
        for sep, step in reversed(steps):
            if step[1] not in ("child", "attribute"):
                raise Unsupported(f"match pattern axis {step[1]}")
            test = step[2]
            if test[0] == "kind" and test[1] not in ("element", "attribute"):
                raise Unsupported(f"match pattern test {test[1]}()")
            fns = []
            for predicate in step[3]:
                if not gen.is_filter(predicate, Env({}, "c", "c")):
                    raise Unsupported("positional predicate in a match pattern")
                code, kind = gen.gen(predicate, Env({}, "c", "c"))
                predicates.append(f"lambda c, R: {gen.ebv(code, kind)}")
                fns.append(f"P[{len(predicates) - 1}]")
            encoded.append(f"({step[1]!r}, {_literal(test)}, [{', '.join(fns)}], {sep!r})")
        out.append(f"({anchored!r}, [{', '.join(encoded)}])")
    return out
