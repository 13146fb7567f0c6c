"""Eager PyTorch as a TF32 engine computes: the float32 operands of its inner products rounded to TF32.

How far TF32 moves a model's output depends on the model: rounding every convolution and matrix product's inputs to
a 10-bit mantissa moves resnet18 (random weights) by 5e-4 of its output scale, but resnet50 by 4e-2, because its
output cancels and amplifies what its layers round (float32 round-off shows it too: 3e-5 against float64, 100 times
resnet18's). :func:`eager_tf32` computes eager PyTorch that way, so a parity check can tell TF32's own effect from a
wrong rule (``trt_passes.tools.parity.tf32_tolerance``).

The rounding is :func:`~trt_passes.backend.layers.numerics.round_to_tf32`, applied at the dispatcher to the inner
products eager PyTorch runs: ``convolution`` (input and weight, not the bias), ``mm``, ``bmm``, the factors of
``addmm``/``baddbmm``, and the query, key and value of the scaled-dot-product-attention kernels (whose internal
softmax output is not rounded: an estimate there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from trt_passes.backend.layers.numerics import round_to_tf32

aten = torch.ops.aten

# op -> positions of the operands an inner product reads (the others, such as a bias or an added term, stay exact)
_ROUNDED: dict[Any, tuple[int, ...]] = {
    aten.convolution.default: (0, 1),
    aten.mm.default: (0, 1),
    aten.bmm.default: (0, 1),
    aten.addmm.default: (1, 2),
    aten.baddbmm.default: (1, 2),
}


def _rounded(t: Any) -> Any:
    return round_to_tf32(t) if isinstance(t, torch.Tensor) and t.dtype == torch.float32 else t


class Tf32Rounding(TorchDispatchMode):
    """Within this mode, eager PyTorch's inner products read TF32-rounded float32 operands."""

    def __torch_dispatch__(self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: Any = None) -> Any:
        positions = _ROUNDED.get(func)
        if positions is None and func.name().startswith("aten::_scaled_dot_product"):
            positions = (0, 1, 2)
        if positions:
            args = tuple(_rounded(a) if i in positions else a for i, a in enumerate(args))
        return func(*args, **(kwargs or {}))


def eager_tf32(model: Any, inputs: Sequence[Any]) -> Any:
    """``model(*inputs)`` with TF32 rounding of its inner products' float32 operands (no autograd)."""
    with torch.no_grad(), Tf32Rounding():
        return model(*inputs)
