"""Pooling (backend/layers/pooling.py) against torch.nn.functional in float64 where their output sizes agree, and
TensorRT's explicit rounding where they do not."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.backend.builders import run, tensors
from trt_passes.backend.enums import PoolingType
from trt_passes.backend.layers.pooling import pooling_output_size


@st.composite
def pool_case(draw: st.DrawFn, spatial: int) -> dict:
    window = [draw(st.integers(1, 3)) for _ in range(spatial)]
    stride = [draw(st.integers(1, 3)) for _ in range(spatial)]
    padding = [draw(st.integers(0, w // 2)) for w in window]  # torch allows padding up to half the window
    size = [draw(st.integers(w, w + 5)) for w in window]
    return {"window": window, "stride": stride, "padding": padding, "size": size,
            "ceil_mode": draw(st.booleans()), "exclude_padding": draw(st.booleans())}


def _torch_pool_size(size: int, w: int, s: int, p: int, ceil: bool) -> int:
    out = pooling_output_size(size, w, s, p, ceil)
    return out - 1 if ceil and (out - 1) * s >= size + p else out  # torch drops a window starting in the padding


_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


@given(spatial=st.integers(1, 3), kind=st.sampled_from(PoolingType), data=st.data())
def test_pooling_matches_torch_where_their_output_sizes_agree(spatial: int, kind: PoolingType,
                                                              data: st.DataObject) -> None:
    case = data.draw(pool_case(spatial))
    args = [case[k] for k in ("size", "window", "stride", "padding")]
    assume(all(pooling_output_size(s, w, st_, p, case["ceil_mode"]) == _torch_pool_size(s, w, st_, p,
                                                                                         case["ceil_mode"])
               for s, w, st_, p in zip(*args)))
    x = data.draw(tensors((2, 2, *case["size"])))
    (out,) = run("trt.pooling", input=x, type=kind, window=case["window"], stride=case["stride"],
                 padding=case["padding"], ceil_mode=case["ceil_mode"], exclude_padding=case["exclude_padding"])
    if kind is PoolingType.MAX:
        expected = _MAX[spatial](x, case["window"], case["stride"], case["padding"], ceil_mode=case["ceil_mode"])
    else:
        expected = _AVG[spatial](x, case["window"], case["stride"], case["padding"], ceil_mode=case["ceil_mode"],
                                 count_include_pad=not case["exclude_padding"])
    torch.testing.assert_close(out, expected)


def test_pooling_ceil_mode_keeps_a_last_window_that_torch_drops() -> None:
    """TensorRT's EXPLICIT_ROUND_UP: ceil((5 + 2 - 2) / 2) + 1 = 4 windows; PyTorch's ceil_mode gives 3, because its
    last window would start in the right padding. (Emission tests check TensorRT's own shape agrees.)"""
    x = torch.arange(25, dtype=torch.float64).reshape(1, 1, 5, 5)
    (out,) = run("trt.pooling", input=x, type="MAX", window=[2, 2], stride=[2, 2], padding=[1, 1], ceil_mode=True)
    assert out.shape == (1, 1, 4, 4)
    assert F.max_pool2d(x, 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    torch.testing.assert_close(out[..., :3, :3], F.max_pool2d(x, 2, 2, 1, ceil_mode=True))


def test_pooling_leading_dims_are_independent() -> None:
    x = torch.randn(2, 3, 4, 6, 6, dtype=torch.float64)
    (out,) = run("trt.pooling", input=x, type="AVERAGE", window=[2, 2], stride=[2, 2], padding=[0, 0])
    torch.testing.assert_close(out, F.avg_pool2d(x.reshape(6, 4, 6, 6), 2).reshape(2, 3, 4, 3, 3))
