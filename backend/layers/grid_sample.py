"""``trt.grid_sample`` (IGridSampleLayer): sampling an ``[N, C, H, W]`` input at the normalised positions of an
``[N, H_out, W_out, 2]`` grid.

Semantics from TensorRT's operators reference (GridSample), which follows ONNX's GridSample: a grid value g in
[-1, 1] along an axis of size n is the input coordinate ``(g + 1) / 2 * (n - 1)`` with align_corners, else
``((g + 1) * n - 1) / 2``; out-of-bound positions read 0 (FILL), the nearest border value (CLAMP: the coordinate
clipped to [0, n - 1]) or the input reflected at its borders (REFLECT: at the border pixels' centres with
align_corners, else at their outer edges, then clipped). LINEAR weighs the 4 neighbours bilinearly, each tap outside
the input reading 0; NEAREST reads the nearest pixel (ties to even, as ONNX's reference; TensorRT does not document
ties, so no converter emits NEAREST).
"""

from __future__ import annotations

from typing import Any

import torch

from trt_passes.backend.enums import InterpolationMode, SampleMode, as_member, to_tensorrt
from trt_passes.backend.layers.emission import LayerContext
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.semantics import Outputs, require_floating, widen_half


def _reflect(x: torch.Tensor, twice_low: int, twice_high: int) -> torch.Tensor:
    """``x`` reflected into ``[twice_low / 2, twice_high / 2]`` as often as it takes."""
    if twice_low == twice_high:
        return torch.zeros_like(x)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    d = (x - low).abs()
    flips = torch.floor(d / span)
    extra = d - flips * span
    return torch.where(torch.remainder(flips, 2) == 0, extra + low, span - extra + low)


def _coordinate(g: torch.Tensor, size: int, align_corners: bool, mode: SampleMode) -> torch.Tensor:
    x = (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2
    if mode is SampleMode.REFLECT:
        x = _reflect(x, 0, 2 * (size - 1)) if align_corners else _reflect(x, -1, 2 * size - 1)
    if mode is not SampleMode.FILL:
        x = x.clamp(0, size - 1)
    return x


def _taps(flat: torch.Tensor, yi: torch.Tensor, xi: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``input[n, :, yi, xi]`` for integer coordinates ``[N, Ho, Wo]``; 0 where they fall outside the input."""
    inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
    index = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).to(torch.int64).flatten(1)
    n, c = flat.shape[:2]
    values = flat.gather(2, index.unsqueeze(1).expand(n, c, index.shape[1])).reshape(n, c, *yi.shape[1:])
    return torch.where(inside.unsqueeze(1), values, torch.zeros((), dtype=flat.dtype, device=flat.device))


def grid_sample(input: torch.Tensor, grid: torch.Tensor, interpolation_mode: Any = InterpolationMode.LINEAR,
                align_corners: bool = False, sample_mode: Any = SampleMode.FILL) -> Outputs:
    """Sample ``input`` ``[N, C, H, W]`` at ``grid`` ``[N, H_out, W_out, 2]`` (x, the W coordinate, first)."""
    kind = as_member(InterpolationMode, interpolation_mode)
    mode = as_member(SampleMode, sample_mode)
    require_floating("trt.grid_sample", input)
    if input.dim() != 4 or grid.dim() != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise ValueError(f"trt.grid_sample: input {tuple(input.shape)} must be [N, C, H, W] and grid "
                         f"{tuple(grid.shape)} [N, H_out, W_out, 2]")
    if grid.dtype != input.dtype:
        raise TypeError(f"trt.grid_sample: grid dtype {grid.dtype} differs from input dtype {input.dtype}")
    if kind is InterpolationMode.CUBIC:
        raise ValueError("trt.grid_sample: CUBIC is not defined here (no converter emits it)")
    h, w = int(input.shape[2]), int(input.shape[3])
    x_in, g = widen_half(input), widen_half(grid)
    flat = x_in.flatten(2)
    x = _coordinate(g[..., 0], w, bool(align_corners), mode)
    y = _coordinate(g[..., 1], h, bool(align_corners), mode)
    if kind is InterpolationMode.NEAREST:
        out = _taps(flat, torch.round(y), torch.round(x), h, w)  # torch.round: ties to even
    else:
        x0, y0 = torch.floor(x), torch.floor(y)
        wx, wy = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
        out = ((_taps(flat, y0, x0, h, w) * (1 - wx) + _taps(flat, y0, x0 + 1, h, w) * wx) * (1 - wy)
               + (_taps(flat, y0 + 1, x0, h, w) * (1 - wx) + _taps(flat, y0 + 1, x0 + 1, h, w) * wx) * wy)
    return (out.to(input.dtype),)


def emit_grid_sample(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    layer = c.named(c.network.add_grid_sample(a["input"].tensor, a["grid"].tensor), name)
    layer.interpolation_mode = to_tensorrt(c.trt, as_member(InterpolationMode, a["interpolation_mode"]))
    layer.align_corners = bool(a["align_corners"])
    layer.sample_mode = to_tensorrt(c.trt, as_member(SampleMode, a["sample_mode"]))
    return [layer.get_output(0)]


GRID_SAMPLE = Layer(
    "grid_sample",
    (tensor_arg("input"), tensor_arg("grid"), attr("interpolation_mode", "InterpolationMode", InterpolationMode.LINEAR),
     attr("align_corners", "bool", False), attr("sample_mode", "SampleMode", SampleMode.FILL)),
    "IGridSampleLayer: [N, C, H, W] input sampled at an [N, H_out, W_out, 2] grid of normalised (x, y) positions "
    "(-1 and 1 the border pixels' centres with align_corners, else their outer edges); out-of-bound positions read "
    "0 (FILL), the border (CLAMP) or the reflected input (REFLECT); LINEAR is bilinear with taps outside the input "
    "reading 0, NEAREST the nearest pixel. Float input and grid of one dtype.",
    reference=grid_sample, emit=emit_grid_sample)

LAYERS = (GRID_SAMPLE,)
