"""Softmax and normalization (backend/layers/normalization.py) against independent formulations in float64: exp over
sum, F.layer_norm and F.instance_norm."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import run, shapes, tensors


@given(data=st.data())
def test_softmax_is_exp_over_sum(data: st.DataObject) -> None:
    x = data.draw(tensors(data.draw(shapes())))
    axis = data.draw(st.integers(-x.dim(), x.dim() - 1))
    (out,) = run("trt.softmax", input=x, axis=axis)
    e = np.exp(x.numpy())
    torch.testing.assert_close(out, torch.from_numpy(e / e.sum(axis=axis, keepdims=True)))


@given(shape=shapes(min_dims=2, max_dims=4, min_side=2), data=st.data())
def test_normalization_over_trailing_axes_is_layer_norm(shape: tuple[int, ...], data: st.DataObject) -> None:
    k = data.draw(st.integers(1, len(shape)))
    x = data.draw(tensors(shape))
    scale, bias = data.draw(tensors(shape[-k:])), data.draw(tensors(shape[-k:]))
    eps = data.draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    (out,) = run("trt.normalization", input=x, scale=scale, bias=bias, axes=list(range(-k, 0)), epsilon=eps)
    torch.testing.assert_close(out, F.layer_norm(x, shape[-k:], scale, bias, eps))


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(2, 4), w=st.integers(2, 4), data=st.data())
def test_normalization_over_spatial_axes_with_channel_scale_is_instance_norm(n: int, c: int, h: int, w: int,
                                                                             data: st.DataObject) -> None:
    x = data.draw(tensors((n, c, h, w)))
    scale, bias = data.draw(tensors((1, c, 1, 1))), data.draw(tensors((1, c, 1, 1)))
    (out,) = run("trt.normalization", input=x, scale=scale, bias=bias, axes=[2, 3], epsilon=1e-5)
    torch.testing.assert_close(out, F.instance_norm(x, weight=scale.flatten(), bias=bias.flatten(), eps=1e-5))
