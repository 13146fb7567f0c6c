"""The compiler driver: frontend -> IR -> pipeline -> program. Every public entry point goes through here."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from trt_passes.ir import Graph
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.ops import OpRegistry
from trt_passes.passes.context import PassContext
from trt_passes.passes.pipeline import load_pipeline
from trt_passes.passes.report import CompileReport
from trt_passes.passes.scheduler import run_pipeline
from trt_passes.passes.settings import CompileSettings


@functools.lru_cache(maxsize=1)
def default_ops() -> OpRegistry:
    from trt_passes.backend.dialect import trt_dialect

    return OpRegistry([aten_dialect(), trt_dialect()])


def shipped_rule_dir() -> Path:
    return Path(str(resources.files("trt_passes.spec")))


def load_library(extra: Sequence[Path] = (), ops: OpRegistry | None = None) -> Any:
    """The shipped rules plus the user's ``.rw`` files or folders, checked together."""
    from trt_passes.dsl import load_rules

    for path in extra:
        if not Path(path).exists():
            raise FileNotFoundError(f"rules path {path} does not exist")
    return load_rules([shipped_rule_dir(), *extra], ops or default_ops())


def run_passes(graph: Graph, settings: CompileSettings) -> PassContext:
    """Run the settings' pipeline on ``graph`` (in place) and return the context holding graph and report."""
    ops = default_ops()
    ctx = PassContext(graph, ops, load_library(settings.rules, ops), settings, CompileReport())
    run_pipeline(load_pipeline(settings.pipeline), ctx)
    return ctx


def build_runtime_program(graph: Graph, settings: CompileSettings) -> Any:
    """The ``torch.fx.GraphModule`` running ``graph``: segments run engines or the reference runtime."""
    from trt_passes.backend.program import build_program
    from trt_passes.backend.segment_module import SegmentModule

    segments = {}
    for node in graph.all_nodes():
        if node.op == "segment":
            artifact = node.attrs.get("engine")
            engine = artifact.engine if artifact is not None else None
            segments[node.id] = SegmentModule(node.attrs["name"], node.attrs["body"], engine, settings.runtime)
    return build_program(graph, segments)


def compile_model(model: Any, ir: str, inputs: Sequence[Any] | None, settings: CompileSettings) -> Any:
    from trt_passes.frontends import get_frontend
    from trt_passes.inputs import example_inputs

    frontend = get_frontend(ir)
    graph = frontend.import_model(model, example_inputs(inputs))
    ctx = run_passes(graph, settings)
    program = build_runtime_program(ctx.graph, settings)
    result = frontend.wrap(program, ctx.graph)
    try:
        result.compile_report = ctx.report
    except AttributeError:  # objects that refuse attributes still compile; the report is then only in explain()
        pass
    return result


def explain_model(model: Any, ir: str, inputs: Sequence[Any] | None, settings: CompileSettings) -> CompileReport:
    from trt_passes.frontends import get_frontend
    from trt_passes.inputs import example_inputs

    graph = get_frontend(ir).import_model(model, example_inputs(inputs))
    return run_passes(graph, replace(settings, build_engines=False)).report
