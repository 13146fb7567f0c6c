"""The functions guards and right sides may call, by name. Each takes an :class:`EvalContext` first (to reach the
graph behind tensor values) and then the call's arguments; each is documented because spec/LANGUAGE.md lists them.

A tensor argument is an IR :class:`~trt_passes.ir.Value` (or, on a right side, a not-yet-committed node the context
knows the type of). A builtin that cannot answer raises :class:`GuardError`, which the matcher reports as the reason
the rule did not match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from trt_passes.ir.types import FLOAT_DTYPES, TensorType


class GuardError(Exception):
    """Evaluating a guard or right-side expression failed (wrong kind of value, not a constant, ...)."""


class EvalContext(Protocol):
    """What builtins may ask about tensor values."""

    def tensor_type(self, x: Any) -> TensorType: ...

    def constant_value(self, x: Any) -> torch.Tensor | None: ...

    def use_count(self, x: Any) -> int: ...


@dataclass(frozen=True)
class Builtin:
    name: str
    fn: Callable[..., Any]
    min_args: int
    max_args: int
    doc: str


def _rank(ctx: EvalContext, x: Any) -> int:
    return ctx.tensor_type(x).rank


def _shape(ctx: EvalContext, x: Any) -> list[Any]:
    return list(ctx.tensor_type(x).shape)


def _dtype(ctx: EvalContext, x: Any) -> str:
    return ctx.tensor_type(x).dtype


def _numel(ctx: EvalContext, x: Any) -> int:
    t = ctx.tensor_type(x)
    if not t.is_static:
        raise GuardError(f"numel of {t}: symbolic dims")
    return t.numel()


def _is_const(ctx: EvalContext, x: Any) -> bool:
    return x is not None and ctx.constant_value(x) is not None


def _is_static(ctx: EvalContext, x: Any) -> bool:
    return ctx.tensor_type(x).is_static


def _one_use(ctx: EvalContext, x: Any) -> bool:
    return ctx.use_count(x) == 1


def _uses(ctx: EvalContext, x: Any) -> int:
    return ctx.use_count(x)


def _len(ctx: EvalContext, x: Any) -> int:
    if not isinstance(x, (list, tuple, str)):
        raise GuardError(f"len() of {x!r}, which is not a list")
    return len(x)


def _value(ctx: EvalContext, x: Any) -> Any:
    t = ctx.constant_value(x)
    if t is None:
        raise GuardError(f"value() of {x}, which is not a constant")
    return t.tolist()


def _normalize_dim(ctx: EvalContext, d: Any, r: Any) -> int:
    if not isinstance(d, int) or not isinstance(r, int):
        raise GuardError(f"normalize_dim({d!r}, {r!r}) wants ints")
    if not -max(r, 1) <= d < max(r, 1):
        raise GuardError(f"dim {d} out of range for rank {r}")
    return d + r if d < 0 else d


def _all_equal(ctx: EvalContext, items: Any, v: Any) -> bool:
    # nested lists are flattened so that all_equal(value(c), 0) works for constants of any rank
    if isinstance(items, (int, float)) and not isinstance(items, bool):
        items = [items]
    if not isinstance(items, (list, tuple)):
        raise GuardError(f"all_equal() of {items!r}, which is not a list")
    return all(_all_equal(ctx, i, v) if isinstance(i, (list, tuple)) else i == v for i in items)


def _is_float(ctx: EvalContext, x: Any) -> bool:
    dtype = x if isinstance(x, str) else ctx.tensor_type(x).dtype
    return dtype in FLOAT_DTYPES


def _numbers(name: str, items: tuple[Any, ...]) -> list[Any]:
    flat = list(items[0]) if len(items) == 1 and isinstance(items[0], (list, tuple)) else list(items)
    if not flat or not all(isinstance(i, (int, float)) for i in flat):
        raise GuardError(f"{name}() wants numbers, got {flat!r}")
    return flat


def _min(ctx: EvalContext, *items: Any) -> Any:
    return min(_numbers("min", items))


def _max(ctx: EvalContext, *items: Any) -> Any:
    return max(_numbers("max", items))


def _prod(ctx: EvalContext, items: Any) -> Any:
    n: Any = 1
    for i in _numbers("prod", (items,)) if items else []:
        n *= i
    return n


def _range(ctx: EvalContext, n: Any) -> list[int]:
    if not isinstance(n, int):
        raise GuardError(f"range() wants an int, got {n!r}")
    return list(range(n))


def _broadcast_strides(ctx: EvalContext, x: Any, r: Any) -> list[int]:
    """Per dim, 1 where ``x`` keeps ``r``'s size and 0 where a unit dim of ``x`` is broadcast to it (also to a
    symbolic size, which the broadcast may make 1 at run time: stride 0 then reads the one element as well)."""
    xs, rs = ctx.tensor_type(x).shape, ctx.tensor_type(r).shape
    if len(xs) != len(rs):
        raise GuardError(f"broadcast_strides of ranks {len(xs)} and {len(rs)}")
    out = []
    for a, b in zip(xs, rs):
        if a == b:
            out.append(1)
        elif a == 1:
            out.append(0)
        else:
            raise GuardError(f"dim {a} does not broadcast to {b}" + (" (a symbolic dim)" if isinstance(a, str) else ""))
    return out


BUILTINS: dict[str, Builtin] = {b.name: b for b in [
    Builtin("rank", _rank, 1, 1, "rank(x): the number of dims of tensor x"),
    Builtin("shape", _shape, 1, 1, "shape(x): the dims of tensor x as a list (symbolic dims are strings)"),
    Builtin("dtype", _dtype, 1, 1, "dtype(x): the dtype name of tensor x (`f32`, `i64`, ...)"),
    Builtin("numel", _numel, 1, 1, "numel(x): the number of elements of x (static shapes only)"),
    Builtin("is_const", _is_const, 1, 1, "is_const(x): x is produced by a `constant` node"),
    Builtin("is_static", _is_static, 1, 1, "is_static(x): every dim of x is an int"),
    Builtin("one_use", _one_use, 1, 1, "one_use(x): exactly one input slot in the graph reads x"),
    Builtin("uses", _uses, 1, 1, "uses(x): how many input slots in the graph read x (`uses(x) <= 2`)"),
    Builtin("len", _len, 1, 1, "len(l): the length of list l"),
    Builtin("value", _value, 1, 1, "value(x): a constant's tensor as a number (0-d) or nested list; constants only"),
    Builtin("normalize_dim", _normalize_dim, 2, 2, "normalize_dim(d, r): dim d of a rank-r tensor as 0..r-1"),
    Builtin("all_equal", _all_equal, 2, 2,
            "all_equal(l, v): every item of list l equals v (nested lists flattened, a number is [n]; true for [])"),
    Builtin("is_float", _is_float, 1, 1, "is_float(x): tensor x (or dtype name x) has a floating-point dtype"),
    Builtin("min", _min, 1, 8, "min(a, b, ...) or min(l): the smallest number"),
    Builtin("max", _max, 1, 8, "max(a, b, ...) or max(l): the largest number"),
    Builtin("prod", _prod, 1, 1, "prod(l): the product of a list of numbers (1 for [])"),
    Builtin("range", _range, 1, 1, "range(n): the list [0, 1, ..., n-1]"),
    Builtin("broadcast_strides", _broadcast_strides, 2, 2,
            "broadcast_strides(x, r): per dim 1 where x has r's size, 0 where x's unit dim broadcasts to it"),
]}
