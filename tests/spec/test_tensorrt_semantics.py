"""Where a TensorRT layer computes something other than the PyTorch op it stands for, the converted program still gives
PyTorch's answer: each converter emits a form that does, or leaves the op to PyTorch.

The reference runtime computes TensorRT's semantics (backend/layers, ARCHITECTURE.md's table of them), so each test
here fails if a converter went back to emitting the bare layer. Inputs are the ones where the semantics differ (NaN,
bounds in the wrong order, a single output pixel, rounding boundaries, negative bases), compared exactly with eager
PyTorch; engines are built for real, segments run on the reference runtime.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import trt_passes

NAN = math.nan


class Fn(torch.nn.Module):
    def __init__(self, f: Callable[..., Any]) -> None:
        super().__init__()
        self.f = f

    def forward(self, *args: torch.Tensor) -> Any:
        return self.f(*args)


def converted(f: Callable[..., Any], *inputs: torch.Tensor, **options: Any) -> Any:
    """``f`` compiled with every op it can convert in TensorRT segments, run on the reference runtime."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trt_passes.compile(Fn(f).eval(), inputs=list(inputs), min_block_size=1, runtime="reference",
                                  **options)


def assert_same(got: torch.Tensor, want: torch.Tensor) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    assert torch.equal(torch.isnan(got), torch.isnan(want)), (got, want)
    assert torch.equal(torch.nan_to_num(got), torch.nan_to_num(want)), (got, want)


def fallbacks(compiled: Any) -> list[str]:
    return [f.op for f in compiled.compile_report.fallbacks]


# ---- NaN through CLIP, MAX and MIN (TensorRT replaces it by a bound or the other operand) -------------------------

X_WITH_NAN = torch.tensor([[NAN, -7.0, -0.5, 0.5, 7.0, NAN]])


@pytest.mark.parametrize("name, f", [
    ("clamp", lambda x: torch.clamp(x, -1.0, 6.0)),
    ("hardtanh", lambda x: F.hardtanh(x, -1.0, 1.0)),
    ("relu6", F.relu6),
    ("clamp_min", lambda x: torch.clamp(x, min=0.5)),
    ("clamp_max", lambda x: torch.clamp(x, max=0.5)),
    ("hardsigmoid", F.hardsigmoid),  # (hardswish multiplies by x, so a NaN comes through whatever the clamp does)
])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_a_nan_input_stays_nan_through_clamps_as_in_torch(name: str, f: Callable, dtype: torch.dtype) -> None:
    x = X_WITH_NAN.to(dtype)
    compiled = converted(f, x)
    assert fallbacks(compiled) == [], name
    with torch.no_grad():
        assert_same(compiled(x), f(x))


@pytest.mark.parametrize("f", [torch.maximum, torch.minimum])
def test_a_nan_in_either_operand_of_maximum_and_minimum_is_the_result_as_in_torch(f: Callable) -> None:
    a = torch.tensor([NAN, 1.0, NAN, 2.0, -3.0])
    b = torch.tensor([1.0, NAN, NAN, -2.0, 3.0])
    compiled = converted(lambda p, q: f(p, q) * 2, a, b)
    assert fallbacks(compiled) == []
    with torch.no_grad():
        assert_same(compiled(a, b), f(a, b) * 2)


def test_isnan_converts_to_tensorrts_isnan() -> None:
    compiled = converted(torch.isnan, X_WITH_NAN)
    assert fallbacks(compiled) == [] and compiled.compile_report.rule_fires["isnan"] == 1
    with torch.no_grad():
        assert torch.equal(compiled(X_WITH_NAN), torch.isnan(X_WITH_NAN))


@pytest.mark.parametrize("op, f", [
    ("aten.clamp.default", lambda t: torch.clamp(t, 2.0, 1.0)),
    ("aten.hardtanh.default", lambda t: torch.ops.aten.hardtanh.default(t, 2.0, 1.0)),  # F.hardtanh refuses lo > hi
])
def test_clamp_and_hardtanh_with_the_lower_bound_above_the_upper_stay_in_pytorch(op: str, f: Callable) -> None:
    """TensorRT's CLIP gives alpha = 2 there, torch gives hi = 1: the rules do not match."""
    x = torch.tensor([[-3.0, 0.0, 1.5, 3.0]])
    compiled = converted(lambda t: f(t) + t, x)
    assert fallbacks(compiled) == [op]
    with torch.no_grad():
        assert_same(compiled(x), f(x) + x)


# ---- float floor division (TensorRT floors the rounded quotient; torch corrects it with an exact remainder) ---------

BOUNDARY = torch.tensor([1.0, -1.0, 0.3, 7.0, -7.5, 1e-3])


def test_floor_division_by_a_number_that_is_not_a_power_of_two_stays_in_pytorch() -> None:
    compiled = converted(lambda x: torch.div(x, 0.1, rounding_mode="floor") + x, BOUNDARY)
    assert fallbacks(compiled) == ["aten.div.Tensor_mode"]
    with torch.no_grad():
        got = compiled(BOUNDARY)
    assert got[0].item() == 9.0 + 1.0  # 1.0 // 0.1 is 9 in torch; floor(fl(1.0 / 0.1)) would be 10
    assert_same(got, torch.div(BOUNDARY, 0.1, rounding_mode="floor") + BOUNDARY)


@pytest.mark.parametrize("divisor", [0.5, -4.0, 2.0 ** -10])
def test_floor_division_by_a_power_of_two_is_exact_and_converts(divisor: float) -> None:
    x = torch.tensor([1.0, -1.0, 0.3, 7.0, -7.5, 1e-3, -2.0 ** -9])
    compiled = converted(lambda t: torch.div(t, divisor, rounding_mode="floor"), x)
    assert fallbacks(compiled) == []
    with torch.no_grad():
        assert_same(compiled(x), torch.div(x, divisor, rounding_mode="floor"))


def test_floor_division_by_a_tensor_stays_in_pytorch() -> None:
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([0.1, 0.3])
    compiled = converted(lambda p, q: torch.div(p, q, rounding_mode="floor") * 2, a, b)
    assert fallbacks(compiled) == ["aten.div.Tensor_mode"]
    with torch.no_grad():
        assert_same(compiled(a, b), torch.div(a, b, rounding_mode="floor") * 2)


# ---- POW of a negative base (NaN on TensorRT-RTX, the real power in torch for integer exponents) --------------------

SIGNED = torch.tensor([-2.5, -1.0, -0.5, 0.0, 0.75, 3.0])


@pytest.mark.parametrize("n", [3, 4, 5.0, 7, -1, -2, -3.0, 0, 1, 2])
def test_an_integer_power_of_a_negative_base_is_the_real_power(n: float) -> None:
    compiled = converted(lambda x: torch.pow(x, n), SIGNED)
    assert fallbacks(compiled) == []
    with torch.no_grad():
        got, want = compiled(SIGNED), torch.pow(SIGNED, n)
    torch.testing.assert_close(got, want, rtol=4 * 2.0 ** -24, atol=0.0)  # products round a few times, like pow


def test_a_zeroth_power_is_one_even_of_nan_and_infinity() -> None:
    x = torch.tensor([NAN, math.inf, -2.0, 0.0])
    compiled = converted(lambda t: torch.pow(t, 0) + t, x)
    assert fallbacks(compiled) == []
    with torch.no_grad():
        assert_same(compiled(x), torch.pow(x, 0) + x)


def test_a_non_integer_power_of_a_negative_base_is_nan_in_both() -> None:
    compiled = converted(lambda x: torch.pow(x, 1.5), SIGNED)
    assert fallbacks(compiled) == []
    with torch.no_grad():
        torch.testing.assert_close(compiled(SIGNED), torch.pow(SIGNED, 1.5), equal_nan=True)


def test_a_tensor_power_of_a_negative_base_follows_torch_for_odd_even_and_fractional_exponents() -> None:
    x = torch.tensor([-2.0, -2.0, -2.0, -2.0, 3.0, -0.5, 0.0, 2.0])
    y = torch.tensor([3.0, 2.0, 0.5, -1.0, 2.5, -3.0, 2.0, -2.0])
    compiled = converted(torch.pow, x, y)
    assert fallbacks(compiled) == []
    with torch.no_grad():
        got = compiled(x, y)
    torch.testing.assert_close(got, torch.pow(x, y), equal_nan=True)
    assert got[0].item() == -8.0 and math.isnan(got[2].item())


def test_a_negative_number_to_a_tensor_power_stays_in_pytorch() -> None:
    x = torch.tensor([1.0, 2.0, 3.0])
    compiled = converted(lambda t: torch.pow(-2.0, t) + t, x)
    assert fallbacks(compiled) == ["aten.pow.Scalar"]
    with torch.no_grad():
        assert_same(compiled(x), torch.pow(-2.0, x) + x)
    assert fallbacks(converted(lambda t: torch.pow(2.0, t), x)) == []


# ---- LINEAR resize with align_corners to one row (TensorRT's formula divides by zero; torch reads the first) --------

@pytest.mark.parametrize("size", [(1, 4), (1, 1), (3, 1)])
def test_bilinear_with_align_corners_to_an_output_size_of_1_reads_the_first_row_as_in_torch(size) -> None:
    x = torch.randn(1, 2, 5, 4, generator=torch.Generator().manual_seed(0))
    f = lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=True)  # noqa: E731
    compiled = converted(f, x)
    assert fallbacks(compiled) == []
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), f(x))


# ---- casts of non-finite or out-of-range floats to integers (undefined in torch) ----------------------------------

def test_casting_nan_infinity_or_out_of_range_floats_to_int_gives_tensorrts_saturated_values() -> None:
    """Documented, not hidden: torch's result is undefined here (x86 gives INT_MIN for all of them), so the converted
    program is held to TensorRT's cast (NaN 0, saturation), and the rules' tests draw in-range values only."""
    x = torch.tensor([math.nan, math.inf, -math.inf, 3e9, -3e9, 2.7, -2.7])
    compiled = converted(lambda t: t.to(torch.int32), x)
    assert fallbacks(compiled) == [] and compiled.compile_report.partitions
    top, bottom = torch.iinfo(torch.int32).max, torch.iinfo(torch.int32).min
    with torch.no_grad():
        assert compiled(x).tolist() == [0, top, bottom, top, bottom, 2, -2]
