"""The compiler driver: frontend -> IR -> pipeline -> program. Every public entry point goes through here."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from trt_passes.backend.registry import default_ops
from trt_passes.ir import Graph
from trt_passes.ir.ops import OpRegistry
from trt_passes.passes.context import PassContext
from trt_passes.passes.pipeline import load_pipeline
from trt_passes.passes.report import CompileReport
from trt_passes.passes.scheduler import run_pipeline
from trt_passes.passes.settings import CompileSettings
from trt_passes.torch_registrations import register_dynamo_backend


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
    from trt_passes.backend.engine_record import current_target
    from trt_passes.backend.program import build_program
    from trt_passes.backend.segment_module import SegmentModule

    segments = {}
    for node in graph.all_nodes():
        if node.op == "segment":
            artifact = node.attrs.get("engine")
            engine = artifact.engine if artifact is not None else None
            module = SegmentModule(node.attrs["name"], node.attrs["body"], engine, settings.runtime)
            if artifact is not None:  # what saving records about the engine (see backend/engine_op.py)
                module.engine_info = {"tensorrt_module": artifact.tensorrt_module,
                                      "tensorrt_version": artifact.tensorrt_version, "target": current_target()}
            segments[node.id] = module
    return build_program(graph, segments)


def compile_model(model: Any, ir: str, inputs: Sequence[Any] | None, settings: CompileSettings) -> Any:
    from trt_passes.frontends import get_frontend

    frontend = get_frontend(ir)
    if frontend.name == "torch_compile":  # compiles lazily, one program per graph TorchDynamo captures
        from trt_passes.frontends.torch_compile import weight_ids

        register_dynamo_backend()
        reports: list[CompileReport] = []
        compiled = frontend.compile(model, make_dynamo_backend(settings, weight_ids(model), reports))
        with contextlib.suppress(AttributeError):  # one report per captured graph (and recompilation), on calls
            compiled.compile_reports = reports
        return compiled
    graph = import_graph(frontend, model, inputs)
    ctx = run_passes(graph, settings)
    program = build_runtime_program(ctx.graph, settings)
    result = frontend.wrap(program, ctx.graph)
    with contextlib.suppress(AttributeError):  # objects that refuse attributes still compile (see explain())
        result.compile_report = ctx.report
    return result


def import_graph(frontend: Any, model: Any, inputs: Sequence[Any] | None) -> Graph:
    """The frontend's IR for ``model``; dynamic :class:`~trt_passes.inputs.Input` s (min/opt/max shapes) become
    ``torch.export`` dynamic dims, which only the dynamo frontend takes."""
    from trt_passes.inputs import example_inputs

    examples = example_inputs(inputs)
    if frontend.name != "dynamo":
        dynamic = [i for i, x in enumerate(inputs or ()) if getattr(x, "dynamic_axes", ())]
        if dynamic:
            raise ValueError(f"inputs {dynamic} have dynamic shapes (min_shape != max_shape); ir={frontend.name!r} "
                             "compiles static shapes only: use ir='dynamo'")
        return frontend.import_model(model, examples)
    from trt_passes.frontends.dynamo import dynamic_shapes_for

    return frontend.import_model(model, examples, dynamic_shapes_for(list(inputs or ())))


def explain_model(model: Any, ir: str, inputs: Sequence[Any] | None, settings: CompileSettings) -> CompileReport:
    from trt_passes.frontends import get_frontend

    graph = import_graph(get_frontend(ir), model, inputs)
    return run_passes(graph, replace(settings, build_engines=False)).report


# ---- torch.compile ---------------------------------------------------------------------------------------------------
def make_dynamo_backend(settings: CompileSettings, known_weights: set[int] | None = None,
                        reports: list[CompileReport] | None = None) -> Any:
    """A TorchDynamo backend compiling each captured graph with ``settings``; ``known_weights`` are the ids of the
    model's parameters and buffers (they become constants); each compilation's report is appended to ``reports``."""
    from trt_passes.frontends.torch_compile import CompiledGraph, import_captured

    known = set(known_weights or ())

    def trt_passes_backend(gm: Any, example_inputs: Sequence[Any], **kwargs: Any) -> Any:
        if kwargs.get("options"):
            raise TypeError("pass compile options to trt_passes.compile(...), not to torch.compile's options=")
        graph, user = import_captured(gm, list(example_inputs), known)
        ctx = run_passes(graph, settings)
        program = build_runtime_program(ctx.graph, settings)
        from trt_passes.frontends.calling import PyTreeProgram

        if reports is not None:
            reports.append(ctx.report)
        return CompiledGraph(PyTreeProgram(program, ctx.graph.meta), user, ctx.report)

    return trt_passes_backend


def dynamo_backend(gm: Any, example_inputs: Sequence[Any], *, options: dict[str, Any] | None = None,
                   mode: str | None = None) -> Any:
    """The ``"trt_passes"`` TorchDynamo backend: ``torch.compile(model, backend="trt_passes", options={...})``.
    ``options`` are :func:`trt_passes.compile`'s options (an unknown one is an error); ``mode`` is ignored."""
    settings = CompileSettings.from_options(dict(options or {}))
    return make_dynamo_backend(settings)(gm, example_inputs)
