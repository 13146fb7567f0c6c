"""The one way a test module says it needs a TensorRT module.

On a user's machine without TensorRT the module is skipped, saying so. Where the test command installed TensorRT for
RTX (``scripts/test.sh`` sets ``TRT_PASSES_REQUIRE_TENSORRT=1``, so CI does too), its absence is a failure instead:
a broken install must not pass as a run with fewer tests.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

from trt_passes.backend.tensorrt_import import TensorRTNotAvailableError, find_tensorrt

REQUIRED = os.environ.get("TRT_PASSES_REQUIRE_TENSORRT") == "1"


def _missing(why: str) -> None:
    if REQUIRED:
        pytest.fail(f"{why}, and TRT_PASSES_REQUIRE_TENSORRT=1 says it must be (scripts/setup.sh installs "
                    "TensorRT for RTX)", pytrace=False)
    pytest.skip(why, allow_module_level=True)


def tensorrt_or_skip() -> None:
    """Skip the calling test module when no TensorRT module (``tensorrt`` or ``tensorrt_rtx``) is installed."""
    try:
        find_tensorrt()
    except TensorRTNotAvailableError:
        _missing("no TensorRT module installed")


def tensorrt_rtx_or_skip(why: str) -> ModuleType:
    """``tensorrt_rtx`` itself, or skip the calling test module saying ``why`` it needs that one."""
    try:
        return importlib.import_module("tensorrt_rtx")
    except ImportError:
        _missing(why)
        raise  # unreachable: _missing raises; keeps the type checker's return path honest
