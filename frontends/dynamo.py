"""The dynamo frontend: ``torch.export`` -> ATen FX graph -> IR :class:`Graph` (the translation itself is
:mod:`trt_passes.frontends.importer`, which every frontend uses).

Which ATen: by default (``decompositions="rules"``) the graph ``torch.export.export`` gives, its training IR
(``aten.conv2d``, ``aten.linear``, ``aten.layer_norm``, in-place ops such as ``aten.relu_``), imported as it is, with
no whole-program retrace: the pipeline's ``.rw`` rules lower it, and what no rule handles is decomposed node by node
with PyTorch's own decompositions (the ``decompose`` pass). With ``decompositions="pytorch"`` the program first goes
through ``ExportedProgram.run_decompositions()`` (core ATen), as before; a graph imported the first way carries, in
``graph.meta[PYTORCH_DECOMPOSITIONS]``, the way to import it the second, for programs the ``functionalize`` pass
cannot make functional. A training IR the importer cannot represent (a construct ``run_decompositions()`` removes)
is imported the second way at once, the reason recorded in ``graph.meta[DECOMPOSITIONS_REASON]``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import torch
import torch.fx
from torch.export import ExportedProgram

from trt_passes.frontends.base import DynamicDims, Frontend, FrontendError, eval_mode, split_inputs
from trt_passes.frontends.calling import PyTreeProgram
from trt_passes.frontends.importer import Importer
from trt_passes.ir.aten import aten_dialect, op_name_of
from trt_passes.ir.decompositions import (
    DECOMPOSITIONS_REASON,
    DECOMPOSITIONS_TAKEN,
    PYTORCH_DECOMPOSITIONS,
    check_decompositions,
)
from trt_passes.ir.graph import Graph
from trt_passes.ir.symbolic import SymbolRange


def export_model(model: torch.nn.Module | ExportedProgram, inputs: Any, dynamic_shapes: Any = None,
                 decompositions: str = "rules") -> ExportedProgram:
    """Export ``model`` in eval mode: ``torch.export.export``'s own graph (``decompositions="rules"``), or that graph
    decomposed to core ATen by ``run_decompositions()`` (``"pytorch"``).

    ``inputs`` is a tensor, a tuple/list of positional arguments, or a dict of keyword arguments; ``dynamic_shapes``
    is ``torch.export``'s argument of that name (see :func:`export_dynamic_shapes`). An :class:`ExportedProgram` is
    accepted as is, with whatever dynamic dims it has. Every submodule's training flag is restored afterwards:
    exporting must not change the caller's module.
    """
    check_decompositions(decompositions)
    if isinstance(model, ExportedProgram):
        ep = model
    else:
        args, kwargs = split_inputs(inputs)
        with eval_mode(model):
            ep = torch.export.export(model, args, kwargs, dynamic_shapes=dynamic_shapes)
    return ep.run_decompositions() if decompositions == "pytorch" else ep


@functools.cache
def decomposed_on_import(decompositions: str = "rules") -> frozenset[str]:
    """The ATen ops that never reach the rules, whatever the model, on the path ``decompositions`` (see
    :func:`export_model`).

    On either path, every op that writes a tensor in place: the ``functionalize`` pass rewrites each into its
    functional twin before any rule runs, or, where it cannot, the program is imported through
    ``run_decompositions()``, which functionalizes it. On the ``"pytorch"`` path also each op of torch.export's default
    decomposition table, which ``run_decompositions()`` replaces by the ops it decomposes into (the
    CompositeImplicitAutograd ones such as ``prelu``, others such as ``mish`` and ``silu``). On the default
    ``"rules"`` path those reach the rules as the model called them (PyTorch's table decomposes one, node by node in
    the ``decompose`` pass, only where no rule handles it). Every frontend imports through :func:`export_model`, so a
    rule rooted at one of these ops fires only on what a lowering rule emits."""
    check_decompositions(decompositions)
    dialect = aten_dialect()
    in_place = {op for op in dialect.op_names() if (schema := dialect.schema(op)) is not None and schema.is_mutating}
    if decompositions == "rules":
        return frozenset(in_place)
    return frozenset(in_place | {op_name_of(op) for op in torch.export.default_decompositions()})


def export_dynamic_shapes(dims: DynamicDims | None) -> tuple[Any, ...] | None:
    """``torch.export``'s ``dynamic_shapes`` for arguments (positional, then keyword) whose dynamic axes have the
    ranges ``dims``; a container argument's entry mirrors it (a tuple of per-tensor entries, ...).

    Each dynamic axis becomes a ``torch.export.Dim`` with its min and max. Axes of different inputs with the same
    position and the same (min, opt, max) share one Dim: that is how a batch or sequence dim common to
    ``input_ids`` and ``attention_mask`` is said to be one size (export refuses two Dims it finds equal). None when
    every input is static.
    """
    shared: dict[tuple[int, SymbolRange], Any] = {}

    def spec(d: Any) -> Any:
        if isinstance(d, Mapping) and all(isinstance(k, int) for k in d):  # one tensor's axes (empty: static)
            axes = {}
            for axis, dim_range in d.items():
                key = (axis, dim_range)
                if key not in shared:
                    shared[key] = torch.export.Dim(f"d{len(shared)}_axis{axis}", min=dim_range.min,
                                                   max=dim_range.max)
                axes[axis] = shared[key]
            return axes or None
        if isinstance(d, Mapping):
            return {k: spec(v) for k, v in d.items()}
        if isinstance(d, (list, tuple)):
            return type(d)(spec(v) for v in d)
        return None

    out = tuple(spec(d) for d in dims or ())
    return out if shared else None


def import_model(model: torch.nn.Module | ExportedProgram, inputs: Any, dynamic_shapes: Any = None,
                 decompositions: str = "rules") -> Graph:
    """Export (if needed) and import: the whole frontend in one call. With ``decompositions="rules"`` the graph also
    carries, under ``meta[PYTORCH_DECOMPOSITIONS]``, the import of the same program through ``run_decompositions()``
    (called only if the ``functionalize`` pass asks for it)."""
    ep = export_model(model, inputs, dynamic_shapes, decompositions)
    if decompositions == "pytorch":
        graph = import_exported_program(ep)
        graph.meta[DECOMPOSITIONS_TAKEN] = decompositions
        return graph
    try:
        graph = import_exported_program(ep)
    except FrontendError as e:  # a construct of torch.export's graph that run_decompositions() removes
        graph = _import_decomposed(ep, None)
        graph.meta[DECOMPOSITIONS_REASON] = f"the importer cannot represent torch.export's graph: {e}"
        return graph
    graph.meta[DECOMPOSITIONS_TAKEN] = decompositions
    graph.meta[PYTORCH_DECOMPOSITIONS] = lambda: _import_decomposed(ep, graph)
    return graph


def _import_decomposed(ep: ExportedProgram, graph: Graph | None) -> Graph:
    """``ep`` through ``run_decompositions()`` into the IR, labelled with the frontend ``graph`` is from."""
    decomposed = import_exported_program(ep.run_decompositions())
    decomposed.meta["frontend"] = graph.meta.get("frontend", "dynamo") if graph is not None else "dynamo"
    decomposed.meta[DECOMPOSITIONS_TAKEN] = "pytorch"
    return decomposed


def import_exported_program(ep: ExportedProgram) -> Graph:
    """Translate an :class:`ExportedProgram` (``torch.export``'s graph, or core ATen) into an IR graph; see the
    module docstring."""
    return Importer(ep).run()


class DynamoFrontend(Frontend):
    """``ir="dynamo"``: ``torch.export`` in, a :class:`~trt_passes.frontends.calling.PyTreeProgram` out."""

    name = "dynamo"
    takes_dynamic_inputs = True

    def import_model(self, model: torch.nn.Module | ExportedProgram, examples: Any,
                     dynamic_dims: DynamicDims | None = None, *, decompositions: str = "rules") -> Graph:
        return import_model(model, examples, export_dynamic_shapes(dynamic_dims), decompositions)

    def wrap(self, program: torch.fx.GraphModule, graph: Graph) -> torch.nn.Module:
        return PyTreeProgram(program, graph.meta)


__all__ = ["DynamoFrontend", "FrontendError", "export_dynamic_shapes", "export_model", "import_exported_program",
           "import_model"]
