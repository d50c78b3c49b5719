"""The XPath function library as code generation: each built-in call becomes a Python expression of a known kind."""

from __future__ import annotations

from gateway.validation.native.xpath import Unsupported

# name → (arities, argument conversions, template, result kind).  Conversions: "seq" list, "ostr" xs:string?,
# "oatom" xs:anyAtomicType?, "dbl" xs:double, "ebv" boolean, "onum" numeric?.
SIMPLE: dict[str, tuple[tuple[int, ...], tuple[str, ...], str, str]] = {
    "not": ((1,), ("ebv",), "(not {0})", "bool"),
    "boolean": ((1,), ("ebv",), "{0}", "bool"),
    "exists": ((1,), ("seq",), "(len({0}) > 0)", "bool"),
    "empty": ((1,), ("seq",), "(len({0}) == 0)", "bool"),
    "count": ((1,), ("seq",), "len({0})", "int"),
    "normalize-space": ((1,), ("ostr",), "normalize_space({0})", "str"),
    "string-length": ((1,), ("ostr",), "len({0} or '')", "int"),
    "upper-case": ((1,), ("ostr",), "({0} or '').upper()", "str"),
    "lower-case": ((1,), ("ostr",), "({0} or '').lower()", "str"),
    "contains": ((2,), ("ostr", "ostr"), "(({1} or '') in ({0} or ''))", "bool"),
    "starts-with": ((2,), ("ostr", "ostr"), "({0} or '').startswith({1} or '')", "bool"),
    "ends-with": ((2,), ("ostr", "ostr"), "({0} or '').endswith({1} or '')", "bool"),
    "substring-after": ((2,), ("ostr", "ostr"), "substring_after({0}, {1})", "str"),
    "substring-before": ((2,), ("ostr", "ostr"), "substring_before({0}, {1})", "str"),
    "substring": ((2, 3), ("ostr", "dbl", "dbl"), "substring({args})", "str"),
    "translate": ((3,), ("ostr", "ostr", "ostr"), "translate({0}, {1}, {2})", "str"),
    "string": ((1,), ("seq",), "string_fn({0})", "str"),
    "number": ((1,), ("seq",), "number_fn({0})", "atom"),
    "sum": ((1,), ("seq",), "sum_fn({0})", "atom"),
    "round": ((1,), ("onum",), "round_half_up({0})", "opt"),
    "abs": ((1,), ("onum",), "abs_fn({0})", "opt"),
    "distinct-values": ((1,), ("seq",), "distinct_values({0})", "seq"),
    "name": ((1,), ("seq",), "name_fn({0}, False)", "str"),
    "local-name": ((1,), ("seq",), "name_fn({0}, True)", "str"),
    "matches": ((2, 3), ("ostr", "ostr", "ostr"), "matches({args})", "bool"),
    "replace": ((3, 4), ("ostr", "ostr", "ostr", "ostr"), "replace({args})", "str"),
    "tokenize": ((2,), ("ostr", "ostr"), "tokenize({0}, {1})", "seq"),
    "string-join": ((2,), ("seq", "ostr"), "string_join({0}, {1})", "str"),
    "true": ((0,), (), "True", "bool"),
    "false": ((0,), (), "False", "bool"),
    "data": ((1,), ("seq",), "atomize({0})", "seq"),
}
CONTEXT_DEFAULT = {"normalize-space", "string-length", "string", "name", "local-name", "number"}


def _convert(gen, conversion: str, code: str, kind: str) -> str:
    if conversion == "seq":
        return gen.seq(code, kind)
    if conversion == "ostr":
        return gen.ostr(code, kind)
    if conversion == "oatom":
        return gen.oatom(code, kind)
    if conversion == "ebv":
        return gen.ebv(code, kind)
    if conversion == "dbl":
        return f"dbl1({gen.seq(code, kind)})"
    if conversion == "onum":
        return f"onum({gen.oatom(code, kind)})"
    raise ValueError(conversion)


def call(gen, name: str, args: list, env) -> tuple[str, str]:
    """Python for a call of the built-in function `name` (raises `Unsupported` for others)."""
    if name in CONTEXT_DEFAULT and not args:
        if env.ctx is None:
            raise Unsupported(f"{name}() without a context item")
        args = [("ctx",)]
    if name == "concat":
        if len(args) < 2:
            raise Unsupported("concat with fewer than two arguments")
        return "concat(" + ", ".join(gen.oatom(*gen.gen(a, env)) for a in args) + ")", "str"
    if name == "position":
        if env.pos is None:
            raise Unsupported("position() outside a predicate")
        gen.focus_used = True
        return env.pos, "int"
    if name == "last":
        if env.size is None:
            raise Unsupported("last() outside a predicate")
        gen.focus_used = True
        return env.size, "int"
    if name == "current":
        if env.current is None:
            raise Unsupported("current() in a function")
        return env.current, "item"
    if name == "document":
        if len(args) != 1 or args[0][0] != "lit" or type(args[0][1]) is not str:
            raise Unsupported("document() of anything but a literal file name")
        return f"load_document(R, {args[0][1]!r})", "nodes"
    spec = SIMPLE.get(name)
    if spec is None:
        raise Unsupported(f"function {name}()")
    arities, conversions, template, result = spec
    if len(args) not in arities:
        raise Unsupported(f"{name}() with {len(args)} arguments")
    converted = [_convert(gen, conversions[i], *gen.gen(arg, env)) for i, arg in enumerate(args)]
    return template.format(*converted, args=", ".join(converted)), result
