"""embedding_bag's lowerings (spec/lower/coverage_scatter.rw) on drawn bags: a rule domain cannot draw offsets, which
PyTorch wants sorted from 0 (and ending at len(indices) with include_last_offset), so Hypothesis draws them here,
with duplicate indices, empty bags and a padding index, and each example compiles through the whole pipeline (reference
runtime) and is compared with eager PyTorch in float64.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_passes


class Bags(torch.nn.Module):
    def __init__(self, offsets: torch.Tensor | None, mode: str, last: bool, padding: int | None) -> None:
        super().__init__()
        self.offsets, self.mode, self.last, self.padding = offsets, mode, last, padding

    def forward(self, w: torch.Tensor, idx: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        offsets = self.offsets if self.offsets is not None else rest[0]
        weights = rest[-1] if self.mode == "sum" and len(rest) == 2 - (self.offsets is not None) else None
        return F.embedding_bag(idx, w, offsets, mode=self.mode, include_last_offset=self.last,
                               padding_idx=self.padding, per_sample_weights=weights)


@st.composite
def bags(draw: st.DrawFn) -> tuple[Bags, list[torch.Tensor], list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    rows, dim, n = draw(st.integers(2, 6)), draw(st.integers(1, 4)), draw(st.integers(1, 9))
    mode = draw(st.sampled_from(["sum", "mean", "max"]))
    last = draw(st.booleans())
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=0, max_size=4)))  # repeats make empty bags
    offsets = torch.tensor([0, *cuts, *([n] if last else [])], dtype=torch.int64)
    padding = draw(st.sampled_from([None, 0, 1]))
    w = torch.rand(rows, dim, generator=gen, dtype=torch.float64) * 4 - 2
    idx = torch.randint(0, rows, (n,), generator=gen)  # few rows, so indices repeat
    constant_offsets = last or draw(st.booleans())  # include_last_offset converts with constant offsets only
    inputs = [w.float(), idx] + ([] if constant_offsets else [offsets])
    wide = [w, idx] + ([] if constant_offsets else [offsets])
    if mode == "sum" and padding is None and draw(st.booleans()):
        psw = torch.rand(n, generator=gen, dtype=torch.float64) + 0.5
        inputs, wide = [*inputs, psw.float()], [*wide, psw]
    return Bags(offsets if constant_offsets else None, mode, last, padding).eval(), inputs, wide


@settings(max_examples=15, deadline=None)
@given(case=bags())
def test_embedding_bag_converts_and_matches_eager_in_float64(case: tuple[Bags, list, list]) -> None:
    model, inputs, wide = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = trt_passes.compile(model, ir="dynamo", inputs=inputs, min_block_size=1, runtime="reference")
    assert [f.op for f in compiled.compile_report.fallbacks] == []
    got = compiled(*inputs)
    want = model(*wide)
    torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-5)  # f32 sums of at most 9 values in [-4, 4]
