"""The normal form of a checked rule: the one representation everything after the checker reads.

:func:`trt_passes.dsl.normalise.normalise` computes it once per rule at load time from the checked syntax tree; the
:class:`~trt_passes.dsl.rules.Rule` carries it (so a library from the disk cache carries it too). Compared with the
syntax tree:

* an op pattern lists *every* schema argument in schema order: a written one as its sub-pattern, the others as
  :class:`MDefault` (the value they must hold); literals hold their resolved values; a number in a tensor position is
  :class:`MConst` (it matches a constant);
* alternatives, optional sub-patterns and commutative swaps are expanded: ``variants`` are plain trees, the pattern
  as written (first alternatives) first;
* every position knows its :data:`Path`, the text a failure names it by (``where``), its schema argument (``spec``)
  and its source span;
* captures are resolved statically: the first occurrence binds (``first``), later ones are equality constraints;
  dim names and dtype variables alike;
* a type annotation is a sequence of explicit :data:`TypeCheck` s, in the order the matchers test them;
* the guard is split into its conjuncts, each with its text; op constructors on the right side are bound to their
  schemas (:class:`Construct`).

The interpreter (:mod:`~trt_passes.dsl.matcher`) and the code generator (:mod:`~trt_passes.dsl.codegen`) walk the
variants check for check in the same order; the analyses (:mod:`~trt_passes.dsl.facts` and the modules built on it,
termination, unused captures, coverage), the test-domain sampler and the rewriter read the same form. Before it
exists, the parser, the family expansion and the checker (which reports with the tree's spans) work on the syntax
tree; the formatter prints it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.ir.ops import ArgSpec

#: A position of the pattern: ``()`` the root, ``("self",)`` the root's argument ``self``, ``("self", "other")``
#: argument ``other`` of the node producing it, ``("dim", "[0]")`` an item of a list, ``("#1",)`` the root's output 1.
Path = tuple[str, ...]


# ---- type checks on a captured value, in the order the matchers make them ------------------------------------
@dataclass(frozen=True)
class IsScalar:
    """``x: int``: the value is a ``type`` (``int``, ``float``, ``bool``, ``int[]`` ...)."""

    type: str


@dataclass(frozen=True)
class IsTensor:
    """The value is a tensor; the tensor checks after it read its type."""


@dataclass(frozen=True)
class DtypeIn:
    dtypes: tuple[str, ...]  # as written (a failure lists them in this order)


@dataclass(frozen=True)
class DtypeVar:
    """``Tensor<T>``: the first use of ``T`` binds it, every later one must have the same dtype."""

    var: str
    first: bool


@dataclass(frozen=True)
class RankIn:
    """``Tensor{lo..hi}``."""

    lo: int
    hi: int


@dataclass(frozen=True)
class RankIs:
    """The rank is ``rank``; ``at_least`` when the dims have a ``...``."""

    rank: int
    at_least: bool


@dataclass(frozen=True)
class DimIs:
    """Dim ``index`` is ``value``; a negative index counts from the end (dims written after ``...``)."""

    index: int
    value: int


@dataclass(frozen=True)
class DimVar:
    """Dim ``index`` is called ``name``: the first use binds it, later uses must be equal."""

    index: int
    name: str
    first: bool


TypeCheck = IsScalar | IsTensor | DtypeIn | DtypeVar | RankIn | RankIs | DimIs | DimVar


# ---- positions of a pattern ------------------------------------------------------------------------------------
# Every node has ``path`` and ``where`` (the failure text naming the position, e.g. ``aten.mm.default argument
# 'self'``), ``spec`` (the schema argument it fills; for list items, the item's type) and ``span``. Specs and spans
# do not take part in equality: two patterns are equal when they test the same things at the same positions.
@dataclass(frozen=True)
class MWild:
    """``_``: anything."""

    path: Path
    where: str
    spec: ArgSpec = field(compare=False)
    span: A.Span = field(compare=False)


@dataclass(frozen=True)
class MDefault:
    """An argument the pattern does not write: it must hold ``value``, the schema default."""

    value: Any
    path: Path
    where: str
    spec: ArgSpec = field(compare=False)
    span: A.Span = field(compare=False)


@dataclass(frozen=True)
class MLiteral:
    """The value equals ``value`` (``written``: the literal as written, e.g. ``ActivationType.RELU``)."""

    value: Any
    written: A.Literal | A.DtypeLit | A.EnumLit
    path: Path
    where: str
    spec: ArgSpec = field(compare=False)
    span: A.Span = field(compare=False)


@dataclass(frozen=True)
class MConst:
    """A number in a tensor position: a constant (seen through expand and casts) whose every element is ``value``."""

    value: int | float
    path: Path
    where: str
    spec: ArgSpec = field(compare=False)
    span: A.Span = field(compare=False)


@dataclass(frozen=True)
class MList:
    """A list of exactly ``len(items)`` values, each matching its item."""

    items: tuple[MPattern, ...]
    path: Path
    where: str
    spec: ArgSpec = field(compare=False)
    span: A.Span = field(compare=False)


@dataclass(frozen=True)
class MCapture:
    """``name`` (after ``checks``): bound here when ``first``, otherwise equal to the value bound before."""

    name: str
    checks: tuple[TypeCheck, ...]
    first: bool
    path: Path
    where: str
    spec: ArgSpec = field(compare=False)
    span: A.Span = field(compare=False)


@dataclass(frozen=True)
class MOp:
    """Output 0 of a node running ``op`` (the root: the node itself) whose arguments, every one in schema order,
    match ``args``; ``binder`` (``b @ OP(...)``) names that output (binding it when ``binder_first``)."""

    op: str
    args: tuple[MPattern, ...]
    binder: str | None
    binder_first: bool
    path: Path
    where: str
    spec: ArgSpec | None = field(compare=False)  # None at the root
    span: A.Span = field(compare=False)
    #: the schema positions of the written arguments, in the order written (expanding alternatives follows it)
    order: tuple[int, ...] = field(compare=False, repr=False, default=())


@dataclass(frozen=True)
class MAlt:
    """``p | q`` before expansion (variants never contain one)."""

    items: tuple[MPattern, ...]
    path: Path
    where: str
    spec: ArgSpec = field(compare=False)
    span: A.Span = field(compare=False)


MPattern = MWild | MDefault | MLiteral | MConst | MList | MCapture | MOp | MAlt


def walk(p: MPattern) -> Iterator[MPattern]:
    """``p`` and every position under it, in the order the matchers visit them."""
    yield p
    if isinstance(p, MOp):
        for a in p.args:
            yield from walk(a)
    elif isinstance(p, (MList, MAlt)):
        for i in p.items:
            yield from walk(i)


# ---- guard and right side --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Conjunct:
    """One top-level ``and`` part of a guard: evaluated, and reported when false, on its own."""

    expr: A.Expr
    text: str
    span: A.Span = field(compare=False)


@dataclass(frozen=True)
class Construct:
    """An op constructor of a right side bound to the op's schema: ``args`` are the written arguments in written
    order (evaluated in that order), ``slots[i]`` the index in ``args`` of schema argument ``specs[i]``, or None
    when it takes its default. ``written`` is the constructor as written, for messages."""

    op: str
    args: tuple[Any, ...]
    slots: tuple[int | None, ...]
    specs: tuple[ArgSpec, ...]
    written: A.OpExpr = field(compare=False)


@dataclass(frozen=True)
class NormalRule:
    root_op: str
    #: ``(values, indices) = OP(...)``: the names of the root's outputs (None for `_`); None for a plain root
    outputs: tuple[str | None, ...] | None
    #: the plain patterns the left side stands for, as written first (at most ``MAX_VARIANTS``)
    variants: tuple[MOp, ...]
    exclusive: bool
    guard: tuple[Conjunct, ...]
    #: the right side with op constructors bound (:class:`Construct`)
    lets: tuple[A.Let, ...]
    result: Any
    #: ops the right side constructs, with repeats, in source order
    emits: tuple[str, ...]
    #: every op the left side mentions (all variants), sorted
    mentions: tuple[str, ...]
    #: names bound by the pattern as written (outside alternatives, which repeat them) with where
    capture_sites: tuple[tuple[str, A.Span], ...] = field(compare=False)
    #: names the guard and the right side read
    reads: frozenset[str] = frozenset()
