"""``ir="fx"``: a ``torch.fx.GraphModule`` (or an ``nn.Module`` traced with ``torch.fx.symbolic_trace``) in, a
``torch.fx.GraphModule`` out.

The FX graph is brought to ATen exactly as the dynamo frontend brings a model: ``torch.export`` of the
GraphModule (and, with ``decompositions="pytorch"``, ``ExportedProgram.run_decompositions``), then the same
importer. A module ``symbolic_trace`` cannot trace (data-dependent Python control flow, e.g. ``transformers``
models) is captured as an FX graph with ``torch.export`` instead, with a warning saying so.

The result is the compiled program itself: a GraphModule taking the model's tensor inputs positionally and returning
the model's outputs (tensors, tuples, lists and dicts as the model does; other output classes as a flat tuple).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.fx

from trt_passes.frontends.base import DynamicDims, Frontend, eval_mode, split_inputs
from trt_passes.frontends.calling import program_structure, register_program, structured_outputs
from trt_passes.frontends.dynamo import import_model
from trt_passes.ir.graph import Graph


def to_graph_module(model: Any, inputs: Any) -> torch.fx.GraphModule | torch.export.ExportedProgram:
    """``model`` as an FX graph: the GraphModule given, ``symbolic_trace(model)``, or (when tracing fails) the
    ``ExportedProgram`` export captures (whose ``graph_module`` is the FX graph)."""
    if isinstance(model, torch.fx.GraphModule):
        return model
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"ir='fx' takes a torch.fx.GraphModule or an nn.Module, not {type(model).__name__}")
    try:
        return torch.fx.symbolic_trace(model)
    except Exception as e:  # symbolic tracing fails in many ways (TraceError, TypeError on Proxy, ...)
        warnings.warn(f"ir='fx': torch.fx.symbolic_trace could not trace {type(model).__name__} "
                      f"({type(e).__name__}: {e}); capturing its FX graph with torch.export instead",
                      UserWarning, stacklevel=4)
    args, kwargs = split_inputs(inputs)
    with eval_mode(model):
        return torch.export.export(model, args, kwargs)


class FxFrontend(Frontend):
    name = "fx"

    def import_model(self, model: Any, examples: Any, dynamic_dims: DynamicDims | None = None, *,
                     decompositions: str = "rules") -> Graph:
        self.refuse_dynamic_dims(dynamic_dims)
        gm = to_graph_module(model, examples)
        graph = import_model(gm, examples, decompositions=decompositions)
        graph.meta["frontend"] = "fx"
        return graph

    def wrap(self, program: torch.fx.GraphModule, graph: Graph) -> torch.fx.GraphModule:
        # The result shares program's submodules and buffers; program stays flat for save().
        result = torch.fx.GraphModule(program, _copy_graph(program.graph), class_name="TrtPassesFxProgram")
        structured_outputs(result, graph.meta)
        register_program(result, program, program_structure(graph.meta))
        return result


def _copy_graph(g: torch.fx.Graph) -> torch.fx.Graph:
    new = torch.fx.Graph()
    out = new.graph_copy(g, {})
    new.output(out)
    return new
