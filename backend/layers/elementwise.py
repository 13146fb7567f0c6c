"""Elementwise layers: ``trt.elementwise`` (IElementWiseLayer), ``trt.select`` (ISelectLayer), ``trt.cast``
(ICastLayer) and ``trt.identity`` (IIdentityLayer).

Helper layers: TensorRT wants ``trt.elementwise`` and ``trt.select`` inputs of equal ranks, so a lower-rank input is
left-padded with 1s by a shuffle (:func:`~trt_passes.backend.layers.emission.broadcast_ranks`; numpy broadcasting,
the dialect's semantics, does exactly that).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from trt_passes.backend.enums import COMPARISONS, LOGICAL, ElementWiseOperation, as_member, to_tensorrt
from trt_passes.backend.layers.emission import LayerContext, broadcast_ranks, trt_dtype
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.semantics import Outputs, require_same_dtype
from trt_passes.ir.types import torch_dtype

# ---- elementwise -------------------------------------------------------------------------------------------------


def _div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Integer division truncates toward zero (C semantics, as TensorRT's kDIV); floats divide exactly.
    return torch.div(a, b, rounding_mode="trunc") if not a.is_floating_point() else a / b


# MAX and MIN return the other operand where one is NaN (IEEE maxNum/minNum, as CUDA's fmaxf/fminf): reported for
# TensorRT 10.16's MIN in NVIDIA/TensorRT#4758. torch.maximum/minimum propagate NaN, so converters must not rely on it.


def _floor_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Integers: the exact floor quotient. Floats: the floor of the rounded quotient, floor(fl(a / b)), TensorRT's
    "floor division of the first element by the second" (there is no remainder to correct it with). torch's
    floor division corrects through an exact fmod: 1.0 // 0.1 is 9 in torch and floor(fl(10.000000149)) = 10 here."""
    if not a.is_floating_point():
        return torch.div(a, b, rounding_mode="floor")
    return torch.floor(a / b)


def _pow(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Floats: NaN wherever the base is negative. TensorRT-RTX computes POW so (pytorch/TensorRT#4181: "a bug in
    TensorRT-RTX where pow(x,y) where x is negative returns NaN"), also for integer exponents, where torch gives the
    real power; full TensorRT may compute C's powf. Converters emit POW only where both agree with torch: a base
    that cannot be negative, or a non-integer exponent (NaN in torch too)."""
    out = torch.pow(a, b)
    if not a.is_floating_point():
        return out
    return torch.where(a < 0, torch.full_like(out, float("nan")), out)


_ELEMENTWISE: dict[ElementWiseOperation, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    ElementWiseOperation.SUM: torch.add,
    ElementWiseOperation.PROD: torch.mul,
    ElementWiseOperation.MAX: torch.fmax,
    ElementWiseOperation.MIN: torch.fmin,
    ElementWiseOperation.SUB: torch.sub,
    ElementWiseOperation.DIV: _div,
    ElementWiseOperation.POW: _pow,
    ElementWiseOperation.FLOOR_DIV: _floor_div,
    ElementWiseOperation.AND: torch.logical_and,
    ElementWiseOperation.OR: torch.logical_or,
    ElementWiseOperation.XOR: torch.logical_xor,
    ElementWiseOperation.EQUAL: torch.eq,
    ElementWiseOperation.GREATER: torch.gt,
    ElementWiseOperation.LESS: torch.lt,
}


def elementwise(a: torch.Tensor, b: torch.Tensor, op: Any) -> Outputs:
    """Numpy broadcasting over any ranks (emission left-pads the lower rank with 1s, as numpy does)."""
    kind = as_member(ElementWiseOperation, op)
    require_same_dtype("trt.elementwise", a, b)
    if kind in LOGICAL and a.dtype != torch.bool:
        raise TypeError(f"trt.elementwise {kind.name} takes bool, got {a.dtype}")
    if kind not in LOGICAL and a.dtype == torch.bool and kind is not ElementWiseOperation.EQUAL:
        raise TypeError(f"trt.elementwise {kind.name} does not take bool")
    torch.broadcast_shapes(a.shape, b.shape)  # a clear error before any arithmetic
    out = _ELEMENTWISE[kind](a, b)
    return (out if kind in COMPARISONS or kind in LOGICAL else out.to(a.dtype),)


def emit_elementwise(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    t = broadcast_ranks(c, {"a": a["a"], "b": a["b"]}, name)
    op = to_tensorrt(c.trt, as_member(ElementWiseOperation, a["op"]))
    return [c.named(c.network.add_elementwise(t["a"], t["b"], op), name).get_output(0)]


ELEMENTWISE = Layer(
    "elementwise", (tensor_arg("a"), tensor_arg("b"), attr("op", "ElementWiseOperation")),
    "IElementWiseLayer: `a op b` with numpy broadcasting over any ranks (emission left-pads the lower-rank "
    "input with 1s). Both inputs share one dtype; EQUAL/GREATER/LESS give bool; AND/OR/XOR take bool. "
    "Integer DIV truncates, FLOOR_DIV floors (floats: floor of the rounded quotient). POW of a negative float "
    "base is NaN. MAX/MIN return the other operand where one is NaN. SUM/PROD/MAX/MIN/AND/OR/XOR/EQUAL are "
    "commutative.",
    reference=elementwise, emit=emit_elementwise)

# ---- select ------------------------------------------------------------------------------------------------------


def select(condition: torch.Tensor, then_input: torch.Tensor, else_input: torch.Tensor) -> Outputs:
    if condition.dtype != torch.bool:
        raise TypeError(f"trt.select condition must be bool, got {condition.dtype}")
    require_same_dtype("trt.select", then_input, else_input)
    return (torch.where(condition, then_input, else_input),)


def emit_select(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    t = broadcast_ranks(c, {k: a[k] for k in ("condition", "then_input", "else_input")}, name)
    layer = c.network.add_select(t["condition"], t["then_input"], t["else_input"])
    return [c.named(layer, name).get_output(0)]


SELECT = Layer(
    "select", (tensor_arg("condition"), tensor_arg("then_input"), tensor_arg("else_input")),
    "ISelectLayer: where(condition, then_input, else_input); bool condition, numpy broadcasting.",
    reference=select, emit=emit_select)

# ---- cast, identity ----------------------------------------------------------------------------------------------


def cast(input: torch.Tensor, to: Any) -> Outputs:
    target = torch_dtype(to) if isinstance(to, str) else to
    if input.is_floating_point() and not target.is_floating_point and target != torch.bool:
        return (_float_to_int(input, target),)
    return (input.to(target),)


def _float_to_int(x: torch.Tensor, target: torch.dtype) -> torch.Tensor:
    """Float to integer as TensorRT casts: toward zero (the Cast operator page's example), saturating at the
    integer type's range, NaN to 0 (NVIDIA/TensorRT#4775, float32 to int32: NaN gives 0, +inf INT32_MAX; the other
    integer types are taken to saturate alike). torch leaves these undefined (x86 gives INT_MIN), so no test draws
    them through a PyTorch comparison."""
    info = torch.iinfo(target)
    t = torch.trunc(x.double())  # exact for every float dtype TensorRT has
    top = float(info.max) if float(info.max) <= info.max else math.nextafter(float(info.max), 0.0)
    out = torch.nan_to_num(t.clamp(float(info.min), top), nan=0.0).to(target)
    return torch.where(t > top, torch.full_like(out, info.max), out)  # int64's max is not a float64


def emit_cast(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    return [c.named(c.network.add_cast(a["input"].tensor, trt_dtype(c.trt, a["to"])), name).get_output(0)]


CAST = Layer(
    "cast", (tensor_arg("input"), attr("to", "dtype")),
    "ICastLayer: convert to dtype `to` (an IR dtype name such as \"f16\"); float to int truncates toward zero and "
    "saturates, NaN gives 0.",
    reference=cast, emit=emit_cast)


def identity(input: torch.Tensor) -> Outputs:
    return (input.clone(),)


def emit_identity(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    return [c.named(c.network.add_identity(a["input"].tensor), name).get_output(0)]


IDENTITY = Layer(
    "identity", (tensor_arg("input"),),
    "IIdentityLayer: a copy of the input.",
    reference=identity, emit=emit_identity)

LAYERS = (ELEMENTWISE, SELECT, CAST, IDENTITY)
