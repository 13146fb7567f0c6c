"""What each *path* of a rule's normal form (:mod:`trt_passes.dsl.normal_form`) must be, per variant: the summary the
analyses reason about.

At each path (``()`` the root, ``("self",)`` the root's argument ``self``, ``("self", "other")`` the argument
``other`` of the node producing it, ``("dim", "[0]")`` an item of a list) the rule may require an op (of the
producer), a dtype set, a rank, or a literal value. Guard conjuncts of the shapes ``dtype(x) == f16``,
``dtype(x) in [..]``, ``rank(x) == n`` become facts of ``x``'s path; every other conjunct is kept as opaque text (two
rules with the same opaque text test the same thing). A capture used twice is an equality between two paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl.normal_form import (
    Conjunct,
    DtypeIn,
    DtypeVar,
    IsTensor,
    MCapture,
    MConst,
    MDefault,
    MList,
    MLiteral,
    MOp,
    MPattern,
    Path,
    RankIn,
    RankIs,
    walk,
)
from trt_passes.dsl.rules import Rule

UNSET: Any = object()


@dataclass
class PathFacts:
    op: str | None = None
    dtypes: frozenset[str] | None = None
    rank: int | None = None
    min_rank: int = 0
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
    def root_span(self) -> A.Span:
        """Where the rule's pattern is written."""
        return self.rule.normal.variants[0].span

    @property
    def all_variants(self) -> list[RuleFacts]:
        return [self, *self.others]

    def at(self, p: Path) -> PathFacts:
        return self.paths.setdefault(p, PathFacts())

    @property
    def contradictions(self) -> list[tuple[Path, str]]:
        return [(p, f.contradiction) for p, f in self.paths.items() if f.contradiction]


def rule_facts(rule: Rule) -> RuleFacts:
    first, *rest = [_variant_facts(rule, v) for v in rule.normal.variants]
    first.others = rest
    return first


def _variant_facts(rule: Rule, root: MOp) -> RuleFacts:
    rf = RuleFacts(rule)
    normal = rule.normal
    for i, name in enumerate(normal.outputs or ()):
        if name is not None:
            _capture(rf, name, (f"#{i}",))
    # which outputs a rule replaces (the others must be dead) is a condition the analyses compare as a whole
    rf.opaque_extra = ("outputs " + (",".join("_" if n is None else "x" for n in normal.outputs)
                                     if normal.outputs is not None else "x"),)
    for p in walk(root):
        _position(rf, p)
    opaque: list[str] = []
    for c in normal.guard:
        if not _guard_fact(rf, c):
            opaque.append(c.text)
    if normal.exclusive:
        opaque.append("exclusive")
    opaque.extend(rf.opaque_extra)  # a condition on the graph around the match, like a guard
    rf.opaque = frozenset(opaque)
    return rf


def _position(rf: RuleFacts, p: MPattern) -> None:
    """What position ``p`` (visited in the matchers' order) requires of its path."""
    if isinstance(p, MOp):
        rf.node_count += 1
        rf.at(p.path).op = p.op
        if p.binder is not None:
            _capture(rf, p.binder, p.path)
    elif isinstance(p, MDefault):
        rf.at(p.path).literal = p.value
    elif isinstance(p, MList):  # a list pattern fixes the length: compared as a condition of its own
        rf.opaque_extra += (f"len({'.'.join(map(str, p.path))}) == {len(p.items)}",)
    elif isinstance(p, MConst):
        rf.const_literals.add((p.path, repr(p.value)))
    elif isinstance(p, MLiteral):
        w = p.written  # enums by their text: the facts compare literals as written
        rf.at(p.path).literal = w.value if isinstance(w, A.Literal) else (w.name if isinstance(w, A.DtypeLit)
                                                                           else w.text)
    elif isinstance(p, MCapture):
        f = rf.at(p.path) if any(isinstance(c, IsTensor) for c in p.checks) else None
        for c in p.checks:
            if f is None:
                break
            if isinstance(c, DtypeVar):
                rf.dtype_vars.add((c.var, p.path))
            elif isinstance(c, DtypeIn):
                f.require_dtypes(frozenset(c.dtypes), f"`{p.name}` is annotated with no common dtype")
            elif isinstance(c, RankIn):
                f.require_rank_range(c.lo, c.hi, f"`{p.name}` is given ranks that do not meet")
            elif isinstance(c, RankIs) and c.at_least:
                f.min_rank = max(f.min_rank, c.rank)
            elif isinstance(c, RankIs):
                f.require_rank(c.rank, f"`{p.name}` is given two ranks")
        _capture(rf, p.name, p.path)


def _capture(rf: RuleFacts, name: str, path: Path) -> None:
    first = rf.captures.setdefault(name, path)
    if first != path:
        rf.equal.add((first, path))


def _guard_fact(rf: RuleFacts, conjunct: Conjunct) -> bool:
    """Turn ``dtype(x) == f16`` / ``dtype(x) in [f16, f32]`` / ``rank(x) == 2`` into facts; False if opaque."""
    c, text = conjunct.expr, conjunct.text
    if not (isinstance(c, A.BinOp) and c.op in ("==", "in") and isinstance(c.left, A.Call)
            and len(c.left.args) == 1 and isinstance(c.left.args[0].value, A.Name)):
        return False
    name = c.left.args[0].value.name
    path = rf.captures.get(name)
    if path is None:
        return False
    f = rf.at(path)
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
