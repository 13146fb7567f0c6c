"""The reference runtime's reductions and data movement (reduce, softmax, normalization, topk, shuffle,
concatenation, slice, gather) against independent formulations in float64: numpy, F.layer_norm / instance_norm,
torch.index_select."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run, shapes, tensors
from trt_passes.backend.enums import GatherMode, ReduceOperation, TopKOperation

_REDUCE = {ReduceOperation.SUM: np.sum, ReduceOperation.PROD: np.prod, ReduceOperation.MAX: np.max,
           ReduceOperation.MIN: np.min, ReduceOperation.AVG: np.mean}


@st.composite
def axes_of(draw: st.DrawFn, rank: int, min_size: int = 1) -> list[int]:
    """Distinct axes, each spelled positive or negative."""
    chosen = draw(st.lists(st.integers(0, rank - 1), min_size=min_size, max_size=rank, unique=True))
    return [a - rank if draw(st.booleans()) else a for a in chosen]


@given(kind=st.sampled_from(ReduceOperation), keep=st.booleans(), data=st.data())
def test_reduce_matches_numpy(kind: ReduceOperation, keep: bool, data: st.DataObject) -> None:
    x = data.draw(tensors(data.draw(shapes()), lo=0.5, hi=2.0))
    axes = data.draw(axes_of(x.dim()))
    (out,) = run("trt.reduce", input=x, op=kind, axes=axes, keep_dims=keep)
    expected = _REDUCE[kind](x.numpy(), axis=tuple(axes), keepdims=keep)
    torch.testing.assert_close(out, torch.from_numpy(np.asarray(expected)))


@given(data=st.data())
def test_softmax_is_exp_over_sum(data: st.DataObject) -> None:
    x = data.draw(tensors(data.draw(shapes())))
    axis = data.draw(st.integers(-x.dim(), x.dim() - 1))
    (out,) = run("trt.softmax", input=x, axis=axis)
    e = np.exp(x.numpy())
    torch.testing.assert_close(out, torch.from_numpy(e / e.sum(axis=axis, keepdims=True)))


@given(shape=shapes(min_dims=2, max_dims=4, min_side=2), data=st.data())
def test_normalization_over_trailing_axes_is_layer_norm(shape: tuple[int, ...], data: st.DataObject) -> None:
    k = data.draw(st.integers(1, len(shape)))
    x = data.draw(tensors(shape))
    scale, bias = data.draw(tensors(shape[-k:])), data.draw(tensors(shape[-k:]))
    eps = data.draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    (out,) = run("trt.normalization", input=x, scale=scale, bias=bias, axes=list(range(-k, 0)), epsilon=eps)
    torch.testing.assert_close(out, F.layer_norm(x, shape[-k:], scale, bias, eps))


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(2, 4), w=st.integers(2, 4), data=st.data())
def test_normalization_over_spatial_axes_with_channel_scale_is_instance_norm(n: int, c: int, h: int, w: int,
                                                                             data: st.DataObject) -> None:
    x = data.draw(tensors((n, c, h, w)))
    scale, bias = data.draw(tensors((1, c, 1, 1))), data.draw(tensors((1, c, 1, 1)))
    (out,) = run("trt.normalization", input=x, scale=scale, bias=bias, axes=[2, 3], epsilon=1e-5)
    torch.testing.assert_close(out, F.instance_norm(x, weight=scale.flatten(), bias=bias.flatten(), eps=1e-5))


@given(kind=st.sampled_from(TopKOperation), data=st.data())
def test_topk_values_are_the_sorted_extremes_and_indices_point_at_them(kind: TopKOperation,
                                                                      data: st.DataObject) -> None:
    x = data.draw(tensors(data.draw(shapes())))
    axis = data.draw(st.integers(-x.dim(), x.dim() - 1))
    k = data.draw(st.integers(1, x.shape[axis]))
    values, indices = run("trt.topk", input=x, op=kind, k=k, axes=[axis])
    ordered = np.sort(x.numpy(), axis=axis)
    ordered = np.flip(ordered, axis=axis) if kind is TopKOperation.MAX else ordered
    assert np.array_equal(values.numpy(), np.take(ordered, np.arange(k), axis=axis))
    assert indices.dtype == torch.int32  # TensorRT's default indices type
    assert np.array_equal(np.take_along_axis(x.numpy(), indices.numpy().astype(np.int64), axis=axis),
                          values.numpy())


@st.composite
def shuffle_case(draw: st.DrawFn) -> tuple[torch.Tensor, list[int] | None, list[int] | None, list[int] | None]:
    x = draw(tensors(draw(shapes(max_dims=4, max_side=4))))
    first = draw(st.none() | st.permutations(range(x.dim())))
    t_shape = [x.shape[i] for i in first] if first is not None else list(x.shape)
    # A target shape of the same size, then spelled with TensorRT's placeholders: 0 keeps the dim at that position,
    # one -1 is inferred.
    target = draw(st.sampled_from([t_shape, [int(np.prod(t_shape))], [1, *t_shape], [*t_shape, 1],
                                   [*t_shape[:-2], t_shape[-2] * t_shape[-1]] if len(t_shape) >= 2 else t_shape]))
    spelled = [0 if i < len(t_shape) and d == t_shape[i] and draw(st.booleans()) else d for i, d in enumerate(target)]
    if draw(st.booleans()):
        j = draw(st.integers(0, len(spelled) - 1))
        spelled[j] = -1
    reshape = spelled if draw(st.booleans()) or first is None else None
    out_rank = len(target) if reshape is not None else len(t_shape)
    second = draw(st.none() | st.permutations(range(out_rank)))
    return x, first, reshape, second


@given(case=shuffle_case())
def test_shuffle_is_transpose_reshape_transpose(case: tuple) -> None:
    x, first, reshape, second = case
    (out,) = run("trt.shuffle", input=x, first_transpose=first, reshape=reshape, second_transpose=second)
    y = x.numpy()
    if first is not None:
        y = np.transpose(y, first)
    if reshape is not None:
        # numpy has no "copy this dim" placeholder: resolve the 0s by hand
        y = np.reshape(y, [y.shape[i] if d == 0 else d for i, d in enumerate(reshape)])
    if second is not None:
        y = np.transpose(y, second)
    assert np.array_equal(out.numpy(), y)


@given(data=st.data())
def test_concatenation_is_numpy_concatenate(data: st.DataObject) -> None:
    shape = list(data.draw(shapes()))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(data.draw(st.integers(1, 3))):
        shape[axis] = data.draw(st.integers(1, 3))
        parts.append(data.draw(tensors(tuple(shape))))
    (out,) = run("trt.concatenation", inputs=parts, axis=axis)
    assert np.array_equal(out.numpy(), np.concatenate([p.numpy() for p in parts], axis=axis))


@st.composite
def slice_case(draw: st.DrawFn) -> tuple[torch.Tensor, list[int], list[int], list[int]]:
    x = draw(tensors(draw(shapes(max_side=7))))
    start, size, stride = [], [], []
    for d in x.shape:
        s = draw(st.integers(0, d - 1))
        st_ = draw(st.sampled_from([1, 2, 3, -1, -2, 0]))
        if st_ > 0:
            n = draw(st.integers(0, (d - 1 - s) // st_ + 1))
        elif st_ < 0:
            n = draw(st.integers(0, s // -st_ + 1))
        else:
            n = draw(st.integers(0, 3))  # stride 0 repeats one element (how TensorRT broadcasts by slicing)
        start.append(s), size.append(n), stride.append(st_)
    return x, start, size, stride


@given(case=slice_case())
def test_slice_reads_start_plus_i_times_stride(case: tuple) -> None:
    x, start, size, stride = case
    (out,) = run("trt.slice", input=x, start=start, shape=size, stride=stride)
    index = np.ix_(*[[s + i * st_ for i in range(n)] for s, n, st_ in zip(start, size, stride)])
    assert np.array_equal(out.numpy(), x.numpy()[index])


def test_slice_out_of_bounds_is_an_error() -> None:
    with pytest.raises(ValueError, match="out of bounds"):
        run("trt.slice", input=torch.ones(4), start=[2], shape=[3], stride=[1])


@given(data=st.data(), idx_dtype=st.sampled_from([torch.int32, torch.int64]))
def test_gather_default_is_index_select_with_indices_of_any_shape(data: st.DataObject, idx_dtype: torch.dtype) -> None:
    x = data.draw(tensors(data.draw(shapes())))
    axis = data.draw(st.integers(-x.dim(), x.dim() - 1))
    idx_shape = data.draw(shapes(min_dims=0, max_dims=2))
    idx = data.draw(tensors(idx_shape, idx_dtype, 0, x.shape[axis] - 1))
    (out,) = run("trt.gather", data=x, indices=idx, axis=axis)
    ax = axis % x.dim()
    flat = torch.index_select(x, ax, idx.flatten().long())
    assert torch.equal(out, flat.reshape([*x.shape[:ax], *idx_shape, *x.shape[ax + 1:]]))


@given(data=st.data())
def test_gather_element_is_take_along_axis(data: st.DataObject) -> None:
    x = data.draw(tensors(data.draw(shapes())))
    axis = data.draw(st.integers(0, x.dim() - 1))
    idx_shape = tuple(data.draw(st.integers(1, 3)) if i == axis else d for i, d in enumerate(x.shape))
    idx = data.draw(tensors(idx_shape, torch.int64, 0, x.shape[axis] - 1))
    (out,) = run("trt.gather", data=x, indices=idx, axis=axis, mode=GatherMode.ELEMENT)
    assert np.array_equal(out.numpy(), np.take_along_axis(x.numpy(), idx.numpy(), axis=axis))


@given(data=st.data())
def test_gather_nd_addresses_the_leading_dims(data: st.DataObject) -> None:
    x = data.draw(tensors(data.draw(shapes(min_dims=1, max_dims=3))))
    q = data.draw(st.integers(1, x.dim()))
    batch = data.draw(shapes(min_dims=0, max_dims=2))
    idx = torch.stack([data.draw(tensors(batch, torch.int64, 0, x.shape[i] - 1)) for i in range(q)], dim=-1)
    (out,) = run("trt.gather", data=x, indices=idx, axis=0, mode="ND")
    expected = x.numpy()[tuple(idx.numpy()[..., i] for i in range(q))]
    assert np.array_equal(out.numpy(), expected)


def test_gather_does_not_wrap_negative_indices() -> None:
    with pytest.raises(IndexError, match="not wrapped"):
        run("trt.gather", data=torch.ones(3, 2), indices=torch.tensor([-1]), axis=0)
