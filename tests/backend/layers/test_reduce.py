"""Reduce, topk and cumulative (backend/layers/reduce.py) against numpy in float64 / int64; cumulative's exclusive
and reverse are spelled out as shifts and flips of the inclusive sum."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run, shapes, tensors
from trt_passes.backend.enums import CumulativeOperation, ReduceOperation, TopKOperation

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


def _expected(x: np.ndarray, axis: int, exclusive: bool, reverse: bool) -> np.ndarray:
    y = np.flip(x, axis) if reverse else x
    out = np.cumsum(y, axis=axis)
    if exclusive:  # shift by one along the axis, zeros first
        out = np.concatenate([np.zeros_like(np.take(out, [0], axis=axis)),
                              np.take(out, range(out.shape[axis] - 1), axis=axis)], axis=axis)
    return np.flip(out, axis) if reverse else out


@given(exclusive=st.booleans(), reverse=st.booleans(), data=st.data())
def test_cumulative_sum_matches_numpy(exclusive: bool, reverse: bool, data: st.DataObject) -> None:
    x = data.draw(tensors(data.draw(shapes(min_dims=1))))
    axis = data.draw(st.integers(-x.dim(), x.dim() - 1))
    (out,) = run("trt.cumulative", input=x, axis=axis, op=CumulativeOperation.SUM, exclusive=exclusive,
                 reverse=reverse)
    expected = _expected(x.numpy(), axis % x.dim(), exclusive, reverse)
    torch.testing.assert_close(out, torch.from_numpy(expected.copy()).to(out.dtype))


def test_cumulative_keeps_integer_dtype_and_rejects_bool_and_scalars() -> None:
    x = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.int32)
    (out,) = run("trt.cumulative", input=x, axis=1)
    assert out.dtype == torch.int32 and out.tolist() == [[1, 3, 6], [4, 9, 15]]
    with pytest.raises(TypeError):
        run("trt.cumulative", input=x.bool(), axis=0)
    with pytest.raises(ValueError):
        run("trt.cumulative", input=torch.tensor(1.0), axis=0)
