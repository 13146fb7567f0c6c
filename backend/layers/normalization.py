"""Normalisations: ``trt.softmax`` (ISoftMaxLayer) and ``trt.normalization`` (INormalizationLayer).

Helper layers: TensorRT's softmax wants rank >= 2, so a rank-0/1 input runs as ``[1, n]``
(:func:`~trt_passes.backend.layers.emission.at_least_2d`) and is reshaped back; normalization's scale and bias are
left-padded with 1s to the input's rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from trt_passes.backend.layers.emission import LayerContext, at_least_2d, axes_mask, restore_rank
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.semantics import (
    Outputs,
    normalize_axes,
    normalize_axis,
    require_floating,
    require_same_dtype,
    widen_half,
)

# ---- softmax -----------------------------------------------------------------------------------------------------


def softmax(input: torch.Tensor, axis: int) -> Outputs:
    require_floating("trt.softmax", input)
    return (torch.softmax(widen_half(input), dim=normalize_axis("trt.softmax", axis, input.dim())).to(input.dtype),)


def emit_softmax(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    x, axis = at_least_2d(c, a["input"], a["axis"], name)
    layer = c.named(c.network.add_softmax(x), name)
    layer.axes = 1 << axis
    return [restore_rank(c, layer.get_output(0), a["input"], f"{name}/from_2d")]


SOFTMAX = Layer(
    "softmax", (tensor_arg("input"), attr("axis", "int")),
    "ISoftMaxLayer: softmax along `axis`.",
    reference=softmax, emit=emit_softmax)

# ---- normalization -----------------------------------------------------------------------------------------------


def normalization(input: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, axes: Sequence[int],
                  epsilon: float) -> Outputs:
    """``(x - mean) / sqrt(var + epsilon) * scale + bias`` with mean and (biased) variance over ``axes``;
    ``scale`` and ``bias`` broadcast against the input (numpy rules) and may not grow it."""
    require_same_dtype("trt.normalization", input, scale, bias)
    require_floating("trt.normalization", input)
    dims = normalize_axes("trt.normalization", axes, input.dim())
    for name, t in (("scale", scale), ("bias", bias)):
        if torch.broadcast_shapes(t.shape, input.shape) != input.shape:
            raise ValueError(f"trt.normalization: {name} {tuple(t.shape)} does not broadcast to {tuple(input.shape)}")
    x = widen_half(input)
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    out = (x - mean) * torch.rsqrt(var + float(epsilon)) * widen_half(scale) + widen_half(bias)
    return (out.to(input.dtype),)


def emit_normalization(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    rank = a["input"].type.rank
    scale = c.padded(a["scale"], rank, f"{name}/broadcast_scale")
    bias = c.padded(a["bias"], rank, f"{name}/broadcast_bias")
    layer = c.named(c.network.add_normalization(a["input"].tensor, scale, bias, axes_mask(a["axes"], rank)), name)
    layer.epsilon = float(a["epsilon"])
    return [layer.get_output(0)]


NORMALIZATION = Layer(
    "normalization",
    (tensor_arg("input"), tensor_arg("scale"), tensor_arg("bias"), attr("axes", "int[]"), attr("epsilon", "float")),
    "INormalizationLayer: (x - mean) / sqrt(var + epsilon) * scale + bias, mean and biased variance over "
    "`axes`; scale/bias broadcast to the input (layer norm: axes=[-1], scale [D]).",
    reference=normalization, emit=emit_normalization)

LAYERS = (SOFTMAX, NORMALIZATION)
