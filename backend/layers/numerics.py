"""How an engine computes, beyond what each layer's attributes say: the builder settings that change numbers.

TensorRT's ``BuilderFlag::kTF32`` is set on a fresh builder config; NvInfer.h: it "allow[s] (but not require[s])
computations on tensors of type DataType::kFLOAT to use TF32. TF32 computes inner products by rounding the inputs to
10-bit mantissas before multiplying, but accumulates the sum using 23-bit mantissas." On a GPU with TF32 tensor cores
(Ampere and newer) float32 convolutions, deconvolutions and matrix products then see inputs with 10 mantissa bits.

A segment body records the numerics its engine is built with in ``body.meta["numerics"]`` (``{"tf32": bool}``,
written by the emit pass from the ``disable_tf32`` setting); emission sets the builder flag from it, explicitly
either way, and the reference runtime runs the body inside :func:`engine_numerics`, so the contraction layers round
their float32 operands with :func:`tf32_operands` exactly where the engine may. Outside a segment (constant folding,
rule tests) nothing is rounded: a layer's own semantics are exact.

**The rounding.** Round to nearest, ties away from zero, on the 13 dropped mantissa bits: what the PTX instruction
``cvt.rna.tf32.f32`` and CUTLASS's ``tfloat32_t`` conversion (``round_half_ulp_truncate``: add ``0x1000`` to the
bits, drop the low 13) do; non-finite values pass unchanged. Some kernels instead hand raw float32 registers to the
tensor cores, which read only the top 10 mantissa bits (truncation; PyTorch's numerical-accuracy notes, XLA's
``ALG_DOT_TF32_TF32_F32``). The two differ by at most one TF32 unit per operand; tolerances derived from TF32 allow
for either (``trt_passes.tools.parity``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

TF32_DROPPED_BITS = 13
_HALF_UNIT = 1 << (TF32_DROPPED_BITS - 1)  # 0x1000: half of the last kept mantissa bit
_KEEP_MASK = -(1 << TF32_DROPPED_BITS)  # 0xFFFFE000 as an int32: sign, exponent and the top 10 mantissa bits


@dataclass(frozen=True)
class Numerics:
    """The numerics-changing builder settings of one engine. ``tf32``: float32 contractions may use TF32."""

    tf32: bool = False

    def to_meta(self) -> dict[str, Any]:
        return {"tf32": self.tf32}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Numerics:
        """From a body's ``meta``; a body without the record (built by hand, or saved before it existed) is exact
        float32, which is also what emission builds for it."""
        record = meta.get("numerics") or {}
        return cls(tf32=bool(record.get("tf32", False)))

    @property
    def f32_contractions(self) -> str:
        """What float32 convolutions and matrix products compute in: ``"tf32"`` or ``"f32"``."""
        return "tf32" if self.tf32 else "f32"


EXACT = Numerics()

_current: contextvars.ContextVar[Numerics] = contextvars.ContextVar("trt_passes_engine_numerics", default=EXACT)


@contextlib.contextmanager
def engine_numerics(numerics: Numerics) -> Iterator[None]:
    """Evaluate layers as an engine built with ``numerics`` computes them."""
    token = _current.set(numerics)
    try:
        yield
    finally:
        _current.reset(token)


def current_numerics() -> Numerics:
    return _current.get()


def round_to_tf32(x: torch.Tensor) -> torch.Tensor:
    """``x`` (float32) rounded to TF32's 10-bit mantissa, nearest with ties away from zero, kept as float32.

    In sign-magnitude bits, adding half a unit of the last kept bit and clearing the dropped bits rounds the
    magnitude; a carry into the exponent is the correct result (the next binade, or infinity past the largest
    finite TF32 value). Works on meta and fake tensors (type inference runs the same code)."""
    if x.dtype != torch.float32:
        raise TypeError(f"TF32 rounding applies to float32 tensors, got {x.dtype}")
    bits = x.contiguous().view(torch.int32)
    rounded = torch.bitwise_and(bits + _HALF_UNIT, _KEEP_MASK).view(torch.float32)
    return torch.where(torch.isfinite(x), rounded, x)


def tf32_operands(*tensors: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
    """The operands of an inner product as the engine reads them: rounded to TF32 when the current engine allows
    TF32 and they are float32 (other dtypes, and an engine without TF32, read them unchanged)."""
    if not current_numerics().tf32:
        return tensors
    return tuple(round_to_tf32(t) if t is not None and t.dtype == torch.float32 else t for t in tensors)
