"""Whole models compile to one TensorRT segment, build a real engine, and match eager PyTorch.

Parity runs on the reference runtime (no GPU here). Tolerance: maximum relative error 1e-4 in float32, where the
relative error is the largest absolute difference divided by the largest reference magnitude; float32 round-off
through ~50 layers of reordered reductions stays around 1e-6..1e-5, so 1e-4 leaves room without hiding a wrong rule
(a wrong rule gives errors of order 1).
"""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_passes
from benchmarks.zoo import ZOO
from trt_passes.tools.parity import max_relative_error

pytestmark = pytest.mark.slow
MODELS = ["resnet18", "mobilenet_v2", "bert"]
_compiled: dict[str, tuple[torch.nn.Module, object]] = {}


def compiled_model(name: str) -> tuple[torch.nn.Module, object]:
    if name not in _compiled:
        entry = ZOO[name]
        model = entry.build()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = trt_passes.compile(model, inputs=entry.inputs(), runtime="reference",
                                          require_full_compilation=True)
        _compiled[name] = (model, compiled)
    return _compiled[name]


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
def test_compiled_model_matches_eager_within_1e_4_relative_in_float32(name, seed):
    model, compiled = compiled_model(name)
    inputs = _inputs_like(name, seed)
    with torch.no_grad():
        expected = model(*inputs)
        got = compiled(*inputs)
    assert type(got) is type(expected)  # the model's own output structure comes back
    assert max_relative_error(got, expected) <= 1e-4
