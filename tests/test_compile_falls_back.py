"""A compile never fails where leaving an op to PyTorch works: a converter whose replacement cannot be built, and a
segment TensorRT refuses to build, leave their ops to PyTorch with the reason, and the program still matches eager."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_passes
from trt_passes.backend.emit import EmissionError
from trt_passes.passes import emit


class MixedCat(torch.nn.Module):
    # four inputs of mixed dtypes: lower.complete casts two or three to one dtype, not four
    def forward(self, x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.relu(), n, n, x], 0) * 2


def _compile(model: torch.nn.Module, *inputs: torch.Tensor, **options: object) -> torch.nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trt_passes.compile(model, ir="dynamo", inputs=list(inputs), min_block_size=1, runtime="reference",
                                  **options)


@settings(max_examples=3, deadline=None)
@given(rows=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_a_cat_the_converter_cannot_type_stays_in_pytorch_with_the_rules_reason(rows: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x, n = torch.randn(rows, 3, generator=g), torch.randint(-5, 5, (1, 3), generator=g)
    compiled = _compile(MixedCat(), x, n)
    cats = [f for f in compiled.compile_report.fallbacks if f.op == "aten.cat.default"]
    assert len(cats) == 1 and cats[0].reason.startswith("rule cat cannot build its replacement")
    assert compiled.compile_report.ops_converted >= 1  # relu and mul still convert
    torch.testing.assert_close(compiled(x, n), MixedCat()(x, n), rtol=1e-5, atol=1e-5)


class StridedDilatedDeconv(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(3, 2, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x.sigmoid(), self.w, stride=2, dilation=2).relu()


def test_a_strided_dilated_deconvolution_tensorrt_rtx_refuses_converts_in_a_form_it_builds() -> None:
    # TensorRT-RTX's builder refuses this deconvolution (tests/backend/test_emit.py pins that); the rules insert the
    # zeros first, so the whole program converts, engine built, instead of going back to PyTorch after a trial build
    model = StridedDilatedDeconv().eval()
    x = torch.randn(1, 3, 5, 5)
    compiled = _compile(model, x, disable_tf32=True)  # full float32: the form is exact, TF32 rounding is not the point
    report = compiled.compile_report
    assert report.fallbacks == [] and not any("failed to build" in n for n in report.notes)
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


class Abs(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.abs()


def test_a_refused_build_is_retried_without_that_segment_whatever_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism with any TensorRT: the builder refuses every network holding a softmax layer."""
    real = emit.build_cached

    def refusing(body, *args, **kwargs):  # type: ignore[no-untyped-def]
        if any(n.op == "trt.softmax" for n in body.nodes()):
            raise EmissionError("the builder refuses softmax today")
        return real(body, *args, **kwargs)

    monkeypatch.setattr(emit, "build_cached", refusing)
    # abs kept in PyTorch splits the TensorRT ops into two segments: linear + softmax, and tanh
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Softmax(-1), Abs(), torch.nn.Tanh()).eval()
    x = torch.randn(2, 4)
    compiled = _compile(model, x, torch_executed_ops=["aten.abs.default"])
    report = compiled.compile_report
    refused = {f.op for f in report.fallbacks if "refuses softmax" in f.reason}
    assert "aten._softmax.default" in refused and "aten.tanh.default" not in refused
    assert [p.ops for p in report.partitions] == [["aten.tanh.default"]]
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
