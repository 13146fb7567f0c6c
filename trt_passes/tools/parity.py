"""Comparing a compiled program with eager PyTorch.

The measure is the **maximum relative error**: ``max|actual - expected| / max|expected|`` over each output,
the worst output counting. Dividing by the output's largest magnitude (not element by element) keeps
the measure meaningful where outputs cross zero.

**Default tolerances** (:data:`TOLERANCE`, what ``--check`` accepts unless told otherwise), by the precision the
engines compute in:

* ``f32``: 1e-4. Full float32 (``disable_tf32=True``): reordered sums through ~50 layers stay near 1e-6..1e-5
  (measured: resnet18 and a 2-layer BERT 2-3e-7 against eager float64).
* ``tf32``: 5e-3, or four times the model's own TF32 error when that is larger (:func:`tf32_tolerance`). TF32
  keeps 10 mantissa bits (epsilon 2^-10 ~ 9.8e-4) for the operands of float32 convolutions and matrix products
  only, accumulating in f32: each operand rounds with relative error <= 2^-11 (to nearest) or < 2^-10 (kernels that
  truncate), so one product is off by <= 2^-10 (2^-9 truncating); errors of many products partly cancel, and in a
  well-conditioned model the output moves by about half an epsilon (resnet18 4.7e-4, BERT 3.6e-4 against eager
  float64). 5e-3 is five epsilons: the truncating worst case of one product (two epsilons) with room for
  propagation through depth. A model whose output cancels amplifies every rounding (its float32 error against
  float64 is large too): resnet50, EfficientNet-B0 and RegNet with random weights move by 3e-2 to 5e-2 under TF32, in
  eager PyTorch with the same rounding (:mod:`~trt_passes.tools.tf32_eager`) as in the compiled program. So the
  tolerance is also at least :data:`TF32_FACTOR` times eager's own TF32 error on the same inputs: the program and
  eager round the same kinds of operands to the same precision, at places that differ (folded weights) and with
  kernels that may truncate (twice the error), so their errors stay within a factor of two of each other, doubled
  for margin (measured ratios 0.7 to 1.3); a wrong rule's error of order 1 stays far above it.
* ``f16`` (epsilon 2^-10) and ``bf16`` (2^-7 ~ 7.8e-3) round every layer's result: about ten and six epsilons,
  1e-2 and 5e-2 (measured on resnet18 and a 2-layer BERT against float64: f16 up to 1.6e-3, bf16 up to 1.1e-2).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.utils._pytree as pytree

from trt_passes.tools.tf32_eager import eager_tf32

TOLERANCE = {"f32": 1e-4, "tf32": 5e-3, "f16": 1e-2, "bf16": 5e-2}
TF32_FACTOR = 4.0


def default_tolerance(f32_contractions: str | None, reduced_precision: str | None = None) -> float:
    """The default ``--check`` tolerance for engines whose float32 contractions compute in ``f32_contractions``
    (``"tf32"``/``"f32"``, a compile report's field; None: no engines, full float32) and whose float32 compute was
    reduced to ``reduced_precision`` (``"f16"``/``"bf16"``, or None)."""
    if reduced_precision is not None:
        return TOLERANCE[reduced_precision]
    return TOLERANCE[f32_contractions or "f32"]


def _tensors(x: Any) -> list[torch.Tensor]:
    return [t for t in pytree.tree_leaves(x) if isinstance(t, torch.Tensor)]


def max_relative_error(actual: Any, expected: Any) -> float:
    a, e = _tensors(actual), _tensors(expected)
    if len(a) != len(e):
        raise ValueError(f"compiled program returned {len(a)} tensors, eager returned {len(e)}")
    worst = 0.0
    for x, y in zip(a, e):
        if x.shape != y.shape:
            raise ValueError(f"output shape {tuple(x.shape)} differs from eager's {tuple(y.shape)}")
        if y.dtype == torch.bool or not y.dtype.is_floating_point:
            worst = max(worst, float((x.to(torch.float64) != y.to(torch.float64)).any()))
            continue
        y64, x64 = y.detach().to(torch.float64), x.detach().to(torch.float64)
        scale = y64.abs().max().item() if y64.numel() else 0.0
        err = (x64 - y64).abs().max().item() if y64.numel() else 0.0
        worst = max(worst, err / scale if scale > 0 else err)
    return worst


def tf32_tolerance(model: Any, inputs: Sequence[Any], expected: Any | None = None) -> tuple[float, float]:
    """``(tolerance, eager's own TF32 error)`` for a program whose engines allow TF32, on ``inputs``: the larger of
    ``TOLERANCE["tf32"]`` and :data:`TF32_FACTOR` times how far TF32 rounding moves eager ``model`` from float32
    (``expected``: eager's float32 outputs, computed when not given)."""
    with torch.no_grad():
        if expected is None:
            expected = model(*inputs)
        own = max_relative_error(eager_tf32(model, inputs), expected)
    return max(TOLERANCE["tf32"], TF32_FACTOR * own), own


@dataclass(frozen=True)
class ParityResult:
    vs_eager: float
    vs_float64: float | None
    tf32_eager: float | None = None
    """How far TF32 rounding moves eager PyTorch itself (checked only for engines that allow TF32)."""

    def __str__(self) -> str:
        s = f"max relative error vs eager: {self.vs_eager:.3g}"
        if self.vs_float64 is not None:
            s += f"; vs eager in float64: {self.vs_float64:.3g}"
        if self.tf32_eager is not None:
            s += f"; eager itself with TF32 rounding: {self.tf32_eager:.3g}"
        return s

    @property
    def tolerance(self) -> float | None:
        """The TF32 tolerance these inputs call for (None unless ``tf32_eager`` was measured)."""
        return None if self.tf32_eager is None else max(TOLERANCE["tf32"], TF32_FACTOR * self.tf32_eager)


def check_parity(model: torch.nn.Module, compiled: Any, inputs: Sequence[torch.Tensor],
                 tf32: bool = False) -> ParityResult:
    """Run both on ``inputs``; also against the model in float64 when every float input can be upcast, and with
    ``tf32`` (engines that allow TF32) eager's own error under TF32 rounding."""
    with torch.no_grad():
        eager = model(*inputs)
        got = compiled(*inputs)
        vs_eager = max_relative_error(got, eager)
        vs64 = None
        try:
            model64 = copy.deepcopy(model).to(torch.float64)
            inputs64 = [t.to(torch.float64) if t.is_floating_point() else t for t in inputs]
            vs64 = max_relative_error(got, model64(*inputs64))
        except (RuntimeError, TypeError):  # models with dtype-specific code cannot all run in float64
            vs64 = None
    own = tf32_tolerance(model, inputs, eager)[1] if tf32 else None
    return ParityResult(vs_eager, vs64, own)
