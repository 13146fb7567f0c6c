"""truncate_double: a float64 model runs in TensorRT in float32 and is called, and answers, in float64 as before;
without the option its float64 ops stay in PyTorch and ``explain`` says how to change that.

Tolerance. The compiled model computes in float32 with TF32 off (``disable_tf32=True``), so each rounding adds at
most one float32 unit roundoff (2**-24 ~ 6e-8) of the magnitude it rounds; the model below rounds its inputs and
weights once and then goes through a convolution (27 products summed), a linear layer (64 products summed) and a
few elementwise ops: well within 1e-5 of the output's largest magnitude (measured: 2.1e-7 at most over 60 inputs).
A weight or input left in float64 would not build; one reinterpreted as float32 bits, or a dtype argument dropped,
is wrong by order 1.
"""

from __future__ import annotations

import warnings

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import trt_passes
from trt_passes.passes.partition import FLOAT64_REASON
from trt_passes.tools.parity import max_relative_error

TOLERANCE = 1e-5


class DoubleNet(nn.Module):
    """A float64 model: conv, ReLU, a float64 arange added (a dtype argument), flatten, linear, a cast to float64
    of a float32 intermediate (``.double()`` of ``.float()``)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 5)
        self.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv(x)) + torch.arange(4, dtype=torch.float64).view(4, 1, 1)
        return self.fc(y.flatten(1)).float().double() * 0.5


def compiled_model() -> tuple[nn.Module, nn.Module]:
    model = DoubleNet().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "running TensorRT segments with the reference runtime": no GPU here
        compiled = trt_passes.compile(model, inputs=[torch.randn(2, 3, 4, 4, dtype=torch.float64)],
                                      truncate_double=True, disable_tf32=True, require_full_compilation=False,
                                      min_block_size=1, runtime="reference")
    return model, compiled


MODEL, COMPILED = compiled_model()


def test_a_float64_model_compiles_to_one_engine_built_in_float32():
    report = COMPILED.compile_report
    assert len(report.partitions) == 1 and report.partitions[0].engine_bytes
    # only the casts at the edges stay in PyTorch: the input cast down, the output cast back
    assert {f.op for f in report.fallbacks} <= {"aten._to_copy.default"}
    assert "truncate_double" in str(report)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.25, 1.0, 4.0]))
def test_the_compiled_model_answers_in_float64_within_float32_roundoff(seed: int, scale: float):
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * scale
    with torch.no_grad():
        got, expected = COMPILED(x), MODEL(x)
    assert got.dtype == torch.float64 and got.shape == expected.shape
    assert max_relative_error(got, expected) < TOLERANCE


def test_without_the_option_float64_ops_stay_in_pytorch_and_explain_names_the_option():
    report = trt_passes.explain(DoubleNet().eval(), inputs=[torch.randn(2, 3, 4, 4, dtype=torch.float64)],
                                min_block_size=1)
    assert not report.partitions
    assert report.fallbacks and all(f.reason == FLOAT64_REASON for f in report.fallbacks)
    assert "truncate_double=True" in FLOAT64_REASON


def test_the_option_takes_a_bool():
    try:
        trt_passes.compile(DoubleNet(), inputs=[torch.randn(1, 3, 4, 4, dtype=torch.float64)],
                           truncate_double="yes")
    except TypeError as e:
        assert "truncate_double" in str(e)
    else:
        raise AssertionError("truncate_double='yes' was accepted")
