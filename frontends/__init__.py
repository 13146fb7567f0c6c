"""Frontends: model -> IR, and compiled program -> the object handed back to the user.

Every frontend is a :class:`~trt_passes.frontends.base.Frontend`: ``import_model(model, examples, dynamic_dims)``
-> ``Graph`` and ``wrap(program, graph)`` -> the user's object, and it declares what it can do
(``takes_dynamic_inputs``, ``compiles_lazily``; a lazy frontend compiles through ``compile_lazily(model,
compile_graph)`` with the driver's compiler for one graph). ``compile(..., ir=NAME)`` picks one from
:data:`FRONTENDS` through :func:`get_frontend`; the driver never names one:

========================  =============================================  =========================================
``ir``                    model in                                       compiled model out
========================  =============================================  =========================================
``dynamo`` / ``default``  ``nn.Module`` or ``ExportedProgram``           ``PyTreeProgram`` (an ``nn.Module``)
``fx``                    ``torch.fx.GraphModule`` or ``nn.Module``      ``torch.fx.GraphModule``
``torchscript`` / ``ts``  ``torch.jit.ScriptModule`` or ``nn.Module``    ``torch.jit.ScriptModule`` calling
                                                                         ``torch.ops.trt_passes.execute_engine``
``torch_compile``         anything ``torch.compile`` takes               ``torch.compile(model, backend=...)``
========================  =============================================  =========================================

Every frontend reaches ATen the same way, ``torch.export`` (its training IR, as it is, with
``decompositions="rules"``; then ``run_decompositions()`` with ``"pytorch"``), and imports it with the dynamo
frontend's importer. Only ``dynamo`` takes dynamic inputs; only ``torch_compile`` compiles lazily.
"""

from __future__ import annotations

from trt_passes.frontends.base import CallInputs, CompileGraph, DynamicDims, Frontend, FrontendError
from trt_passes.frontends.dynamo import DynamoFrontend
from trt_passes.frontends.fx import FxFrontend
from trt_passes.frontends.torch_compile import TorchCompileFrontend
from trt_passes.frontends.torchscript import TorchScriptFrontend

_DYNAMO, _TORCHSCRIPT = DynamoFrontend(), TorchScriptFrontend()

# ir name -> frontend (frontends hold no state: one instance serves every compilation)
FRONTENDS: dict[str, Frontend] = {
    "dynamo": _DYNAMO,
    "default": _DYNAMO,
    "fx": FxFrontend(),
    "torchscript": _TORCHSCRIPT,
    "ts": _TORCHSCRIPT,
    "torch_compile": TorchCompileFrontend(),
}


def get_frontend(ir: str) -> Frontend:
    """The frontend for ``ir``; an unknown name is a ValueError listing the valid ones."""
    try:
        return FRONTENDS[ir]
    except (KeyError, TypeError):
        raise ValueError(f"unknown ir {ir!r}; valid: {', '.join(sorted(FRONTENDS))}") from None


def frontends_taking_dynamic_inputs() -> list[str]:
    """The names of the frontends that take dynamic inputs (for error messages)."""
    return sorted({f.name for f in FRONTENDS.values() if f.takes_dynamic_inputs})


__all__ = ["FRONTENDS", "CallInputs", "CompileGraph", "DynamicDims", "Frontend", "FrontendError",
           "frontends_taking_dynamic_inputs", "get_frontend"]
