"""Route TensorRT's log into Python ``logging`` (logger ``trt_passes.tensorrt``) and remember recent errors.

TensorRT reports most API misuse through its logger and then returns None or raises a terse exception ("Could not get
tensor shape."), so emission attaches the recent error lines to its own exceptions.
"""

from __future__ import annotations

import collections
import functools
import logging
from typing import Any

LOGGER_NAME = "trt_passes.tensorrt"
log = logging.getLogger(LOGGER_NAME)

# TensorRT-RTX on a machine without a usable CUDA driver logs this as an ERROR after other messages; it says nothing
# about the network, so it is demoted to DEBUG and kept out of error reports.
_NOISE = ("CUDA driver version is insufficient", "catchCudaError")


@functools.cache
def tensorrt_logger(trt: Any) -> Any:
    """One logger per TensorRT module for the whole process (TensorRT wants a single ILogger)."""
    levels = {
        trt.ILogger.Severity.INTERNAL_ERROR: logging.CRITICAL,
        trt.ILogger.Severity.ERROR: logging.ERROR,
        trt.ILogger.Severity.WARNING: logging.WARNING,
        trt.ILogger.Severity.INFO: logging.INFO,
        trt.ILogger.Severity.VERBOSE: logging.DEBUG,
    }

    class PythonLogger(trt.ILogger):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: collections.deque[str] = collections.deque(maxlen=20)

        def log(self, severity: Any, msg: str) -> None:
            level = levels.get(severity, logging.INFO)
            if any(n in msg for n in _NOISE):
                level = logging.DEBUG
            elif level >= logging.ERROR:
                self.errors.append(msg)
            if log.isEnabledFor(level):
                log.log(level, "%s", msg)

        def take_errors(self) -> list[str]:
            """The errors logged since the last call (oldest first)."""
            out = list(self.errors)
            self.errors.clear()
            return out

    return PythonLogger()
