"""Attention: ``trt.attention`` (IAttention, ``INetworkDefinition.add_attention``).

TensorRT's attention is two matrix products around a softmax, ``softmax(query @ key^T (+ mask)) @ value``, over
``[batch, heads, tokens, head dim]`` tensors. It applies no scale (a converter multiplies the queries first) and its
causal form is aligned top-left (query ``i`` sees keys ``0..i``: ``CausalMaskKind.UPPER_LEFT``, the legacy
``causal=True``). A bool mask says where a query may attend (``True``); a float mask, in the queries' dtype, is added
to the scores. Causal and mask are exclusive (TensorRT refuses ``setMask`` on a causal attention).

What the dialect accepts is what TensorRT documents and builds: rank-4 query, key and value of one float dtype, key
and value of one shape, the same batch, heads and head dim as the query (TensorRT also takes fewer key/value heads,
but does not document how it groups them, so the dialect does not). The mask may have rank 2 to 4; its last two dims
are ``[query tokens, key tokens]`` and its leading dims broadcast to ``[batch, heads]``.

Helper layers: a mask of rank < 4 is left-padded with 1s (TensorRT wants a 4-d mask; a constant mask is emitted
padded, a computed one through a shuffle). The layer is always marked decomposable: without a dedicated fused
kernel for the shapes and dtype (TensorRT-RTX 1.7 has none for float32) the build fails otherwise.

Its two products are float32 contractions like any matrix multiply: with TF32 allowed the engine may read their
operands with 10-bit mantissas, and the reference rounds them the same way
(:mod:`~trt_passes.backend.layers.numerics`; a decomposed attention is two matrix multiplies).

Unspecified by TensorRT, so left as the formula gives it: a query row whose keys are all masked out (a bool row of
``False``, a float row of ``-inf``) is a softmax over ``-inf`` only, NaN here. PyTorch's attention gives 0 there;
converters that need PyTorch's answer select it themselves rather than rely on either.
"""

from __future__ import annotations

from typing import Any

import torch

from trt_passes.backend.layers.emission import EmissionError, LayerContext
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.numerics import tf32_operands
from trt_passes.backend.layers.semantics import Outputs, require_floating, require_same_dtype, widen_half

OP = "trt.attention"


def _check(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None,
           causal: bool) -> None:
    require_floating(OP, query)
    require_same_dtype(OP, query, key, value)
    if query.dim() != 4 or key.dim() != 4:
        raise ValueError(f"{OP}: query, key and value must be [batch, heads, tokens, head dim], got "
                         f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if tuple(key.shape) != tuple(value.shape):
        raise ValueError(f"{OP}: key {tuple(key.shape)} and value {tuple(value.shape)} must have one shape")
    if (key.shape[0], key.shape[1], key.shape[3]) != (query.shape[0], query.shape[1], query.shape[3]):
        raise ValueError(f"{OP}: key {tuple(key.shape)} must have the batch, heads and head dim of query "
                         f"{tuple(query.shape)}")
    if mask is None:
        return
    if causal:
        raise ValueError(f"{OP}: a causal attention takes no mask (TensorRT refuses both)")
    if mask.dtype != torch.bool and mask.dtype != query.dtype:
        raise TypeError(f"{OP}: the mask must be bool or the queries' dtype {query.dtype}, got {mask.dtype}")
    scores = (query.shape[0], query.shape[1], query.shape[2], key.shape[2])
    lead = list(zip(mask.shape[:-2], scores[4 - mask.dim():2]))  # right-aligned, as numpy broadcasts
    if not 2 <= mask.dim() <= 4 or tuple(mask.shape[-2:]) != scores[2:] \
            or any(m != 1 and m != s for m, s in lead):
        raise ValueError(f"{OP}: mask {tuple(mask.shape)} must be [query tokens, key tokens] = {list(scores[2:])} "
                         f"with leading dims that broadcast to {list(scores[:2])}")


def attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None,
              causal: bool = False) -> Outputs:
    """``softmax(query @ key^T + M) @ value`` over the key tokens, with M ``-inf`` where a bool mask is False or above
    the diagonal of a causal attention, the float mask itself, or 0. Half inputs are computed in f32 and the result
    rounded once (TensorRT's accumulation; the reference keeps no intermediate rounding)."""
    _check(query, key, value, mask, bool(causal))
    q, k = tf32_operands(widen_half(query), widen_half(key))  # the engine may read these as TF32 (numerics.py)
    scores = q @ k.transpose(-1, -2)
    if causal:
        # ones_like, not ones(L, S): works on meta and fake tensors with symbolic sizes alike
        allowed = torch.ones_like(scores, dtype=torch.bool).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
    elif mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    elif mask is not None:
        scores = scores + widen_half(mask)
    p, v = tf32_operands(torch.softmax(scores, dim=-1), widen_half(value))
    return ((p @ v).to(query.dtype),)


def emit_attention(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    causal, mask = bool(a["causal"]), a["mask"]
    if causal and mask is not None:
        raise EmissionError(f"{name}: a causal attention takes no mask (TensorRT refuses both)")
    trt, network = c.trt, c.network
    if not hasattr(network, "add_attention"):
        raise EmissionError(f"{name}: this TensorRT has no attention layer (INetworkDefinition.add_attention)")
    q, k, v = (a[n].tensor for n in ("query", "key", "value"))
    norm = trt.AttentionNormalizationOp.SOFTMAX
    if hasattr(network, "add_attention_v2"):  # TensorRT-RTX 1.7 deprecates the bool `causal` for a mask kind
        kind = trt.CausalMaskKind.UPPER_LEFT if causal else trt.CausalMaskKind.NONE
        layer = network.add_attention_v2(q, k, v, norm, kind)
    else:
        layer = network.add_attention(q, k, v, norm, causal)
    c.named(layer, name)
    if mask is not None:
        layer.mask = c.padded(mask, 4, f"{name}/broadcast_mask")
    # Without a fused kernel for these shapes and dtype, a non-decomposable attention fails to build.
    layer.decomposable = True
    return [layer.get_output(0)]


ATTENTION = Layer(
    "attention",
    (tensor_arg("query"), tensor_arg("key"), tensor_arg("value"), tensor_arg("mask", "Tensor?"),
     attr("causal", "bool", False)),
    "IAttention: softmax(query @ key^T + M) @ value over the key tokens; query [B, H, L, E], key and value "
    "[B, H, S, E], one float dtype; no scale. M: -inf where a bool mask is false, a float mask (the queries' "
    "dtype) added, or causal: -inf above the diagonal (top-left aligned); mask [.., L, S] broadcasting to "
    "[B, H, L, S], exclusive with causal. A row with every key masked is unspecified (NaN here).",
    reference=attention, emit=emit_attention)

LAYERS = (ATTENTION,)
