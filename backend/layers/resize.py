"""``trt.resize`` (IResizeLayer): nearest and (bi/tri)linear resizing of the trailing 1-3 dims to a given shape, cubic
resizing of the trailing 2."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from trt_passes.backend.enums import (
    InterpolationMode,
    ResizeCoordinateTransformation,
    ResizeRoundMode,
    ResizeSelector,
    as_member,
    to_tensorrt,
)
from trt_passes.backend.layers.emission import LayerContext
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.semantics import Outputs, require_floating, widen_half
from trt_passes.ir.symbolic import is_symbolic

_LINEAR_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


def source_coordinate(i: int, size_in: int, size_out: int, coords: ResizeCoordinateTransformation) -> float:
    """Where output index ``i`` of an axis resized from ``size_in`` to ``size_out`` samples the input, by TensorRT's
    documented coordinate transformations (operators reference, Resize): ALIGN_CORNERS ``i * (in - 1) / (out - 1)``,
    ASYMMETRIC ``i * in / out``, HALF_PIXEL ``(i + 0.5) * in / out - 0.5`` (not clamped)."""
    if coords is ResizeCoordinateTransformation.ALIGN_CORNERS:
        return i * (size_in - 1) / (size_out - 1)
    if coords is ResizeCoordinateTransformation.ASYMMETRIC:
        return i * size_in / size_out
    return (i + 0.5) * size_in / size_out - 0.5


def cubic_weights(t: float, a: float) -> list[float]:
    """The weights of the taps at ``floor(x) - 1 .. floor(x) + 2`` for a sample at ``floor(x) + t``: Keys' cubic
    convolution kernel with coefficient ``a`` (TensorRT's cubic_coeff; PyTorch's bicubic uses -0.75)."""
    def near(d: float) -> float:  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d: float) -> float:  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_axis(x: torch.Tensor, axis: int, size_out: int, coords: ResizeCoordinateTransformation,
                a: float) -> torch.Tensor:
    """Cubic resizing of one axis. Taps outside the input read the nearest edge element (exclude_outside off:
    ONNX's Resize, which TensorRT's layer implements, extends the input by its edge values)."""
    size_in = x.shape[axis]
    taps: list[list[int]] = [[] for _ in range(4)]
    weights: list[list[float]] = [[] for _ in range(4)]
    for i in range(size_out):
        src = source_coordinate(i, size_in, size_out, coords)
        base = math.floor(src)
        for k, w in enumerate(cubic_weights(src - base, a)):
            taps[k].append(min(max(base - 1 + k, 0), size_in - 1))
            weights[k].append(w)
    view = [1] * x.dim()
    view[axis] = size_out
    out = torch.zeros(0, dtype=x.dtype)
    for k in range(4):
        term = (x.index_select(axis, torch.tensor(taps[k], dtype=torch.int64, device=x.device))
                * torch.tensor(weights[k], dtype=x.dtype, device=x.device).reshape(view))
        out = term if k == 0 else out + term
    return out


def resize(input: torch.Tensor, shape: Sequence[int], mode: Any,
           coordinate_transformation: Any = ResizeCoordinateTransformation.ASYMMETRIC,
           nearest_rounding: Any = ResizeRoundMode.FLOOR,
           selector_for_single_pixel: Any = ResizeSelector.FORMULA, cubic_coeff: float = -0.75) -> Outputs:
    """Resize an ``[N, C, *spatial]`` input (1-3 spatial dims; N and C kept) to ``shape``.

    The combinations PyTorch has: NEAREST + ASYMMETRIC + FLOOR reads ``in[floor(out_i * in / out)]`` (PyTorch's
    ``nearest`` for an output size); LINEAR + HALF_PIXEL samples at ``(out_i + 0.5) * in / out - 0.5`` clamped to
    the edges (``align_corners=False``); LINEAR + ALIGN_CORNERS at ``out_i * (in - 1) / (out - 1)``; CUBIC (the
    last 2 dims only) with any coordinate transformation (:func:`source_coordinate`) weighs the 4 nearest taps with
    Keys' kernel of coefficient ``cubic_coeff``, a tap outside the input reading the edge element. Other
    combinations raise (no converter emits them).

    An axis resized to one element: ``UPPER`` reads its first element (NvInfer.h: "select the upper left pixel"),
    which is what PyTorch's ``align_corners=True`` does; ``FORMULA`` applies the formula, which for ALIGN_CORNERS
    divides by zero, so that combination raises."""
    kind = as_member(InterpolationMode, mode)
    coords = as_member(ResizeCoordinateTransformation, coordinate_transformation)
    rounding = as_member(ResizeRoundMode, nearest_rounding)
    selector = as_member(ResizeSelector, selector_for_single_pixel)
    require_floating("trt.resize", input)
    n = input.dim() - 2
    if len(shape) != input.dim() or n not in _LINEAR_MODES or list(shape[:2]) != list(input.shape[:2]):
        raise ValueError(f"trt.resize: shape {list(shape)} does not resize the 1-3 spatial dims of an [N, C, ...] "
                         f"input {tuple(input.shape)}")
    if any(d <= 0 for d in shape):  # no int(): a symbolic size must stay symbolic
        raise ValueError(f"trt.resize: output shape {list(shape)} must be positive")
    size = [int(d) for d in shape[2:]]
    single = [2 + i for i, d in enumerate(size) if d == 1]
    if single and selector is ResizeSelector.UPPER:
        for axis in single:  # the first element: an axis of length 1 then resizes to itself
            input = input.narrow(axis, 0, 1)
    elif single and kind is InterpolationMode.LINEAR and coords is ResizeCoordinateTransformation.ALIGN_CORNERS:
        raise ValueError("trt.resize: LINEAR with ALIGN_CORNERS to an output size of 1 divides by zero in TensorRT's "
                         "formula (out_i * (in - 1) / (out - 1)); set selector_for_single_pixel=UPPER")
    if kind is InterpolationMode.CUBIC:
        if n != 2:
            raise ValueError(f"trt.resize: CUBIC resizes the last 2 dims only, not {n} (input {tuple(input.shape)})")
        if single and coords is ResizeCoordinateTransformation.ALIGN_CORNERS and selector is not ResizeSelector.UPPER:
            raise ValueError("trt.resize: CUBIC with ALIGN_CORNERS to an output size of 1 divides by zero in "
                             "TensorRT's formula; set selector_for_single_pixel=UPPER")
        out = widen_half(input)
        for axis, target in ((2, size[0]), (3, size[1])):
            if out.shape[axis] != target or target != 1 or selector is not ResizeSelector.UPPER:
                out = _cubic_axis(out, axis, target, coords, float(cubic_coeff))
    elif kind is InterpolationMode.NEAREST:
        if coords is not ResizeCoordinateTransformation.ASYMMETRIC or rounding is not ResizeRoundMode.FLOOR:
            raise ValueError(f"trt.resize: NEAREST is defined here with ASYMMETRIC/FLOOR only, got "
                             f"{coords.name}/{rounding.name}")
        out = F.interpolate(input, size=size, mode="nearest")
    else:
        if coords is ResizeCoordinateTransformation.ASYMMETRIC:
            raise ValueError("trt.resize: LINEAR is defined here with HALF_PIXEL or ALIGN_CORNERS only")
        out = F.interpolate(widen_half(input), size=size, mode=_LINEAR_MODES[n],
                            align_corners=coords is ResizeCoordinateTransformation.ALIGN_CORNERS)
    return (out.to(input.dtype),)


def emit_resize(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    layer = c.named(c.network.add_resize(a["input"].tensor), name)
    if is_symbolic(a["shape"]):
        layer.set_input(1, c.shape_tensor(a["shape"], name))
    else:
        layer.shape = tuple(int(d) for d in a["shape"])
    layer.resize_mode = to_tensorrt(c.trt, as_member(InterpolationMode, a["mode"]))
    layer.coordinate_transformation = to_tensorrt(
        c.trt, as_member(ResizeCoordinateTransformation, a["coordinate_transformation"]))
    layer.nearest_rounding = to_tensorrt(c.trt, as_member(ResizeRoundMode, a["nearest_rounding"]))
    layer.selector_for_single_pixel = to_tensorrt(c.trt, as_member(ResizeSelector, a["selector_for_single_pixel"]))
    layer.cubic_coeff = float(a["cubic_coeff"])
    return [layer.get_output(0)]


RESIZE = Layer(
    "resize",
    (tensor_arg("input"), attr("shape", "int[]"), attr("mode", "InterpolationMode"),
     attr("coordinate_transformation", "ResizeCoordinateTransformation", ResizeCoordinateTransformation.ASYMMETRIC),
     attr("nearest_rounding", "ResizeRoundMode", ResizeRoundMode.FLOOR),
     attr("selector_for_single_pixel", "ResizeSelector", ResizeSelector.FORMULA),
     attr("cubic_coeff", "float", -0.75)),
    "IResizeLayer to the static output `shape` (same rank; the dims that change are the trailing 1-3 of an "
    "[N, C, *spatial] input). NEAREST with ASYMMETRIC/FLOOR is PyTorch's `nearest`; LINEAR with HALF_PIXEL is "
    "(bi/tri)linear with align_corners=False, with ALIGN_CORNERS align_corners=True. An axis resized to one "
    "element reads its first element with selector_for_single_pixel=UPPER (FORMULA with ALIGN_CORNERS divides by "
    "zero there). CUBIC (last 2 dims) weighs 4 taps per axis with Keys' kernel of coefficient cubic_coeff "
    "(TensorRT's default -0.75, PyTorch's bicubic), taps outside the input reading the edge. Float input.",
    reference=resize, emit=emit_resize)

LAYERS = (RESIZE,)
