"""The op registry every compilation uses: ATen (read from torch's schemas), the TensorRT dialect, and library ops.

It lives in the backend because it is the first layer that knows both dialects; layers below it (the IR, the DSL)
receive a registry instead of building one (ARCHITECTURE.md: the catalogues are injected).
"""

from __future__ import annotations

import functools

from trt_passes.backend.dialect import trt_dialect
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.library_ops import library_dialect
from trt_passes.ir.ops import OpRegistry


@functools.lru_cache(maxsize=1)
def default_ops() -> OpRegistry:
    """``OpRegistry([aten_dialect(), trt_dialect()], fallback=library_dialect())``, built once per process: ATen,
    the TensorRT dialect, and the ops other libraries register with torch (custom ops, torchvision's)."""
    return OpRegistry([aten_dialect(), trt_dialect()], fallback=library_dialect())
