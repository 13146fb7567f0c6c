"""``explain`` with the partitioned graph: what the drawing (``--graph``) needs besides the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from trt_passes.compiler import compiling, import_graph, run_passes
from trt_passes.frontends import get_frontend
from trt_passes.ir import Graph
from trt_passes.model_inputs import resolve_call
from trt_passes.passes.report import CompileReport
from trt_passes.passes.settings import CompileSettings


def explain_with_graph(model: Any, inputs: Sequence[Any] | None = None, *, ir: str = "default",
                       arg_inputs: Any = None, kwarg_inputs: Mapping[str, Any] | None = None,
                       **options: Any) -> tuple[CompileReport, Graph]:
    """As :func:`trt_passes.explain` (no engines built; networks defined and type-checked), also returning the
    final graph: ``segment`` nodes hold the TensorRT parts, the other op nodes run in PyTorch."""
    settings = replace(CompileSettings.from_options(options), build_engines=False)
    call = resolve_call(model, inputs, arg_inputs, kwarg_inputs)
    with compiling():
        graph = import_graph(get_frontend(ir), model, call, settings.decompositions)
        ctx = run_passes(graph, settings)
    return ctx.report, ctx.graph
