"""TensorRT's own shape and dtype inference agrees with the reference runtime's on random op configurations.

Each example builds a one-op network whose IR types come from the reference runtime (meta inference) and defines it
with the installed TensorRT (``check_emission``: every layer is type-checked, no engine is built). A disagreement
raises ``EmissionTypeError``; a configuration TensorRT refuses raises ``EmissionError``. Either fails the property,
so the reference runtime is held to TensorRT, not only to PyTorch."""

from __future__ import annotations

import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from tests.backend.builders import TrtGraph, shapes
from tests.needs_tensorrt import tensorrt_or_skip
from trt_passes.backend.emit import check_emission
from trt_passes.backend.enums import (
    GatherMode,
    InterpolationMode,
    MatrixOperation,
    PoolingType,
    ReduceOperation,
    ResizeCoordinateTransformation,
    ResizeSelector,
    SampleMode,
    ScatterMode,
)

tensorrt_or_skip()


@given(spatial=st.integers(1, 3), transposed=st.booleans(), data=st.data())
def test_convolution_and_deconvolution_shapes(spatial: int, transposed: bool, data: st.DataObject) -> None:
    groups = data.draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    window = [data.draw(st.integers(1, 3)) for _ in range(spatial)]
    stride = [data.draw(st.integers(1, 3)) for _ in range(spatial)]
    dilation = [data.draw(st.integers(1, 2)) for _ in range(spatial)]
    padding = [data.draw(st.integers(0, 2)) for _ in range(spatial)]
    size = [data.draw(st.integers((w - 1) * d + 1, (w - 1) * d + 5)) for w, d in zip(window, dilation)]
    b = TrtGraph()
    x = b.input("x", "f32", (data.draw(st.integers(1, 2)), c_in, *size))
    bias = b.const(torch.randn(c_out), "bias") if data.draw(st.booleans()) else None
    if transposed:
        out_pad = [data.draw(st.integers(0, min(p, max(s, d) - 1))) for p, s, d in zip(padding, stride, dilation)]
        assume(all((n - 1) * s - 2 * p + d * (w - 1) + q + 1 > 0
                   for n, s, p, d, w, q in zip(size, stride, padding, dilation, window, out_pad)))
        kernel = b.const(torch.randn(c_in, c_out // groups, *window))
        v = b.op("trt.deconvolution", x, kernel, bias, stride=stride, padding=padding, dilation=dilation,
                 groups=groups, output_padding=out_pad)
    else:
        kernel = b.const(torch.randn(c_out, c_in // groups, *window))
        v = b.op("trt.convolution", x, kernel, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_emission(b.outputs(v))


@given(spatial=st.integers(1, 3), kind=st.sampled_from(PoolingType), lead=shapes(min_dims=1, max_dims=3, max_side=3),
       ceil=st.booleans(), exclude=st.booleans(), data=st.data())
def test_pooling_shapes_including_ceil_mode_and_reshaped_inputs(spatial: int, kind: PoolingType,
                                                                lead: tuple[int, ...], ceil: bool, exclude: bool,
                                                                data: st.DataObject) -> None:
    window = [data.draw(st.integers(1, 3)) for _ in range(spatial)]
    stride = [data.draw(st.integers(1, 3)) for _ in range(spatial)]
    padding = [data.draw(st.integers(0, w - 1)) for w in window]  # TensorRT wants padding < window
    size = [data.draw(st.integers(w, w + 5)) for w in window]
    b = TrtGraph()
    try:
        v = b.op("trt.pooling", b.input("x", "f32", (*lead, *size)), type=kind, window=window, stride=stride,
                 padding=padding, ceil_mode=ceil, exclude_padding=exclude)
    except ValueError:  # the reference refuses (exclusive average over a padding-only window): so does TensorRT
        assume(False)
    check_emission(b.outputs(v))


@given(op_a=st.sampled_from(MatrixOperation), op_b=st.sampled_from(MatrixOperation), data=st.data())
def test_matrix_multiply_shapes_with_broadcast_and_vectors(op_a: MatrixOperation, op_b: MatrixOperation,
                                                           data: st.DataObject) -> None:
    batch = data.draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    m, k, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    core_a = {MatrixOperation.NONE: (m, k), MatrixOperation.TRANSPOSE: (k, m), MatrixOperation.VECTOR: (k,)}[op_a]
    core_b = {MatrixOperation.NONE: (k, n), MatrixOperation.TRANSPOSE: (n, k), MatrixOperation.VECTOR: (k,)}[op_b]
    b = TrtGraph()
    v = b.op("trt.matrix_multiply", b.input("a", "f32", (*batch.input_shapes[0], *core_a)),
             b.input("b", "f32", (*batch.input_shapes[1], *core_b)), op_a=op_a, op_b=op_b)
    check_emission(b.outputs(v))


@given(shape=shapes(max_dims=4, max_side=4), kind=st.sampled_from(ReduceOperation), keep=st.booleans(),
       data=st.data())
def test_reduce_softmax_and_topk_shapes(shape: tuple[int, ...], kind: ReduceOperation, keep: bool,
                                        data: st.DataObject) -> None:
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=rank,
                              unique_by=lambda a: a % rank))
    axis = data.draw(st.integers(max(-rank, -4), rank - 1))  # TensorRT's topk reduces one of the last four dims
    b = TrtGraph()
    x = b.input("x", "f32", shape)
    r = b.op("trt.reduce", x, op=kind, axes=axes, keep_dims=keep)
    s = b.op("trt.softmax", x, axis=axis)
    t = b.op("trt.topk", x, op="MIN", k=data.draw(st.integers(1, shape[axis])), axes=[axis])
    check_emission(b.outputs(r, s, t, type(t)(t.node, 1)))


@given(shape=shapes(max_dims=4, max_side=4), data=st.data())
def test_shuffle_slice_and_concatenation_shapes(shape: tuple[int, ...], data: st.DataObject) -> None:
    rank = len(shape)
    perm = data.draw(st.permutations(range(rank)))
    t_shape = [shape[i] for i in perm]
    reshape = [0 if data.draw(st.booleans()) else d for d in t_shape]
    reshape[data.draw(st.integers(0, rank - 1))] = -1
    start = [data.draw(st.integers(0, d - 1)) for d in shape]
    stride = [data.draw(st.sampled_from([1, 2, -1, 0])) for _ in shape]
    size = [1 if st_ == 0 else data.draw(st.integers(1, (d - 1 - s) // st_ + 1 if st_ > 0 else s + 1))
            for s, st_, d in zip(start, stride, shape)]
    b = TrtGraph()
    x = b.input("x", "f32", shape)
    sh = b.op("trt.shuffle", x, first_transpose=list(perm), reshape=reshape, second_transpose=None)
    sl = b.op("trt.slice", x, start=start, shape=size, stride=stride)
    cat = b.op("trt.concatenation", [x, sl] if size == list(shape) else [x, x],
               axis=data.draw(st.integers(-rank, rank - 1)))
    check_emission(b.outputs(sh, sl, cat))


@given(data_shape=shapes(max_dims=3, max_side=4), idx_shape=shapes(min_dims=0, max_dims=2, max_side=3),
       mode=st.sampled_from(GatherMode), dtype=st.sampled_from(["i32", "i64"]), data=st.data())
def test_gather_shapes_in_every_mode(data_shape: tuple[int, ...], idx_shape: tuple[int, ...], mode: GatherMode,
                                    dtype: str, data: st.DataObject) -> None:
    rank = len(data_shape)
    axis = data.draw(st.integers(0, rank - 1))
    if mode is GatherMode.ELEMENT:
        idx_shape = tuple(data.draw(st.integers(1, 3)) if i == axis else d for i, d in enumerate(data_shape))
    elif mode is GatherMode.ND:
        idx_shape = (*idx_shape, data.draw(st.integers(1, rank)))
        axis = 0
    b = TrtGraph()
    v = b.op("trt.gather", b.input("x", "f32", data_shape), b.input("i", dtype, idx_shape), axis=axis, mode=mode)
    check_emission(b.outputs(v))


@given(shapes_=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=3),
       dtype=st.sampled_from(["f32", "f16", "bf16", "i32", "i64"]))
def test_elementwise_select_and_normalization_broadcast_shapes(shapes_: object, dtype: str) -> None:
    sa, sb, sc = shapes_.input_shapes  # type: ignore[attr-defined]
    b = TrtGraph()
    x, y = b.input("a", dtype, sa), b.input("b", dtype, sb)
    gt = b.op("trt.elementwise", x, y, op="GREATER")
    s = b.op("trt.select", b.input("c", "bool", sc), x, y)
    outs = [b.op("trt.elementwise", x, y, op="SUM"), gt, s]
    n_in = b.op("trt.elementwise", x, y, op="PROD")
    full = b.g.type(n_in).shape
    if dtype.startswith(("f", "b")) and full:
        scale = torch.ones(full[-1], dtype={"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype])
        outs.append(b.op("trt.normalization", n_in, b.const(scale), b.const(scale.clone()), axes=[-1],
                         epsilon=1e-5))
    check_emission(b.outputs(*outs))


@given(data_shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), mode=st.sampled_from(ScatterMode),
       dtype=st.sampled_from(["f32", "f16", "bf16", "i32", "i64"]), idx_dtype=st.sampled_from(["i32", "i64"]),
       data=st.data())
def test_tensorrt_infers_the_references_scatter_types(data_shape: list[int], mode: ScatterMode, dtype: str,
                                                      idx_dtype: str, data: st.DataObject) -> None:
    """Random ELEMENT and ND configurations: TensorRT's shape and dtype inference agrees with the reference's
    (``check_emission`` defines the one-layer network and holds its types against the IR's; no engine is built)."""
    rank = len(data_shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    if mode is ScatterMode.ELEMENT:
        idx_shape = [data.draw(st.integers(1, s)) for s in data_shape]
        updates_shape = idx_shape
    else:
        k = data.draw(st.integers(1, rank))
        batch = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
        idx_shape, updates_shape = [*batch, k], [*batch, *data_shape[k:]]
    b = TrtGraph()
    out = b.op("trt.scatter", b.input("x", dtype, tuple(data_shape)), b.input("i", idx_dtype, tuple(idx_shape)),
               b.input("u", dtype, tuple(updates_shape)), mode=mode, axis=axis)
    assert check_emission(b.outputs(out))


@given(mode=st.sampled_from(InterpolationMode), n=st.integers(1, 2), c=st.integers(1, 3), data=st.data())
def test_resize_shapes_in_every_mode(mode: InterpolationMode, n: int, c: int, data: st.DataObject) -> None:
    """NEAREST and LINEAR resize the last 1-3 dims, CUBIC the last 2, in the coordinate transformations the
    reference defines each with; TensorRT types the layer as the reference does."""
    spatial = 2 if mode is InterpolationMode.CUBIC else data.draw(st.integers(1, 3))
    size_in = [data.draw(st.integers(1, 5)) for _ in range(spatial)]
    size_out = [data.draw(st.integers(1, 7)) for _ in range(spatial)]
    coords = (ResizeCoordinateTransformation.ASYMMETRIC if mode is InterpolationMode.NEAREST
              else data.draw(st.sampled_from([ResizeCoordinateTransformation.HALF_PIXEL,
                                              ResizeCoordinateTransformation.ALIGN_CORNERS])))
    b = TrtGraph()
    v = b.op("trt.resize", b.input("x", data.draw(st.sampled_from(["f32", "f16"])), (n, c, *size_in)),
             shape=[n, c, *size_out], mode=mode, coordinate_transformation=coords,
             selector_for_single_pixel=ResizeSelector.UPPER)
    check_emission(b.outputs(v))


@given(n=st.integers(1, 2), c=st.integers(1, 3), size=st.tuples(st.integers(1, 5), st.integers(1, 5)),
       out=st.tuples(st.integers(1, 5), st.integers(1, 5)), dtype=st.sampled_from(["f32", "f16"]),
       mode=st.sampled_from([InterpolationMode.LINEAR, InterpolationMode.NEAREST]),
       sample=st.sampled_from(SampleMode), align=st.booleans())
def test_grid_sample_shapes(n: int, c: int, size: tuple[int, int], out: tuple[int, int], dtype: str,
                            mode: InterpolationMode, sample: SampleMode, align: bool) -> None:
    b = TrtGraph()
    v = b.op("trt.grid_sample", b.input("x", dtype, (n, c, *size)), b.input("g", dtype, (n, *out, 2)),
             interpolation_mode=mode, align_corners=align, sample_mode=sample)
    check_emission(b.outputs(v))
