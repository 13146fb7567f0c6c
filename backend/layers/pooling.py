"""``trt.pooling`` (IPoolingLayer): max or average pooling with TensorRT's explicit padding and rounding.

Helper layers: TensorRT pools only inputs of rank >= 4 with 2 or 3 spatial dims; other inputs are reshaped to
``[1, prod(leading dims), *spatial]`` (1-d pooling as 2-d with a height-1 window) and back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from trt_passes.backend.enums import PoolingType, as_member, to_tensorrt
from trt_passes.backend.layers.emission import LayerContext, dims_of
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.semantics import Outputs, require_floating, widen_half

_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def pooling_output_size(size: int, window: int, stride: int, padding: int, ceil_mode: bool) -> int:
    """TensorRT's EXPLICIT_ROUND_DOWN / EXPLICIT_ROUND_UP: ``floor|ceil((size + 2p - window) / stride) + 1``.

    Unlike PyTorch's ceil_mode there is no rule dropping a last window that starts in the right padding: a
    converter must guard for the cases where the two differ."""
    span = size + 2 * padding - window
    if span < 0:
        raise ValueError(f"trt.pooling: window {window} exceeds padded size {size + 2 * padding}")
    return (-(-span // stride) if ceil_mode else span // stride) + 1


def pooling(input: torch.Tensor, type: Any, window: Sequence[int], stride: Sequence[int], padding: Sequence[int],
            ceil_mode: bool = False, exclude_padding: bool = True) -> Outputs:
    """Max or average pooling over the last ``len(window)`` dims; leading dims are independent.

    Padding is symmetric and explicit. MAX treats padding as -inf. AVERAGE divides by the number of input elements
    in the window when ``exclude_padding``, else also counts the explicit padding; the extra rows ceil mode
    appends beyond the padding are never counted (as in PyTorch, and so a window never divides by zero)."""
    kind = as_member(PoolingType, type)
    require_floating("trt.pooling", input)
    n = len(window)
    if n not in _MAX_POOL or input.dim() < n + 1 or len(stride) != n or len(padding) != n:
        raise ValueError(f"trt.pooling: window={list(window)}, stride={list(stride)}, padding={list(padding)} "
                         f"do not fit input {tuple(input.shape)}")
    lead, spatial = input.shape[:-n], list(input.shape[-n:])
    out_sizes = [pooling_output_size(s, w, st, p, ceil_mode)
                 for s, w, st, p in zip(spatial, window, stride, padding)]
    # Rows after the padding that ceil mode reaches, per dim (F.pad wants the last dim first).
    extra = [max(0, (o - 1) * st + w - (s + 2 * p))
             for o, st, w, s, p in zip(out_sizes, stride, window, spatial, padding)]
    if kind is PoolingType.AVERAGE and exclude_padding and any(p + e >= w or p >= w for p, e, w in
                                                              zip(padding, extra, window)):
        # A window holding padding only would divide by zero; TensorRT rejects such exclusive-count pooling.
        raise ValueError(f"trt.pooling: with exclude_padding every window must hold an input element; padding "
                         f"{list(padding)} (+ {extra} from ceil mode) reaches a whole window {list(window)}")
    pads: list[int] = []
    for p, e in reversed(list(zip(padding, extra))):
        pads += [p, p + e]
    x = widen_half(input).reshape([1, -1, *spatial])
    if kind is PoolingType.MAX:
        padded = F.pad(x, pads, value=-math.inf)
        out = _MAX_POOL[n](padded, list(window), list(stride))
    else:
        padded = F.pad(x, pads, value=0.0)
        sums = _AVG_POOL[n](padded, list(window), list(stride)) * math.prod(window)
        # Which positions count toward the divisor: real elements, plus explicit padding unless excluded.
        ones = torch.ones([1, 1, *spatial], dtype=x.dtype, device=x.device)
        if exclude_padding:
            mask = F.pad(ones, pads, value=0.0)
        else:
            mask = F.pad(F.pad(ones, [q for p in reversed(padding) for q in (p, p)], value=1.0),
                         [q for e in reversed(extra) for q in (0, e)], value=0.0)
        counts = _AVG_POOL[n](mask, list(window), list(stride)) * math.prod(window)
        out = sums / counts
    return (out.reshape([*lead, *out.shape[-n:]]).to(input.dtype),)


def emit_pooling(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    shape = dims_of(a["input"])
    window, stride, padding = list(a["window"]), list(a["stride"]), list(a["padding"])
    n = len(window)
    lead, spatial = shape[:-n], shape[-n:]
    x = a["input"].tensor
    if n == 1:  # TensorRT pools 2 or 3 spatial dims: pool [1, L] with a [1, w] window
        spatial, window, stride, padding = [1, *spatial], [1, *window], [1, *stride], [0, *padding]
    reshaped = n == 1 or len(lead) != 2
    if reshaped:
        x = c.reshape(x, [1, math.prod(lead), *spatial], f"{name}/to_nc")
    layer = c.network.add_pooling_nd(x, to_tensorrt(c.trt, as_member(PoolingType, a["type"])), tuple(window))
    c.named(layer, name)
    layer.stride_nd = tuple(stride)
    layer.padding_nd = tuple(padding)
    layer.padding_mode = (c.trt.PaddingMode.EXPLICIT_ROUND_UP if a["ceil_mode"]
                          else c.trt.PaddingMode.EXPLICIT_ROUND_DOWN)
    layer.average_count_excludes_padding = bool(a["exclude_padding"])
    out = layer.get_output(0)
    if reshaped:
        out_spatial = list(out.shape)[-n:]
        out = c.reshape(out, [*lead, *out_spatial], f"{name}/from_nc")
    return [out]


POOLING = Layer(
    "pooling",
    (tensor_arg("input"), attr("type", "PoolingType"), attr("window", "int[]"), attr("stride", "int[]"),
     attr("padding", "int[]"), attr("ceil_mode", "bool", False), attr("exclude_padding", "bool", True)),
    "IPoolingLayer (N-d) over the last len(window) dims; symmetric explicit padding; ceil_mode is "
    "EXPLICIT_ROUND_UP (out = ceil((in + 2p - w) / s) + 1, no PyTorch-style drop of a last window starting in "
    "the padding); AVERAGE with exclude_padding divides by the count of real elements.",
    reference=pooling, emit=emit_pooling)

LAYERS = (POOLING,)
