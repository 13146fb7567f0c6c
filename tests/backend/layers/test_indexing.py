"""Gather and scatter (backend/layers/indexing.py). Gather against torch.index_select and numpy's take_along_axis /
advanced indexing; scatter against an element-by-element definition in plain Python (the reference itself is written
with torch.scatter / index_put, so it is checked against something else), and the refusals of both. The real
TensorRT builder's side is in test_emit.py (an engine with scatter and topk indices) and test_emit_agreement.py
(TensorRT's scatter types against the reference's)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run, shapes, tensors
from trt_passes.backend.enums import GatherMode, ScatterMode


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


@st.composite
def element_case(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """data, indices (unique along the axis within each line, possibly smaller than data elsewhere), updates, axis
    (spelled positive or negative)."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    rank = len(shape)
    axis = draw(st.integers(-rank, rank - 1))
    ax = axis % rank
    ishape = [draw(st.integers(1, shape[ax])) if a == ax else draw(st.integers(1, s)) for a, s in enumerate(shape)]
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    lines = math.prod(ishape) // ishape[ax]
    picks = torch.argsort(torch.rand(lines, shape[ax], generator=gen), dim=1)[:, :ishape[ax]]
    others = [s for a, s in enumerate(ishape) if a != ax]
    idx = picks.reshape(*others, ishape[ax]).movedim(-1, ax).contiguous()
    data = draw(tensors(tuple(shape)))
    updates = draw(tensors(tuple(ishape), lo=5.0, hi=9.0))  # outside data's range: a missed write shows
    return data, idx, updates, axis


def _element_by_hand(data: torch.Tensor, idx: torch.Tensor, updates: torch.Tensor, axis: int) -> torch.Tensor:
    out = data.clone()
    ax = axis % data.dim()
    for pos in itertools.product(*(range(s) for s in idx.shape)):
        target = list(pos)
        target[ax] = int(idx[pos])
        out[tuple(target)] = updates[pos]
    return out


@given(case=element_case(), idx_dtype=st.sampled_from([torch.int64, torch.int32]))
def test_element_scatter_writes_each_update_at_its_index_along_the_axis(case: tuple, idx_dtype: torch.dtype) -> None:
    data, idx, updates, axis = case
    (out,) = run("trt.scatter", data=data, indices=idx.to(idx_dtype), updates=updates, mode=ScatterMode.ELEMENT,
                 axis=axis)
    assert torch.equal(out, _element_by_hand(data, idx, updates, axis))


@st.composite
def nd_case(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """data of rank r, unique index tuples of depth k <= r in a batch of rank 1..2, updates [*batch, *data[k:]]."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    k = draw(st.integers(1, len(shape)))
    cells = math.prod(shape[:k])
    count = draw(st.integers(1, cells))
    batch = draw(st.sampled_from([(count,), (1, count), (count, 1)]))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    flat = torch.randperm(cells, generator=gen)[:count]
    tuples = torch.stack(torch.unravel_index(flat, tuple(shape[:k])), dim=-1).reshape(*batch, k)
    data = draw(tensors(tuple(shape)))
    updates = draw(tensors((*batch, *shape[k:]), lo=5.0, hi=9.0))
    return data, tuples, updates


@given(case=nd_case())
def test_nd_scatter_writes_each_trailing_slice_at_its_index_tuple(case: tuple) -> None:
    data, tuples, updates = case
    (out,) = run("trt.scatter", data=data, indices=tuples, updates=updates, mode=ScatterMode.ND)
    expected = data.clone()
    k = tuples.shape[-1]
    for pos in itertools.product(*(range(s) for s in tuples.shape[:-1])):
        expected[tuple(int(c) for c in tuples[pos])] = updates[pos]  # a whole data[k:] slice
    assert torch.equal(out, expected)
    assert out.shape == data.shape and k <= data.dim()


@pytest.mark.parametrize("args, error, words", [
    ({"indices": torch.tensor([[-1]])}, IndexError, "outside 0..2"),
    ({"indices": torch.tensor([[3]])}, IndexError, "outside 0..2"),
    ({"data": torch.zeros(2, 3, dtype=torch.bool), "updates": torch.ones(1, 1, dtype=torch.bool)}, TypeError,
     "f32/f16/bf16/i32/i64/i8"),
    ({"updates": torch.ones(1, 1, dtype=torch.float16)}, TypeError, "one dtype"),
    ({"indices": torch.tensor([[0.0]])}, TypeError, "i32 or i64"),
    ({"updates": torch.ones(1, 2)}, ValueError, "the indices' shape"),
    ({"indices": torch.tensor([[0]] * 3), "updates": torch.ones(3, 1)}, ValueError, "exceed data"),
    ({"mode": ScatterMode.ND, "indices": torch.tensor([[0, 1, 0]]), "updates": torch.ones(1)}, ValueError,
     "do not address data of rank 2"),
    ({"mode": ScatterMode.ND, "indices": torch.tensor([[1]]), "updates": torch.ones(1, 2)}, ValueError,
     "must have shape (1, 3)"),
])
def test_scatter_refuses_what_tensorrt_would(args: dict, error: type, words: str) -> None:
    full = {"data": torch.zeros(2, 3), "indices": torch.tensor([[1]]), "updates": torch.ones(1, 1), "axis": 1,
            **args}
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        run("trt.scatter", **full)
