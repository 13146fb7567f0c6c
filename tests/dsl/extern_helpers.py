"""Python functions the extern tests declare in `.rw` text."""

from __future__ import annotations

from trt_passes.ir.types import TensorType


def is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def last_dim(t: TensorType) -> int:
    return int(t.shape[-1])


def wrong_result(n: int) -> bool:
    return n  # type: ignore[return-value]
