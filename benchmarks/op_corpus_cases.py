"""The single-op corpus: small modules of one op each, in the variants real code uses (integer and bool inputs,
``ceil_mode``, ``divisor_override``, rank-3 inputs, broadcasting, Scalar overloads, ...), grouped by the op a user
would name. Data for :mod:`benchmarks.op_corpus`; inputs are random with a fixed seed (drawn where each op is
defined: positive for logarithms, in [-1, 1] for arcsine, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision.ops

_GEN = torch.Generator().manual_seed(0)


@dataclass(frozen=True)
class Case:
    op: str
    """The op as a user names it (the ATen packet, mostly)."""
    variant: str
    fn: Callable[..., object]
    inputs: tuple[torch.Tensor, ...]


def f(*shape: int, lo: float = -2.0, hi: float = 2.0) -> torch.Tensor:
    return torch.rand(*shape, generator=_GEN) * (hi - lo) + lo


def i(*shape: int, lo: int = -5, hi: int = 6, dtype: torch.dtype = torch.int64) -> torch.Tensor:
    return torch.randint(lo, hi, shape, generator=_GEN, dtype=dtype)


def b(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=_GEN) > 0.5


CASES: list[Case] = []


def case(op: str, variant: str, fn: Callable[..., object], *inputs: torch.Tensor) -> None:
    CASES.append(Case(op, variant, fn, tuple(inputs)))


# ---- unary math: float, and integer inputs (torch computes in float for the transcendental ones) -------------------
_UNARY: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], float, float, int, int]] = {
    "abs": (torch.abs, -3, 3, -5, 6), "neg": (torch.neg, -3, 3, -5, 6), "sign": (torch.sign, -3, 3, -5, 6),
    "exp": (torch.exp, -3, 3, -3, 4), "expm1": (torch.expm1, -3, 3, -3, 4), "log": (torch.log, 0.1, 4, 1, 9),
    "log2": (torch.log2, 0.1, 4, 1, 9), "log10": (torch.log10, 0.1, 4, 1, 9), "log1p": (torch.log1p, -0.5, 4, 0, 9),
    "sqrt": (torch.sqrt, 0.1, 4, 0, 9), "rsqrt": (torch.rsqrt, 0.1, 4, 1, 9),
    "reciprocal": (torch.reciprocal, 0.5, 4, 1, 9),
    "sin": (torch.sin, -3, 3, -5, 6), "cos": (torch.cos, -3, 3, -5, 6),
    "tan": (torch.tan, -1.2, 1.2, -1, 2), "asin": (torch.asin, -0.9, 0.9, -1, 2),
    "acos": (torch.acos, -0.9, 0.9, -1, 2),
    "atan": (torch.atan, -3, 3, -5, 6), "sinh": (torch.sinh, -3, 3, -3, 4), "cosh": (torch.cosh, -3, 3, -3, 4),
    "asinh": (torch.asinh, -3, 3, -5, 6), "acosh": (torch.acosh, 1.1, 4, 1, 6), "atanh": (torch.atanh, -0.9, 0.9, 0, 1),
    "erf": (torch.erf, -3, 3, -3, 4), "ceil": (torch.ceil, -3, 3, -5, 6), "floor": (torch.floor, -3, 3, -5, 6),
    "round": (torch.round, -3, 3, -5, 6), "trunc": (torch.trunc, -3, 3, -5, 6),
    "sigmoid": (torch.sigmoid, -3, 3, -3, 4),
    "tanh": (torch.tanh, -3, 3, -3, 4),
}
for _name, (_fn, _lo, _hi, _ilo, _ihi) in _UNARY.items():
    case(_name, "f32", _fn, f(2, 3, 4, lo=_lo, hi=_hi))
    case(_name, "i64", _fn, i(2, 3, 4, lo=_ilo, hi=_ihi))
    case(_name, "i32", _fn, i(2, 3, lo=_ilo, hi=_ihi, dtype=torch.int32))
case("clamp", "scalars f32", lambda x: torch.clamp(x, -1.0, 1.0), f(2, 3))
case("clamp", "scalars i64", lambda x: torch.clamp(x, -2, 2), i(2, 3))
case("clamp", "Tensor bounds", lambda x, lo, hi: torch.clamp(x, lo, hi), f(2, 3), f(2, 3, lo=-2, hi=-1),
     f(3, lo=1, hi=2))
case("clamp", "Tensor min only", lambda x, lo: torch.clamp(x, min=lo), f(2, 3), f(1, 3))

# ---- binary arithmetic ----------------------------------------------------------------------------------------------
case("atan2", "f32", torch.atan2, f(2, 3), f(2, 3))
case("atan2", "broadcast", torch.atan2, f(2, 3), f(3))
case("atan2", "i64", torch.atan2, i(2, 3), i(2, 3))
case("atan2", "f32, i64", torch.atan2, f(2, 3), i(2, 3))
for _name, _fn in {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}.items():
    case(_name, "f32", _fn, f(2, 3), f(2, 3))
    case(_name, "i64", _fn, i(2, 3), i(2, 3, lo=1) if _name == "div" else i(2, 3))
    case(_name, "i64, f32", _fn, i(2, 3), f(2, 3, lo=0.5))
    case(_name, "i32, i64", _fn, i(2, 3, dtype=torch.int32), i(2, 3, lo=1))
    case(_name, "f32, Scalar", lambda x, _fn=_fn: _fn(x, 3), f(2, 3))
    case(_name, "i64, Scalar float", lambda x, _fn=_fn: _fn(x, 2.5), i(2, 3))
case("div", "i64 trunc", lambda x, y: torch.div(x, y, rounding_mode="trunc"), i(2, 3), i(2, 3, lo=1))
case("div", "i64 floor", lambda x, y: torch.div(x, y, rounding_mode="floor"), i(2, 3), i(2, 3, lo=1))
case("pow", "f32 Scalar", lambda x: torch.pow(x, 2), f(2, 3))
case("pow", "i64 Scalar", lambda x: torch.pow(x, 2), i(2, 3))
case("pow", "f32 Tensor", torch.pow, f(2, 3, lo=0.5), f(2, 3))
case("pow", "i64 Tensor", torch.pow, i(2, 3), i(2, 3, lo=0, hi=3))
case("pow", "Scalar base", lambda x: torch.pow(2.0, x), f(2, 3))
for _name, _fn in {"maximum": torch.maximum, "minimum": torch.minimum, "remainder": torch.remainder,
                   "fmod": torch.fmod}.items():
    case(_name, "f32", _fn, f(2, 3), f(2, 3, lo=0.5))
    case(_name, "i64", _fn, i(2, 3), i(2, 3, lo=1))

# ---- comparisons and logic ------------------------------------------------------------------------------------------
for _name, _fn in {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt,
                   "ge": torch.ge}.items():
    case(_name, "f32", _fn, f(2, 3), f(2, 3))
    case(_name, "f32 Scalar", lambda x, _fn=_fn: _fn(x, 0.5), f(2, 3))
    case(_name, "i64 Scalar", lambda x, _fn=_fn: _fn(x, 1), i(2, 3))
    case(_name, "i64, f32", _fn, i(2, 3), f(2, 3))
    case(_name, "bool", _fn, b(2, 3), b(2, 3))
for _name, _fn in {"logical_and": torch.logical_and, "logical_or": torch.logical_or,
                   "logical_xor": torch.logical_xor}.items():
    case(_name, "bool", _fn, b(2, 3), b(2, 3))
    case(_name, "f32", _fn, f(2, 3).round(), f(2, 3).round())
    case(_name, "i64", _fn, i(2, 3, lo=-1, hi=2), i(2, 3, lo=-1, hi=2))
case("logical_not", "bool", torch.logical_not, b(2, 3))
case("logical_not", "f32", torch.logical_not, f(2, 3).round())
case("logical_not", "i64", torch.logical_not, i(2, 3, lo=-1, hi=2))
for _name, _fn in {"bitwise_and": torch.bitwise_and, "bitwise_or": torch.bitwise_or,
                   "bitwise_xor": torch.bitwise_xor}.items():
    case(_name, "bool", _fn, b(2, 3), b(2, 3))
    case(_name, "i64", _fn, i(2, 3), i(2, 3))
    case(_name, "i64 Scalar", lambda x, _fn=_fn: _fn(x, 3), i(2, 3))
    case(_name, "Scalar_Tensor", lambda x, _fn=_fn: _fn(3, x), i(2, 3))
case("bitwise_not", "bool", torch.bitwise_not, b(2, 3))
case("bitwise_not", "i64", torch.bitwise_not, i(2, 3))
case("isnan", "f32", torch.isnan, f(2, 3))
case("isnan", "i64", torch.isnan, i(2, 3))
case("isinf", "f32", torch.isinf, f(2, 3))
case("isinf", "i64", torch.isinf, i(2, 3))

# ---- reductions -----------------------------------------------------------------------------------------------------
for _name, _fn in {"all": torch.all, "any": torch.any}.items():
    case(_name, "bool", _fn, b(2, 3))
    case(_name, "bool dim", lambda x, _fn=_fn: _fn(x, 1), b(2, 3))
    case(_name, "f32", _fn, f(2, 3).round())
    case(_name, "i64 dim keepdim", lambda x, _fn=_fn: _fn(x, 0, keepdim=True), i(2, 3, lo=-1, hi=2))
for _name, _fn in {"amax": torch.amax, "amin": torch.amin}.items():
    case(_name, "dim", lambda x, _fn=_fn: _fn(x, 1), f(2, 3, 4))
    case(_name, "all dims", lambda x, _fn=_fn: _fn(x, (0, 1, 2)), f(2, 3, 4))
    case(_name, "no dims", lambda x, _fn=_fn: _fn(x), f(2, 3, 4))
    case(_name, "i64", lambda x, _fn=_fn: _fn(x, -1, keepdim=True), i(2, 3, 4))
for _name, _fn in {"max": torch.max, "min": torch.min}.items():
    case(_name, "dim", lambda x, _fn=_fn: _fn(x, 1), f(2, 3, 4))
    case(_name, "dim keepdim values", lambda x, _fn=_fn: _fn(x, -1, keepdim=True)[0], f(2, 3, 4))
    case(_name, "i64 dim", lambda x, _fn=_fn: _fn(x, 0), i(3, 4))
    case(_name, "default", lambda x, _fn=_fn: _fn(x), f(2, 3, 4))
for _name, _fn in {"argmax": torch.argmax, "argmin": torch.argmin}.items():
    case(_name, "dim", lambda x, _fn=_fn: _fn(x, 1), f(2, 3, 4))
    case(_name, "all dims", lambda x, _fn=_fn: _fn(x), f(2, 3, 4))
    case(_name, "keepdim", lambda x, _fn=_fn: _fn(x, -1, keepdim=True), f(2, 3, 4))
case("sum", "f32 dim", lambda x: torch.sum(x, 1), f(2, 3, 4))
case("sum", "f32 all", torch.sum, f(2, 3, 4))
case("sum", "i64 dim", lambda x: torch.sum(x, 1), i(2, 3, 4))
case("sum", "i64 all", torch.sum, i(2, 3, 4))
case("sum", "i32 dim", lambda x: torch.sum(x, -1), i(2, 3, dtype=torch.int32))
case("sum", "bool dim", lambda x: torch.sum(x, 0), b(2, 3))
case("sum", "f32 dtype=f64", lambda x: torch.sum(x, 1, dtype=torch.float32), f(2, 3))
case("prod", "dim", lambda x: torch.prod(x, 1), f(2, 3, 4))
case("prod", "all", torch.prod, f(2, 3))
case("prod", "i64 dim", lambda x: torch.prod(x, -1), i(2, 3))
case("mean", "dim", lambda x: torch.mean(x, (1, 2)), f(2, 3, 4))
case("mean", "all", torch.mean, f(2, 3, 4))
for _name, _fn in {"var": torch.var, "std": torch.std}.items():
    case(_name, "dim", lambda x, _fn=_fn: _fn(x, 1), f(2, 3, 4))
    case(_name, "correction 0", lambda x, _fn=_fn: _fn(x, 1, correction=0), f(2, 3, 4))
    case(_name, "all", _fn, f(2, 3, 4))
    case(_name, "keepdim", lambda x, _fn=_fn: _fn(x, -1, keepdim=True), f(2, 3, 4))
case("cumsum", "f32", lambda x: torch.cumsum(x, 1), f(2, 3))
case("cumsum", "i64", lambda x: torch.cumsum(x, 1), i(2, 3))

# ---- pooling --------------------------------------------------------------------------------------------------------
case("adaptive_avg_pool1d", "divides", lambda x: F.adaptive_avg_pool1d(x, 4), f(1, 3, 8))
case("adaptive_avg_pool1d", "does not divide", lambda x: F.adaptive_avg_pool1d(x, 3), f(1, 3, 7))
case("adaptive_avg_pool1d", "rank 2", lambda x: F.adaptive_avg_pool1d(x, 2), f(3, 8))
case("adaptive_avg_pool2d", "divides", lambda x: F.adaptive_avg_pool2d(x, 2), f(1, 3, 8, 8))
case("adaptive_avg_pool2d", "global", lambda x: F.adaptive_avg_pool2d(x, 1), f(2, 3, 5, 5))
case("adaptive_avg_pool2d", "does not divide", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), f(1, 3, 7, 5))
case("adaptive_avg_pool2d", "rank 3", lambda x: F.adaptive_avg_pool2d(x, 2), f(3, 8, 8))
case("adaptive_avg_pool3d", "divides", lambda x: F.adaptive_avg_pool3d(x, 2), f(1, 2, 4, 4, 4))
case("adaptive_avg_pool3d", "does not divide", lambda x: F.adaptive_avg_pool3d(x, 3), f(1, 2, 5, 4, 7))
case("adaptive_max_pool1d", "divides", lambda x: F.adaptive_max_pool1d(x, 4), f(1, 3, 8))
case("adaptive_max_pool1d", "does not divide", lambda x: F.adaptive_max_pool1d(x, 3), f(1, 3, 7))
case("adaptive_max_pool2d", "divides", lambda x: F.adaptive_max_pool2d(x, 2), f(1, 3, 8, 8))
case("adaptive_max_pool2d", "does not divide", lambda x: F.adaptive_max_pool2d(x, 3), f(1, 3, 7, 5))
case("adaptive_max_pool2d", "larger output", lambda x: F.adaptive_max_pool2d(x, (4, 6)), f(2, 3, 3, 5))
case("adaptive_max_pool3d", "divides", lambda x: F.adaptive_max_pool3d(x, 2), f(1, 2, 4, 4, 4))
case("adaptive_max_pool3d", "does not divide", lambda x: F.adaptive_max_pool3d(x, (3, 2, 4)), f(1, 2, 5, 4, 7))
case("adaptive_avg_pool2d", "larger output", lambda x: F.adaptive_avg_pool2d(x, (4, 6)), f(2, 3, 3, 5))
case("avg_pool1d", "basic", lambda x: F.avg_pool1d(x, 3, 2), f(1, 3, 9))
case("avg_pool1d", "ceil_mode", lambda x: F.avg_pool1d(x, 3, 2, ceil_mode=True), f(1, 3, 10))
case("avg_pool2d", "basic", lambda x: F.avg_pool2d(x, 2), f(1, 3, 8, 8))
case("avg_pool2d", "padding", lambda x: F.avg_pool2d(x, 3, 2, 1), f(1, 3, 8, 8))
case("avg_pool2d", "padding, count_include_pad=False", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
     f(1, 3, 8, 8))
case("avg_pool2d", "ceil_mode", lambda x: F.avg_pool2d(x, 3, 2, ceil_mode=True), f(1, 3, 8, 8))
case("avg_pool2d", "divisor_override", lambda x: F.avg_pool2d(x, 2, divisor_override=3), f(1, 3, 8, 8))
case("avg_pool2d", "rank 3", lambda x: F.avg_pool2d(x, 2), f(3, 8, 8))
case("avg_pool3d", "basic", lambda x: F.avg_pool3d(x, 2), f(1, 2, 4, 4, 4))
case("avg_pool3d", "ceil_mode", lambda x: F.avg_pool3d(x, 2, ceil_mode=True), f(1, 2, 5, 5, 5))
case("max_pool1d", "basic", lambda x: F.max_pool1d(x, 3, 2), f(1, 3, 9))
case("max_pool1d", "ceil_mode", lambda x: F.max_pool1d(x, 3, 2, ceil_mode=True), f(1, 3, 10))
case("max_pool2d", "basic", lambda x: F.max_pool2d(x, 2), f(1, 3, 8, 8))
case("max_pool2d", "padding", lambda x: F.max_pool2d(x, 3, 2, 1), f(1, 3, 8, 8))
case("max_pool2d", "ceil_mode", lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True), f(1, 3, 8, 8))
case("max_pool2d", "ceil_mode, padding", lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), f(1, 3, 10, 10))
case("max_pool2d", "dilation", lambda x: F.max_pool2d(x, 3, 1, dilation=2), f(1, 3, 9, 9))
case("max_pool2d", "dilation, stride, padding",
     lambda x: F.max_pool2d(x, 3, 2, padding=1, dilation=(2, 3)), f(1, 3, 11, 12))
case("max_pool2d", "dilation, ceil_mode",
     lambda x: F.max_pool2d(x, 2, 2, padding=1, dilation=2, ceil_mode=True), f(2, 3, 8, 9))
case("max_pool2d", "rank 3", lambda x: F.max_pool2d(x, 2), f(3, 8, 8))
case("max_pool2d", "stride 1", lambda x: F.max_pool2d(x, 3, 1), f(1, 2, 6, 6))
case("max_pool3d", "basic", lambda x: F.max_pool3d(x, 2), f(1, 2, 4, 4, 4))
case("max_pool3d", "ceil_mode", lambda x: F.max_pool3d(x, 2, ceil_mode=True), f(1, 2, 5, 5, 5))
case("max_pool3d", "dilation, ceil_mode",
     lambda x: F.max_pool3d(x, 2, 2, padding=1, dilation=2, ceil_mode=True), f(1, 2, 6, 7, 5))
case("max_pool3d", "dilation", lambda x: F.max_pool3d(x, 2, 1, dilation=2), f(1, 2, 5, 5, 5))

# ---- interpolation --------------------------------------------------------------------------------------------------
case("upsample_nearest1d", "scale", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), f(1, 2, 5))
case("upsample_nearest2d", "scale", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), f(1, 2, 4, 5))
case("upsample_nearest2d", "size", lambda x: F.interpolate(x, size=(7, 3), mode="nearest"), f(1, 2, 4, 5))
case("upsample_nearest3d", "scale", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), f(1, 2, 3, 3, 3))
case("upsample_linear1d", "size", lambda x: F.interpolate(x, size=9, mode="linear"), f(1, 2, 5))
case("upsample_linear1d", "align_corners", lambda x: F.interpolate(x, size=9, mode="linear", align_corners=True),
     f(1, 2, 5))
case("upsample_bilinear2d", "scale", lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), f(1, 2, 4, 5))
case("upsample_bilinear2d", "size, align_corners",
     lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True), f(1, 2, 4, 5))
case("upsample_bilinear2d", "downscale", lambda x: F.interpolate(x, size=(3, 2), mode="bilinear"), f(1, 2, 6, 5))
case("upsample_bicubic2d", "size", lambda x: F.interpolate(x, size=(7, 9), mode="bicubic"), f(1, 2, 4, 5))
case("upsample_trilinear3d", "scale", lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"), f(1, 2, 3, 3, 3))
case("upsample_nearest1d", "size", lambda x: F.interpolate(x, size=7, mode="nearest"), f(1, 2, 5))
case("upsample_nearest2d", "scale 1.5", lambda x: F.interpolate(x, scale_factor=1.5, mode="nearest"), f(1, 2, 4, 6))
case("upsample_nearest3d", "size", lambda x: F.interpolate(x, size=(4, 5, 2), mode="nearest"), f(1, 2, 3, 3, 3))
case("upsample_linear1d", "scale 1.5", lambda x: F.interpolate(x, scale_factor=1.5, mode="linear"), f(1, 2, 4))
case("upsample_bicubic2d", "scale", lambda x: F.interpolate(x, scale_factor=2, mode="bicubic"), f(1, 2, 4, 5))
case("upsample_bicubic2d", "size, align_corners",
     lambda x: F.interpolate(x, size=(7, 9), mode="bicubic", align_corners=True), f(1, 2, 4, 5))
case("upsample_bicubic2d", "downscale", lambda x: F.interpolate(x, size=(3, 2), mode="bicubic"), f(1, 2, 6, 5))
case("upsample_trilinear3d", "size, align_corners",
     lambda x: F.interpolate(x, size=(4, 5, 2), mode="trilinear", align_corners=True), f(1, 2, 3, 3, 3))
case("upsample_trilinear3d", "size", lambda x: F.interpolate(x, size=(4, 5, 2), mode="trilinear"), f(1, 2, 3, 3, 3))
case("grid_sampler_2d", "bilinear", lambda x, g: F.grid_sample(x, g, align_corners=False), f(1, 2, 5, 5),
     f(1, 4, 4, 2, lo=-1, hi=1))
case("grid_sampler_2d", "bilinear, border, align_corners",
     lambda x, g: F.grid_sample(x, g, padding_mode="border", align_corners=True), f(1, 2, 5, 5),
     f(1, 4, 4, 2, lo=-1.5, hi=1.5))
case("grid_sampler_2d", "bilinear, reflection", lambda x, g: F.grid_sample(x, g, padding_mode="reflection",
     align_corners=False), f(2, 2, 5, 6), f(2, 3, 4, 2, lo=-1.5, hi=1.5))
case("grid_sampler_2d", "nearest", lambda x, g: F.grid_sample(x, g, mode="nearest", align_corners=True),
     f(1, 2, 5, 5), f(1, 4, 4, 2, lo=-1, hi=1))

# ---- padding and repetition -----------------------------------------------------------------------------------------
case("constant_pad_nd", "2d", lambda x: F.pad(x, (1, 2, 0, 1)), f(1, 2, 4, 5))
case("constant_pad_nd", "value", lambda x: F.pad(x, (1, 1), value=3.5), f(2, 3))
case("constant_pad_nd", "negative", lambda x: F.pad(x, (-1, 2)), f(2, 5))
case("constant_pad_nd", "i64", lambda x: F.pad(x, (1, 1, 1, 1), value=7), i(2, 3))
case("constant_pad_nd", "3 dims", lambda x: F.pad(x, (1, 0, 0, 1, 2, 0)), f(2, 3, 4))
for _mode in ("reflect", "replicate", "circular"):
    case(f"pad {_mode}", "1d", lambda x, _m=_mode: F.pad(x, (2, 1), mode=_m), f(1, 2, 6))
    case(f"pad {_mode}", "2d", lambda x, _m=_mode: F.pad(x, (1, 2, 2, 1), mode=_m), f(1, 2, 5, 6))
    case(f"pad {_mode}", "3d", lambda x, _m=_mode: F.pad(x, (1, 1, 0, 1, 1, 0), mode=_m), f(1, 2, 3, 4, 5))
case("pad circular", "2d, negative", lambda x: F.pad(x, (-1, 2, 1, -2), mode="circular"), f(1, 2, 5, 6))
case("pad circular", "1d, whole dim, i64", lambda x: F.pad(x, (4, 0), mode="circular"), i(2, 3, 4))
case("repeat", "2d", lambda x: x.repeat(2, 3), f(2, 3))
case("repeat", "more dims", lambda x: x.repeat(2, 1, 2), f(2, 3))
case("repeat", "i64", lambda x: x.repeat(1, 2), i(2, 3))
case("tile", "2d", lambda x: torch.tile(x, (2, 2)), f(2, 3))
case("tile", "fewer dims", lambda x: torch.tile(x, (3,)), f(2, 3))
case("flip", "one dim", lambda x: torch.flip(x, (1,)), f(2, 3, 4))
case("flip", "two dims", lambda x: torch.flip(x, (0, -1)), f(2, 3, 4))
case("flip", "i64", lambda x: torch.flip(x, (0,)), i(3, 2))
case("roll", "one dim", lambda x: torch.roll(x, 1, 1), f(2, 5))

# ---- normalisation --------------------------------------------------------------------------------------------------
case("layer_norm", "affine", lambda x, w, bb: F.layer_norm(x, (4,), w, bb), f(2, 3, 4), f(4), f(4))
case("layer_norm", "no weight or bias", lambda x: F.layer_norm(x, (4,)), f(2, 3, 4))
case("layer_norm", "weight only", lambda x, w: F.layer_norm(x, (3, 4), w), f(2, 3, 4), f(3, 4))
case("group_norm", "affine", lambda x, w, bb: F.group_norm(x, 2, w, bb), f(2, 4, 3, 3), f(4), f(4))
case("group_norm", "no affine", lambda x: F.group_norm(x, 2), f(2, 4, 3, 3))
case("group_norm", "rank 3", lambda x: F.group_norm(x, 1), f(2, 4, 5))
case("batch_norm", "eval, unfolded", lambda x, m, v, w, bb: F.batch_norm(x, m, v.abs() + 0.1, w, bb),
     f(2, 3, 4, 4), f(3), f(3), f(3), f(3))
case("batch_norm", "rank 2", lambda x, m, v: F.batch_norm(x, m, v.abs() + 0.1), f(2, 3), f(3), f(3))
case("instance_norm", "no affine", lambda x: F.instance_norm(x), f(2, 3, 4, 4))
case("rms_norm", "weight", lambda x, w: F.rms_norm(x, (4,), w), f(2, 3, 4), f(4))
case("normalize", "l2", lambda x: F.normalize(x, dim=-1), f(2, 3, 4))

# ---- indexing -------------------------------------------------------------------------------------------------------
_IDX = torch.tensor([2, 0, 1])
case("index.Tensor", "rank 3 data", lambda x: x[_IDX], f(4, 3, 2))
case("index.Tensor", "second dim", lambda x: x[:, _IDX], f(2, 4, 3))
case("index.Tensor", "two index tensors", lambda x: x[_IDX, _IDX], f(4, 4, 2))
case("index.Tensor", "bool mask", lambda x, m: x[m], f(2, 3), b(2, 3))
case("index.Tensor", "None and index", lambda x: x[None, _IDX], f(4, 3))
case("index.Tensor", "index input", lambda x, j: x[j], f(5, 3), i(4, lo=0, hi=5))
case("index.Tensor", "negative index input", lambda x, j: x[j], f(5, 3), i(4, lo=-5, hi=5))
case("index.Tensor", "two index inputs, broadcast", lambda x, j, k: x[j, k], f(4, 5, 2), i(3, 1, lo=-4, hi=4),
     i(1, 2, lo=-5, hi=5))
case("index.Tensor", "two index tensors after a slice", lambda x: x[:, _IDX, -_IDX], f(2, 3, 4))
case("index.Tensor", "two index tensors around a slice", lambda x, j: x[j, :, _IDX], f(4, 2, 3), i(3, lo=-4, hi=4))
case("index.Tensor", "three index tensors", lambda x, j: x[j, _IDX, j], f(3, 4, 5, 2), i(3, lo=0, hi=3))
case("index.Tensor", "rank 2, i32 indices", lambda x, j, k: x[j, k], f(4, 5), i(2, 3, lo=-4, hi=4, dtype=torch.int32),
     i(3, lo=0, hi=5, dtype=torch.int32))
case("index_select", "dim 1", lambda x: torch.index_select(x, 1, _IDX), f(2, 4, 3))
case("gather", "dim 1", lambda x, j: torch.gather(x, 1, j), f(2, 4), i(2, 3, lo=0, hi=4))
case("index_put", "overwrite", lambda x, v: x.index_put((_IDX,), v), f(4, 3), f(3, 3))
case("index_put", "accumulate", lambda x, v: x.index_put((torch.tensor([1, 1, 0]),), v, accumulate=True),
     f(4, 3), f(3, 3))
case("index_add", "dim 0", lambda x, v: x.index_add(0, torch.tensor([1, 1, 0]), v), f(4, 3), f(3, 3))
case("index_add", "dim 1, index input", lambda x, j, v: x.index_add(1, j, v), f(2, 4, 3), i(6, lo=0, hi=4),
     f(2, 6, 3))
case("index_add", "alpha, i64", lambda x, j, v: x.index_add(0, j, v, alpha=3), i(4, 3), i(5, lo=0, hi=4), i(5, 3))
case("index_add", "i32 index, i32 values", lambda x, j, v: x.index_add(-1, j, v), i(3, 4, dtype=torch.int32),
     i(6, lo=0, hi=4, dtype=torch.int32), i(3, 6, dtype=torch.int32))
case("index_put", "accumulate, index input", lambda x, j, v: x.index_put((j,), v, accumulate=True), f(5, 3),
     i(7, lo=-5, hi=5), f(7, 3))
case("index_put", "accumulate, broadcast value", lambda x, j, v: x.index_put((j,), v, accumulate=True), f(5, 3),
     i(2, 3, lo=-5, hi=5), f(3))
case("index_put", "accumulate, two indices", lambda x, j, k, v: x.index_put((j, k), v, accumulate=True), f(3, 4, 2),
     i(6, lo=-3, hi=3), i(6, lo=-4, hi=4), f(6, 2))
case("index_put", "accumulate, three indices, i64", lambda x, j, k, h, v: x.index_put((j, k, h), v, accumulate=True),
     i(2, 3, 4), i(5, lo=0, hi=2), i(5, lo=-3, hi=3), i(5, lo=0, hi=4), i(5))
case("index_put", "accumulate, bool mask", lambda x, m, v: x.index_put((m,), v, accumulate=True), f(2, 3), b(2, 3),
     f(1))
case("masked_fill", "Scalar", lambda x, m: x.masked_fill(m, -1.0), f(2, 3), b(2, 3))
case("masked_scatter", "basic", lambda x, m, v: x.masked_scatter(m, v), f(2, 3), b(2, 3), f(6))
case("masked_scatter", "broadcast mask", lambda x, m, v: x.masked_scatter(m, v), f(2, 3, 4), b(3, 1), f(30))
case("masked_scatter", "i64, embeddings into tokens", lambda x, m, v: x.masked_scatter(m.unsqueeze(-1).expand_as(x), v),
     i(2, 5, 3), b(2, 5), i(10, 3))
case("scatter", "src", lambda x, j, v: x.scatter(1, j, v), f(2, 4), torch.tensor([[0, 2], [3, 1]]), f(2, 2))
case("scatter_add", "dim 1", lambda x, j, v: x.scatter_add(1, j, v), f(2, 4), torch.tensor([[0, 0], [3, 1]]), f(2, 2))
case("scatter_reduce", "sum", lambda x, j, v: x.scatter_reduce(1, j, v, "sum"), f(2, 4), torch.tensor([[0, 0], [3, 1]]),
     f(2, 2))
case("scatter_reduce", "amax", lambda x, j, v: x.scatter_reduce(1, j, v, "amax"), f(2, 4),
     torch.tensor([[0, 0], [3, 1]]), f(2, 2))
case("scatter_add", "dim 0, rows of edges", lambda x, j, v: x.scatter_add(0, j.unsqueeze(1).expand(-1, 3), v),
     f(4, 3), i(6, lo=0, hi=4), f(6, 3))
case("scatter_add", "i64", lambda x, j, v: x.scatter_add(1, j, v), i(2, 4), i(2, 5, lo=0, hi=4), i(2, 5))
case("scatter_add", "i32", lambda x, j, v: x.scatter_add(1, j, v), i(2, 4, dtype=torch.int32), i(2, 5, lo=0, hi=4),
     i(2, 5, dtype=torch.int32))
case("scatter_add", "rank 3, dim -1", lambda x, j, v: x.scatter_add(-1, j, v), f(2, 3, 4), i(2, 3, 6, lo=0, hi=4),
     f(2, 3, 6))
for _red in ("sum", "prod", "mean", "amax", "amin"):
    case("scatter_reduce", f"{_red}, include_self=False",
         lambda x, j, v, _red=_red: x.scatter_reduce(1, j, v, _red, include_self=False), f(2, 5),
         torch.tensor([[0, 0, 3], [3, 1, 3]]), f(2, 3))
case("scatter_reduce", "prod", lambda x, j, v: x.scatter_reduce(0, j, v, "prod"), f(3, 2), i(4, 2, lo=0, hi=3),
     f(4, 2))
case("scatter_reduce", "mean", lambda x, j, v: x.scatter_reduce(0, j, v, "mean"), f(3, 2), i(4, 2, lo=0, hi=3),
     f(4, 2))
case("scatter_reduce", "amin", lambda x, j, v: x.scatter_reduce(0, j, v, "amin"), f(3, 2), i(4, 2, lo=0, hi=3),
     f(4, 2))
case("scatter_reduce", "mean i64", lambda x, j, v: x.scatter_reduce(1, j, v, "mean", include_self=False), i(2, 4),
     i(2, 5, lo=0, hi=4), i(2, 5))
case("scatter_reduce", "amax i32", lambda x, j, v: x.scatter_reduce(1, j, v, "amax"), i(2, 4, dtype=torch.int32),
     i(2, 5, lo=0, hi=4), i(2, 5, dtype=torch.int32))
case("embedding", "basic", lambda w, j: F.embedding(j, w), f(10, 4), i(2, 3, lo=0, hi=10))
case("embedding_bag", "mean", lambda w, j: F.embedding_bag(j, w, torch.tensor([0, 2]), mode="mean"), f(10, 4),
     i(5, lo=0, hi=10))
case("embedding_bag", "sum, 2-d indices", lambda w, j: F.embedding_bag(j, w, mode="sum"), f(10, 4),
     i(3, 4, lo=0, hi=10))
case("embedding_bag", "max, offsets input, empty bag", lambda w, j, o: F.embedding_bag(j, w, o, mode="max"), f(10, 4),
     i(6, lo=0, hi=10), torch.tensor([0, 2, 2, 5]))
case("embedding_bag", "mean, include_last_offset, padding_idx",
     lambda w, j: F.embedding_bag(j, w, torch.tensor([0, 3, 6]), mode="mean", include_last_offset=True,
                                  padding_idx=2), f(10, 4), torch.tensor([2, 1, 2, 4, 2, 7]))
case("embedding_bag", "sum, per_sample_weights",
     lambda w, j, p: F.embedding_bag(j, w, torch.tensor([0, 2]), mode="sum", per_sample_weights=p), f(10, 4),
     i(5, lo=0, hi=10), f(5))
case("embedding_bag", "include_last_offset, offsets input",
     lambda w, j, o: F.embedding_bag(j, w, o, mode="sum", include_last_offset=True), f(10, 4), i(6, lo=0, hi=10),
     torch.tensor([0, 2, 6]))
case("embedding_bag", "EmbeddingBag module", torch.nn.EmbeddingBag(10, 4, mode="sum").eval(), i(7, lo=0, hi=10),
     torch.tensor([0, 3, 4]))
case("where", "self", torch.where, b(2, 3), f(2, 3), f(2, 3))
case("where", "broadcast", torch.where, b(2, 1), f(1, 3), f(2, 3))
case("where", "Scalar other", lambda c, x: torch.where(c, x, 0.0), b(2, 3), f(2, 3))
case("where", "i64", torch.where, b(2, 3), i(2, 3), i(2, 3))

# ---- shape and linear algebra ---------------------------------------------------------------------------------------
case("permute", "positive", lambda x: x.permute(2, 0, 1), f(2, 3, 4))
case("permute", "negative dims", lambda x: x.permute(-1, -3, -2), f(2, 3, 4))
case("cat", "f32", lambda x, y: torch.cat([x, y], 1), f(2, 3), f(2, 2))
case("cat", "mixed dtypes", lambda x, y: torch.cat([x, y], 0), f(2, 3), i(1, 3))
case("cat", "negative dim", lambda x, y: torch.cat([x, y], -1), f(2, 3), f(2, 1))
case("as_strided", "basic", lambda x: torch.as_strided(x, (2, 2), (1, 2)), f(3, 4))
case("diagonal", "default", torch.diagonal, f(3, 4))
case("diagonal", "offset", lambda x: torch.diagonal(x, 1, 1, 2), f(2, 4, 4))
case("chunk", "divides", lambda x: torch.chunk(x, 2, 1)[1], f(2, 4))
case("chunk", "does not divide", lambda x: torch.chunk(x, 3, 1), f(2, 5))
case("split", "sizes", lambda x: torch.split(x, [1, 3], 1), f(2, 4))
case("split", "size", lambda x: torch.split(x, 2, 0), f(5, 2))
case("slice_scatter", "dim 1", lambda x, v: torch.slice_scatter(x, v, 1, 1, 3), f(2, 4), f(2, 2))
case("slice_scatter", "step", lambda x, v: torch.slice_scatter(x, v, 0, 0, 4, 2), f(4, 3), f(2, 3))
case("slice_scatter", "step, last dim, negative start", lambda x, v: torch.slice_scatter(x, v, -1, -5, None, 2),
     f(2, 3, 6), f(2, 3, 3))
case("slice_scatter", "step, no start, i64", lambda x, v: torch.slice_scatter(x, v, 1, None, 5, 3), i(2, 7), i(2, 2))
case("new_zeros", "basic", lambda x: x.new_zeros((2, 3)) + 1, f(2, 3))
case("copy", "clone", lambda x: x.clone() * 2, f(2, 3))
case("matmul", "1d @ 2d", torch.matmul, f(3), f(3, 4))
case("matmul", "2d @ 1d", torch.matmul, f(2, 3), f(3))
case("matmul", "1d @ 1d", torch.matmul, f(3), f(3))
case("matmul", "3d @ 2d", torch.matmul, f(2, 3, 4), f(4, 5))
case("matmul", "broadcast batch", torch.matmul, f(2, 1, 3, 4), f(3, 4, 2))
case("addmm", "scaled", lambda c, a, m: torch.addmm(c, a, m, beta=0.5, alpha=2.0), f(2, 4), f(2, 3), f(3, 4))
case("baddbmm", "basic", torch.baddbmm, f(2, 3, 4), f(2, 3, 5), f(2, 5, 4))
case("cdist", "p=2", torch.cdist, f(1, 4, 3), f(1, 5, 3))
case("cdist", "p=1", lambda a, c: torch.cdist(a, c, p=1.0), f(2, 4, 3), f(2, 5, 3))
case("cdist", "p=inf", lambda a, c: torch.cdist(a, c, p=float("inf")), f(4, 3), f(5, 3))
case("cdist", "p=3", lambda a, c: torch.cdist(a, c, p=3.0), f(4, 3), f(5, 3))
case("cdist", "p=2, 30 rows (eager: matrix product)", torch.cdist, f(30, 8), f(28, 8))
case("cdist", "p=2, donot_use_mm", lambda a, c: torch.cdist(a, c, compute_mode="donot_use_mm_for_euclid_dist"),
     f(30, 4), f(27, 4))
case("pdist", "p=2", F.pdist, f(4, 3))
case("pdist", "p=1", lambda x: F.pdist(x, 1.0), f(5, 3))
case("pdist", "p=3", lambda x: F.pdist(x, 3.0), f(6, 2))
case("dropout", "eval", lambda x: F.dropout(x, 0.5, training=False), f(2, 3))
_W = f(3, 2, 3, 3)
case("conv_transpose2d", "basic", lambda x: F.conv_transpose2d(x, _W), f(1, 3, 5, 5))
case("conv_transpose2d", "stride and dilation", lambda x: F.conv_transpose2d(x, _W, stride=2, dilation=2),
     f(1, 3, 5, 5))
case("conv_transpose2d", "stride and dilation in other dims, output padding",
     lambda x: F.conv_transpose2d(x, _W, stride=(2, 1), dilation=(1, 2), padding=1, output_padding=(1, 0)),
     f(1, 3, 5, 5))
_W1, _W3, _B = f(2, 3, 3), f(2, 2, 2, 2, 2), f(3)
case("conv_transpose2d", "stride, dilation, groups, bias",
     lambda x: F.conv_transpose2d(x, _W[:, :1], _B, stride=3, dilation=2, groups=3), f(2, 3, 4, 4))
case("conv_transpose1d", "stride and dilation", lambda x: F.conv_transpose1d(x, _W1, stride=2, dilation=3, padding=2),
     f(1, 2, 6))
case("conv_transpose3d", "stride and dilation", lambda x: F.conv_transpose3d(x, _W3, stride=2, dilation=2),
     f(1, 2, 3, 3, 3))
case("conv_transpose2d", "output padding past the padding, bias",
     lambda x: F.conv_transpose2d(x, _W, _B[:2], stride=2, padding=(0, 1), output_padding=1), f(1, 3, 5, 5))
case("float64", "linear", lambda x, w: F.linear(x, w).relu(), f(2, 3).double(), f(4, 3).double())


# ---- ops other libraries register with torch: they stay in PyTorch, between TensorRT segments, on purpose ----------
@torch.library.custom_op("trt_passes_corpus::scale", mutates_args=())
def _corpus_scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    return x * factor


@_corpus_scale.register_fake
def _corpus_scale_fake(x: torch.Tensor, factor: float) -> torch.Tensor:
    return torch.empty_like(x)


_BOXES = torch.tensor([[0.0, 1.0, 1.0, 9.0, 7.0], [0.0, 0.5, 2.0, 5.0, 11.0], [1.0, 3.0, 0.0, 12.0, 12.0]])
case("custom op", "torch.library", lambda x: _corpus_scale(x.relu(), 1.5) * 2, f(2, 3))
case("roi_align", "torchvision", lambda x, r: torchvision.ops.roi_align(x.relu(), r, (2, 3), 0.5, 2) * 2,
     f(2, 3, 8, 8), _BOXES)
case("nms", "torchvision", lambda r, s: torchvision.ops.nms(r * 2, s, 0.3), _BOXES[:, 1:], f(3, lo=0.0, hi=1.0))
