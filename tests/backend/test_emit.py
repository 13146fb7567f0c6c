"""Emission builds real serialised engines with the installed TensorRT (TensorRT-RTX builds on CPU), names layers
after the rules, and holds TensorRT's shape and dtype inference against the IR's types for every layer.

Every network below is checked twice: TensorRT must accept it, and TensorRT's types must equal the ones the
reference runtime inferred (the builders take node types from ``trt_dialect().infer``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from tests.backend.builders import TrtGraph
from tests.needs_tensorrt import tensorrt_or_skip
from trt_passes.backend import emit as emit_module
from trt_passes.backend.emit import BuildSettings, EmissionError, EmissionTypeError, emit_engine
from trt_passes.backend.enums import (
    ActivationType,
    ElementWiseOperation,
    InterpolationMode,
    MatrixOperation,
    PoolingType,
    ReduceOperation,
    ResizeCoordinateTransformation,
    ResizeSelector,
    ScatterMode,
    TopKOperation,
    UnaryOperation,
)
from trt_passes.backend.layers.numerics import Numerics
from trt_passes.backend.tensorrt_import import find_tensorrt
from trt_passes.ir.graph import Graph, Provenance, Slot, Value
from trt_passes.ir.types import TensorType

tensorrt_or_skip()

FAST = BuildSettings(optimization_level=0)


def _conv() -> Graph:
    b = TrtGraph()
    x = b.input("x", "f32", (1, 3, 8, 8))
    c = b.op("trt.convolution", x, b.const(torch.randn(4, 3, 3, 3)), b.const(torch.randn(4), "bias"), stride=[2, 2],
             padding=[1, 1], dilation=[1, 1], rule="conv2d")
    return b.outputs(b.op("trt.activation", c, type=ActivationType.RELU, rule="relu"))


def _grouped_conv_f16() -> Graph:
    b = TrtGraph()
    x = b.input("x", "f16", (1, 4, 6, 6))
    return b.outputs(b.op("trt.convolution", x, b.const(torch.randn(6, 2, 3, 3, dtype=torch.float16)), None,
                          stride=[1, 1], padding=[0, 0], dilation=[2, 1], groups=2))


def _deconv() -> Graph:
    b = TrtGraph()
    x = b.input("x", "f32", (1, 4, 5, 5))
    return b.outputs(b.op("trt.deconvolution", x, b.const(torch.randn(4, 3, 3, 3)), b.const(torch.randn(6)),
                          stride=[2, 2], padding=[1, 1], dilation=[1, 1], groups=2, output_padding=[1, 1]))


def _pool(kind: PoolingType, shape: tuple[int, ...], window: list[int], ceil: bool) -> Callable[[], Graph]:
    def build() -> Graph:
        b = TrtGraph()
        x = b.input("x", "f32", shape)
        n = len(window)
        return b.outputs(b.op("trt.pooling", x, type=kind, window=window, stride=[2] * n, padding=[1] * n,
                              ceil_mode=ceil, exclude_padding=kind is PoolingType.AVERAGE))
    return build


def _matmul(sa: tuple[int, ...], sb: tuple[int, ...], oa: MatrixOperation, ob: MatrixOperation) -> Callable[[], Graph]:
    def build() -> Graph:
        b = TrtGraph()
        return b.outputs(b.op("trt.matrix_multiply", b.input("a", "f32", sa), b.input("b", "f32", sb), op_a=oa,
                              op_b=ob))
    return build


def _pointwise() -> Graph:
    b = TrtGraph()
    x = b.input("x", "f32", (2, 3, 4))
    e = b.op("trt.unary", x, op=UnaryOperation.EXP)
    gt = b.op("trt.elementwise", e, b.const(torch.tensor(1.5)), op=ElementWiseOperation.GREATER)
    s = b.op("trt.select", gt, x, b.const(torch.zeros(4)))
    c = b.op("trt.cast", s, to="f16")
    return b.outputs(c, b.op("trt.identity", x))


def _reductions() -> Graph:
    b = TrtGraph()
    x = b.input("x", "f32", (2, 3, 4))
    r = b.op("trt.reduce", x, op=ReduceOperation.AVG, axes=[0, -1], keep_dims=True)
    s = b.op("trt.softmax", x, axis=-1)
    n = b.op("trt.normalization", x, b.const(torch.ones(4)), b.const(torch.zeros(4)), axes=[-1], epsilon=1e-5)
    t = b.op("trt.topk", x, op="MAX", k=2, axes=[1])
    return b.outputs(r, s, n, t, Value(t.node, 1))


def _data_movement() -> Graph:
    b = TrtGraph()
    x = b.input("x", "f32", (2, 3, 4))
    sh = b.op("trt.shuffle", x, first_transpose=[2, 0, 1], reshape=[0, -1], second_transpose=[1, 0])
    cat = b.op("trt.concatenation", [x, x], axis=-1)
    sl = b.op("trt.slice", cat, start=[1, 2, 7], shape=[1, 1, 4], stride=[1, 1, -2])
    bc = b.op("trt.slice", b.input("y", "f32", (1, 3, 1)), start=[0, 0, 0], shape=[2, 3, 5], stride=[0, 1, 0])
    g1 = b.op("trt.gather", x, b.input("i", "i32", (2, 2)), axis=1)
    g2 = b.op("trt.gather", x, b.const(torch.tensor(2)), axis=-1)
    g3 = b.op("trt.gather", x, b.const(torch.tensor([[1, 0], [0, 2]], dtype=torch.int32)), axis=0, mode="ND")
    return b.outputs(sh, sl, bc, g1, g2, g3)


def _dtypes() -> Graph:
    b = TrtGraph()
    x = b.input("x", "bf16", (3,))
    i = b.input("i", "i64", (3,))
    m = b.op("trt.elementwise", i, b.const(torch.tensor([2], dtype=torch.int64)), op="FLOOR_DIV")
    return b.outputs(b.op("trt.activation", x, type="GELU_ERF"), m, b.op("trt.cast", x, to="f32"))


NETWORKS: dict[str, Callable[[], Graph]] = {
    "conv_relu": _conv,
    "grouped_dilated_conv_f16": _grouped_conv_f16,
    "deconv_output_padding": _deconv,
    "max_pool_ceil_keeps_window_torch_drops": _pool(PoolingType.MAX, (1, 1, 5, 5), [2, 2], True),
    "avg_pool_exclude_padding": _pool(PoolingType.AVERAGE, (1, 2, 7, 7), [3, 3], False),
    "max_pool_3d": _pool(PoolingType.MAX, (1, 1, 4, 5, 6), [2, 2, 2], False),
    "max_pool_1d_reshaped": _pool(PoolingType.MAX, (2, 3, 9), [3], True),
    "avg_pool_rank3_reshaped": _pool(PoolingType.AVERAGE, (3, 6, 6), [2, 2], False),
    "matmul_broadcast_batch_rank": _matmul((5, 2, 3), (3, 4), MatrixOperation.NONE, MatrixOperation.NONE),
    "matmul_transpose": _matmul((2, 3, 2), (2, 4, 3), MatrixOperation.TRANSPOSE, MatrixOperation.TRANSPOSE),
    "matmul_vector": _matmul((5, 3), (5, 3, 4), MatrixOperation.VECTOR, MatrixOperation.NONE),
    "pointwise": _pointwise,
    "reductions_norm_topk": _reductions,
    "data_movement": _data_movement,
    "bf16_i64": _dtypes,
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_small_networks_build_engines_whose_types_agree_with_the_reference(name: str) -> None:
    body = NETWORKS[name]()
    art = emit_engine(body, FAST)
    assert len(art.engine) > 1000
    assert art.num_layers == len(art.layer_names) >= 1
    assert art.build_seconds > 0
    assert art.tensorrt_module in ("tensorrt", "tensorrt_rtx") and art.tensorrt_version
    assert art.output_names == [f"output{i}" for i in range(len(body.outputs()))]
    assert len(art.input_names) == len(body.graph_inputs())


def test_layers_are_named_rule_source_and_node_id() -> None:
    art = emit_engine(_conv(), FAST)
    conv = next(n for n in _conv().all_nodes() if n.op == "trt.convolution")
    assert f"conv2d:node#{conv.id}" in art.layer_names
    assert any(name.startswith("relu:node#") for name in art.layer_names)


def test_unequal_rank_elementwise_inserts_a_named_broadcast_shuffle() -> None:
    b = TrtGraph()
    v = b.op("trt.elementwise", b.input("a", "f32", (2, 3, 4)), b.input("b", "f32", (4,)), op="SUM", rule="add")
    art = emit_engine(b.outputs(v), FAST)
    assert f"add:node#{v.node}/broadcast_b" in art.layer_names
    assert art.num_layers == 2


@settings(max_examples=10)
@given(shapes_=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3))
def test_elementwise_of_any_broadcastable_ranks_builds(shapes_: object) -> None:
    sa, sb = shapes_.input_shapes  # type: ignore[attr-defined]
    b = TrtGraph()
    out = b.op("trt.elementwise", b.input("a", "f32", sa), b.input("b", "f32", sb), op="PROD")
    assert emit_engine(b.outputs(out), FAST).engine


def test_a_planted_wrong_shape_is_caught_and_names_the_rule() -> None:
    b = TrtGraph()
    x = b.input("x", "f32", (1, 3, 8, 8))
    wrong = TensorType("f32", (1, 4, 8, 8))  # the rule forgot the stride: TensorRT makes 4x4
    b.op("trt.convolution", x, b.const(torch.randn(4, 3, 3, 3)), None, stride=[2, 2], padding=[1, 1],
         dilation=[1, 1], rule="conv2d_strided", location="spec/convert/conv_pool.rw:12", outputs=[wrong])
    body = b.outputs(Value(max(b.g.nx.nodes)))
    with pytest.raises(EmissionTypeError) as info:
        emit_engine(body, FAST)
    msg = str(info.value)
    assert "conv2d_strided" in msg and "spec/convert/conv_pool.rw:12" in msg
    assert "f32[1, 4, 8, 8]" in msg and "f32[1, 4, 4, 4]" in msg
    assert info.value.rule == "conv2d_strided" and info.value.ir_type == wrong


def test_a_planted_wrong_dtype_is_caught() -> None:
    b = TrtGraph()
    v = b.op("trt.elementwise", b.input("a", "f32", (3,)), b.input("b", "f32", (3,)), op="LESS", rule="lt",
             outputs=[TensorType("f32", (3,))])  # comparisons give bool
    with pytest.raises(EmissionTypeError, match=r"rule lt .*f32\[3\] in the IR but TensorRT infers bool\[3\]"):
        emit_engine(b.outputs(v), FAST)


def test_an_aten_node_left_in_a_segment_is_named() -> None:
    g = Graph()
    x = g.add_input("x", TensorType("f32", (2,)), 0)
    n = g.add("aten.sin.default", [Value(x)], {"self": Slot(0)}, [TensorType("f32", (2,))],
              Provenance(source="sin_1"))
    g.set_outputs([Value(n)])
    with pytest.raises(EmissionError, match=r"aten\.sin\.default.*from sin_1.*unconverted"):
        emit_engine(g, FAST)


def test_a_convolution_kernel_must_be_a_constant() -> None:
    b = TrtGraph()
    v = b.op("trt.convolution", b.input("x", "f32", (1, 1, 4, 4)), b.input("w", "f32", (1, 1, 3, 3)), None,
             stride=[1, 1], padding=[0, 0], dilation=[1, 1], rule="conv_dynamic_weight")
    with pytest.raises(EmissionError, match=r"conv_dynamic_weight.*kernel must be a constant"):
        emit_engine(b.outputs(v), FAST)


def test_tensorrt_rejections_surface_with_tensorrts_words_and_the_node() -> None:
    b = TrtGraph()
    # The reference runtime refuses k > 3840 too; planting the output type skips it to reach TensorRT's own check.
    v = b.op("trt.topk", b.input("x", "f32", (4000,)), op="MAX", k=3900, axes=[0], rule="topk_big",
             outputs=[TensorType("f32", (3900,)), TensorType("i32", (3900,))])
    with pytest.raises(EmissionError, match=r"topk_big.*TensorRT: .*TopK"):
        emit_engine(b.outputs(v), FAST)


@pytest.mark.skipif(find_tensorrt().name != "tensorrt_rtx",
                    reason="TensorRT for RTX's builder refuses strided, dilated deconvolutions; TensorRT builds them")
def test_tensorrt_rtx_refuses_a_deconvolution_with_both_a_stride_and_a_dilation() -> None:
    # why spec/convert/pooling_adaptive.rw's transposed_convolution does not match this form (a stride > 1 in one dim
    # and a dilation > 1 in another is refused as well)
    b = TrtGraph()
    x = b.input("x", "f32", (1, 3, 5, 5))
    v = b.op("trt.deconvolution", x, b.const(torch.randn(3, 2, 3, 3)), None, stride=[2, 1], padding=[0, 0],
             dilation=[1, 2], rule="strided_dilated")
    with pytest.raises(EmissionError, match=r"Strided & Dilated Deconv"):
        emit_engine(b.outputs(v), FAST)


def test_shape_emits_a_shape_layer_that_tensorrt_types_like_the_ir() -> None:
    b = TrtGraph()
    x = b.input("x", "f32", (2, 5, 3))
    art = emit_engine(b.outputs(b.op("trt.shape", x)), FAST)  # the type cross-check: TensorRT says i64[3] too
    assert art.num_layers >= 1


def test_an_input_returned_unchanged_is_copied_to_become_an_output() -> None:
    b = TrtGraph()
    x = b.input("x", "f32", (2,))
    art = emit_engine(b.outputs(x, b.op("trt.identity", x)), FAST)
    assert art.output_names == ["output0", "output1"] and art.input_names == ["x"]


def test_build_settings_reach_the_builder_and_the_log_goes_to_python_logging(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="trt_passes.tensorrt"):
        art = emit_engine(_conv(), BuildSettings(workspace_size=1 << 26, optimization_level=1))
    assert art.engine
    assert any(r.name == "trt_passes.tensorrt" for r in caplog.records)


@pytest.mark.parametrize("dtype, idx_dtype", [("f32", "i64"), ("f16", "i32"), ("i64", "i64")])
def test_tensorrt_builds_scatter_and_topk_indices_with_the_irs_types(dtype: str, idx_dtype: str) -> None:
    """ELEMENT (indices smaller than data off the axis, negative axis), ND with depth 1 and 2 and a constant index
    tensor, and TopK's i32 indices cast to i64: emit_engine holds every layer's TensorRT types against the IR."""
    b = TrtGraph()
    x = b.input("x", dtype, (3, 5, 2))
    element = b.op("trt.scatter", x, b.input("i", idx_dtype, (2, 2, 2)), b.input("u", dtype, (2, 2, 2)),
                   mode=ScatterMode.ELEMENT, axis=-2, rule="scatter_src_elements")
    rows = b.op("trt.scatter", x, b.input("r", idx_dtype, (2, 1)), b.input("v", dtype, (2, 5, 2)),
                mode=ScatterMode.ND, rule="index_put_one_index")
    cells = b.const(torch.tensor([[0, 4], [2, 1]], dtype=getattr(torch, {"i64": "int64", "i32": "int32"}[idx_dtype])))
    pairs = b.op("trt.scatter", x, cells, b.input("w", dtype, (2, 2)), mode=ScatterMode.ND,
                 rule="index_put_two_indices")
    outs = [element, rows, pairs]
    if dtype != "i64":  # the topk rules take float inputs only
        t = b.op("trt.topk", x, op=TopKOperation.MAX, k=3, axes=[1], rule="topk_with_indices")
        outs.append(b.op("trt.cast", type(t)(t.node, 1), to="i64", rule="topk_with_indices"))
    art = emit_engine(b.outputs(*outs), BuildSettings(optimization_level=0))
    assert art.engine and len(art.output_names) == len(outs)
    assert {n.split(":")[0] for n in art.layer_names} >= {"scatter_src_elements", "index_put_one_index",
                                                          "index_put_two_indices"}


# ---- numerics: the TF32 builder flag follows the body's record, explicitly either way ------------------------------

@pytest.mark.parametrize("tf32", [True, False])
def test_the_tf32_flag_is_set_or_cleared_explicitly_from_the_numerics(tf32: bool) -> None:
    trt = find_tensorrt().module
    config = trt.Builder(trt.Logger()).create_builder_config()
    assert config.get_flag(trt.BuilderFlag.TF32)  # what a fresh config has, which emission must not rely on
    emit_module.set_numerics_flags(trt, config, Numerics(tf32=tf32))
    assert config.get_flag(trt.BuilderFlag.TF32) is tf32


@pytest.mark.parametrize("record, expected", [({"tf32": True}, True), ({"tf32": False}, False), (None, False)])
def test_emission_builds_with_the_numerics_the_body_records(monkeypatch: pytest.MonkeyPatch, record: dict | None,
                                                            expected: bool) -> None:
    seen: list[bool] = []
    real = emit_module.set_numerics_flags

    def spy(trt: object, config: object, numerics: Numerics) -> None:
        real(trt, config, numerics)
        seen.append(config.get_flag(find_tensorrt().module.BuilderFlag.TF32))  # type: ignore[attr-defined]

    monkeypatch.setattr(emit_module, "set_numerics_flags", spy)
    body = _conv()
    if record is not None:
        body.meta["numerics"] = record
    emit_engine(body, FAST)
    assert seen == [expected]


def test_the_single_pixel_selector_reaches_the_resize_layer() -> None:
    trt = find_tensorrt().module
    b = TrtGraph()
    x = b.input("x", "f32", (1, 2, 5, 4))
    body = b.outputs(b.op("trt.resize", x, shape=[1, 2, 1, 4], mode=InterpolationMode.LINEAR,
                          coordinate_transformation=ResizeCoordinateTransformation.ALIGN_CORNERS,
                          selector_for_single_pixel=ResizeSelector.UPPER))
    network = emit_module._define_network(body).network
    layers = [network.get_layer(i) for i in range(network.num_layers)]
    (resize,) = [layer for layer in layers if layer.type == trt.LayerType.RESIZE]
    resize.__class__ = trt.IResizeLayer
    assert resize.selector_for_single_pixel == trt.ResizeSelector.UPPER


def test_cubic_mode_and_coefficient_reach_the_resize_layer() -> None:
    trt = find_tensorrt().module
    b = TrtGraph()
    x = b.input("x", "f32", (1, 2, 5, 4))
    body = b.outputs(b.op("trt.resize", x, shape=[1, 2, 7, 9], mode=InterpolationMode.CUBIC,
                          coordinate_transformation=ResizeCoordinateTransformation.HALF_PIXEL, cubic_coeff=-0.5))
    network = emit_module._define_network(body).network
    layers = [network.get_layer(i) for i in range(network.num_layers)]
    (resize,) = [layer for layer in layers if layer.type == trt.LayerType.RESIZE]
    resize.__class__ = trt.IResizeLayer
    assert resize.resize_mode == trt.InterpolationMode.CUBIC and resize.cubic_coeff == -0.5
    assert not resize.exclude_outside  # taps outside the input read the edge, as the reference does
