"""What ``import trt_passes`` registers with torch, at the cost of a few function definitions.

* The operator ``torch.ops.trt_passes.execute_engine`` (a TensorRT segment; see :mod:`trt_passes.backend.engine_op`),
  so programs saved by :func:`trt_passes.save` load with a bare ``torch.export.load`` / ``torch.jit.load`` after
  ``import trt_passes``.
* The TorchDynamo backend name ``"trt_passes"`` when TorchDynamo is already imported (the ``torch_dynamo_backends``
  entry point in pyproject.toml covers processes that import it later).

Both register trampolines that import the implementation on first call: importing any layer of the package (its
IR, say) must not load the layers above it, so the function-level imports below are deliberate.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import torch

DYNAMO_BACKEND_NAME = "trt_passes"


@torch.library.custom_op("trt_passes::execute_engine", mutates_args=())
def execute_engine(inputs: list[torch.Tensor], engine: torch.Tensor, weights: list[torch.Tensor],
                   meta: str) -> list[torch.Tensor]:
    """Run one TensorRT segment: its engine where it can run, else its body on the reference runtime."""
    from trt_passes.backend.engine_op import execute_engine as run  # a trampoline: see the module docstring

    return run(inputs, engine, weights, meta)


@execute_engine.register_fake
def _execute_engine_fake(inputs: list[torch.Tensor], engine: torch.Tensor, weights: list[torch.Tensor],
                         meta: str) -> list[torch.Tensor]:
    from trt_passes.backend.engine_op import execute_engine_fake  # a trampoline: see the module docstring

    return execute_engine_fake(inputs, engine, weights, meta)


def dynamo_backend(gm: Any, example_inputs: Sequence[Any], *, options: dict[str, Any] | None = None,
                   mode: str | None = None) -> Any:
    """The ``"trt_passes"`` TorchDynamo backend: ``torch.compile(model, backend="trt_passes", options={...})``.
    ``options`` are :func:`trt_passes.compile`'s options (an unknown one is an error); ``mode`` is ignored."""
    from trt_passes.compiler import graph_compiler  # a trampoline: see the module docstring
    from trt_passes.frontends.torch_compile import dynamo_backend as backend_for
    from trt_passes.passes.settings import CompileSettings

    settings = CompileSettings.from_options(dict(options or {}))
    return backend_for(graph_compiler(settings), decompositions=settings.decompositions)(gm, example_inputs)


def dynamo_backend_tables() -> tuple[Any, Any]:
    """TorchDynamo's backend tables (name -> entry point, name -> function).

    Private API (``torch._dynamo.backends.registry._BACKENDS`` / ``_COMPILER_FNS``): the public ``list_backends``
    hides tagged backends and would itself load entry points, so registering from inside an entry point's import needs
    the raw tables. Missing tables (a future torch) read as empty."""
    from torch._dynamo.backends import registry  # only once TorchDynamo is in use: importing it costs seconds

    return getattr(registry, "_BACKENDS", {}), getattr(registry, "_COMPILER_FNS", {})


def register_dynamo_backend() -> bool:
    """Register :func:`dynamo_backend` as ``"trt_passes"`` with TorchDynamo unless it is known there already.

    Importing ``torch._dynamo`` costs seconds, so ``import trt_passes`` calls this only when it is already imported.
    While TorchDynamo is loading the entry point the name is in its table but has no function yet: registering then
    would collide with TorchDynamo's own registration, so the check is on the name, not the function."""
    import torch._dynamo  # seconds to import: see above

    names, functions = dynamo_backend_tables()
    if DYNAMO_BACKEND_NAME in names or DYNAMO_BACKEND_NAME in functions:
        return False
    torch._dynamo.register_backend(dynamo_backend, name=DYNAMO_BACKEND_NAME)
    return True


def register_if_dynamo_loaded() -> None:
    if "torch._dynamo" in sys.modules:
        register_dynamo_backend()
