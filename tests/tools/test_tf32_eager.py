"""Eager PyTorch with TF32 rounding (trt_passes/tools/tf32_eager.py), and the tolerance built on it: a model's own
sensitivity to TF32 sets how far its compiled program may move under TF32."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trt_passes.backend.layers.numerics import round_to_tf32
from trt_passes.tools.parity import TF32_FACTOR, TOLERANCE, max_relative_error, tf32_tolerance
from trt_passes.tools.tf32_eager import eager_tf32

G = torch.Generator().manual_seed(0)


class Fn(torch.nn.Module):
    def __init__(self, f) -> None:
        super().__init__()
        self.f = f

    def forward(self, *args):
        return self.f(*args)


def test_linear_and_matmul_read_rounded_operands_and_add_the_bias_exactly() -> None:
    x, w, b = torch.randn(3, 5, generator=G), torch.randn(4, 5, generator=G), torch.randn(4, generator=G)
    got = eager_tf32(Fn(lambda t: F.linear(t, w, b) + t @ w.t()), [x])
    xr, wr = round_to_tf32(x).double(), round_to_tf32(w).double()
    expected = 2 * (xr @ wr.t()) + b.double()
    torch.testing.assert_close(got.double(), expected, rtol=1e-6, atol=1e-6)
    assert not torch.allclose(got.double(), 2 * (x.double() @ w.double().t()) + b.double(), rtol=1e-6, atol=1e-6)


def test_convolution_and_attention_read_rounded_operands() -> None:
    x, w = torch.randn(1, 2, 5, 5, generator=G), torch.randn(3, 2, 3, 3, generator=G)
    torch.testing.assert_close(eager_tf32(Fn(lambda t: F.conv2d(t, w)), [x]),
                               F.conv2d(round_to_tf32(x), round_to_tf32(w)), rtol=0, atol=0)
    q, k, v = (torch.randn(1, 2, 4, 8, generator=G) for _ in range(3))
    got = eager_tf32(Fn(F.scaled_dot_product_attention), [q, k, v])
    torch.testing.assert_close(got, F.scaled_dot_product_attention(*(round_to_tf32(t) for t in (q, k, v))),
                               rtol=0, atol=0)


def test_outside_the_mode_nothing_is_rounded() -> None:
    a = torch.tensor([[1.0 + 2.0 ** -20]])
    assert eager_tf32(Fn(torch.mm), [a, torch.ones(1, 1)]).item() == 1.0
    assert torch.mm(a, torch.ones(1, 1)).item() == 1.0 + 2.0 ** -20


def test_the_tf32_tolerance_grows_with_the_models_own_sensitivity() -> None:
    x = torch.randn(8, 64, generator=G)
    calm = torch.nn.Linear(64, 4).eval()
    tolerance, own = tf32_tolerance(calm, [x])
    assert tolerance == TOLERANCE["tf32"] and 0 < own < TOLERANCE["tf32"] / TF32_FACTOR

    class Cancelling(torch.nn.Module):
        """Two nearly equal products subtracted: the difference is small, TF32's error on each is not."""

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            w = torch.full((64, 4), 1.0 + 2.0 ** -12)
            return t @ w - t @ torch.ones(64, 4)

    tolerance, own = tf32_tolerance(Cancelling(), [x])
    assert own > TOLERANCE["tf32"] and tolerance == TF32_FACTOR * own
    with torch.no_grad():
        assert max_relative_error(eager_tf32(Cancelling(), [x]), Cancelling()(x)) == own
