"""``trt.resize`` (IResizeLayer): nearest and (bi/tri)linear resizing of the trailing 1-3 dims to a given shape."""

from __future__ import annotations

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


def resize(input: torch.Tensor, shape: Sequence[int], mode: Any,
           coordinate_transformation: Any = ResizeCoordinateTransformation.ASYMMETRIC,
           nearest_rounding: Any = ResizeRoundMode.FLOOR,
           selector_for_single_pixel: Any = ResizeSelector.FORMULA) -> Outputs:
    """Resize an ``[N, C, *spatial]`` input (1-3 spatial dims; N and C kept) to ``shape``.

    The combinations PyTorch has: NEAREST + ASYMMETRIC + FLOOR reads ``in[floor(out_i * in / out)]`` (PyTorch's
    ``nearest`` for an output size); LINEAR + HALF_PIXEL samples at ``(out_i + 0.5) * in / out - 0.5`` clamped to
    the edges (``align_corners=False``); LINEAR + ALIGN_CORNERS at ``out_i * (in - 1) / (out - 1)``. Other
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
    if kind is InterpolationMode.NEAREST:
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
    return [layer.get_output(0)]


RESIZE = Layer(
    "resize",
    (tensor_arg("input"), attr("shape", "int[]"), attr("mode", "InterpolationMode"),
     attr("coordinate_transformation", "ResizeCoordinateTransformation", ResizeCoordinateTransformation.ASYMMETRIC),
     attr("nearest_rounding", "ResizeRoundMode", ResizeRoundMode.FLOOR),
     attr("selector_for_single_pixel", "ResizeSelector", ResizeSelector.FORMULA)),
    "IResizeLayer to the static output `shape` (same rank; the dims that change are the trailing 1-3 of an "
    "[N, C, *spatial] input). NEAREST with ASYMMETRIC/FLOOR is PyTorch's `nearest`; LINEAR with HALF_PIXEL is "
    "(bi/tri)linear with align_corners=False, with ALIGN_CORNERS align_corners=True. An axis resized to one "
    "element reads its first element with selector_for_single_pixel=UPPER (FORMULA with ALIGN_CORNERS divides by "
    "zero there). Float input.",
    reference=resize, emit=emit_resize)

LAYERS = (RESIZE,)
