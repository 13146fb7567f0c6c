"""Indexed reads and writes: ``trt.gather`` (IGatherLayer) and ``trt.scatter`` (IScatterLayer).

Indices are never wrapped (TensorRT's Gather and Scatter operators take ``0 <= i < dim``), so converters normalise
negative constant indices themselves; the reference refuses out-of-range indices on real tensors (meta and fake
tensors used for type inference have no values to check).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from trt_passes.backend.enums import GatherMode, ScatterMode, as_member, to_tensorrt
from trt_passes.backend.layers.emission import LayerContext
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.semantics import Outputs, has_values, normalize_axis, require_same_dtype

# ---- gather ------------------------------------------------------------------------------------------------------


def gather(data: torch.Tensor, indices: torch.Tensor, axis: int, mode: Any = GatherMode.DEFAULT) -> Outputs:
    """DEFAULT: ``data.shape[:axis] + indices.shape + data.shape[axis+1:]``; ELEMENT: ``torch.gather`` semantics;
    ND (no elementwise dims): the last index dim addresses the leading data dims.

    Every index must be in ``0 <= i < dim`` (TensorRT's Gather operator: negative indices are not wrapped), so a
    converter normalises negative constant indices itself; out-of-range indices raise here on real tensors."""
    kind = as_member(GatherMode, mode)
    if indices.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"trt.gather indices must be i32 or i64, got {indices.dtype}")
    idx = indices.to(torch.int64)
    if kind is GatherMode.ND:
        q = indices.shape[-1] if indices.dim() else 0
        if not 1 <= q <= data.dim():
            raise ValueError(f"trt.gather ND: index depth {q} does not fit data of rank {data.dim()}")
        if has_values(idx):  # (a size read into a tensor would pin a symbolic dim: only with real values)
            sizes = torch.tensor(list(data.shape[:q]), dtype=torch.int64, device=idx.device)
            if bool(((idx < 0) | (idx >= sizes)).any()):
                raise IndexError(f"trt.gather ND: an index is outside the data's leading dims {tuple(data.shape[:q])}")
        linear = idx[..., 0]
        for i in range(1, q):  # row-major position over the leading q dims, by Horner's rule
            linear = linear * data.shape[i] + idx[..., i]
        flat = data.reshape([-1, *data.shape[q:]])
        return (flat.index_select(0, linear.reshape(-1)).reshape([*indices.shape[:-1], *data.shape[q:]]),)
    ax = normalize_axis("trt.gather", axis, data.dim())
    if has_values(idx) and bool(((idx < 0) | (idx >= data.shape[ax])).any()):
        raise IndexError(f"trt.gather: an index is outside 0..{data.shape[ax] - 1} (negative ones are not wrapped)")
    if kind is GatherMode.ELEMENT:
        return (torch.gather(data, ax, idx),)
    out = data.index_select(ax, idx.reshape(-1))
    return (out.reshape([*data.shape[:ax], *indices.shape, *data.shape[ax + 1:]]),)


def emit_gather(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    data = a["data"]
    layer = c.named(c.network.add_gather(data.tensor, a["indices"].tensor, a["axis"] % data.type.rank), name)
    layer.mode = to_tensorrt(c.trt, as_member(GatherMode, a["mode"]))
    return [layer.get_output(0)]


GATHER = Layer(
    "gather", (tensor_arg("data"), tensor_arg("indices"), attr("axis", "int"),
               attr("mode", "GatherMode", GatherMode.DEFAULT)),
    "IGatherLayer: DEFAULT gives data.shape[:axis] + indices.shape + data.shape[axis+1:] (like index_select "
    "with indices of any rank); ELEMENT is torch.gather; ND addresses leading dims. i32/i64 indices in "
    "0..dim-1 (negative indices are not wrapped).",
    reference=gather, emit=emit_gather)

# ---- scatter -----------------------------------------------------------------------------------------------------

# TensorRT's scatter takes f32/f16/bf16/i32/i64/i8; f64 passes here like everywhere in the reference (float64
# references in tests), and emission rejects it anyway.
_SCATTER_REFUSED = (torch.bool, torch.uint8)


def _check_scatter_bounds(idx: torch.Tensor, sizes: Sequence[int], what: str) -> None:
    """Indices must lie in ``0..size-1`` (per index column for ND); checked on real tensors only (meta has no
    values). Out-of-range writes are undefined in TensorRT, so the reference refuses them."""
    if not has_values(idx) or idx.numel() == 0:
        return
    bound = torch.tensor(list(sizes), dtype=torch.int64, device=idx.device)
    if bool(((idx < 0) | (idx >= bound)).any()):
        raise IndexError(f"trt.scatter: an index is outside {what} (negative ones are not wrapped)")


def _scatter_nd(data: torch.Tensor, idx: torch.Tensor, updates: torch.Tensor) -> torch.Tensor:
    k = idx.shape[-1] if idx.dim() else 0
    if idx.dim() < 1 or not 1 <= k <= data.dim():
        raise ValueError(f"trt.scatter ND: indices {tuple(idx.shape)} do not address data of rank {data.dim()}")
    want = (*idx.shape[:-1], *data.shape[k:])
    if tuple(updates.shape) != want:
        raise ValueError(f"trt.scatter ND: updates {tuple(updates.shape)} must have shape {want}")
    _check_scatter_bounds(idx, data.shape[:k], f"the leading data dims {tuple(data.shape[:k])}")
    return data.index_put(tuple(idx.unbind(-1)), updates)


def _scatter_element(data: torch.Tensor, idx: torch.Tensor, updates: torch.Tensor, axis: int) -> torch.Tensor:
    ax = normalize_axis("trt.scatter", axis, data.dim())
    if idx.dim() != data.dim() or tuple(updates.shape) != tuple(idx.shape):
        raise ValueError(f"trt.scatter ELEMENT: indices {tuple(idx.shape)} must have data's rank {data.dim()} and "
                         f"updates {tuple(updates.shape)} the indices' shape")
    if any(i > d for a, (i, d) in enumerate(zip(idx.shape, data.shape)) if a != ax):
        raise ValueError(f"trt.scatter ELEMENT: indices {tuple(idx.shape)} exceed data {tuple(data.shape)} "
                         f"outside axis {ax}")
    _check_scatter_bounds(idx, [data.shape[ax]], f"0..{data.shape[ax] - 1} along axis {ax}")
    return data.scatter(ax, idx, updates)


def scatter(data: torch.Tensor, indices: torch.Tensor, updates: torch.Tensor, mode: Any = ScatterMode.ELEMENT,
            axis: int = 0) -> Outputs:
    """A copy of ``data`` with positions overwritten by ``updates``. ELEMENT is ``torch.scatter`` along ``axis``
    (``out[..., indices[i, j, ...], ...] = updates[i, j, ...]`` with the index replacing coordinate ``axis``); ND
    reads the last index dim as a tuple addressing the leading ``k`` data dims and writes a whole trailing slice.

    With duplicate indices TensorRT's result is undefined; this gives PyTorch's CPU result (one of the writes), so
    converters must only be trusted, and tested, on unique indices."""
    kind = as_member(ScatterMode, mode)
    if data.dtype in _SCATTER_REFUSED:
        raise TypeError(f"trt.scatter takes f32/f16/bf16/i32/i64/i8 data, got {data.dtype}")
    require_same_dtype("trt.scatter", data, updates)
    if indices.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"trt.scatter indices must be i32 or i64, got {indices.dtype}")
    idx = indices.to(torch.int64)
    if kind is ScatterMode.ND:
        return (_scatter_nd(data, idx, updates),)
    return (_scatter_element(data, idx, updates, axis),)


def emit_scatter(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    mode = as_member(ScatterMode, a["mode"])
    data = a["data"]
    layer = c.named(c.network.add_scatter(data.tensor, a["indices"].tensor, a["updates"].tensor,
                                          to_tensorrt(c.trt, mode)), name)
    if mode is ScatterMode.ELEMENT:  # ND ignores the axis
        layer.axis = a["axis"] % data.type.rank
    return [layer.get_output(0)]


SCATTER = Layer(
    "scatter",
    (tensor_arg("data"), tensor_arg("indices"), tensor_arg("updates"), attr("mode", "ScatterMode", ScatterMode.ELEMENT),
     attr("axis", "int", 0)),
    "IScatterLayer: a copy of `data` with elements (ELEMENT: torch.scatter along `axis`, updates shaped as "
    "indices, same rank as data) or slices (ND: the last index dim addresses the leading data dims, updates "
    "shaped indices.shape[:-1] + data.shape[k:]) overwritten by `updates`. i32/i64 indices in 0..dim-1; "
    "data and updates share one dtype (not bool); duplicate indices give an undefined result.",
    reference=scatter, emit=emit_scatter)

LAYERS = (GATHER, SCATTER)
