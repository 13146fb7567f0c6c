"""Compile the rules of one rule set into Python source: per root op, one decision tree over all its rules.

The generated code mirrors the interpreter (:mod:`trt_passes.dsl.matcher`) check for check, in the same order, so a
rule that fails reports the same first failed condition: both walk the variants of the rules' normal forms
(:mod:`trt_passes.dsl.normal_form`). What compilation adds:

* the root's arguments are resolved once per attempt and shared by every rule of that root op;
* each rule gets *necessary conditions* on those arguments (a default or literal, a dtype set, a rank, the op
  producing an input). The dispatcher is a tree of ``if`` tests: a test shared by a run of consecutive rules is done
  once for the whole run, cheap tests first, so most attempts are rejected without entering a rule body;
* with ``explain=True`` the tree is bypassed and every rule body runs, collecting each rule's failure.

Every rule body and every tree branch carries a comment naming the rule and its ``file.rw:LINE``.
Order is the rule set's order (priority, then specificity, then source order), so the first match is the
interpreter's first match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl.evaluate import show_expr
from trt_passes.dsl.normal_form import (
    DimIs,
    DimVar,
    DtypeIn,
    DtypeVar,
    IsScalar,
    IsTensor,
    MCapture,
    MConst,
    MDefault,
    MList,
    MLiteral,
    MOp,
    MPattern,
    MWild,
    RankIn,
    RankIs,
    TypeCheck,
)
from trt_passes.dsl.rules import Rule
from trt_passes.ir.ops import ArgSpec

#: Bumped whenever the generated code changes meaning, so stale cache entries are never used.
CODEGEN_VERSION = "13"


@dataclass(frozen=True)
class Test:
    """A necessary condition of a rule, as a Python expression over the dispatcher's locals; ``cost`` orders tests
    (cheaper first)."""

    expr: str
    cost: int


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)


class _Consts:
    """Module-level constants of the generated source (defaults, literals, dtype sets), deduplicated."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.lines: list[str] = []

    def add(self, init: str, name: str | None = None) -> str:
        """A module-level constant for ``init`` (named ``name`` when given, so calls read `is_const(ctx, ...)`)."""
        found = self.names.get(init)
        if found is None:
            found = self.names[init] = name or f"_K{len(self.names)}"
            self.lines.append(f"{found} = {init}")
        return found


def _py_literal(v: Any) -> str | None:
    """Source for a plain value, or None when it must be looked up at load time (enums, dtypes objects...)."""
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    if isinstance(v, float):
        return f"float({str(v)!r})" if v != v or v in (float("inf"), float("-inf")) else repr(v)
    if isinstance(v, (list, tuple)):
        items = [_py_literal(x) for x in v]
        if any(i is None for i in items):
            return None
        body = ", ".join(items) + ("," if len(items) == 1 and isinstance(v, tuple) else "")  # type: ignore[arg-type]
        return f"[{body}]" if isinstance(v, list) else f"({body})"
    return None


def _default_const(consts: _Consts, op: str, spec: ArgSpec) -> str:
    """A schema default as a module constant (looked up from the catalogue at load when it is not plain data)."""
    lit = _py_literal(spec.default)
    return consts.add(lit if lit is not None else f"OPS.schema({op!r}).arg({spec.name!r}).default")


class _RuleEmitter:
    """Emits one variant of one rule: ``def _rK(g, nid, node, <root args>)`` returning a Match or a Fail."""

    def __init__(self, rule: Rule, k: int, consts: _Consts, root_args: Sequence[ArgSpec], variant: MOp,
                 fn: str) -> None:
        self.rule, self.k, self.consts = rule, k, consts
        self.variant = variant
        self.fn = fn
        self.root_args = root_args
        self.out = _Lines()
        self.n = 0
        self.tests: list[Test] = []

    def fresh(self, base: str) -> str:
        self.n += 1
        return f"{base}{self.n}"

    def fail(self, ind: int, template: str, *args: str) -> None:
        self.out(ind, f"return fail({template!r}{''.join(', ' + a for a in args)})")

    def default_const(self, op: str, spec: ArgSpec) -> str:
        return _default_const(self.consts, op, spec)

    def literal_const(self, lit: A.Literal | A.DtypeLit | A.EnumLit) -> str:
        if isinstance(lit, A.Literal):
            return self.number_const(lit.value)
        if isinstance(lit, A.DtypeLit):
            return self.consts.add(repr(lit.name))
        return self.consts.add(f"enum_literal(ENUMS, {lit.text!r})")

    def number_const(self, v: Any) -> str:
        return self.consts.add(_py_literal(v) or repr(v))

    def emit(self) -> list[str]:
        r = self.rule
        params = "".join(f", a_{s.name}" for s in self.root_args)
        self.out(0, f"def {self.fn}(g, nid, node{params}):")
        self.out(1, f"# rule {r.name} ({r.location}): {self.fn.rsplit('_', 1)[-1]}")
        outs = r.normal.outputs
        replaced = tuple(i for i, n in enumerate(outs or ()) if n is not None and i > 0)
        if outs is not None:  # same check, same order and message as the interpreter's _check_outputs
            self.out(1, f"if len(node.outputs) < {len(outs)}:")
            self.fail(2, "the root has {} outputs; the rule names {}", f"len(node.outputs), {len(outs)}")
        self.out(1, "for i in range(1, len(node.outputs)):")
        self.out(2, f"if i not in {replaced!r} and g.uses(Value(nid, i)):" if replaced else "if g.uses(Value(nid, i)):")
        self.fail(3, "output {} of the root is used; the rule replaces output 0 only" if outs is None else
                  "output {} of the root is used; the rule does not replace it", "i")
        self.out(1, "B = {}")
        for i, name in enumerate(outs or ()):
            if name is not None:
                self.out(1, f"B[{name!r}] = Value(nid, {i})")
        self.out(1, "M = [nid]")
        self.op(self.variant, "nid", "node", 1, root=True)
        if r.normal.exclusive:
            self.out(1, "inside = set(M)")
            self.out(1, "for n in M[1:]:")
            self.out(2, "for u in g.users(n):")
            self.out(3, "if u not in inside:")
            self.fail(4, "matched {} %{} is also read by %{}, outside the match", "g.node(n).op", "n", "u")
        self.guard(1)
        self.out(1, f"return Match(RULES[{self.k}], nid, B, tuple(M))")
        return self.out.lines

    # ---- patterns, in the interpreter's order -------------------------------------------------------------------
    def op(self, p: MOp, nid: str, node: str, ind: int, root: bool = False) -> None:
        if p.binder is not None:
            self.bind(p.binder, p.binder_first, f"Value({nid}, 0)", repr(f"`{p.binder} @`"), ind)
        if not root:
            self.out(ind, f"M.append({nid})")
            ins = self.fresh("ins")
            self.out(ind, f"{ins} = g.inputs({nid})")  # one graph query for all of the node's arguments
        for a in p.args:
            spec = a.spec
            default = self.default_const(p.op, spec)
            if root:
                v = f"a_{spec.name}"
            else:
                v = self.fresh("v")
                self.out(ind, f"{v} = resolve_arg(g, {nid}, {ins}, {node}.attrs.get({spec.name!r}, {default}))")
            if isinstance(a, MDefault):
                if root:
                    self.tests.append(Test(f"equal_literal(a_{spec.name}, {default})", 1))
                self.out(ind, f"if not equal_literal({v}, {default}):")
                self.fail(ind + 1, "{}: {}, rule wants the default {}", repr(a.where), f"Shown({v})",
                          f"Shown({default})")
                continue
            self.sub(a, v, ind, root_arg=spec.name if root else None)

    def sub(self, p: MPattern, v: str, ind: int, root_arg: str | None = None) -> None:
        """Checks of position ``p`` on the value in local ``v``; ``root_arg``: ``p`` is that argument of the root,
        whose necessary conditions become tests of the dispatcher."""
        where = repr(p.where)
        # the dispatcher holds the type (`t_NAME`) of the root's single-tensor arguments only
        tensor_arg = root_arg if root_arg is not None and p.spec.is_tensor and not p.spec.is_tensor_list else None
        if isinstance(p, MWild):
            return
        if isinstance(p, MOp):
            if tensor_arg is not None:
                self.tests.append(Test(f"t_{root_arg} is not None and a_{root_arg}.index == 0 and "
                                       f"g.node(a_{root_arg}.node).op == {p.op!r}", 4))
            self.out(ind, f"if {v}.__class__ is not Value:")
            self.fail(ind + 1, "{}: {}, rule wants the result of {}", where, f"Shown({v})", repr(p.op))
            pn = self.fresh("n")
            self.out(ind, f"{pn} = g.node({v}.node)")
            self.out(ind, f"if {pn}.op != {p.op!r}:")
            self.fail(ind + 1, "{}: produced by {}, rule wants {}", where, f"{pn}.op", repr(p.op))
            self.out(ind, f"if {v}.index != 0:")
            self.fail(ind + 1, "{}: reads output {} of {}, rule wants output 0", where, f"{v}.index", repr(p.op))
            self.op(p, f"{v}.node", pn, ind)
            return
        if isinstance(p, MList):
            n = len(p.items)
            self.out(ind, f"if not isinstance({v}, (list, tuple)):")
            self.fail(ind + 1, "{}: {}, rule wants a list of {}", where, f"Shown({v})", str(n))
            self.out(ind, f"if len({v}) != {n}:")
            self.fail(ind + 1, "{}: a list of {}, rule wants {}", where, f"len({v})", str(n))
            for i, item in enumerate(p.items):
                iv = self.fresh("v")
                self.out(ind, f"{iv} = {v}[{i}]")
                self.sub(item, iv, ind)
            return
        if isinstance(p, MConst):
            want = self.number_const(p.value)
            self.out(ind, f"if not literal_matches_constant(g, {v}, {want}):")
            self.fail(ind + 1, "{}: {}, rule wants a constant {}", where, f"Shown({v})", f"Shown({want})")
            return
        if isinstance(p, MLiteral):
            want = self.literal_const(p.written)
            if root_arg is not None:
                self.tests.append(Test(f"equal_literal(a_{root_arg}, {want})", 1))
            self.out(ind, f"if not equal_literal({v}, {want}):")
            self.fail(ind + 1, "{}: {}, rule wants {}", where, f"Shown({v})", f"Shown({want})")
            return
        assert isinstance(p, MCapture), p
        t, shape = "", ""
        for c in p.checks:
            if isinstance(c, (IsScalar, IsTensor)):
                t = self.check_kind(c, v, where, ind)
            elif isinstance(c, RankIs):
                shape = self.check_rank(c, t, where, ind, tensor_arg)
            else:
                self.check_tensor(c, t, shape, where, ind, tensor_arg)
        self.bind(p.name, p.first, v, where, ind)

    def bind(self, name: str, first: bool, v: str, where: str, ind: int) -> None:
        if first:
            self.out(ind, f"B[{name!r}] = {v}")
            return
        self.out(ind, f"if not same_binding(B[{name!r}], {v}):")
        self.fail(ind + 1, "{}: {} is already {}, here {}", where, repr(name), f"Shown(B[{name!r}])", f"Shown({v})")

    def check_kind(self, c: IsScalar | IsTensor, v: str, where: str, ind: int) -> str:
        """``x: int`` or a tensor; for a tensor, the local holding its type."""
        if isinstance(c, IsScalar):
            self.out(ind, f"if not scalar_ok({c.type!r}, {v}):")
            self.fail(ind + 1, "{}: {}, rule wants {}", where, f"Shown({v})", repr(c.type))
            return ""
        self.out(ind, f"if {v}.__class__ is not Value:")
        self.fail(ind + 1, "{}: {}, rule wants a tensor", where, f"Shown({v})")
        t = self.fresh("t")
        self.out(ind, f"{t} = g.type({v})")
        return t

    def check_rank(self, c: RankIs, t: str, where: str, ind: int, root_arg: str | None) -> str:
        """The rank the dims imply; returns the local holding the shape, which the dim checks read."""
        shape = self.fresh("s")
        self.out(ind, f"{shape} = {t}.shape")
        if not c.at_least:
            if root_arg is not None:
                self.tests.append(Test(f"t_{root_arg} is not None and len(t_{root_arg}.shape) == {c.rank}", 3))
            self.out(ind, f"if len({shape}) != {c.rank}:")
            self.fail(ind + 1, "{}: rank {}, rule wants {}", where, f"len({shape})", str(c.rank))
        else:
            if root_arg is not None and c.rank:
                self.tests.append(Test(f"t_{root_arg} is not None and len(t_{root_arg}.shape) >= {c.rank}", 3))
            self.out(ind, f"if len({shape}) < {c.rank}:")
            self.fail(ind + 1, "{}: rank {}, rule wants at least {}", where, f"len({shape})", str(c.rank))
        return shape

    def check_tensor(self, c: TypeCheck, t: str, shape: str, where: str, ind: int, root_arg: str | None) -> None:
        if isinstance(c, DtypeIn):
            dset = self.consts.add(f"frozenset({sorted(c.dtypes)!r})")
            if root_arg is not None:
                self.tests.append(Test(f"t_{root_arg} is not None and t_{root_arg}.dtype in {dset}", 2))
            self.out(ind, f"if {t}.dtype not in {dset}:")
            self.fail(ind + 1, "{}: dtype {}, rule wants {}", where, f"{t}.dtype", repr("|".join(c.dtypes)))
        elif isinstance(c, DtypeVar):
            key = f"T_{c.var}"
            if c.first:
                self.out(ind, f"{key} = {t}.dtype")
            else:
                self.out(ind, f"if {t}.dtype != {key}:")
                self.fail(ind + 1, "{}: dtype {}, but {} is {} elsewhere", where, f"{t}.dtype", repr(c.var), key)
        elif isinstance(c, RankIn):
            if root_arg is not None:
                self.tests.append(Test(f"t_{root_arg} is not None and {c.lo} <= len(t_{root_arg}.shape) <= {c.hi}",
                                       3))
            self.out(ind, f"if not {c.lo} <= len({t}.shape) <= {c.hi}:")
            self.fail(ind + 1, "{}: rank {}, rule wants {}", where, f"len({t}.shape)",
                      repr(str(c.lo) if c.lo == c.hi else f"{c.lo}..{c.hi}"))
        elif isinstance(c, DimIs):
            pos = _dim_position(c.index, shape)
            self.out(ind, f"if {shape}[{pos}] != {c.value}:")
            self.fail(ind + 1, "{}: dim {} is {}, rule wants {}", where, pos, f"{shape}[{pos}]", str(c.value))
        else:
            assert isinstance(c, DimVar), c
            pos = _dim_position(c.index, shape)
            key = f"D_{c.name}"
            if c.first:
                self.out(ind, f"{key} = {shape}[{pos}]")
            else:
                self.out(ind, f"if {shape}[{pos}] != {key}:")
                self.fail(ind + 1, "{}: dim {} is {}, but {} is {} elsewhere", where, pos, f"{shape}[{pos}]",
                          repr(c.name), key)

    def guard(self, ind: int) -> None:
        """Each conjunct compiled to Python calling the builtins and the evaluator's own operations, so values and
        error messages are the interpreter's."""
        conjuncts = self.rule.normal.guard
        if not conjuncts:
            return
        self.out(ind, "ctx = GraphContext(g)")
        for c in conjuncts:
            text = self.consts.add(repr(c.text))
            self.out(ind, "try:")
            self.out(ind + 1, f"ok = truth_value({self.expr(c.expr)}, {text})")
            self.out(ind, "except GuardError as err:")
            self.out(ind + 1, f"return fail('guard `{{}}` cannot be evaluated: {{}}', {text}, str(err))")
            self.out(ind, "if not ok:")
            self.out(ind + 1, f"return fail('guard `{{}}` is false', {text})")

    def expr(self, e: A.Expr) -> str:
        if isinstance(e, A.Literal):
            if e.value is None or isinstance(e.value, (bool, int)):
                return repr(e.value)
            return self.consts.add(_py_literal(e.value) or repr(e.value))
        if isinstance(e, A.DtypeLit):
            return repr(e.name)
        if isinstance(e, A.EnumLit):
            return self.consts.add(f"resolve_enum_text(ENUMS, {e.text!r})")
        if isinstance(e, A.Name):
            return f"B[{e.name!r}]"
        if isinstance(e, A.ListExpr):
            return "[" + ", ".join(self.expr(i) for i in e.items) + "]"
        if isinstance(e, A.BinOp):
            if e.op in ("and", "or"):
                lt, rt = self.consts.add(repr(show_expr(e.left))), self.consts.add(repr(show_expr(e.right)))
                return f"(truth_value({self.expr(e.left)}, {lt}) {e.op} truth_value({self.expr(e.right)}, {rt}))"
            return f"binop({e.op!r}, {self.expr(e.left)}, {self.expr(e.right)})"
        if isinstance(e, A.UnaryOp):
            if e.op == "not":
                t = self.consts.add(repr(show_expr(e.operand)))
                return f"(not truth_value({self.expr(e.operand)}, {t}))"
            return f"negate({self.expr(e.operand)})"
        if isinstance(e, A.Index):
            return f"index_value({self.expr(e.value)}, {self.expr(e.index)})"
        if isinstance(e, A.Call):
            fn = self.consts.add(f"lookup_builtin({e.func!r}).fn", f"{e.func}_")
            return f"{fn}(ctx" + "".join(", " + self.expr(a.value) for a in e.args) + ")"
        raise AssertionError(f"not a guard expression: {show_expr(e)}")


def _dim_position(index: int, shape: str) -> str:
    """Source for the position of dim ``index`` (negative: from the end) in the shape held by local ``shape``."""
    return str(index) if index >= 0 else f"len({shape}) - {-index}"


def _variant_wrapper(rule: Rule, k: int, n: int, args: Sequence[ArgSpec]) -> list[str]:
    """``_rK`` tries the variants in order; when none matches it reports the first (as-written) failure."""
    params = "g, nid, node" + "".join(f", a_{s.name}" for s in args)
    out = _Lines()
    out(0, f"def _r{k}({params}):")
    out(1, f"# rule {rule.name} ({rule.location}): {n} variants (commutative swaps, alternatives), as written first")
    out(1, f"first = _r{k}_v0({params})")
    out(1, "if first.__class__ is Match:")
    out(2, "return first")
    for j in range(1, n):
        out(1, f"m = _r{k}_v{j}({params})")
        out(1, "if m.__class__ is Match:")
        out(2, "return m")
        # as the interpreter: the as-written failure unless a later variant reached the guard
        out(1, "if not first.template.startswith('guard') and m.template.startswith('guard'):")
        out(2, "first = m")
    out(1, "return first")
    return [*out.lines, ""]


def _tree(items: list[tuple[int, Rule, list[str]]], call: str, ind: int, out: _Lines, costs: dict[str, int],
          profile: bool = False) -> None:
    """Emit the decision tree for ``items`` (rule index, rule, remaining tests), preserving their order."""
    i = 0
    while i < len(items):
        k, rule, tests = items[i]
        if not tests:
            if profile:
                out(ind, "t0 = perf_counter()")
            out(ind, f"m = _r{k}({call})  # {rule.name} ({rule.location})")
            if profile:
                out(ind, f"PROFILE.ACTIVE.record({rule.name!r}, m.__class__ is Match, perf_counter() - t0)")
            out(ind, "if m.__class__ is Match:")
            out(ind + 1, "return m")
            i += 1
            continue

        def run(t: str, start: int) -> int:
            j = start
            while j < len(items) and t in items[j][2]:
                j += 1
            return j - start

        best = min(tests, key=lambda t: (-run(t, i), costs[t], tests.index(t)))
        n = run(best, i)
        group = items[i:i + n]
        names = ", ".join(r.name for _, r, _ in group)
        out(ind, f"if {best}:  # needed by {names}")
        _tree([(gk, gr, [t for t in gt if t != best]) for gk, gr, gt in group], call, ind + 1, out, costs, profile)
        i += n


def generate(ruleset_name: str, rules: Sequence[Rule], profile: bool = False) -> str:
    """Python source of the matchers of one rule set: ``ROOTS[op](g, nid, explain)``; ``profile`` instruments every
    rule attempt (see :mod:`trt_passes.dsl.profile`)."""
    consts = _Consts()
    bodies: list[str] = []
    dispatch: list[str] = []
    roots: dict[str, list[int]] = {}
    for k, r in enumerate(rules):
        roots.setdefault(r.root_op, []).append(k)
    root_names: list[tuple[str, str]] = []
    for ri, (op, ks) in enumerate(roots.items()):
        args = [a.spec for a in rules[ks[0]].normal.variants[0].args]  # the root's schema arguments, in order
        items: list[tuple[int, Rule, list[str]]] = []
        costs: dict[str, int] = {}
        for k in ks:
            pats = rules[k].normal.variants
            per_variant: list[list[Test]] = []
            for j, pat in enumerate(pats):
                fn = f"_r{k}" if len(pats) == 1 else f"_r{k}_v{j}"
                em = _RuleEmitter(rules[k], k, consts, args, pat, fn)
                bodies.extend(em.emit())
                bodies.append("")
                per_variant.append(em.tests)
            if len(pats) > 1:
                bodies.extend(_variant_wrapper(rules[k], k, len(pats), args))
            # a test may guard the rule only if every variant needs it
            common = set.intersection(*[{t.expr for t in ts} for ts in per_variant])
            seen: list[str] = []
            for t in sorted(per_variant[0], key=lambda t: t.cost):
                if t.expr in common and t.expr not in seen:
                    seen.append(t.expr)
                    costs[t.expr] = t.cost
            # beyond the shared tests: some variant's own cheapest test must hold (`a is f32 or b is f32`)
            own = [min((t for t in ts if t.expr not in common), key=lambda t: t.cost, default=None)
                   for ts in per_variant]
            if len(pats) > 1 and all(t is not None for t in own):
                either = "(" + " or ".join(dict.fromkeys(f"({t.expr})" for t in own if t)) + ")"
                seen.append(either)
                costs[either] = max(t.cost for t in own if t) + 1
            items.append((k, rules[k], seen))
        fn = f"root{ri}"
        root_names.append((op, fn))
        out = _Lines()
        out(0, f"def {fn}(g, nid, explain):")
        out(1, f"# {op}: rules {', '.join(rules[k].name for k in ks)}")
        out(1, "node = g.node(nid)")
        out(1, "attrs = node.attrs")
        out(1, "ins = g.inputs(nid)")
        for s in args:
            out(1, f"a_{s.name} = resolve_arg(g, nid, ins, attrs.get({s.name!r}, {_default_const(consts, op, s)}))")
            if s.is_tensor and not s.is_tensor_list:
                out(1, f"t_{s.name} = g.type(a_{s.name}) if a_{s.name}.__class__ is Value else None")
        call = "g, nid, node" + "".join(f", a_{s.name}" for s in args)
        out(1, "if explain:")
        out(2, "found = []")
        for k in ks:
            out(2, f"m = _r{k}({call})  # {rules[k].name} ({rules[k].location})")
            out(2, f"found.append(m if m.__class__ is Match else Failure(RULES[{k}], nid, m.template, m.args))")
        out(2, "return found")
        _tree(items, call, 1, out, costs, profile)
        out(1, "return None")
        dispatch.extend(out.lines)
        dispatch.append("")
    header = [f"# Matchers of rule set {ruleset_name}, generated by trt_passes.dsl.codegen (version {CODEGEN_VERSION})"
              + (", instrumented for profiling." if profile else "."),
              "# Do not edit: regenerated from the .rw rules whenever they change.", ""]
    table = ["ROOTS = {", *[f"    {op!r}: {fn}," for op, fn in root_names], "}", ""]
    return "\n".join([*header, *consts.lines, "", "", *bodies, *dispatch, *table])
