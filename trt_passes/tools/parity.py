"""Comparing a compiled program with eager PyTorch.

The measure is the **maximum relative error**: ``max|actual - expected| / max|expected|`` over each output,
the worst output counting. Dividing by the output's largest magnitude (not element by element) keeps
the measure meaningful where outputs cross zero.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.utils._pytree as pytree


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
