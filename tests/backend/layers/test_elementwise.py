"""``trt.elementwise``, ``trt.select``, ``trt.cast`` and ``trt.identity`` (backend/layers/elementwise.py) against
numpy in float64 (and plain Python for integer division). Every property also checks that meta-tensor inference
predicts the real result's type (``run``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from tests.backend.builders import run, shapes, tensors
from trt_passes.backend.enums import ElementWiseOperation

_FLOAT_OPS = {
    ElementWiseOperation.SUM: np.add,
    ElementWiseOperation.PROD: np.multiply,
    ElementWiseOperation.MAX: np.maximum,
    ElementWiseOperation.MIN: np.minimum,
    ElementWiseOperation.SUB: np.subtract,
    ElementWiseOperation.DIV: np.divide,
    ElementWiseOperation.POW: np.power,
    ElementWiseOperation.FLOOR_DIV: lambda a, b: np.floor(np.divide(a, b)),  # floor of the rounded quotient
    ElementWiseOperation.EQUAL: np.equal,
    ElementWiseOperation.GREATER: np.greater,
    ElementWiseOperation.LESS: np.less,
}


@given(kind=st.sampled_from(sorted(_FLOAT_OPS, key=lambda k: k.name)),
       shapes_=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4), data=st.data())
def test_elementwise_broadcasts_like_numpy_over_unequal_ranks(kind: ElementWiseOperation, shapes_: object,
                                                              data: st.DataObject) -> None:
    sa, sb = shapes_.input_shapes  # type: ignore[attr-defined]
    positive = kind in (ElementWiseOperation.POW, ElementWiseOperation.DIV, ElementWiseOperation.FLOOR_DIV)
    a = data.draw(tensors(sa, lo=0.5 if positive else -3.0))
    b = data.draw(tensors(sb, lo=0.5 if positive else -3.0))
    if kind is ElementWiseOperation.EQUAL:
        b = torch.where(torch.rand(b.shape) < 0.5, b, torch.ones_like(b))  # make some elements equal
        a = torch.where(torch.rand(a.shape) < 0.5, a, torch.ones_like(a))
    (out,) = run("trt.elementwise", a=a, b=b, op=kind)
    expected = torch.from_numpy(np.asarray(_FLOAT_OPS[kind](a.numpy(), b.numpy())))
    assert out.shape == shapes_.result_shape  # type: ignore[attr-defined]
    torch.testing.assert_close(out, expected)


@given(kind=st.sampled_from([ElementWiseOperation.DIV, ElementWiseOperation.FLOOR_DIV, ElementWiseOperation.SUM,
                             ElementWiseOperation.MAX]), data=st.data())
def test_integer_division_truncates_and_floor_division_floors(kind: ElementWiseOperation, data: st.DataObject) -> None:
    shape = data.draw(shapes(max_dims=2))
    a = data.draw(tensors(shape, torch.int64, -20, 20))
    b = data.draw(tensors(shape, torch.int64, 1, 6)) * data.draw(st.sampled_from([1, -1]))
    (out,) = run("trt.elementwise", a=a, b=b, op=kind)
    py = {ElementWiseOperation.DIV: lambda x, y: int(x / y), ElementWiseOperation.FLOOR_DIV: lambda x, y: x // y,
          ElementWiseOperation.SUM: lambda x, y: x + y, ElementWiseOperation.MAX: max}[kind]
    assert out.dtype == torch.int64
    assert out.flatten().tolist() == [py(x, y) for x, y in zip(a.flatten().tolist(), b.flatten().tolist())]


@given(kind=st.sampled_from([ElementWiseOperation.AND, ElementWiseOperation.OR, ElementWiseOperation.XOR]),
       data=st.data())
def test_logical_operations_on_bool(kind: ElementWiseOperation, data: st.DataObject) -> None:
    a = data.draw(tensors((3, 4), torch.bool))
    b = data.draw(tensors((4,), torch.bool))
    fn = {ElementWiseOperation.AND: np.logical_and, ElementWiseOperation.OR: np.logical_or,
          ElementWiseOperation.XOR: np.logical_xor}[kind]
    (out,) = run("trt.elementwise", a=a, b=b, op=kind)
    assert torch.equal(out, torch.from_numpy(fn(a.numpy(), b.numpy())))


def test_elementwise_wants_one_dtype_as_a_strongly_typed_network_does() -> None:
    with pytest.raises(TypeError, match="one dtype"):
        run("trt.elementwise", a=torch.ones(2), b=torch.ones(2, dtype=torch.float16), op="SUM")


@given(shapes_=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=4), data=st.data())
def test_select_is_numpy_where(shapes_: object, data: st.DataObject) -> None:
    sc, st_, se = shapes_.input_shapes  # type: ignore[attr-defined]
    c = data.draw(tensors(sc, torch.bool))
    t, e = data.draw(tensors(st_)), data.draw(tensors(se))
    (out,) = run("trt.select", condition=c, then_input=t, else_input=e)
    assert torch.equal(out, torch.from_numpy(np.where(c.numpy(), t.numpy(), e.numpy())))


@given(to=st.sampled_from(["f32", "f16", "i32", "i64", "bool", "u8"]), data=st.data())
def test_cast_is_numpy_astype(to: str, data: st.DataObject) -> None:
    # float32 input, the widest float TensorRT has: torch casts float64 to float16 through float32, which rounds
    # twice (50.7656261 -> 50.765625 -> 50.75) where numpy rounds once (50.78125); TensorRT never casts from float64.
    x = data.draw(tensors(data.draw(shapes()), torch.float32, lo=0.0 if to == "u8" else -100.0, hi=100.0))
    (out,) = run("trt.cast", input=x, to=to)
    np_type = {"f32": np.float32, "f16": np.float16, "i32": np.int32, "i64": np.int64, "bool": np.bool_,
               "u8": np.uint8}[to]
    assert np.array_equal(out.numpy(), x.numpy().astype(np_type))


def test_identity_copies() -> None:
    x = torch.randn(2, 3)
    (out,) = run("trt.identity", input=x)
    assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()


@pytest.mark.parametrize(("kind", "expected"), [(ElementWiseOperation.MAX, [2.0, 1.0, "nan"]),
                                                 (ElementWiseOperation.MIN, [2.0, 1.0, "nan"])])
def test_max_and_min_return_the_other_operand_where_one_is_nan(kind: ElementWiseOperation, expected: list) -> None:
    """NVIDIA/TensorRT#4758: TensorRT's MIN returns the non-NaN operand (IEEE minNum); torch.minimum gives NaN."""
    a = torch.tensor([math.nan, 1.0, math.nan])
    b = torch.tensor([2.0, math.nan, math.nan])
    (out,) = run("trt.elementwise", a=a, b=b, op=kind)
    assert [v if v == v else "nan" for v in out.tolist()] == expected


def test_float_floor_division_floors_the_rounded_quotient() -> None:
    """1.0 / 0.1 rounds to 10.0 in float32, so TensorRT's FLOOR_DIV gives 10 where torch (exact fmod) gives 9."""
    a, b = torch.tensor([1.0, -1.0, 7.0]), torch.tensor([0.1, 0.1, 2.0])
    assert run("trt.elementwise", a=a, b=b, op=ElementWiseOperation.FLOOR_DIV)[0].tolist() == [10.0, -10.0, 3.0]
    assert (a // b).tolist() == [9.0, -10.0, 3.0]


def test_pow_of_a_negative_float_base_is_nan_as_tensorrt_rtx_computes_it() -> None:
    """pytorch/TensorRT#4181: TensorRT-RTX's POW is NaN for a negative base, also where torch gives (-2) ** 3 = -8."""
    (out,) = run("trt.elementwise", a=torch.tensor([-2.0, 2.0, 0.0]), b=torch.tensor([3.0, 3.0, 2.0]),
                 op=ElementWiseOperation.POW)
    assert math.isnan(out[0].item()) and out[1:].tolist() == [8.0, 0.0]


@pytest.mark.parametrize("to", ["i32", "i64", "i8", "u8"])
def test_a_cast_of_a_float_to_an_integer_truncates_saturates_and_gives_0_for_nan(to: str) -> None:
    """NVIDIA/TensorRT#4775 (float32 to int32): NaN gives 0, +inf INT32_MAX; torch leaves these undefined."""
    x = torch.tensor([math.nan, math.inf, -math.inf, 1e19, -1e19, 2.7, -2.7, 0.0])
    info = torch.iinfo({"i32": torch.int32, "i64": torch.int64, "i8": torch.int8, "u8": torch.uint8}[to])
    (out,) = run("trt.cast", input=x, to=to)
    neg = [-2] if info.min < 0 else [0]
    assert out.tolist() == [0, info.max, info.min, info.max, info.min, 2, *neg, 0]
