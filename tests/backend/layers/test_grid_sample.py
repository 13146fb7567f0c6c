"""Grid sampling (backend/layers/grid_sample.py), written from TensorRT's and ONNX's description, against PyTorch's
own grid_sample in float64 (an independent implementation): every sample mode, both corner conventions, grids
reaching well outside [-1, 1]."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run
from trt_passes.backend.enums import InterpolationMode, SampleMode

_PADDING = {SampleMode.FILL: "zeros", SampleMode.CLAMP: "border", SampleMode.REFLECT: "reflection"}


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 5), w=st.integers(1, 5),
       out=st.tuples(st.integers(1, 4), st.integers(1, 4)), mode=st.sampled_from(SampleMode),
       align=st.booleans(), seed=st.integers(0, 1000))
def test_linear_sampling_is_torchs_bilinear_grid_sample(n: int, c: int, h: int, w: int, out: tuple[int, int],
                                                        mode: SampleMode, align: bool, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, dtype=torch.float64, generator=gen)
    grid = torch.rand(n, *out, 2, dtype=torch.float64, generator=gen) * 5 - 2.5
    (got,) = run("trt.grid_sample", input=x, grid=grid, interpolation_mode=InterpolationMode.LINEAR,
                 align_corners=align, sample_mode=mode)
    want = F.grid_sample(x, grid, mode="bilinear", padding_mode=_PADDING[mode], align_corners=align)
    torch.testing.assert_close(got, want)


@given(mode=st.sampled_from(SampleMode), align=st.booleans(), seed=st.integers(0, 1000))
def test_nearest_sampling_reads_the_nearest_pixel(mode: SampleMode, align: bool, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64, generator=gen)
    grid = torch.rand(1, 3, 3, 2, dtype=torch.float64, generator=gen) * 5 - 2.5
    (got,) = run("trt.grid_sample", input=x, grid=grid, interpolation_mode=InterpolationMode.NEAREST,
                 align_corners=align, sample_mode=mode)
    want = F.grid_sample(x, grid, mode="nearest", padding_mode=_PADDING[mode], align_corners=align)
    torch.testing.assert_close(got, want)


def test_grid_sample_refuses_a_grid_of_the_wrong_shape_or_dtype() -> None:
    x = torch.randn(1, 2, 3, 3)
    with pytest.raises(ValueError, match=r"\[N, H_out, W_out, 2\]"):
        run("trt.grid_sample", input=x, grid=torch.zeros(1, 3, 3, 3))
    with pytest.raises(TypeError, match="grid dtype"):
        run("trt.grid_sample", input=x, grid=torch.zeros(1, 3, 3, 2, dtype=torch.float16))
