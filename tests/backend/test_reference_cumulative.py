"""The reference runtime's cumulative sum against an independent formulation: numpy's cumsum in float64 / int64,
with exclusive and reverse spelled out as shifts and flips of the inclusive sum."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run, shapes, tensors
from trt_passes.backend.enums import CumulativeOperation


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
