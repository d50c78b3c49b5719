"""XPath AST → Python source, with static kinds so that the common cases need no sequence at all.

Every generated expression has a kind: "seq" (a list), "bool", "str" (one xs:string), "int" (one xs:integer),
"atom" (one atomic value of a type known at run time), "opt" (zero or one atomic value: None or the value),
"item" (one item: the context).  Conversions between kinds follow XPath 2.0 (effective boolean value,
atomization, function conversion rules); what has no exact translation raises `Unsupported`.
"""

from __future__ import annotations

from decimal import Decimal

from gateway.validation.native.xpath import REVERSE_AXES, XS, Unsupported

SCALAR = ("bool", "str", "int", "atom")
MIRROR = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
PY_OPS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
CASTS = {f"{{{XS}}}{name}": name for name in ("decimal", "double", "integer", "string", "date", "boolean")}


class Env:
    """What is in scope: variables (XPath name → Python name, kind), the context item, current()."""

    def __init__(self, variables: dict, ctx: str | None, current: str | None, pos: str | None = None, size: str | None = None) -> None:
        self.variables = variables
        self.ctx = ctx
        self.current = current
        self.pos = pos
        self.size = size

    def with_ctx(self, ctx: str, pos: str | None = None, size: str | None = None) -> Env:
        return Env(self.variables, ctx, self.current, pos, size)

    def bind(self, name: str, py: str, kind: str) -> Env:
        return Env({**self.variables, name: (py, kind)}, self.ctx, self.current, self.pos, self.size)


class Generator:
    """Holds the constants table and the names of the stylesheet's functions and globals."""

    def __init__(self, functions: dict, globals_: dict) -> None:
        self.constants: list = []
        self.functions = functions  # clark name → (python name, [param kinds], result kind)
        self.globals = globals_  # name → index
        self.counter = 0
        self.focus_used = False

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"_{stem}{self.counter}"

    def const(self, value: object) -> str:
        self.constants.append(value)
        return f"K[{len(self.constants) - 1}]"

    # -- kind conversions

    @staticmethod
    def seq(code: str, kind: str) -> str:
        if kind in ("seq", "nodes"):
            return code
        if kind == "opt":
            return f"os_({code})"
        return f"[{code}]"

    @staticmethod
    def ebv(code: str, kind: str) -> str:
        return {
            "bool": code,
            "seq": f"ebv({code})",
            "nodes": f"(len({code}) > 0)",
            "str": f"({code} != '')",
            "int": f"({code} != 0)",
            "atom": f"ebv1({code})",
            "item": f"ebv1({code})",
            "opt": f"ebv_opt({code})",
        }[kind]

    @staticmethod
    def oatom(code: str, kind: str) -> str:
        if kind in ("seq", "nodes"):
            return f"one_atom({code})"
        if kind == "item":
            return f"atomize1({code})"
        return code

    @staticmethod
    def ostr(code: str, kind: str) -> str:
        if kind == "str":
            return code
        if kind in ("seq", "nodes"):
            return f"opt_string({code})"
        return f"ostr1({code})"

    # -- expressions

    def gen(self, node: tuple, env: Env) -> tuple[str, str]:
        handler = getattr(self, f"g_{node[0]}", None)
        if handler is None:
            raise Unsupported(f"XPath construct {node[0]}")
        return handler(node, env)

    def g_lit(self, node, env):
        value = node[1]
        if type(value) is str:
            return repr(value), "str"
        if type(value) is int:
            return repr(value), "int"
        if type(value) is Decimal:
            return self.const(value), "atom"
        return repr(value) if value == value else "float('nan')", "atom"

    def g_empty(self, node, env):
        return "[]", "seq"

    def g_seq(self, node, env):
        parts = [self.seq(*self.gen(item, env)) for item in node[1]]
        return "(" + " + ".join(parts) + ")", "seq"

    def g_var(self, node, env):
        name = node[1]
        if name in env.variables:
            return env.variables[name]
        if name in self.globals:
            return f"gv(R, {self.globals[name][0]})", self.globals[name][1]
        raise Unsupported(f"variable ${name} not in scope")

    def g_ctx(self, node, env):
        if env.ctx is None:
            raise Unsupported("context item in a function")
        return env.ctx, "item"

    def g_root(self, node, env):
        if env.ctx is None:
            raise Unsupported("'/' in a function")
        return f"R.root_of({env.ctx})", "nodes"

    def g_if(self, node, env):
        cond = self.ebv(*self.gen(node[1], env))
        then, then_kind = self.gen(node[2], env)
        other, other_kind = self.gen(node[3], env)
        if then_kind == other_kind:
            return f"({then} if {cond} else {other})", then_kind
        if {then_kind, other_kind} <= {"seq", "nodes"}:
            return f"({then} if {cond} else {other})", "seq"
        return f"({self.seq(then, then_kind)} if {cond} else {self.seq(other, other_kind)})", "seq"

    def g_neg(self, node, env):
        return f"negate({self.oatom(*self.gen(node[1], env))})", "opt"

    def _bindings(self, bindings, env):
        loops = []
        for name, expression in bindings:
            source = self.seq(*self.gen(expression, env))
            py = self.fresh("v")
            loops.append(f"for {py} in {source}")
            env = env.bind(name, py, "item")
        return " ".join(loops), env

    def g_for(self, node, env):
        loops, inner = self._bindings(node[1], env)
        body = self.seq(*self.gen(node[2], inner))
        item = self.fresh("i")
        return f"[{item} {loops} for {item} in {body}]", "seq"

    def g_some(self, node, env):
        loops, inner = self._bindings(node[1], env)
        return f"any({self.ebv(*self.gen(node[2], inner))} {loops})", "bool"

    def g_every(self, node, env):
        loops, inner = self._bindings(node[1], env)
        return f"all({self.ebv(*self.gen(node[2], inner))} {loops})", "bool"

    def g_cast(self, node, env):
        kind = CASTS.get(node[2])
        if kind is None:
            raise Unsupported(f"cast as {node[2]}")
        code = f"cast({kind!r}, {self.oatom(*self.gen(node[1], env))})"
        return (code, "opt") if node[3] else (f"required({code})", "atom")

    def g_castable(self, node, env):
        kind = CASTS.get(node[2])
        if kind is None:
            raise Unsupported(f"castable as {node[2]}")
        return f"castable({kind!r}, {self.oatom(*self.gen(node[1], env))}, {node[3]!r})", "bool"

    def g_op(self, node, env):
        op, left, right = node[1], node[2], node[3]
        if op in ("and", "or"):
            return f"({self.ebv(*self.gen(left, env))} {op} {self.ebv(*self.gen(right, env))})", "bool"
        if op in MIRROR:
            return self.general(op, self.gen(left, env), self.gen(right, env)), "bool"
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            (lc, lk), (rc, rk) = self.gen(left, env), self.gen(right, env)
            if lk == "str" and rk == "str":
                return f"({lc} {PY_OPS[{'eq': '=', 'ne': '!=', 'lt': '<', 'le': '<=', 'gt': '>', 'ge': '>='}[op]]} {rc})", "bool"
            return f"value_cmp({op!r}, {self.seq(lc, lk)}, {self.seq(rc, rk)})", "seq"
        if op in ("+", "-", "*", "div", "idiv", "mod"):
            lc, rc = self.oatom(*self.gen(left, env)), self.oatom(*self.gen(right, env))
            return f"arith({op!r}, {lc}, {rc})", "opt"
        if op == "|":
            return f"union(R, {self.seq(*self.gen(left, env))}, {self.seq(*self.gen(right, env))})", "nodes"
        if op == "to":
            return f"to_range({self.oatom(*self.gen(left, env))}, {self.oatom(*self.gen(right, env))})", "seq"
        raise Unsupported(f"operator {op}")

    def general(self, op: str, left: tuple[str, str], right: tuple[str, str]) -> str:
        (lc, lk), (rc, rk) = left, right
        if lk == rk and lk in ("str", "int"):
            return f"({lc} {PY_OPS[op]} {rc})"
        if lk in SCALAR and rk in SCALAR:
            return f"general11({op!r}, {lc}, {rc})"
        if rk in SCALAR and lk != "item":
            return f"general1({op!r}, {self.seq(lc, lk)}, {rc})"
        if lk in SCALAR and rk != "item":
            return f"general1({MIRROR[op]!r}, {self.seq(rc, rk)}, {lc})"
        return f"general({op!r}, {self.seq(lc, lk)}, {self.seq(rc, rk)})"

    # -- paths

    def g_filter(self, node, env):
        code, kind = self.gen(node[1], env)
        return self.predicates(self.seq(code, kind), node[2], env), "nodes" if kind == "nodes" else "seq"

    def is_filter(self, predicate: tuple, env: Env) -> bool:
        """Whether a predicate is a plain filter (boolean, no position() or last()): it can then be applied to a whole step."""
        saved = self.focus_used
        self.focus_used = False
        kind = self.gen(predicate, env.with_ctx("_x", "_xp", "_xs"))[1]
        used, self.focus_used = self.focus_used, saved
        return kind in ("bool", "nodes") and not used

    def predicates(self, code: str, predicates: list, env: Env) -> str:
        for predicate in predicates:
            item, position, size = self.fresh("c"), self.fresh("p"), self.fresh("s")
            plain = self.is_filter(predicate, env)
            pcode, pkind = self.gen(predicate, env.with_ctx(item, position, size))
            if plain:
                code = f"[{item} for {item} in {code} if {self.ebv(pcode, pkind)}]"
            elif pkind == "int" and pcode.isdigit():
                index = int(pcode)
                code = f"{code}[{index - 1}:{index}]" if index >= 1 else "[]"
            else:
                code = f"filt({code}, lambda {item}, {position}, {size}: {self.seq(pcode, pkind)})"
        return code

    def g_step(self, node, env):
        if env.ctx is None:
            raise Unsupported("path step in a function without a context")
        return self.step(f"[{env.ctx}]", node, env, single=env.ctx), "nodes"

    def step(self, nodes: str, node: tuple, env: Env, single: str | None = None) -> str:
        """One axis step from `nodes` (or from the single node `single`), predicates applied."""
        _, axis, test, predicates = node
        if test[0] == "kind" and test[1] not in ("node", "element", "attribute", "document-node"):
            raise Unsupported(f"node test {test[1]}()")
        if axis == "child" and test == ("kind", "node"):
            raise Unsupported("child::node() (text nodes)")
        positional = not all(self.is_filter(p, env) for p in predicates)
        n, y = self.fresh("n"), self.fresh("y")
        indexed = self._indexed_equality(nodes, single, axis, test, predicates, env)
        if indexed:
            return indexed
        if not positional:
            if axis == "child":
                tag = self.const(lxml_tag_of(test))
                base = f"child1({single}, {tag})" if single else f"child({nodes}, {tag})"
            elif axis == "attribute":
                base = f"attr1({single}, {self.const(test)})" if single else f"attr({nodes}, {self.const(test)})"
            elif axis == "parent":
                base = f"parent(R, {nodes}, {self.const(test)})"
            elif single and axis in REVERSE_AXES:
                base = f"axis1(R, {single}, {axis!r}, {self.const(test)})[::-1]"
            elif single:
                base = f"axis1(R, {single}, {axis!r}, {self.const(test)})"
            else:
                base = f"docsort(R, [{y} for {n} in {nodes} for {y} in axis1(R, {n}, {axis!r}, {self.const(test)})])"
            return self.predicates(base, predicates, env)
        one = self.predicates(f"axis1(R, {n}, {axis!r}, {self.const(test)})", predicates, env)
        return f"docsort(R, [{y} for {n} in {nodes} for {y} in {one}])"

    def _indexed_equality(self, nodes, single, axis, test, predicates, env) -> str | None:
        """child::T[@A = V] with V independent of the context (a variable or a string literal): `eq_index`."""
        if axis != "child" or test[0] != "name" or len(predicates) != 1:
            return None
        predicate = predicates[0]
        if predicate[0] != "op" or predicate[1] != "=":
            return None
        left, right = predicate[2], predicate[3]
        if not (left[0] == "step" and left[1] == "attribute" and left[2][0] == "name" and not left[3]):
            return None
        if right[0] not in ("var",) and not (right[0] == "lit" and type(right[1]) is str):
            return None
        value = self.seq(*self.gen(right, env))
        source = f"[{single}]" if single else nodes
        return f"eq_index(R, {source}, {test[1]!r}, {left[2][1]!r}, {value})"

    def g_path(self, node, env):
        first, steps = node[1], node[2]
        if first[0] == "step":
            code = self.step(f"[{env.ctx}]", first, env, single=env.ctx) if env.ctx else self.g_step(first, env)[0]
            uniform = first[1] in ("child", "attribute", "parent", "self")
            kind = "nodes"
        else:
            code, kind = self.gen(first, env)
            code = self.seq(code, kind)
            uniform = first == ("root",) or kind not in ("seq", "nodes")
        last_kind = "nodes" if first[0] == "step" or kind == "nodes" else "seq"
        for separator, step in steps:
            if separator == "//":
                if step[0] == "step" and step[1] == "child" and all(self.is_filter(p, env) for p in step[3]):
                    code = self.step(code, ("step", "descendant", step[2], step[3]), env)
                    uniform = False
                    last_kind = "nodes"
                    continue
                code = f"docsort(R, {self.step(code, ('step', 'descendant-or-self', ('kind', 'node'), []), env)})"
                uniform = False
            if step[0] == "step":
                if not uniform and step[1] in ("child", "attribute", "parent"):
                    code = f"docsort(R, {self.step(code, step, env)})"
                else:
                    code = self.step(code, step, env)
                uniform = uniform and step[1] in ("child", "attribute", "parent", "self")
            elif step == ("ctx",):
                continue
            else:
                item, position, size = self.fresh("c"), self.fresh("p"), self.fresh("s")
                scode, skind = self.gen(step, env.with_ctx(item, position, size))
                code = f"path_map(R, {code}, lambda {item}, {position}, {size}: {self.seq(scode, skind)})"
                uniform = False
                last_kind = "nodes" if skind == "nodes" else "seq"
                continue
            last_kind = "nodes"
        return code, last_kind

    # -- function calls

    def g_call(self, node, env):
        from gateway.validation.native.library import call

        name, args = node[1], node[2]
        if name in CASTS:
            if len(args) != 1:
                raise Unsupported(f"{name} with {len(args)} arguments")
            return f"cast({CASTS[name]!r}, {self.oatom(*self.gen(args[0], env))})", "opt"
        if name in self.functions:
            py, params, result = self.functions[name]
            if len(args) != len(params):
                raise Unsupported(f"function {name} with {len(args)} arguments")
            converted = [self.seq(*self.gen(arg, env)) for arg in args]
            return f"{py}(R, {', '.join(converted)})", result
        return call(self, name, args, env)


def lxml_tag_of(test: tuple) -> object:
    from gateway.validation.native.nodes import lxml_tag

    return lxml_tag(test)
