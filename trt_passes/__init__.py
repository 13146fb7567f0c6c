"""trt-passes: a PyTorch-to-TensorRT compiler whose lowerings and converters are ``.rw`` rewrite rules.

>>> import trt_passes
>>> compiled = trt_passes.compile(model, inputs=[torch.randn(1, 3, 224, 224)])  # doctest: +SKIP

The public names load on first use (PEP 562), so importing a low layer such as :mod:`trt_passes.ir` loads nothing
above it: this package is the roof of the house as well as the name every layer lives under.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from trt_passes import torch_registrations  # the execute_engine op and the "trt_passes" TorchDynamo backend

__version__ = "0.1.0"

# public name -> the module that defines it
_PUBLIC: dict[str, str] = {
    "compile": "trt_passes.api",
    "explain": "trt_passes.api",
    "save": "trt_passes.serialize",
    "load": "trt_passes.serialize",
    "ArtifactError": "trt_passes.serialize",
    "bisect": "trt_passes.tools.bisection",
    "BisectResult": "trt_passes.tools.bisection",
    "Input": "trt_passes.inputs",
    "CompileReport": "trt_passes.passes.report",
    "CompileSettings": "trt_passes.passes.settings",
}

__all__ = ["ArtifactError", "BisectResult", "CompileReport", "CompileSettings", "Input", "bisect", "compile",
           "explain", "load", "save"]

if TYPE_CHECKING:
    from trt_passes.api import compile, explain
    from trt_passes.inputs import Input
    from trt_passes.passes.report import CompileReport
    from trt_passes.passes.settings import CompileSettings
    from trt_passes.serialize import ArtifactError, load, save
    from trt_passes.tools.bisection import BisectResult, bisect


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'trt_passes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


def _debug_logging_if_asked() -> None:
    """``TRT_PASSES_DEBUG=1`` turns on debug logging for the library as for the CLI (see passes/observe.py)."""
    if os.environ.get("TRT_PASSES_DEBUG", "").strip():
        # Only when asked: the package root loads no layer above the IR (tests/test_package_imports.py).
        from trt_passes.passes.observe import configure_debug_logging, debug_enabled

        if debug_enabled():
            configure_debug_logging()


_debug_logging_if_asked()
torch_registrations.register_if_dynamo_loaded()
