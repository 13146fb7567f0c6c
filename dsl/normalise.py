"""Computing a checked rule's normal form (:mod:`trt_passes.dsl.normal_form`), once, at load time.

Three steps: *bind* the written pattern to the op schemas (every argument by schema position, defaults filled,
literals resolved, numbers in tensor positions marked), *expand* it into its variants
(:mod:`trt_passes.dsl.variants`), and *place* each variant: give every position its path and failure text and decide,
in the order the matchers visit them, which use of a capture, dim name or dtype variable binds it. The right side's
op constructors are bound to their schemas here too, so nothing after loading binds arguments again.

Only called on rules the checker accepted: an argument that does not bind is an internal error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl.builtins import GuardError
from trt_passes.dsl.evaluate import registry_enums, resolve_enum, show_expr
from trt_passes.dsl.normal_form import (
    Conjunct,
    Construct,
    DimIs,
    DimVar,
    DtypeIn,
    DtypeVar,
    IsScalar,
    IsTensor,
    MAlt,
    MCapture,
    MConst,
    MDefault,
    MList,
    MLiteral,
    MOp,
    MPattern,
    MWild,
    NormalRule,
    Path,
    RankIn,
    RankIs,
    TypeCheck,
    walk,
)
from trt_passes.dsl.signature import bind_args
from trt_passes.dsl.variants import MAX_VARIANTS, expand
from trt_passes.ir.ops import ArgSpec, OpRegistry, OpSchema

_UNPLACED: Path = ()


def normalise(pattern: A.POp, guard: A.Expr | None, rhs: A.Rhs, exclusive: bool, ops: OpRegistry) -> NormalRule:
    binder = _Binder(ops)
    bound = binder.op(pattern, None)
    variants = tuple(_Placer(pattern.outputs).root(v) for v in expand(bound)[:MAX_VARIANTS])
    reads = {n.name for e in (guard, rhs) for n in A.walk(e) if isinstance(n, A.Name)}
    return NormalRule(
        root_op=pattern.op,
        outputs=pattern.outputs,
        variants=variants,
        exclusive=exclusive,
        guard=tuple(Conjunct(c, show_expr(c), c.span) for c in A.guard_conjuncts(guard)),
        lets=tuple(dataclasses.replace(let, value=binder.rhs(let.value)) for let in rhs.lets),
        result=binder.rhs(rhs.result),
        emits=tuple(n.op for n in A.walk(rhs) if isinstance(n, A.OpExpr)),
        mentions=tuple(sorted({n.op for n in walk(bound) if isinstance(n, MOp)})),
        capture_sites=tuple(binder.sites),
        reads=frozenset(reads),
    )


class _Binder:
    """The written pattern bound to the schemas (alternatives kept, positions not placed yet)."""

    def __init__(self, ops: OpRegistry) -> None:
        self.ops = ops
        self.enums: Mapping[str, type[Enum]] = registry_enums(ops)
        self.sites: list[tuple[str, A.Span]] = []
        self._in_alt = 0

    def _bind(self, schema: OpSchema, args: tuple[A.Arg, ...], span: A.Span, in_pattern: bool) -> dict[str, A.Arg]:
        bound, problems = bind_args(schema, args, span, in_pattern=in_pattern)
        if problems:
            raise AssertionError(f"normalising an unchecked rule: {problems[0].message} at {problems[0].span}")
        return bound

    def op(self, p: A.POp, spec: ArgSpec | None) -> MOp:
        schema = self.ops.schema(p.op)
        bound = self._bind(schema, p.args, p.span, in_pattern=True)
        if p.binder is not None:
            self._site(p.binder, p.span)
        position = {s.name: i for i, s in enumerate(schema.args)}
        written: dict[str, MPattern] = {}
        order: list[int] = []
        for name, arg in sorted(bound.items(), key=lambda kv: _index_of(p.args, kv[1])):  # as written
            written[name] = self.sub(arg.value, schema.args[position[name]], in_list=False)
            order.append(position[name])
        args = tuple(written[s.name] if s.name in written else MDefault(s.default, _UNPLACED, "", s, p.span)
                     for s in schema.args)
        return MOp(p.op, args, p.binder, False, _UNPLACED, "", spec, p.span, tuple(order))

    def sub(self, p: A.Pattern, spec: ArgSpec, in_list: bool) -> MPattern:
        if isinstance(p, A.PWildcard):
            return MWild(_UNPLACED, "", spec, p.span)
        if isinstance(p, A.POp):
            return self.op(p, spec)
        if isinstance(p, A.PAlt):
            self._in_alt += 1  # each alternative binds the same names again: sites count the written pattern once
            items = tuple(self.sub(i, spec, in_list) for i in p.items)
            self._in_alt -= 1
            return MAlt(items, _UNPLACED, "", spec, p.span)
        if isinstance(p, A.PList):
            item = ArgSpec(spec.name, spec.type.replace("[]", "")) if spec.is_tensor_list else \
                ArgSpec(spec.name, spec.type.replace("[]", "").rstrip("?"))
            return MList(tuple(self.sub(i, item, in_list=True) for i in p.items), _UNPLACED, "", spec, p.span)
        if isinstance(p, A.PLiteral):
            lit = p.value
            if not in_list and spec.is_tensor and not spec.is_tensor_list and isinstance(lit, A.Literal) \
                    and isinstance(lit.value, (int, float)) and not isinstance(lit.value, bool):
                return MConst(lit.value, _UNPLACED, "", spec, p.span)
            return MLiteral(self._literal(lit), lit, _UNPLACED, "", spec, p.span)
        assert isinstance(p, A.PCapture)
        self._site(p.name, p.span)
        return MCapture(p.name, _checks(p.type), False, _UNPLACED, "", spec, p.span)

    def _site(self, name: str, span: A.Span) -> None:
        if not self._in_alt:
            self.sites.append((name, span))

    def _literal(self, lit: A.Literal | A.DtypeLit | A.EnumLit) -> Any:
        if isinstance(lit, A.Literal):
            return lit.value
        if isinstance(lit, A.DtypeLit):
            return lit.name
        try:
            return resolve_enum(lit, self.enums)
        except GuardError:
            return lit.text

    # ---- the right side ----------------------------------------------------------------------------------------
    def rhs(self, e: Any) -> Any:
        """``e`` with every op constructor replaced by its :class:`Construct`."""
        if isinstance(e, A.OpExpr):
            schema = self.ops.schema(e.op)
            bound = self._bind(schema, e.args, e.span, in_pattern=False)
            slots = tuple(_index_of(e.args, bound[s.name]) if s.name in bound else None for s in schema.args)
            return Construct(e.op, tuple(self.rhs(a.value) for a in e.args), slots, schema.args, e)
        if isinstance(e, tuple):
            return tuple(self.rhs(x) for x in e)
        if dataclasses.is_dataclass(e) and not isinstance(e, type) and any(
                isinstance(n, A.OpExpr) for n in A.walk(e)):
            return dataclasses.replace(e, **{f.name: self.rhs(getattr(e, f.name)) for f in dataclasses.fields(e)
                                             if f.name not in ("span", "op_span")})
        return e


def _index_of(args: tuple[A.Arg, ...], arg: A.Arg) -> int:
    return next(i for i, a in enumerate(args) if a is arg)


def _checks(ann: A.TypeAnn | None) -> tuple[TypeCheck, ...]:
    """An annotation as the checks the matchers make, in their order (binding flags are set when placing)."""
    if ann is None:
        return ()
    if isinstance(ann, A.ScalarAnn):
        return (IsScalar(ann.name),)
    out: list[TypeCheck] = [IsTensor()]
    if ann.dtypes is not None:
        out.append(DtypeIn(ann.dtypes))
    if ann.dtype_var is not None:
        out.append(DtypeVar(ann.dtype_var, False))
    if ann.rank_range is not None:
        out.append(RankIn(*ann.rank_range))
    if ann.dims is None:
        return tuple(out)
    dims = ann.dims
    ell = next((i for i, d in enumerate(dims) if isinstance(d, A.DimEllipsis)), None)
    if ell is None:
        out.append(RankIs(len(dims), at_least=False))
        indexed = list(enumerate(dims))
    else:
        front, back = dims[:ell], dims[ell + 1:]
        out.append(RankIs(len(front) + len(back), at_least=True))
        indexed = list(enumerate(front)) + [(j - len(back), d) for j, d in enumerate(back)]
    for i, d in indexed:
        if isinstance(d, A.DimInt):
            out.append(DimIs(i, d.value))
        elif isinstance(d, A.DimName):
            out.append(DimVar(i, d.name, False))
    return tuple(out)


class _Placer:
    """Gives one variant's positions their paths and failure texts, and marks which use of each name binds it,
    visiting positions in the matchers' order (the root's named outputs are bound before anything else)."""

    def __init__(self, outputs: tuple[str | None, ...] | None) -> None:
        self.names = {n for n in outputs or () if n is not None}
        self.dims: set[str] = set()
        self.dtype_vars: set[str] = set()

    def root(self, p: MOp) -> MOp:
        return self.op(p, (), "the root", root=True)

    def first(self, seen: set[str], name: str) -> bool:
        new = name not in seen
        seen.add(name)
        return new

    def op(self, p: MOp, path: Path, where: str, root: bool = False) -> MOp:
        binder_first = p.binder is not None and self.first(self.names, p.binder)
        args = []
        for a in p.args:
            name = a.spec.name
            args.append(self.place(a, (*path, name), f"argument '{name}'" if root else f"{p.op} argument '{name}'"))
        return dataclasses.replace(p, args=tuple(args), binder_first=binder_first, path=path, where=where)

    def place(self, p: MPattern, path: Path, where: str) -> MPattern:
        if isinstance(p, MOp):
            return self.op(p, path, where)
        if isinstance(p, MList):
            items = tuple(self.place(item, (*path, f"[{i}]"), f"{where}[{i}]") for i, item in enumerate(p.items))
            return dataclasses.replace(p, items=items, path=path, where=where)
        if isinstance(p, MCapture):
            checks = tuple(self.check(c) for c in p.checks)
            return dataclasses.replace(p, checks=checks, first=self.first(self.names, p.name), path=path,
                                       where=where)
        assert not isinstance(p, MAlt), "variants have no alternatives"
        return dataclasses.replace(p, path=path, where=where)

    def check(self, c: TypeCheck) -> TypeCheck:
        if isinstance(c, DtypeVar):
            return DtypeVar(c.var, self.first(self.dtype_vars, c.var))
        if isinstance(c, DimVar):
            return DimVar(c.index, c.name, self.first(self.dims, c.name))
        return c
