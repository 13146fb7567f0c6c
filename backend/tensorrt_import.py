"""Find a TensorRT Python module: the full ``tensorrt`` when it imports, else TensorRT for RTX (same API).

TensorRT for RTX builds engines ahead of time on a machine without a GPU, which is what CI and most developers have;
users with a datacenter GPU have ``tensorrt``. Everything else in the backend receives the module from here and
never imports either directly.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from types import ModuleType

CANDIDATES = ("tensorrt", "tensorrt_rtx")

INSTALL_HINT = "pip install 'trt-passes[rtx]'"


class TensorRTNotAvailableError(ImportError):
    """Neither ``tensorrt`` nor ``tensorrt_rtx`` imports."""


@dataclass(frozen=True)
class TensorRTModule:
    module: ModuleType
    name: str
    version: str


@functools.lru_cache(maxsize=1)
def find_tensorrt() -> TensorRTModule:
    """The first of :data:`CANDIDATES` that imports, with its name and version."""
    failures = []
    for name in CANDIDATES:
        try:
            module = importlib.import_module(name)
        except ImportError as e:  # also covers a wheel whose native libraries are missing
            failures.append(f"{name}: {e}")
            continue
        return TensorRTModule(module, name, str(getattr(module, "__version__", "unknown")))
    raise TensorRTNotAvailableError(
        "no TensorRT Python module could be imported (" + "; ".join(failures) + "). "
        f"Install TensorRT for RTX with `{INSTALL_HINT}` (builds engines without a GPU), or NVIDIA's `tensorrt`.")


def import_tensorrt() -> ModuleType:
    """The ``tensorrt`` module if importable, else ``tensorrt_rtx``; raises :class:`TensorRTNotAvailableError`."""
    return find_tensorrt().module


def tensorrt_module_name() -> str:
    return find_tensorrt().name


def tensorrt_version() -> str:
    return find_tensorrt().version
