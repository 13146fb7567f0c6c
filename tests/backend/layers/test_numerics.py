"""TF32 in the reference runtime (backend/layers/numerics.py): the rounding itself, held to an independent definition
in float64 arithmetic, and the contraction layers that read their operands through it when the engine allows TF32."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run, tensors
from trt_passes.backend.layers.numerics import EXACT, Numerics, engine_numerics, round_to_tf32, tf32_operands

TF32 = Numerics(tf32=True)


def tf32_by_definition(x: float) -> float:
    """The TF32 value nearest ``x`` (a finite float32), ties away from zero, in exact float64 arithmetic: a TF32
    number in [2^e, 2^(e+1)) is a multiple of 2^(e-10); below the normal range the spacing is float32's, 2^-136."""
    if x == 0.0:
        return x
    e = max(math.floor(math.log2(abs(x))), -126)
    unit = 2.0 ** (e - 10)
    return math.copysign(math.floor(abs(x) / unit + 0.5) * unit, x)


_BOUND = 2.0 ** 127  # below the largest TF32 value, so nothing rounds to infinity
finite_f32 = st.floats(width=32, allow_nan=False, allow_infinity=False, max_value=_BOUND, min_value=-_BOUND)


@given(st.lists(finite_f32, min_size=1, max_size=32))
def test_tf32_rounding_is_nearest_with_ties_away_from_zero(values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float32)
    expected = torch.tensor([tf32_by_definition(v) for v in x.tolist()], dtype=torch.float64)
    assert torch.equal(round_to_tf32(x).double(), expected)


@pytest.mark.parametrize("k", [0, 1, 2, 511, 1022])
def test_a_tie_rounds_away_from_zero_not_to_even(k: int) -> None:
    # 1 + (k + 0.5) * 2^-10 lies exactly halfway between two TF32 numbers; even k would round down to even.
    tie = 1.0 + (k + 0.5) * 2.0 ** -10
    x = torch.tensor([tie, -tie], dtype=torch.float32)
    up = 1.0 + (k + 1) * 2.0 ** -10
    assert round_to_tf32(x).tolist() == [up, -up]


def test_rounding_carries_into_the_exponent_and_past_the_largest_tf32_value_to_infinity() -> None:
    below_two = torch.tensor([2.0 - 2.0 ** -23], dtype=torch.float32)
    assert round_to_tf32(below_two).item() == 2.0
    largest_f32 = torch.tensor([torch.finfo(torch.float32).max])
    assert round_to_tf32(largest_f32).item() == math.inf


def test_non_finite_values_pass_unchanged() -> None:
    x = torch.tensor([math.inf, -math.inf, math.nan], dtype=torch.float32)
    out = round_to_tf32(x)
    assert out[0].item() == math.inf and out[1].item() == -math.inf and math.isnan(out[2].item())


def test_only_float32_operands_are_rounded_and_only_inside_a_tf32_engine() -> None:
    a32 = torch.tensor([1.0 + 2.0 ** -20])
    a16 = torch.tensor([1.0 + 2.0 ** -10], dtype=torch.float16)
    assert tf32_operands(a32, a16, None) == (a32, a16, None)  # no engine context: exact
    with engine_numerics(TF32):
        r32, r16, none = tf32_operands(a32, a16, None)
    assert r32.item() == 1.0 and r16 is a16 and none is None
    with engine_numerics(EXACT):
        assert tf32_operands(a32)[0] is a32


@given(m=st.integers(1, 4), k=st.integers(1, 6), n=st.integers(1, 4), data=st.data())
def test_matrix_multiply_in_a_tf32_engine_multiplies_the_rounded_operands(m: int, k: int, n: int,
                                                                          data: st.DataObject) -> None:
    a, b = data.draw(tensors((m, k), dtype=torch.float32)), data.draw(tensors((k, n), dtype=torch.float32))
    with engine_numerics(TF32):
        (out,) = run("trt.matrix_multiply", a=a, b=b)
    # Products of 11-bit significands are exact in float64; only the float32 accumulation rounds.
    expected = round_to_tf32(a).double() @ round_to_tf32(b).double()
    torch.testing.assert_close(out.double(), expected, rtol=k * 2.0 ** -23, atol=k * 2.0 ** -23 * 9)
    (exact,) = run("trt.matrix_multiply", a=a, b=b)
    torch.testing.assert_close(exact.double(), a.double() @ b.double(), rtol=k * 2.0 ** -23, atol=k * 2.0 ** -23 * 9)


def test_a_tf32_engine_loses_what_a_full_float32_product_keeps() -> None:
    """The divergence this module exists for: 1.000001 * 1 is 1 in TF32 and 1.000001 in float32."""
    a = torch.tensor([[1.0 + 2.0 ** -20]])
    b = torch.tensor([[1.0]])
    with engine_numerics(TF32):
        assert run("trt.matrix_multiply", a=a, b=b)[0].item() == 1.0
    assert run("trt.matrix_multiply", a=a, b=b)[0].item() == 1.0 + 2.0 ** -20


def test_convolution_rounds_input_and_kernel_but_adds_the_bias_in_float32() -> None:
    x = torch.full((1, 1, 3, 3), 1.0 + 2.0 ** -20)
    w = torch.full((1, 1, 1, 1), 1.0 + 2.0 ** -21)
    bias = torch.tensor([2.0 ** -22])
    with engine_numerics(TF32):
        (out,) = run("trt.convolution", input=x, kernel=w, bias=bias, stride=[1, 1], padding=[0, 0],
                     dilation=[1, 1])
    assert torch.equal(out, torch.full((1, 1, 3, 3), 1.0 + 2.0 ** -22))
    with engine_numerics(TF32):
        (back,) = run("trt.deconvolution", input=x, kernel=w, bias=None, stride=[1, 1], padding=[0, 0],
                      dilation=[1, 1])
    assert torch.equal(back, torch.ones(1, 1, 3, 3))


def test_half_precision_contractions_are_not_affected_by_tf32() -> None:
    a = torch.tensor([[1.0 + 2.0 ** -10]], dtype=torch.float16)
    with engine_numerics(TF32):
        (out,) = run("trt.matrix_multiply", a=a, b=torch.ones(1, 1, dtype=torch.float16))
    assert out.item() == 1.0 + 2.0 ** -10


def test_the_record_in_a_body_meta_round_trips_and_defaults_to_exact() -> None:
    assert Numerics.from_meta({"numerics": TF32.to_meta()}) == TF32
    assert Numerics.from_meta({}) == EXACT
    assert (TF32.f32_contractions, EXACT.f32_contractions) == ("tf32", "f32")


def test_attention_in_a_tf32_engine_rounds_the_operands_of_both_products() -> None:
    """TensorRT decomposes an attention it has no fused kernel for into two matrix multiplies: the same rounding."""
    q = torch.full((1, 1, 1, 1), 1.0 + 2.0 ** -20)
    k, v = torch.ones(1, 1, 2, 1), torch.tensor([[[[1.0 + 2.0 ** -20], [1.0]]]])
    with engine_numerics(TF32):
        (out,) = run("trt.attention", query=q, key=k, value=v, mask=None)
    assert out.item() == 1.0  # equal scores, the weights 1/2 each, and both values read as 1
    (exact,) = run("trt.attention", query=q, key=k, value=v, mask=None)
    assert exact.item() == 1.0 + 2.0 ** -21
