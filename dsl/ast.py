"""The typed syntax tree of a `.rw` file: frozen dataclasses, every node carrying the :class:`Span` it came from.

Patterns (left side), expressions (guards and right sides), type annotations and test domains are separate node
families so that each consumer (the checker, the formatter, the normaliser) can dispatch on a closed set of classes.
Everything after checking reads a rule's normal form (:mod:`trt_passes.dsl.normal_form`) instead of this tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    """A source range: 1-based lines and columns, ``end_col`` exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<none>", 0, 0, 0, 0)


# ---- type annotations -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DimWild:
    span: Span = field(compare=False)


@dataclass(frozen=True)
class DimInt:
    value: int
    span: Span = field(compare=False)


@dataclass(frozen=True)
class DimName:
    name: str
    span: Span = field(compare=False)


@dataclass(frozen=True)
class DimEllipsis:
    span: Span = field(compare=False)


DimAnn = DimWild | DimInt | DimName | DimEllipsis


@dataclass(frozen=True)
class TensorAnn:
    """``Tensor<f32|f16>[N, _, 3, ...]``; ``dtypes``/``dims`` are None when not written."""

    dtypes: tuple[str, ...] | None
    dims: tuple[DimAnn, ...] | None
    span: Span = field(compare=False)
    dtype_var: str | None = None  # `Tensor<T>` / `Tensor<T: f32|f16>`: every use of T has one dtype
    rank_range: tuple[int, int] | None = None  # `Tensor{2..4}`: the rank is between 2 and 4 (no dims written)


@dataclass(frozen=True)
class ScalarAnn:
    """``int``, ``float``, ``bool``, ``int[]`` (``name`` spelled as written)."""

    name: str
    span: Span = field(compare=False)


TypeAnn = TensorAnn | ScalarAnn


# ---- expressions (guards, right sides, literals) ----------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    """A number, string, ``true``/``false`` or ``none``."""

    value: int | float | bool | str | None
    span: Span = field(compare=False)


@dataclass(frozen=True)
class DtypeLit:
    """A dtype name such as ``f16`` (dtype names are reserved words of the language)."""

    name: str
    span: Span = field(compare=False)


@dataclass(frozen=True)
class EnumLit:
    """``ActivationType.RELU``; ``parts`` is the dotted name split (resolved against the catalogue's enums)."""

    parts: tuple[str, ...]
    span: Span = field(compare=False)

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Name:
    name: str
    span: Span = field(compare=False)


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True)
class BinOp:
    """Arithmetic ``+ - * // %``, comparisons ``== != < <= > >= in not in`` and boolean ``and or``."""

    op: str
    left: Expr
    right: Expr
    span: Span = field(compare=False)


@dataclass(frozen=True)
class UnaryOp:
    """``not`` or ``-``."""

    op: str
    operand: Expr
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Index:
    value: Expr
    index: Expr
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Arg:
    """One argument of a call: positional when ``keyword`` is None."""

    keyword: str | None
    value: Any  # Expr in calls, Pattern in op patterns
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Call:
    """A builtin call ``rank(x)``."""

    func: str
    args: tuple[Arg, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True)
class OpExpr:
    """An op constructor on the right side: ``aten.mm.default(a, b)``."""

    op: str
    args: tuple[Arg, ...]
    span: Span = field(compare=False)
    op_span: Span = field(compare=False, default=None)  # type: ignore[assignment]


@dataclass(frozen=True)
class TupleExpr:
    """``(a, b)``: the right side of a multi-output rule, one value per output of the root."""

    items: tuple[Expr, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True)
class ConstExpr:
    """``const(value_expr, dtype_expr)``: a new constant node."""

    value: Expr
    dtype: Expr
    span: Span = field(compare=False)


Expr = Literal | DtypeLit | EnumLit | Name | ListExpr | BinOp | UnaryOp | Index | Call | OpExpr | ConstExpr | TupleExpr


# ---- patterns ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PWildcard:
    span: Span = field(compare=False)


@dataclass(frozen=True)
class PCapture:
    """``x`` or ``x: TYPE``."""

    name: str
    type: TypeAnn | None
    span: Span = field(compare=False)


@dataclass(frozen=True)
class PLiteral:
    """A literal pattern; ``value`` is a :class:`Literal`, :class:`DtypeLit` or :class:`EnumLit`."""

    value: Literal | DtypeLit | EnumLit
    span: Span = field(compare=False)


@dataclass(frozen=True)
class PList:
    items: tuple[Pattern, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True)
class POp:
    """``OP(args)``, or ``binder @ OP(args)`` when ``binder`` is set."""

    op: str
    args: tuple[Arg, ...]
    binder: str | None
    span: Span = field(compare=False)
    op_span: Span = field(compare=False, default=None)  # type: ignore[assignment]
    #: ``(values, indices) = OP(...)``: names of the root's outputs (None for `_`: that output must be unused)
    outputs: tuple[str | None, ...] | None = None


@dataclass(frozen=True)
class PAlt:
    """``p | q``: the first alternative that matches (each must bind the same captures)."""

    items: tuple[Pattern, ...]
    span: Span = field(compare=False)


Pattern = PWildcard | PCapture | PLiteral | PList | POp | PAlt


# ---- rules ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Let:
    name: str
    value: Expr
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Rhs:
    lets: tuple[Let, ...]
    result: Expr
    span: Span = field(compare=False)


@dataclass(frozen=True)
class DRange:
    """A dim drawn from ``lo..hi``; ``name`` set for ``NAME=lo..hi``."""

    lo: int
    hi: int
    name: str | None
    span: Span = field(compare=False)


DomainDim = DimInt | DimName | DRange


@dataclass(frozen=True)
class DomainTensor:
    """``x: [const] f32|f16 [dims] [in lo..hi] [| none]``."""

    name: str
    const: bool
    dtypes: tuple[str, ...]
    dims: tuple[DomainDim, ...]
    value_range: tuple[float, float] | None
    or_none: bool
    span: Span = field(compare=False)


@dataclass(frozen=True)
class DomainValues:
    """``s: [1, 1] | [2, 2]``: the non-tensor capture takes one of these literal values."""

    name: str
    values: tuple[Expr, ...]
    span: Span = field(compare=False)


DomainEntry = DomainTensor | DomainValues


@dataclass(frozen=True)
class Domain:
    entries: tuple[DomainEntry, ...]
    span: Span = field(compare=False)

    def entry(self, name: str) -> DomainEntry | None:
        for e in self.entries:
            if e.name == name:
                return e
        return None


@dataclass(frozen=True)
class RuleDecl:
    name: str
    priority: int
    doc: str
    pattern: POp
    guard: Expr | None
    rhs: Rhs
    domains: tuple[Domain, ...]
    untested_reason: str | None
    span: Span = field(compare=False)
    name_span: Span = field(compare=False)
    recursive: str | None = None  # `recursive "measure"`: why a rule on an op cycle terminates
    over: str | None = None  # `rule NAME over FAMILY`: a template instantiated per row of the family
    exclusive: bool = False  # matched nodes other than the root may not be read outside the match
    requires: tuple[Requirement, ...] = ()  # where the rule applies (TensorRT version, static shapes)


@dataclass(frozen=True)
class FamilyRow:
    label: str
    cells: tuple[Literal | DtypeLit | EnumLit, ...]  # a dotted cell is an EnumLit until used as an op
    span: Span = field(compare=False)


@dataclass(frozen=True)
class FamilyDecl:
    """``family NAME(p, q) { label: (v, w) ... }``: rules ``over`` it are instantiated once per row."""

    name: str
    params: tuple[str, ...]
    rows: tuple[FamilyRow, ...]
    span: Span = field(compare=False)


@dataclass(frozen=True)
class Requirement:
    """``requires trt >= 10.1, static_shapes``: one item (``op``/``version`` None for a flag)."""

    name: str
    op: str | None
    version: str | None
    span: Span = field(compare=False)

    def __str__(self) -> str:
        return self.name if self.op is None else f"{self.name} {self.op} {self.version}"


@dataclass(frozen=True)
class ExternDecl:
    """``extern NAME(types) -> type = "module:function"``."""

    name: str
    params: tuple[str, ...]
    returns: str
    target: str
    span: Span = field(compare=False)


@dataclass(frozen=True)
class RulesetDecl:
    name: str
    kind: str
    span: Span = field(compare=False)
    kind_span: Span = field(compare=False)


@dataclass(frozen=True)
class FileAst:
    """A parsed file: its items in source order (ruleset declarations and rules)."""

    file: str
    items: tuple[RulesetDecl | RuleDecl | FamilyDecl | ExternDecl, ...]


def guard_conjuncts(guard: Expr | None) -> list[Expr]:
    """A guard split at its top-level ``and`` s, in order (each part is reported on its own when false)."""
    out: list[Expr] = []

    def split(e: Expr) -> None:
        if isinstance(e, BinOp) and e.op == "and":
            split(e.left)
            split(e.right)
        else:
            out.append(e)

    if guard is not None:
        split(guard)
    return out


def walk(node: Any) -> Iterator[Any]:
    """Every AST node under ``node`` (itself first), depth first, in field order; spans are not descended into."""
    if isinstance(node, tuple):
        for x in node:
            yield from walk(x)
    elif hasattr(node, "__dataclass_fields__"):
        yield node
        for f in node.__dataclass_fields__:
            if f not in ("span", "op_span"):
                yield from walk(getattr(node, f))
