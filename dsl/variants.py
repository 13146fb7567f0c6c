"""Expanding a bound pattern (:mod:`trt_passes.dsl.normal_form`, before its positions are placed) into the plain
patterns it stands for, tried in order: as written first, then with the arguments of commutative ops swapped
(:mod:`trt_passes.dsl.commutative`) and each choice of alternatives ``p | q``. Both matchers (interpreter and
compiled) and the analyses work on these variants, so none of them needs to know about commutativity or
alternatives; a failed match reports the failure of the first variant (the pattern as written, first alternatives)."""

from __future__ import annotations

import dataclasses
import itertools

from trt_passes.dsl import ast as A
from trt_passes.dsl.commutative import COMMUTATIVE, Commutes
from trt_passes.dsl.normal_form import MAlt, MDefault, MList, MLiteral, MOp, MPattern

#: Beyond this many variants a rule is matched with the first MAX_VARIANTS only.
MAX_VARIANTS = 16


def expand(p: MOp) -> list[MOp]:
    """Every variant of ``p`` (the caller keeps the first :data:`MAX_VARIANTS`)."""
    return _op(p)


def _op(p: MOp) -> list[MOp]:
    options = [_pat(a) for a in p.args]
    written = []
    # one combination per choice in each written argument, varying the last written argument fastest
    for combo in itertools.product(*[options[i] for i in p.order]):
        args = list(p.args)
        for i, choice in zip(p.order, combo):
            args[i] = choice
        written.append(dataclasses.replace(p, args=tuple(args)))
    comm = COMMUTATIVE.get(p.op)
    if comm is None:
        return written
    out = list(written)
    for w in written:
        swapped = _swap(w, comm)
        if swapped is not None and swapped not in out:
            out.append(swapped)
    return out


def _swap(p: MOp, comm: Commutes) -> MOp | None:
    names = [a.spec.name for a in p.args]
    if comm.left not in names or comm.right not in names:
        return None
    i, j = names.index(comm.left), names.index(comm.right)
    lhs, rhs = p.args[i], p.args[j]
    if isinstance(lhs, MDefault) or isinstance(rhs, MDefault):
        return None  # both operands must be written
    for name in comm.when:  # the swap is only valid while these arguments keep their defaults
        a = p.args[names.index(name)] if name in names else None
        if a is not None and not isinstance(a, MDefault) and not (
                isinstance(a, MLiteral) and isinstance(a.written, A.Literal) and a.written.value == a.spec.default
                and type(a.written.value) is type(a.spec.default)):
            return None
    if lhs == rhs:
        return None  # swapping equal patterns matches nothing new
    args = list(p.args)
    args[i] = dataclasses.replace(rhs, spec=lhs.spec)  # a position keeps its own schema argument
    args[j] = dataclasses.replace(lhs, spec=rhs.spec)
    return dataclasses.replace(p, args=tuple(args))


def _pat(p: MPattern) -> list[MPattern]:
    if isinstance(p, MOp):
        return list(_op(p))
    if isinstance(p, MList):
        return [dataclasses.replace(p, items=tuple(c)) for c in itertools.product(*[_pat(i) for i in p.items])]
    if isinstance(p, MAlt):
        return [v for alt in p.items for v in _pat(alt)]
    return [p]
