"""Clear errors about what the user handed to ``compile``: something that is not a model, or example inputs the model
cannot take. When a frontend fails to trace, the model is run once eagerly on the same inputs: if that fails too, the
inputs (shape, dtype) are at fault and the error says so in one line, instead of a failure from deep inside
``torch.export``; otherwise the frontend's own error stands. (Only on that failure path: running the model has side
effects a compile must not have.)"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import torch
from torch.export import ExportedProgram

from trt_passes.frontends.base import eval_mode, split_inputs
from trt_passes.ir.types import DTYPE_NAMES
from trt_passes.passes.observe import debug_enabled


def check_model(model: Any) -> None:
    """Refuse what cannot be a model before any frontend sees it."""
    if isinstance(model, (str, bytes, os.PathLike)):
        raise TypeError(f"compile takes the model itself, not the {type(model).__name__} {str(model)!r}: build it "
                        "first, e.g. torchvision.models.resnet18(weights=None).eval() (the command line takes model "
                        "names: trt-passes compile torchvision:resnet18 --input 1x3x224x224)")
    if not callable(model) and not isinstance(model, ExportedProgram):
        raise TypeError(f"compile takes a model (an nn.Module, ScriptModule, GraphModule or ExportedProgram), not a "
                        f"{type(model).__name__}")


def describe(examples: Any) -> str:
    """``f32[2, 16], i64[2, 8]``: the example inputs' dtypes and shapes."""
    args, kwargs = split_inputs(examples)
    parts = [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _describe(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return f"{DTYPE_NAMES.get(x.dtype, str(x.dtype))}{list(x.shape)}"
    return type(x).__name__


def eager_failure(model: Any, examples: Any) -> str | None:
    """Why ``model`` fails on ``examples`` run eagerly (its error's first line), or None when it runs."""
    target = model.module() if isinstance(model, ExportedProgram) else model
    args, kwargs = split_inputs(examples)
    try:
        with torch.no_grad(), eval_mode(target):
            target(*args, **kwargs)
    except Exception as e:  # whatever the model raises on these inputs is the answer
        lines = str(e).strip().splitlines()
        return f"{type(e).__name__}: {lines[0] if lines else ''}"
    return None


def input_error(model: Any, examples: Any, failure: BaseException) -> ValueError | None:
    """The one-line error for a failed trace when the inputs are at fault, else None."""
    problem = eager_failure(model, examples)
    if problem is None:
        return None
    error = ValueError(f"the model cannot run on the example inputs ({describe(examples)}): {problem}; give inputs "
                       "of the shapes and dtypes the model takes")
    if debug_enabled():
        error.__cause__ = failure
    return error


class _DropMetaFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("failed while attempting to run meta")


@contextlib.contextmanager
def torch_failure_logs_quiet() -> Iterator[None]:
    """While tracing: torch logs an op's shape-check failure with its traceback before raising it, and the raised
    error is reported anyway (``TRT_PASSES_DEBUG=1`` keeps torch's log)."""
    if debug_enabled():
        yield
        return
    logger = logging.getLogger("torch._subclasses.fake_tensor")
    quiet = _DropMetaFailures()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
