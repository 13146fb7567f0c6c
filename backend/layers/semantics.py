"""What the layers' reference semantics share: TensorRT's accumulation dtype, axis normalisation, and the input checks
a strongly typed TensorRT network makes (each error names the op, as TensorRT would reject the layer too)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch._subclasses.fake_tensor import is_fake

Outputs = tuple[torch.Tensor, ...]

HALF = (torch.float16, torch.bfloat16)


def has_values(t: torch.Tensor) -> bool:
    """False for meta and fake tensors (type inference): their values cannot be checked."""
    return not t.is_meta and not is_fake(t)


def widen_half(x: torch.Tensor) -> torch.Tensor:
    """Widen half types for accumulation (TensorRT accumulates f16/bf16 in f32); callers round the result back."""
    return x.float() if x.dtype in HALF else x


def normalize_axis(op: str, axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"{op}: axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def normalize_axes(op: str, axes: Sequence[int], rank: int) -> list[int]:
    out = sorted({normalize_axis(op, a, rank) for a in axes})
    if len(out) != len(axes):
        raise ValueError(f"{op}: repeated axes {list(axes)}")
    return out


def require_floating(op: str, t: torch.Tensor) -> None:
    if not t.is_floating_point():
        raise TypeError(f"{op} takes floating-point input in TensorRT, got {t.dtype}")


def require_same_dtype(op: str, *tensors: torch.Tensor) -> None:
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        # The network is strongly typed: TensorRT inserts no casts, so neither does the reference.
        raise TypeError(f"{op}: inputs must share one dtype, got {', '.join(str(t.dtype) for t in tensors)}")
