"""Frontends: model -> IR, and compiled program -> the object handed back to the user.

A frontend has ``import_model(model, inputs) -> Graph`` and ``wrap(program_gm, graph) -> object``; ``compile(...,
ir=NAME)`` picks one from :data:`FRONTENDS` through :func:`get_frontend`:

========================  =============================================  =========================================
``ir``                    model in                                       compiled model out
========================  =============================================  =========================================
``dynamo`` / ``default``  ``nn.Module`` or ``ExportedProgram``           ``PyTreeProgram`` (an ``nn.Module``)
``fx``                    ``torch.fx.GraphModule`` or ``nn.Module``      ``torch.fx.GraphModule``
``torchscript`` / ``ts``  ``torch.jit.ScriptModule`` or ``nn.Module``    ``torch.jit.ScriptModule`` calling
                                                                         ``torch.ops.trt_passes.execute_engine``
``torch_compile``         anything ``torch.compile`` takes               ``torch.compile(model, backend=...)``
========================  =============================================  =========================================

Every frontend reaches core ATen the same way (``torch.export`` + the default core-ATen decompositions) and imports
it with the dynamo frontend's importer. ``torch_compile`` compiles lazily: it also has ``compile(model, backend)``,
and the driver hands it a TorchDynamo backend instead of importing the model up front.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch.fx

from trt_passes.ir.graph import Graph


class Frontend(Protocol):
    name: str

    def import_model(self, model: Any, inputs: Any) -> Graph: ...

    def wrap(self, program_gm: torch.fx.GraphModule, graph: Graph) -> Any: ...


def _dynamo() -> Frontend:
    from trt_passes.frontends.dynamo import DynamoFrontend

    return DynamoFrontend()


def _fx() -> Frontend:
    from trt_passes.frontends.fx import FxFrontend

    return FxFrontend()


def _torchscript() -> Frontend:
    from trt_passes.frontends.torchscript import TorchScriptFrontend

    return TorchScriptFrontend()


def _torch_compile() -> Frontend:
    from trt_passes.frontends.torch_compile import TorchCompileFrontend

    return TorchCompileFrontend()


# ir name -> factory (lazy, so importing the package does not import torch.export machinery).
FRONTENDS: dict[str, Any] = {
    "dynamo": _dynamo,
    "default": _dynamo,
    "fx": _fx,
    "torchscript": _torchscript,
    "ts": _torchscript,
    "torch_compile": _torch_compile,
}


def get_frontend(ir: str) -> Frontend:
    """The frontend for ``ir``; an unknown name is a ValueError listing the valid ones."""
    try:
        factory = FRONTENDS[ir]
    except (KeyError, TypeError):
        raise ValueError(f"unknown ir {ir!r}; valid: {', '.join(sorted(FRONTENDS))}") from None
    return factory()


__all__ = ["FRONTENDS", "Frontend", "get_frontend"]
