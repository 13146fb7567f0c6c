"""Reductions along axes: ``trt.reduce`` (IReduceLayer), ``trt.topk`` (ITopKLayer) and ``trt.cumulative``
(ICumulativeLayer).

Helper layers: TensorRT's TopK wants rank >= 2, so a rank-0/1 input runs as ``[1, n]``
(:func:`~trt_passes.backend.layers.emission.at_least_2d`) and is reshaped back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from trt_passes.backend.enums import CumulativeOperation, ReduceOperation, TopKOperation, as_member, to_tensorrt
from trt_passes.backend.layers.emission import LayerContext, at_least_2d, axes_mask, restore_rank
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.semantics import Outputs, normalize_axes, normalize_axis, widen_half

MAX_TOPK_K = 3840  # ITopKLayer's documented limit

# ---- reduce ------------------------------------------------------------------------------------------------------


def reduce(input: torch.Tensor, op: Any, axes: Sequence[int], keep_dims: bool) -> Outputs:
    kind = as_member(ReduceOperation, op)
    dims = normalize_axes("trt.reduce", axes, input.dim())
    if not dims:
        raise ValueError("trt.reduce needs at least one axis")
    x = widen_half(input)
    if kind is ReduceOperation.SUM:
        out = x.sum(dim=dims, keepdim=keep_dims)
    elif kind is ReduceOperation.AVG:
        out = x.mean(dim=dims, keepdim=keep_dims)
    elif kind is ReduceOperation.MAX:
        out = x.amax(dim=dims, keepdim=keep_dims)
    elif kind is ReduceOperation.MIN:
        out = x.amin(dim=dims, keepdim=keep_dims)
    else:  # PROD: torch reduces one dim at a time; go from the last so earlier indices stay valid
        out = x
        for d in reversed(dims):
            out = out.prod(dim=d, keepdim=keep_dims)
    return (out.to(input.dtype),)


def emit_reduce(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    op = to_tensorrt(c.trt, as_member(ReduceOperation, a["op"]))
    mask = axes_mask(a["axes"], a["input"].type.rank)
    layer = c.network.add_reduce(a["input"].tensor, op, mask, bool(a["keep_dims"]))
    return [c.named(layer, name).get_output(0)]


REDUCE = Layer(
    "reduce", (tensor_arg("input"), attr("op", "ReduceOperation"), attr("axes", "int[]"), attr("keep_dims", "bool")),
    "IReduceLayer: `op` over `axes` (negative allowed), keeping them as 1s when keep_dims.",
    reference=reduce, emit=emit_reduce)

# ---- topk --------------------------------------------------------------------------------------------------------


def topk(input: torch.Tensor, op: Any, k: int, axes: Sequence[int]) -> Outputs:
    """The ``k`` largest (MAX) or smallest (MIN) along the one axis in ``axes``, sorted; indices are i32 (TensorRT's
    default indices type)."""
    kind = as_member(TopKOperation, op)
    dims = normalize_axes("trt.topk", axes, input.dim())
    if len(dims) != 1:
        raise ValueError(f"trt.topk reduces exactly one axis, got {list(axes)}")
    if k > MAX_TOPK_K:
        raise ValueError(f"trt.topk: k={k} exceeds TensorRT's limit of {MAX_TOPK_K}")
    if not 0 < k <= input.shape[dims[0]]:
        raise ValueError(f"trt.topk: k={k} is not in 1..{input.shape[dims[0]]}")
    values, indices = torch.topk(input, k, dim=dims[0], largest=kind is TopKOperation.MAX, sorted=True)
    return values, indices.to(torch.int32)


def emit_topk(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    op = to_tensorrt(c.trt, as_member(TopKOperation, a["op"]))
    x, axis = at_least_2d(c, a["input"], a["axes"][0] if a["axes"] else 0, name)
    layer = c.named(c.network.add_topk(x, op, int(a["k"]), 1 << axis), name)
    return [restore_rank(c, layer.get_output(i), a["input"], f"{name}/from_2d_{i}") for i in range(2)]


TOPK = Layer(
    "topk", (tensor_arg("input"), attr("op", "TopKOperation"), attr("k", "int"), attr("axes", "int[]")),
    "ITopKLayer: the k largest (MAX) or smallest (MIN) along the single axis in `axes`, sorted; outputs "
    "values and i32 indices.",
    reference=topk, emit=emit_topk, returns=("Tensor", "Tensor"))

# ---- cumulative --------------------------------------------------------------------------------------------------


def cumulative(input: torch.Tensor, axis: int, op: Any = CumulativeOperation.SUM, exclusive: bool = False,
               reverse: bool = False) -> Outputs:
    """Running sum along ``axis``: ``out[i] = sum(in[j] for j <= i)`` (``j < i`` when exclusive; ``j >= i`` /
    ``j > i`` when reverse). The dtype is kept (integers wrap as in TensorRT: no promotion)."""
    as_member(CumulativeOperation, op)
    if input.dtype == torch.bool or input.dtype in (torch.int8, torch.uint8):
        raise TypeError(f"trt.cumulative takes float, i32 or i64 tensors, got {input.dtype}")
    if input.dim() < 1:
        raise ValueError("trt.cumulative needs an input of rank >= 1")
    ax = normalize_axis("trt.cumulative", axis, input.dim())
    x = input.flip(ax) if reverse else input
    out = torch.cumsum(widen_half(x), dim=ax, dtype=widen_half(x).dtype)
    if exclusive:
        out = out - widen_half(x)
    if reverse:
        out = out.flip(ax)
    return (out.to(input.dtype),)


def emit_cumulative(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    rank = a["input"].type.rank
    axis = c.constant(torch.tensor(a["axis"] % rank, dtype=torch.int32), f"{name}/axis")
    op = to_tensorrt(c.trt, as_member(CumulativeOperation, a["op"]))
    layer = c.network.add_cumulative(a["input"].tensor, axis, op, bool(a["exclusive"]), bool(a["reverse"]))
    return [c.named(layer, name).get_output(0)]


CUMULATIVE = Layer(
    "cumulative",
    (tensor_arg("input"), attr("axis", "int"), attr("op", "CumulativeOperation", CumulativeOperation.SUM),
     attr("exclusive", "bool", False), attr("reverse", "bool", False)),
    "ICumulativeLayer: running `op` (SUM) along `axis` (negative allowed), inclusive unless `exclusive`, from "
    "the end when `reverse`. Same dtype out; f32/f16/bf16/i32/i64, rank >= 1 (half types accumulate in f32).",
    reference=cumulative, emit=emit_cumulative)

LAYERS = (REDUCE, TOPK, CUMULATIVE)
