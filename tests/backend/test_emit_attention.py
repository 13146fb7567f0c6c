"""TensorRT builds real engines with its attention layer for the shapes the sdpa converter emits (BERT-like
[B, H, S, D] with and without a mask, causal, ViT-like odd token counts; f32 and f16), and its types agree with the
reference runtime's (the builder takes node types from ``trt_dialect().infer``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from tests.backend.builders import TrtGraph
from tests.needs_tensorrt import tensorrt_or_skip
from trt_passes.backend.emit import BuildSettings, EmissionError, emit_engine
from trt_passes.ir.graph import Graph
from trt_passes.ir.types import TensorType, torch_dtype

tensorrt_or_skip()

FAST = BuildSettings(optimization_level=0)


def _attention(dtype: str, q: tuple[int, ...], kv: tuple[int, ...], mask: str | None = None,
               mask_shape: tuple[int, ...] | None = None, causal: bool = False,
               const_mask: bool = False) -> Callable[[], Graph]:
    def build() -> Graph:
        b = TrtGraph()
        query, key, value = b.input("q", dtype, q), b.input("k", dtype, kv), b.input("v", dtype, kv)
        m = None
        if mask is not None:
            shape = mask_shape or (q[0], 1, q[2], kv[2])
            if const_mask:
                m = b.const(torch.rand(shape) < 0.7 if mask == "bool" else torch.randn(shape).to(torch_dtype(mask)),
                            "mask")
            else:
                m = b.input("m", mask, shape)
        return b.outputs(b.op("trt.attention", query, key, value, m, causal=causal, rule="sdpa_as_attention"))
    return build


BERT, VIT = (2, 4, 16, 32), (1, 12, 17, 64)
NETWORKS: dict[str, Callable[[], Graph]] = {
    "bert_f32": _attention("f32", BERT, BERT),
    "bert_f16": _attention("f16", BERT, BERT),
    "bert_f32_bool_mask": _attention("f32", BERT, BERT, "bool"),
    "bert_f16_bool_mask": _attention("f16", BERT, BERT, "bool"),
    "bert_f32_float_mask": _attention("f32", BERT, BERT, "f32"),
    "bert_f16_float_mask": _attention("f16", BERT, BERT, "f16"),
    "bert_f32_causal": _attention("f32", BERT, BERT, causal=True),
    "bert_f16_causal": _attention("f16", BERT, BERT, causal=True),
    "vit_f32": _attention("f32", VIT, VIT),
    "vit_f16": _attention("f16", VIT, VIT),
    "bf16_causal_fewer_keys": _attention("bf16", (1, 2, 5, 8), (1, 2, 3, 8), causal=True),
    "rank2_const_bool_mask_padded": _attention("f32", (1, 3, 3, 5), (1, 3, 4, 5), "bool", (3, 4), const_mask=True),
    "rank3_float_mask_padded": _attention("f16", (2, 3, 3, 5), (2, 3, 4, 5), "f16", (3, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_attention_networks_build_engines_whose_types_agree_with_the_reference(name: str) -> None:
    body = NETWORKS[name]()
    art = emit_engine(body, FAST)
    assert len(art.engine) > 1000
    node = next(n for n in body.all_nodes() if n.op == "trt.attention")
    # IAttention is two network layers, its input and output boundaries, both named after the node
    assert [n for n in art.layer_names if "#" + str(node.id) in n and "/" not in n] == [
        f"sdpa_as_attention:node#{node.id}_AttentionInput", f"sdpa_as_attention:node#{node.id}_AttentionOutput"]


@pytest.mark.parametrize("name", ["bert_f32_bool_mask", "vit_f32"])
def test_f32_attention_builds_at_the_default_optimisation_level(name: str) -> None:
    """TensorRT-RTX has no fused f32 attention kernel: only the decomposable layer builds (the layer must say so)."""
    art = emit_engine(NETWORKS[name]())
    assert len(art.engine) > 1000


def test_a_mask_of_rank_below_4_is_padded_a_constant_one_without_a_layer() -> None:
    computed = emit_engine(NETWORKS["rank3_float_mask_padded"](), FAST)
    constant = emit_engine(NETWORKS["rank2_const_bool_mask_padded"](), FAST)
    assert any(n.endswith("/broadcast_mask") for n in computed.layer_names)
    assert sum(n.endswith("/broadcast_mask") for n in constant.layer_names) == 1  # the padded constant itself
    assert constant.num_layers == 3  # the mask constant and the attention's two boundary layers


def test_a_causal_attention_with_a_mask_is_refused_before_tensorrt_drops_the_mask() -> None:
    """TensorRT only logs an error for setMask on a causal attention and builds it without the mask; emission
    refuses the node instead (the reference refuses it too, so only a planted node gets here)."""
    b = TrtGraph()
    q = b.input("q", "f32", (1, 2, 4, 8))
    m = b.input("m", "bool", (4, 4))
    body = b.outputs(b.op("trt.attention", q, q, q, m, causal=True, rule="planted",
                          outputs=[TensorType("f32", (1, 2, 4, 8))]))
    with pytest.raises(EmissionError, match="causal attention takes no mask"):
        emit_engine(body, FAST)
