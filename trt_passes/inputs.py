"""Describing a model's inputs: real example tensors, or :class:`Input` specs from which examples are drawn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from trt_passes.ir.types import TORCH_DTYPES


@dataclass(frozen=True)
class Input:
    """An input's shape and dtype, with the range example values are drawn from.

    >>> Input((1, 3, 224, 224)).example().shape
    torch.Size([1, 3, 224, 224])
    """

    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    low: float = -1.0
    high: float = 1.0

    def example(self, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.dtype.is_floating_point:
            t = torch.rand(self.shape, generator=generator, dtype=torch.float64)
            return (t * (self.high - self.low) + self.low).to(self.dtype)
        if self.dtype == torch.bool:
            return torch.rand(self.shape, generator=generator) < 0.5
        low, high = int(self.low), max(int(self.high), int(self.low) + 1)
        return torch.randint(low, high, self.shape, generator=generator, dtype=self.dtype)

    @staticmethod
    def parse(text: str) -> Input:
        """``1x3x224x224``, ``2x16:i64``, ``2x16:i64:0..1000`` (the CLI's --input syntax)."""
        parts = text.split(":")
        try:
            shape = tuple(int(d) for d in parts[0].lower().split("x"))
        except ValueError:
            raise ValueError(f"bad input shape {parts[0]!r}: expected dims joined by 'x', like 1x3x224x224") from None
        dtype = torch.float32
        if len(parts) > 1 and parts[1]:
            if parts[1] not in TORCH_DTYPES:
                raise ValueError(f"bad input dtype {parts[1]!r}; known: {', '.join(TORCH_DTYPES)}")
            dtype = TORCH_DTYPES[parts[1]]
        low, high = (-1.0, 1.0) if dtype.is_floating_point else (0.0, 2.0)
        if len(parts) > 2:
            try:
                lo_text, hi_text = parts[2].split("..")
                low, high = float(lo_text), float(hi_text)
            except ValueError:
                raise ValueError(f"bad value range {parts[2]!r}: expected LOW..HIGH") from None
        if len(parts) > 3:
            raise ValueError(f"bad input {text!r}: expected SHAPE[:DTYPE[:LOW..HIGH]]")
        return Input(shape, dtype, low, high)


def example_inputs(inputs: Sequence[torch.Tensor | Input] | None, seed: int = 0) -> tuple[torch.Tensor, ...]:
    if inputs is None:
        raise ValueError("inputs=[...] is required: example tensors or trt_passes.Input(shape, dtype) specs")
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i, x in enumerate(inputs):
        if isinstance(x, torch.Tensor):
            out.append(x)
        elif isinstance(x, Input):
            out.append(x.example(gen))
        else:
            raise TypeError(f"inputs[{i}] is a {type(x).__name__}; expected a torch.Tensor or trt_passes.Input")
    return tuple(out)
