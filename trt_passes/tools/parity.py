"""Comparing a compiled program with eager PyTorch.

The measure is the **maximum relative error**: ``max|actual - expected| / max|expected|`` over each output,
the worst output counting. Dividing by the output's largest magnitude (not element by element) keeps
the measure meaningful where outputs cross zero.

**Default tolerances** (:data:`TOLERANCE`, what ``--check`` accepts unless told otherwise), by the precision the
engines compute in:

* ``f32``: 1e-4. Full float32 (``disable_tf32=True``): reordered sums through ~50 layers stay near 1e-6..1e-5
  (measured: resnet18 and a 2-layer BERT 2-3e-7 against eager float64).
* ``tf32``: 5e-3. TF32 keeps 10 mantissa bits (epsilon 2^-10 ~ 9.8e-4) for the operands of float32 convolutions and
  matrix products only, accumulating in f32: each operand rounds with relative error <= 2^-11 (to nearest) or
  < 2^-10 (kernels that truncate), so one product is off by <= 2^-10 (2^-9 truncating); errors of many products
  partly cancel, and measured whole-model errors are about half an epsilon (resnet18 4.7e-4, BERT 3.6e-4 against
  eager float64). 5e-3 is five epsilons: the truncating worst case of one product (two epsilons) with room for
  propagation through the deepest models; still far below the error of order 1 a wrong rule gives.
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

TOLERANCE = {"f32": 1e-4, "tf32": 5e-3, "f16": 1e-2, "bf16": 5e-2}


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


@dataclass(frozen=True)
class ParityResult:
    vs_eager: float
    vs_float64: float | None

    def __str__(self) -> str:
        s = f"max relative error vs eager: {self.vs_eager:.3g}"
        if self.vs_float64 is not None:
            s += f"; vs eager in float64: {self.vs_float64:.3g}"
        return s


def check_parity(model: torch.nn.Module, compiled: Any, inputs: Sequence[torch.Tensor]) -> ParityResult:
    """Run both on ``inputs``; also against the model in float64 when every float input can be upcast."""
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
    return ParityResult(vs_eager, vs64)
