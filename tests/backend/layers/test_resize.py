"""Resize (backend/layers/resize.py) against independent formulations in float64: nearest by explicit source indices,
linear by explicit per-axis interpolation weights (separable, one spatial axis at a time)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run
from trt_passes.backend.enums import (
    InterpolationMode,
    ResizeCoordinateTransformation,
    ResizeRoundMode,
    ResizeSelector,
)


def _nearest_axis(x: torch.Tensor, axis: int, out: int) -> torch.Tensor:
    n = x.shape[axis]
    idx = torch.tensor([min(math.floor(i * n / out), n - 1) for i in range(out)], dtype=torch.int64)
    return x.index_select(axis, idx)


def _linear_axis(x: torch.Tensor, axis: int, out: int, align_corners: bool) -> torch.Tensor:
    n = x.shape[axis]
    rows = []
    for i in range(out):
        if align_corners:
            src = i * (n - 1) / (out - 1) if out > 1 else 0.0
        else:
            src = max((i + 0.5) * n / out - 0.5, 0.0)
        lo = min(math.floor(src), n - 1)
        hi = min(lo + 1, n - 1)
        w = src - lo
        rows.append(x.select(axis, lo) * (1 - w) + x.select(axis, hi) * w)
    return torch.stack(rows, dim=axis)


sizes = st.integers(1, 6)


@given(n=st.integers(1, 2), c=st.integers(1, 3), spatial=st.lists(sizes, min_size=1, max_size=3),
       out=st.lists(sizes, min_size=3, max_size=3))
def test_nearest_reads_floor_of_scaled_index(n: int, c: int, spatial: list[int], out: list[int]) -> None:
    x = torch.randn(n, c, *spatial, dtype=torch.float64, generator=torch.Generator().manual_seed(len(spatial)))
    target = out[:len(spatial)]
    (got,) = run("trt.resize", input=x, shape=[n, c, *target], mode=InterpolationMode.NEAREST,
                 coordinate_transformation=ResizeCoordinateTransformation.ASYMMETRIC,
                 nearest_rounding=ResizeRoundMode.FLOOR)
    expected = x
    for i, o in enumerate(target):
        expected = _nearest_axis(expected, 2 + i, o)
    torch.testing.assert_close(got, expected)


@given(n=st.integers(1, 2), c=st.integers(1, 3), spatial=st.lists(sizes, min_size=1, max_size=3),
       out=st.lists(sizes, min_size=3, max_size=3), align=st.booleans())
def test_linear_is_separable_interpolation_with_clamped_coordinates(n: int, c: int, spatial: list[int],
                                                                    out: list[int], align: bool) -> None:
    x = torch.randn(n, c, *spatial, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    target = out[:len(spatial)]
    coords = (ResizeCoordinateTransformation.ALIGN_CORNERS if align
              else ResizeCoordinateTransformation.HALF_PIXEL)
    # The selector the converters set: UPPER for ALIGN_CORNERS (an output size of 1 reads the first element),
    # TensorRT's default FORMULA otherwise.
    selector = ResizeSelector.UPPER if align else ResizeSelector.FORMULA
    (got,) = run("trt.resize", input=x, shape=[n, c, *target], mode=InterpolationMode.LINEAR,
                 coordinate_transformation=coords, selector_for_single_pixel=selector)
    expected = x
    for i, o in enumerate(target):
        expected = _linear_axis(expected, 2 + i, o, align)
    torch.testing.assert_close(got, expected)


def test_resize_keeps_batch_and_channels_and_rejects_other_combinations() -> None:
    x = torch.randn(1, 2, 3, 3)
    with pytest.raises(ValueError, match="spatial"):
        run("trt.resize", input=x, shape=[1, 3, 6, 6], mode=InterpolationMode.NEAREST)
    with pytest.raises(ValueError, match="ASYMMETRIC/FLOOR"):
        run("trt.resize", input=x, shape=[1, 2, 6, 6], mode=InterpolationMode.NEAREST,
            coordinate_transformation=ResizeCoordinateTransformation.HALF_PIXEL)
    with pytest.raises(ValueError, match="HALF_PIXEL or ALIGN_CORNERS"):
        run("trt.resize", input=x, shape=[1, 2, 6, 6], mode=InterpolationMode.LINEAR)
    with pytest.raises(TypeError):
        run("trt.resize", input=x.to(torch.int64), shape=[1, 2, 6, 6], mode=InterpolationMode.NEAREST)


# ---- an output size of 1 ------------------------------------------------------------------------------------------

X = torch.arange(2 * 5 * 4, dtype=torch.float64).reshape(1, 2, 5, 4)


def test_align_corners_to_one_element_by_the_formula_is_refused_it_divides_by_zero() -> None:
    with pytest.raises(ValueError, match="divides by zero"):
        run("trt.resize", input=X, shape=[1, 2, 1, 4], mode=InterpolationMode.LINEAR,
            coordinate_transformation=ResizeCoordinateTransformation.ALIGN_CORNERS)


@pytest.mark.parametrize("coords", [ResizeCoordinateTransformation.ALIGN_CORNERS,
                                    ResizeCoordinateTransformation.HALF_PIXEL])
def test_the_upper_selector_reads_the_first_element_of_an_axis_resized_to_one(coords) -> None:
    (got,) = run("trt.resize", input=X, shape=[1, 2, 1, 4], mode=InterpolationMode.LINEAR,
                 coordinate_transformation=coords, selector_for_single_pixel=ResizeSelector.UPPER)
    torch.testing.assert_close(got, X[:, :, :1, :])


def test_half_pixel_by_the_formula_samples_the_middle_as_torch_does() -> None:
    (got,) = run("trt.resize", input=X, shape=[1, 2, 1, 4], mode=InterpolationMode.LINEAR,
                 coordinate_transformation=ResizeCoordinateTransformation.HALF_PIXEL)
    torch.testing.assert_close(got, X[:, :, 2:3, :])  # (0 + 0.5) * 5 / 1 - 0.5 = 2


# ---- cubic ----------------------------------------------------------------------------------------------------------

def _keys(d: float, a: float) -> float:
    d = abs(d)
    if d <= 1:
        return (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1
    return a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a if d < 2 else 0.0


def _cubic_by_pixels(x: torch.Tensor, out: list[int], align: bool, a: float) -> torch.Tensor:
    """Each output pixel as the 4x4 sum over its clamped neighbourhood, weights from the kernel's distance."""
    h, w = x.shape[-2:]

    def src(i: int, n: int, o: int) -> float:
        if align:
            return i * (n - 1) / (o - 1) if o > 1 else 0.0
        return (i + 0.5) * n / o - 0.5

    y = torch.zeros(*x.shape[:-2], *out, dtype=x.dtype)
    for i in range(out[0]):
        for j in range(out[1]):
            sy, sx = src(i, h, out[0]), src(j, w, out[1])
            for p in range(math.floor(sy) - 1, math.floor(sy) + 3):
                for q in range(math.floor(sx) - 1, math.floor(sx) + 3):
                    weight = _keys(sy - p, a) * _keys(sx - q, a)
                    y[..., i, j] += weight * x[..., min(max(p, 0), h - 1), min(max(q, 0), w - 1)]
    return y


@given(spatial=st.lists(sizes, min_size=2, max_size=2), out=st.lists(sizes, min_size=2, max_size=2),
       align=st.booleans(), a=st.sampled_from([-0.75, -0.5]))
def test_cubic_weighs_the_clamped_4x4_neighbourhood_with_keys_kernel(spatial: list[int], out: list[int],
                                                                     align: bool, a: float) -> None:
    x = torch.randn(1, 2, *spatial, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    coords = ResizeCoordinateTransformation.ALIGN_CORNERS if align else ResizeCoordinateTransformation.HALF_PIXEL
    selector = ResizeSelector.UPPER if align else ResizeSelector.FORMULA
    (got,) = run("trt.resize", input=x, shape=[1, 2, *out], mode=InterpolationMode.CUBIC,
                 coordinate_transformation=coords, selector_for_single_pixel=selector, cubic_coeff=a)
    torch.testing.assert_close(got, _cubic_by_pixels(x, out, align, a))


def test_cubic_resizes_two_dims_only() -> None:
    with pytest.raises(ValueError, match="last 2 dims"):
        run("trt.resize", input=torch.randn(1, 2, 3, 3, 3), shape=[1, 2, 6, 6, 6], mode=InterpolationMode.CUBIC,
            coordinate_transformation=ResizeCoordinateTransformation.HALF_PIXEL)
