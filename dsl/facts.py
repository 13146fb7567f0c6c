"""The normalised form of a rule's left side the analyses reason about: what each *path* must be.

A path names one value the pattern reaches: ``()`` is the root, ``("self",)`` the root's argument ``self``,
``("self", "other")`` the argument ``other`` of the node producing it, ``("dim", "[0]")`` an item of a list. At each
path the rule may require an op (of the producer), a dtype set, a rank, or a literal value. Guard conjuncts of the
shapes ``dtype(x) == f16``, ``dtype(x) in [..]``, ``rank(x) == n`` become facts of ``x``'s path; every other
conjunct is kept as opaque text (two rules with the same opaque text test the same thing). A capture used twice is an
equality between two paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl.evaluate import show_expr
from trt_passes.dsl.matcher import _is_tensor_literal
from trt_passes.dsl.rules import Rule
from trt_passes.dsl.signature import bind_args
from trt_passes.ir.ops import ArgSpec, OpRegistry

Path = tuple[str, ...]
UNSET: Any = object()


@dataclass
class PathFacts:
    op: str | None = None
    dtypes: frozenset[str] | None = None
    rank: int | None = None
    min_rank: int = 0
    max_rank: int | None = None
    max_rank: int | None = None
    literal: Any = UNSET
    contradiction: str | None = None  # why this path can hold no value at all

    def require_dtypes(self, dts: frozenset[str], why: str) -> None:
        self.dtypes = dts if self.dtypes is None else self.dtypes & dts
        if not self.dtypes:
            self.contradiction = why

    def require_rank(self, r: int, why: str) -> None:
        if (self.rank is not None and self.rank != r) or r < self.min_rank or \
                (self.max_rank is not None and r > self.max_rank):
            self.contradiction = why
        self.rank = r

    def require_rank_range(self, lo: int, hi: int, why: str) -> None:
        self.min_rank = max(self.min_rank, lo)
        self.max_rank = hi if self.max_rank is None else min(self.max_rank, hi)
        if self.min_rank > self.max_rank or (self.rank is not None and not lo <= self.rank <= hi):
            self.contradiction = why


@dataclass
class RuleFacts:
    rule: Rule
    paths: dict[Path, PathFacts] = field(default_factory=dict)
    captures: dict[str, Path] = field(default_factory=dict)
    equal: set[tuple[Path, Path]] = field(default_factory=set)
    dtype_vars: set[tuple[str, Path]] = field(default_factory=set)
    const_literals: set[tuple[Path, str]] = field(default_factory=set)  # numbers matched against constants
    opaque: frozenset[str] = frozenset()
    node_count: int = 0
    opaque_extra: tuple[str, ...] = ()
    #: the facts of the rule's other variants (commutative swaps, alternatives); this object is the first variant
    others: list[RuleFacts] = field(default_factory=list)

    @property
    def all_variants(self) -> list[RuleFacts]:
        return [self, *self.others]

    def at(self, p: Path) -> PathFacts:
        return self.paths.setdefault(p, PathFacts())

    @property
    def contradictions(self) -> list[tuple[Path, str]]:
        return [(p, f.contradiction) for p, f in self.paths.items() if f.contradiction]


def rule_facts(rule: Rule, ops: OpRegistry) -> RuleFacts:
    first, *rest = [_variant_facts(rule, p, ops) for p in rule.variants(ops)]
    first.others = rest
    return first


def _variant_facts(rule: Rule, pattern: A.POp, ops: OpRegistry) -> RuleFacts:
    rf = RuleFacts(rule)
    for i, name in enumerate(pattern.outputs or ()):
        if name is not None:
            _capture(rf, name, (f"#{i}",))
    # which outputs a rule replaces (the others must be dead) is a condition the analyses compare as a whole
    rf.opaque_extra = ("outputs " + (",".join("_" if n is None else "x" for n in pattern.outputs)
                                     if pattern.outputs is not None else "x"),)
    _op(rf, pattern, (), ops)
    opaque: list[str] = []
    from trt_passes.dsl.ast import guard_conjuncts

    for c in guard_conjuncts(rule.guard):
        if not _guard_fact(rf, c):
            opaque.append(show_expr(c))
    if rule.exclusive:
        opaque.append("exclusive")
    opaque.extend(rf.opaque_extra)  # a condition on the graph around the match, like a guard
    rf.opaque = frozenset(opaque)
    return rf


def _op(rf: RuleFacts, p: A.POp, path: Path, ops: OpRegistry) -> None:
    rf.node_count += 1
    rf.at(path).op = p.op
    if p.binder is not None:
        _capture(rf, p.binder, path)
    schema = ops.schema(p.op)
    bound, _ = bind_args(schema, p.args, p.span)
    for spec in schema.args:
        arg = bound.get(spec.name)
        if arg is None:
            rf.at((*path, spec.name)).literal = spec.default
        else:
            _sub(rf, arg.value, (*path, spec.name), ops, spec)


def _sub(rf: RuleFacts, p: A.Pattern, path: Path, ops: OpRegistry, spec: ArgSpec) -> None:
    if isinstance(p, A.POp):
        _op(rf, p, path, ops)
    elif isinstance(p, A.PList):
        for i, item in enumerate(p.items):
            _sub(rf, item, (*path, f"[{i}]"), ops, spec)
    elif isinstance(p, A.PLiteral) and _is_tensor_literal(p, spec):
        rf.const_literals.add((path, repr(getattr(p.value, "value", None))))
    elif isinstance(p, A.PLiteral):
        v = p.value
        rf.at(path).literal = v.value if isinstance(v, A.Literal) else (v.name if isinstance(v, A.DtypeLit) else v.text)
    elif isinstance(p, A.PCapture):
        if isinstance(p.type, A.TensorAnn):
            f = rf.at(path)
            if p.type.dtype_var is not None:
                rf.dtype_vars.add((p.type.dtype_var, path))
            if p.type.dtypes is not None:
                f.require_dtypes(frozenset(p.type.dtypes), f"`{p.name}` is annotated with no common dtype")
            if p.type.rank_range is not None:
                f.require_rank_range(*p.type.rank_range, f"`{p.name}` is given ranks that do not meet")
            dims = p.type.dims
            if dims is not None:
                if any(isinstance(d, A.DimEllipsis) for d in dims):
                    f.min_rank = max(f.min_rank, len(dims) - 1)
                else:
                    f.require_rank(len(dims), f"`{p.name}` is given two ranks")
        _capture(rf, p.name, path)


def _capture(rf: RuleFacts, name: str, path: Path) -> None:
    first = rf.captures.setdefault(name, path)
    if first != path:
        rf.equal.add((first, path))


def _guard_fact(rf: RuleFacts, c: A.Expr) -> bool:
    """Turn ``dtype(x) == f16`` / ``dtype(x) in [f16, f32]`` / ``rank(x) == 2`` into facts; False if opaque."""
    if not (isinstance(c, A.BinOp) and c.op in ("==", "in") and isinstance(c.left, A.Call)
            and len(c.left.args) == 1 and isinstance(c.left.args[0].value, A.Name)):
        return False
    name = c.left.args[0].value.name
    path = rf.captures.get(name)
    if path is None:
        return False
    f = rf.at(path)
    text = show_expr(c)
    if c.left.func == "dtype":
        if c.op == "==" and isinstance(c.right, A.DtypeLit):
            f.require_dtypes(frozenset({c.right.name}), f"`{text}` contradicts the type of `{name}`")
            return True
        if c.op == "in" and isinstance(c.right, A.ListExpr) and all(isinstance(i, A.DtypeLit) for i in c.right.items):
            f.require_dtypes(frozenset(i.name for i in c.right.items),  # type: ignore[union-attr]
                             f"`{text}` contradicts the type of `{name}`")
            return True
    if c.left.func == "rank" and c.op == "==" and isinstance(c.right, A.Literal) and type(c.right.value) is int:
        f.require_rank(c.right.value, f"`{text}` contradicts the rank of `{name}`")
        return True
    return False
