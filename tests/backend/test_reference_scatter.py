"""``trt.scatter``: the reference runtime against an element-by-element definition in plain Python (the reference
itself is written with torch.scatter / index_put, so it is checked against something else), its refusals, and the
real TensorRT builder accepting scatter layers with the types the IR gives them."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import TrtGraph, run, tensors
from trt_passes.backend.emit import BuildSettings, check_emission, emit_engine
from trt_passes.backend.enums import ScatterMode, TopKOperation
from trt_passes.backend.tensorrt_import import TensorRTNotAvailableError, find_tensorrt


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


# ---- emission: the real TensorRT builder ----------------------------------------------------------------------------
def _tensorrt_present() -> bool:
    try:
        find_tensorrt()
    except TensorRTNotAvailableError:
        return False
    return True


needs_tensorrt = pytest.mark.skipif(not _tensorrt_present(), reason="no TensorRT module installed")


@needs_tensorrt
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


@needs_tensorrt
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
