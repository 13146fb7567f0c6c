"""``explain`` with the partitioned graph: what the drawing (``--graph``) needs besides the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from trt_passes.compiler import compiling, import_graph, run_passes
from trt_passes.frontends import get_frontend
from trt_passes.ir import Graph
from trt_passes.passes.report import CompileReport
from trt_passes.passes.settings import CompileSettings


def explain_with_graph(model: Any, inputs: Sequence[Any] | None = None, *, ir: str = "default",
                       **options: Any) -> tuple[CompileReport, Graph]:
    """As :func:`trt_passes.explain` (no engines built; networks defined and type-checked), also returning the
    final graph: ``segment`` nodes hold the TensorRT parts, the other op nodes run in PyTorch."""
    settings = replace(CompileSettings.from_options(options), build_engines=False)
    with compiling():
        graph = import_graph(get_frontend(ir), model, inputs, settings.decompositions)
        ctx = run_passes(graph, settings)
    return ctx.report, ctx.graph
