"""Shuffle, concatenation, slice and shape (backend/layers/shape.py) against numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run, shapes, tensors


@given(data=st.data())
def test_shape_is_the_dims_as_an_i64_vector(data: st.DataObject) -> None:
    x = data.draw(tensors(data.draw(shapes())))
    (out,) = run("trt.shape", input=x)
    assert out.dtype == torch.int64 and out.tolist() == list(x.shape)


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
