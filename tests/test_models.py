"""Whole models compile to one TensorRT segment, build a real engine, and match eager PyTorch.

Parity runs on the reference runtime (no GPU here), which computes what the engines compute, TF32 included. The
measure is the maximum relative error: the largest absolute difference divided by the largest reference magnitude.
By default the engines allow TF32 (as TensorRT and Torch-TensorRT do): their float32 convolutions and matrix products
read inputs rounded to a 10-bit mantissa, and the tolerance is TF32's, 5e-3 (derived in trt_passes/tools/parity.py;
measured about 4e-4). With ``disable_tf32=True`` they compute in full float32, whose round-off through ~50 layers of
reordered reductions stays around 1e-6..1e-5, so 1e-4 leaves room without hiding a wrong rule (a wrong rule gives
errors of order 1).
"""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_passes
from benchmarks.zoo import ZOO
from trt_passes.tools.parity import TOLERANCE, max_relative_error

pytestmark = pytest.mark.slow
MODELS = ["resnet18", "mobilenet_v2", "bert"]
_compiled: dict[tuple[str, bool], tuple[torch.nn.Module, object]] = {}


def compiled_model(name: str, disable_tf32: bool = False) -> tuple[torch.nn.Module, object]:
    if (name, disable_tf32) not in _compiled:
        entry = ZOO[name]
        model = entry.build()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = trt_passes.compile(model, inputs=entry.inputs(), runtime="reference",
                                          require_full_compilation=True, disable_tf32=disable_tf32)
        _compiled[name, disable_tf32] = (model, compiled)
    return _compiled[name, disable_tf32]


@pytest.mark.parametrize("name", MODELS)
def test_model_compiles_to_one_segment_with_a_real_engine_and_nothing_left_to_pytorch(name):
    _, compiled = compiled_model(name)
    report = compiled.compile_report
    assert report.fallbacks == []
    assert len(report.partitions) == 1
    part = report.partitions[0]
    assert part.layers is not None and part.layers > 0
    assert part.engine_bytes is not None and part.engine_bytes > 1000


def _inputs_like(name: str, seed: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    if name == "bert":
        return (torch.randint(0, 1000, (2, 16), generator=gen),)
    return (torch.randn(1, 3, 224, 224, generator=gen),)


@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=3)
@given(seed=st.integers(0, 2**31 - 1))
def test_compiled_model_matches_eager_within_the_tf32_tolerance(name, seed):
    model, compiled = compiled_model(name)
    inputs = _inputs_like(name, seed)
    with torch.no_grad():
        expected = model(*inputs)
        got = compiled(*inputs)
    assert type(got) is type(expected)  # the model's own output structure comes back
    assert max_relative_error(got, expected) <= TOLERANCE["tf32"]


@pytest.mark.parametrize("name", ["resnet18", "bert"])
def test_with_tf32_disabled_the_model_matches_eager_within_1e_4_and_with_it_the_rounding_shows(name):
    exact_model, exact = compiled_model(name, disable_tf32=True)
    model, tf32 = compiled_model(name)
    inputs = _inputs_like(name, 7)
    with torch.no_grad():
        err_exact = max_relative_error(exact(*inputs), exact_model(*inputs))
        err_tf32 = max_relative_error(tf32(*inputs), model(*inputs))
    assert exact.compile_report.f32_contractions == "f32" and tf32.compile_report.f32_contractions == "tf32"
    assert err_exact <= TOLERANCE["f32"]
    # TF32 rounds inputs to 2^-11 relative: the whole model moves by far more than float32's round-off (~1e-7).
    assert 1e-5 < err_tf32 <= TOLERANCE["tf32"], err_tf32
