"""``trt.activation`` and ``trt.unary`` (backend/layers/activation.py) against independent formulations:
torch.nn.functional where it has the function, numpy otherwise, in float64. Every property also checks that meta-tensor
inference predicts the real result's type (``run``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run, shapes, tensors
from trt_passes.backend.enums import ActivationType, UnaryOperation

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _activation_oracle(kind: ActivationType, x: torch.Tensor, a: float, b: float) -> torch.Tensor:
    n = x.numpy()
    table = {
        ActivationType.RELU: lambda: F.relu(x),
        ActivationType.SIGMOID: lambda: torch.from_numpy(1 / (1 + np.exp(-n))),
        ActivationType.TANH: lambda: torch.from_numpy(np.tanh(n)),
        ActivationType.LEAKY_RELU: lambda: F.leaky_relu(x, a),
        ActivationType.ELU: lambda: F.elu(x, a),
        ActivationType.SELU: lambda: b * F.elu(x, a),
        ActivationType.SOFTSIGN: lambda: F.softsign(x),
        # torch's softplus(x, beta) is log(1 + exp(beta x)) / beta
        ActivationType.SOFTPLUS: lambda: a * b * F.softplus(x, beta=b, threshold=1e9),
        ActivationType.CLIP: lambda: F.hardtanh(x, a, b),
        ActivationType.HARD_SIGMOID: lambda: torch.from_numpy(np.clip(a * n + b, 0.0, 1.0)),
        ActivationType.SCALED_TANH: lambda: torch.from_numpy(a * np.tanh(b * n)),
        ActivationType.THRESHOLDED_RELU: lambda: F.threshold(x, a, 0.0),
        ActivationType.GELU_ERF: lambda: F.gelu(x),
        ActivationType.GELU_TANH: lambda: F.gelu(x, approximate="tanh"),
    }
    return table[kind]()


@given(kind=st.sampled_from(ActivationType), data=st.data(), alpha=st.floats(0.1, 2.0), beta=st.floats(0.1, 2.0))
def test_activation_matches_its_documented_formula(kind: ActivationType, data: st.DataObject, alpha: float,
                                                   beta: float) -> None:
    if kind is ActivationType.CLIP:
        alpha, beta = -alpha, beta  # CLIP clamps to [alpha, beta]
    x = data.draw(tensors(data.draw(shapes())))
    (out,) = run("trt.activation", input=x, type=kind, alpha=alpha, beta=beta)
    torch.testing.assert_close(out, _activation_oracle(kind, x, alpha, beta), rtol=1e-9, atol=1e-12)


def test_selu_with_torchs_constants_is_torchs_selu() -> None:
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    (out,) = run("trt.activation", input=x, type=ActivationType.SELU, alpha=SELU_ALPHA, beta=SELU_SCALE)
    torch.testing.assert_close(out, F.selu(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_activation_keeps_the_input_dtype(dtype: torch.dtype) -> None:
    (out,) = run("trt.activation", input=torch.randn(3, 4, dtype=dtype), type="GELU_TANH")
    assert out.dtype == dtype


def test_enum_attributes_may_be_given_by_name() -> None:
    x = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    assert torch.equal(run("trt.activation", input=x, type="ActivationType.RELU")[0], F.relu(x))


# Unary ops with the input range where each is defined, and numpy's version of it.
_UNARY = {
    UnaryOperation.EXP: (np.exp, -3, 3),
    UnaryOperation.LOG: (np.log, 0.1, 5),
    UnaryOperation.SQRT: (np.sqrt, 0.0, 5),
    UnaryOperation.RECIP: (np.reciprocal, 0.5, 4),
    UnaryOperation.ABS: (np.abs, -3, 3),
    UnaryOperation.NEG: (np.negative, -3, 3),
    UnaryOperation.SIN: (np.sin, -3, 3),
    UnaryOperation.COS: (np.cos, -3, 3),
    UnaryOperation.TAN: (np.tan, -1.2, 1.2),
    UnaryOperation.SINH: (np.sinh, -3, 3),
    UnaryOperation.COSH: (np.cosh, -3, 3),
    UnaryOperation.ASIN: (np.arcsin, -0.99, 0.99),
    UnaryOperation.ACOS: (np.arccos, -0.99, 0.99),
    UnaryOperation.ATAN: (np.arctan, -3, 3),
    UnaryOperation.ASINH: (np.arcsinh, -3, 3),
    UnaryOperation.ACOSH: (np.arccosh, 1.0, 4),
    UnaryOperation.ATANH: (np.arctanh, -0.99, 0.99),
    UnaryOperation.CEIL: (np.ceil, -3, 3),
    UnaryOperation.FLOOR: (np.floor, -3, 3),
    UnaryOperation.ERF: (np.vectorize(math.erf), -3, 3),
    UnaryOperation.SIGN: (np.sign, -3, 3),
    UnaryOperation.ROUND: (np.round, -3, 3),  # numpy rounds half to even, as TensorRT
}


@given(kind=st.sampled_from(sorted(_UNARY, key=lambda k: k.name)), data=st.data())
def test_unary_matches_numpy(kind: UnaryOperation, data: st.DataObject) -> None:
    fn, lo, hi = _UNARY[kind]
    x = data.draw(tensors(data.draw(shapes()), lo=lo, hi=hi))
    (out,) = run("trt.unary", input=x, op=kind)
    torch.testing.assert_close(out, torch.from_numpy(np.asarray(fn(x.numpy()), dtype=np.float64)))


def test_round_is_half_to_even() -> None:
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], dtype=torch.float64)
    assert run("trt.unary", input=x, op="ROUND")[0].tolist() == [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0]


def test_not_and_isinf_give_bool() -> None:
    b = torch.tensor([True, False])
    assert run("trt.unary", input=b, op="NOT")[0].tolist() == [False, True]
    x = torch.tensor([1.0, math.inf, -math.inf], dtype=torch.float32)
    assert run("trt.unary", input=x, op="ISINF")[0].tolist() == [False, True, True]
    with pytest.raises(TypeError, match="NOT takes bool"):
        run("trt.unary", input=x, op="NOT")


@pytest.mark.parametrize(("op", "args"), [
    ("trt.activation", {"type": "SIGMOID"}), ("trt.softmax", {"axis": 0}),
])
def test_ops_tensorrt_runs_only_on_floats_refuse_integers(op: str, args: dict) -> None:
    with pytest.raises(TypeError, match="floating-point"):
        run(op, input=torch.arange(3, dtype=torch.int32), **args)


def test_relu_takes_integers() -> None:
    x = torch.tensor([-2, 3], dtype=torch.int64)
    assert run("trt.activation", input=x, type="RELU")[0].tolist() == [0, 3]


# ---- where TensorRT's CLIP is not torch.clamp ---------------------------------------------------------------------

def test_clip_with_the_lower_bound_above_the_upper_gives_the_lower_bound_everywhere() -> None:
    """NvInfer.h defines CLIP as max(alpha, min(beta, x)); torch.clamp(x, 2, 1) gives 1 (its max) instead."""
    x = torch.tensor([-5.0, 0.0, 1.5, 5.0])
    (out,) = run("trt.activation", input=x, type=ActivationType.CLIP, alpha=2.0, beta=1.0)
    assert out.tolist() == [2.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_clip_turns_a_nan_into_the_lower_bound(dtype: torch.dtype) -> None:
    """NVIDIA/TensorRT#4773: TensorRT returns the lower bound for a NaN input; torch.clamp keeps the NaN."""
    x = torch.tensor([math.nan, -9.0, 0.5, 9.0], dtype=dtype)
    (out,) = run("trt.activation", input=x, type=ActivationType.CLIP, alpha=-1.0, beta=6.0)
    assert out.tolist() == [-1.0, -1.0, 0.5, 6.0]


def test_isnan_gives_bool() -> None:
    x = torch.tensor([1.0, math.nan, math.inf], dtype=torch.float16)
    assert run("trt.unary", input=x, op=UnaryOperation.ISNAN)[0].tolist() == [False, True, False]
