"""Expanding a pattern into the plain patterns it stands for, tried in order: as written first, then with the
arguments of commutative ops swapped (:mod:`trt_passes.dsl.commutative`) and each choice of alternatives
``p | q``. Both matchers (interpreter and compiled) and the analyses work on these variants, so none of them needs
to know about commutativity or alternatives; a failed match reports the failure of the first variant (the pattern as
written, first alternatives)."""

from __future__ import annotations

import dataclasses
import itertools

from trt_passes.dsl import ast as A
from trt_passes.dsl.commutative import COMMUTATIVE
from trt_passes.dsl.signature import bind_args
from trt_passes.ir.ops import OpRegistry

#: Beyond this many variants a rule is matched with the first MAX_VARIANTS only (and the checker says so).
MAX_VARIANTS = 16


def variants(p: A.POp, ops: OpRegistry) -> list[A.POp]:
    out = _op(p, ops)
    return out[:MAX_VARIANTS]


def count_variants(p: A.POp, ops: OpRegistry) -> int:
    return len(_op(p, ops))


def _op(p: A.POp, ops: OpRegistry) -> list[A.POp]:
    per_arg = [[A.Arg(a.keyword, v, a.span) for v in _pat(a.value, ops)] for a in p.args]
    written = [dataclasses.replace(p, args=tuple(combo)) for combo in itertools.product(*per_arg)]
    comm = COMMUTATIVE.get(p.op)
    if comm is None or not ops.has(p.op):
        return written
    out = list(written)
    for w in written:
        swapped = _swap(w, comm.left, comm.right, comm.when, ops)
        if swapped is not None and swapped not in out:
            out.append(swapped)
    return out


def _swap(p: A.POp, left: str, right: str, when: tuple[str, ...], ops: OpRegistry) -> A.POp | None:
    schema = ops.schema(p.op)
    bound, problems = bind_args(schema, p.args, p.span)
    if problems or left not in bound or right not in bound:
        return None
    for name in when:  # the swap is only valid while these arguments keep their defaults
        arg = bound.get(name)
        spec = schema.arg(name)
        if arg is not None and not (isinstance(arg.value, A.PLiteral) and isinstance(arg.value.value, A.Literal)
                                    and spec is not None and arg.value.value.value == spec.default
                                    and type(arg.value.value.value) is type(spec.default)):
            return None
    lhs, rhs = bound[left], bound[right]
    if lhs.value == rhs.value:
        return None  # swapping equal patterns matches nothing new
    args = []
    for a in p.args:
        if a is lhs:
            args.append(A.Arg(left, rhs.value, a.span))
        elif a is rhs:
            args.append(A.Arg(right, lhs.value, a.span))
        else:
            args.append(a)
    return dataclasses.replace(p, args=tuple(args))


def _pat(p: A.Pattern, ops: OpRegistry) -> list[A.Pattern]:
    if isinstance(p, A.POp):
        return list(_op(p, ops))
    if isinstance(p, A.PList):
        return [A.PList(tuple(c), p.span) for c in itertools.product(*[_pat(i, ops) for i in p.items])]
    if isinstance(p, A.PAlt):
        return [v for alt in p.items for v in _pat(alt, ops)]
    return [p]
