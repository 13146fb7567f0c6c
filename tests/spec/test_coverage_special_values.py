"""Rules of the coverage files on the inputs a domain does not draw: signed zeros, infinities, NaN.

Each op is compiled whole into TensorRT (``min_block_size=1``, reference runtime) and compared with eager PyTorch
bit for bit, signs of zeros included: these ops have exact answers at these inputs."""

from __future__ import annotations

import math
import warnings

import torch

import trt_passes

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, math.inf, -math.inf, math.nan]


class Atan2(torch.nn.Module):
    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.atan2(y, x)


def _compile(model: torch.nn.Module, *inputs: torch.Tensor) -> torch.nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trt_passes.compile(model, ir="dynamo", inputs=list(inputs), min_block_size=1, runtime="reference")


def test_atan2_matches_eager_on_every_pair_of_special_values() -> None:
    pairs = [(y, x) for y in SPECIAL for x in SPECIAL]
    y = torch.tensor([p[0] for p in pairs])
    x = torch.tensor([p[1] for p in pairs])
    compiled = _compile(Atan2(), y, x)
    assert not compiled.compile_report.fallbacks, compiled.compile_report.fallbacks  # all of it in TensorRT
    got, want = compiled(y, x), torch.atan2(y, x)
    assert torch.equal(got.isnan(), want.isnan())
    finite = ~want.isnan()
    # pi and pi/4 are formed by one addition in f32 here and in libm: allow one rounding
    torch.testing.assert_close(got[finite], want[finite], rtol=2 ** -23, atol=0.0)
    assert torch.equal(torch.signbit(got[finite]), torch.signbit(want[finite])), list(zip(pairs, got.tolist()))
