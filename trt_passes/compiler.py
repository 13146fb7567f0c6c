"""The compiler driver: frontend -> IR -> pipeline -> program. Every public entry point goes through here.

The driver knows frontends only through their interface (:class:`~trt_passes.frontends.base.Frontend`): it turns
the user's inputs into plain data (example tensors, the ranges of dynamic dims), asks the frontend for the IR, runs
the pipeline and hands the program back to the frontend to wrap. A frontend that compiles lazily gets the
compiler for one graph (:func:`graph_compiler`) instead and calls it for each graph it captures.

When the ``functionalize`` pass cannot prove a program's in-place writes safe to rewrite
(:class:`~trt_passes.passes.functionalize.NeedsPyTorchDecompositions`), the driver imports the program again the way
its graph says (``graph.meta[PYTORCH_DECOMPOSITIONS]``: through ``run_decompositions()``) and runs the pipeline on
that; the report records the path taken and why.

One compile at a time per process: ``torch.export`` keeps global state (its tracing context and mode stacks), so two
threads exporting at once break each other, and could leave that state broken for every later export. Every entry
point here holds :func:`compiling` (a reentrant lock, with the garbage collector paused) while it imports and
compiles: threads compiling at once wait for each other; running compiled programs is not serialised.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import torch.fx

from trt_passes.backend import engine_record
from trt_passes.backend.program import build_program
from trt_passes.backend.registry import default_ops
from trt_passes.backend.segment_module import SegmentModule
from trt_passes.backend.snapshot import snapshot_constants
from trt_passes.diagnose import check_model, input_error, torch_failure_logs_quiet
from trt_passes.dsl import RuleLibrary, load_rules
from trt_passes.frontends import (
    CallInputs,
    Frontend,
    FrontendError,
    frontends_taking_dynamic_inputs,
    get_frontend,
)
from trt_passes.ir import Graph
from trt_passes.ir.decompositions import DECOMPOSITIONS_REASON, DECOMPOSITIONS_TAKEN, PYTORCH_DECOMPOSITIONS
from trt_passes.ir.ops import OpRegistry
from trt_passes.model_inputs import ModelCall, has_dynamic_dims, resolve_call
from trt_passes.passes.context import PassContext
from trt_passes.passes.emit import SegmentBuildError
from trt_passes.passes.functionalize import NeedsPyTorchDecompositions
from trt_passes.passes.partition import LEAVE_TO_PYTORCH
from trt_passes.passes.pipeline import load_pipeline
from trt_passes.passes.report import CompileReport
from trt_passes.passes.scheduler import run_pipeline
from trt_passes.passes.settings import CompileSettings
from trt_passes.program_inputs import record_program_inputs
from trt_passes.torch_registrations import register_if_dynamo_loaded

_COMPILE_LOCK = threading.RLock()


@contextlib.contextmanager
def compiling() -> Iterator[None]:
    """Held while a model is imported and compiled (see the module docstring); reentrant."""
    with _COMPILE_LOCK, collector_paused():
        yield


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Compile with the cyclic garbage collector off (as it was before, afterwards). torch.export leaves hundreds of
    thousands of objects alive, so each full collection triggered by a pass's allocations costs a large part of a
    second (measured: ``functionalize`` on densenet121 1.0 s with the collector on, 0.15 s off); compiling creates
    little cyclic garbage, which the next collection after the compile reclaims."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def shipped_rule_dir() -> Path:
    return Path(str(resources.files("trt_passes.spec")))


# Libraries loaded in this process, per op registry and rule files (path, size, modification time): a second
# compilation reuses the library and the matchers it compiled instead of reading both from the disk cache again.
_LOADED: weakref.WeakKeyDictionary[OpRegistry, dict[tuple[Any, ...], RuleLibrary]] = weakref.WeakKeyDictionary()


def load_library(extra: Sequence[Path] = (), ops: OpRegistry | None = None) -> RuleLibrary:
    """The shipped rules plus the user's ``.rw`` files or folders, checked together."""
    for path in extra:
        if not Path(path).exists():
            raise FileNotFoundError(f"rules path {path} does not exist")
    ops = ops or default_ops()
    paths = [shipped_rule_dir(), *extra]
    key = _rule_files_key(paths)
    loaded = _LOADED.setdefault(ops, {})
    library = loaded.get(key)
    if library is None:
        library = load_rules(paths, ops)
        loaded.clear()  # one library per registry: the rule files an earlier compilation saw are gone or changed
        loaded[key] = library
    return library


def _rule_files_key(paths: Sequence[Path]) -> tuple[Any, ...]:
    files = []
    for path in map(Path, paths):
        for f in sorted(path.rglob("*.rw")) if path.is_dir() else [path]:
            stat = f.stat()
            files.append((str(f), stat.st_size, stat.st_mtime_ns))
    return tuple(files)


def run_passes(graph: Graph, settings: CompileSettings) -> PassContext:
    """Run the settings' pipeline on ``graph`` and return the context holding the compiled graph and its report.

    A graph the ``functionalize`` pass gives up on is imported again through ``run_decompositions()`` (see the module
    docstring), and the returned context holds that graph. A segment whose engine TensorRT refuses to build (a layer
    configuration the builder does not implement) does not fail the compile: the pipeline runs again on a copy of
    ``graph`` taken first, with that segment's ops left to PyTorch (their fallback reason quotes TensorRT), as often
    as builds fail with new ops."""
    with compiling():
        ops = default_ops()
        library = load_library(settings.rules, ops)
        pipeline = load_pipeline(settings.pipeline)
        pristine = graph.copy()
        left: dict[int, str] = {}
        while True:
            if left:
                graph.meta[LEAVE_TO_PYTORCH] = dict(left)
            ctx = new_context(graph, ops, library, settings)
            try:
                try:
                    run_pipeline(pipeline, ctx)
                except NeedsPyTorchDecompositions as e:
                    again = reimport_with_pytorch_decompositions(graph, e)
                    if left:  # the import is deterministic: the ids recorded on an earlier try name the same ops
                        again.meta[LEAVE_TO_PYTORCH] = dict(left)
                    ctx = new_context(again, ops, library, settings, e.reason)
                    run_pipeline(pipeline, ctx)
            except SegmentBuildError as e:
                if all(n in left for n in e.nodes):
                    raise
                left.update({n: e.reason for n in e.nodes if n not in left})
                graph = pristine.copy()
                continue
            if left:
                ctx.report.notes.append(f"{len(left)} ops stayed in PyTorch because TensorRT failed to build "
                                        "their segment's engine (see their reasons)")
            graph.meta.pop(PYTORCH_DECOMPOSITIONS, None)  # it holds the exported program: not needed any more
            return ctx


def new_context(graph: Graph, ops: OpRegistry, library: RuleLibrary, settings: CompileSettings,
                reason: str | None = None) -> PassContext:
    """A context for running passes on ``graph``, its report saying which decompositions it was imported with (and,
    for a graph imported again, ``reason``)."""
    report = CompileReport(decompositions=graph.meta.get(DECOMPOSITIONS_TAKEN),
                           decompositions_reason=reason or graph.meta.get(DECOMPOSITIONS_REASON))
    return PassContext(graph, ops, library, settings, report)


def reimport_with_pytorch_decompositions(graph: Graph, why: NeedsPyTorchDecompositions) -> Graph:
    """The model of ``graph`` imported again through ``run_decompositions()``, because of ``why``."""
    reimport = graph.meta.get(PYTORCH_DECOMPOSITIONS)
    if reimport is None:
        raise RuntimeError(f"{why.reason}; the graph cannot be made functional, and its frontend gave no other way "
                           "to import the model (compile it with decompositions='pytorch')") from why
    try:
        again = reimport()
    except FrontendError as e:
        raise FrontendError(f"{e} (the rules path was not taken because {why.reason})") from e
    for key in ("call_signature", "call_arguments"):  # how the model is called does not depend on the path
        if key in graph.meta:
            again.meta[key] = graph.meta[key]
    return again


def build_runtime_program(graph: Graph, settings: CompileSettings) -> torch.fx.GraphModule:
    """The ``torch.fx.GraphModule`` running ``graph``: segments run engines or the reference runtime. It holds its
    own copy of the constants, taken now, as the engines hold theirs: updating the model's parameters in place
    afterwards changes neither (``backend/snapshot.py``)."""
    graph = snapshot_constants(graph)
    segments = {}
    for node in graph.all_nodes():
        if node.op == "segment":
            artifact = node.attrs.get("engine")
            engine = artifact.engine if artifact is not None else None
            module = SegmentModule(node.attrs["name"], node.attrs["body"], engine, settings.runtime)
            if artifact is not None:  # what saving records about the engine (see backend/engine_record.py)
                module.engine_info = {"tensorrt_module": artifact.tensorrt_module,
                                      "tensorrt_version": artifact.tensorrt_version,
                                      "target": engine_record.current_target()}
            segments[node.id] = module
    program = build_program(graph, segments)
    record_program_inputs(program, graph)  # what save() exports it with when given no inputs
    return program


def graph_compiler(settings: CompileSettings) -> Callable[[Graph], tuple[torch.fx.GraphModule, CompileReport]]:
    """The compiler for one imported graph (a frontend's ``CompileGraph``): the pipeline with ``settings``, then
    the runtime program; returns (program, report)."""

    def compile_graph(graph: Graph) -> tuple[torch.fx.GraphModule, CompileReport]:
        with compiling():
            ctx = run_passes(graph, settings)
            return build_runtime_program(ctx.graph, settings), ctx.report

    return compile_graph


def compile_model(model: Any, ir: str, inputs: ModelCall | Sequence[Any] | None, settings: CompileSettings) -> Any:
    check_model(model)
    frontend = get_frontend(ir)
    compile_graph = graph_compiler(settings)
    if frontend.compiles_lazily:
        compiled = frontend.compile_lazily(model, compile_graph, decompositions=settings.decompositions)
        register_if_dynamo_loaded()  # a lazy frontend may have loaded TorchDynamo: keep our backend name known there
        return compiled
    with compiling():
        graph = import_graph(frontend, model, inputs, settings.decompositions)
        program, report = compile_graph(graph)
        result = frontend.wrap(program, graph)
    with contextlib.suppress(AttributeError):  # objects that refuse attributes still compile (see explain())
        result.compile_report = report
    return result


def import_graph(frontend: Frontend, model: Any, inputs: ModelCall | Sequence[Any] | None,
                 decompositions: str = "rules") -> Graph:
    """The frontend's IR for ``model``, given the user's inputs (a :class:`~trt_passes.model_inputs.ModelCall`, or
    a list of tensors and :class:`~trt_passes.inputs.Input` s); dynamic Inputs (min/opt/max shapes) reach only a
    frontend that takes dynamic inputs. The graph's meta records the call's signature and argument names."""
    check_model(model)
    call = inputs if isinstance(inputs, ModelCall) else resolve_call(model, inputs)
    dims = call.dynamic_dims()
    dynamic = has_dynamic_dims(dims)
    if dynamic and not frontend.takes_dynamic_inputs:
        names = call.argument_names or [None] * len(dims)
        which = [f"{n!r} (argument {i})" if n else f"argument {i}" for i, (n, d) in enumerate(zip(names, dims))
                 if has_dynamic_dims(d)]
        capable = " or ".join(f"ir={name!r}" for name in frontends_taking_dynamic_inputs())
        have = "has a dynamic shape" if len(which) == 1 else "have dynamic shapes"
        raise ValueError(f"input {', '.join(which)} {have} (min_shape != max_shape); ir={frontend.name!r} compiles "
                         f"static shapes only: use {capable}")
    examples = _frontend_examples(call.examples())
    with compiling(), torch_failure_logs_quiet():
        try:
            graph = (frontend.import_model(model, examples, dims, decompositions=decompositions) if dynamic
                     else frontend.import_model(model, examples, decompositions=decompositions))
        except FrontendError:
            raise
        except Exception as e:  # torch raises many kinds; the inputs' fault or not is decided by running the model
            error = input_error(model, examples, e)
            if error is None:
                raise
            raise error from None
    # How the model was called, for the program to bind its own calls the same way (frontends/calling.py).
    graph.meta["call_signature"] = call.signature
    graph.meta["call_arguments"] = call.argument_names
    return graph


def _frontend_examples(call: ModelCall) -> Any:
    """The examples in a frontend's terms: a tuple of positional arguments, a dict of keyword arguments, or both."""
    if call.args and call.kwargs:
        return CallInputs(tuple(call.args), dict(call.kwargs))
    return dict(call.kwargs) if call.kwargs else tuple(call.args)


def explain_model(model: Any, ir: str, inputs: ModelCall | Sequence[Any] | None,
                  settings: CompileSettings) -> CompileReport:
    with compiling():
        graph = import_graph(get_frontend(ir), model, inputs, settings.decompositions)
        return run_passes(graph, replace(settings, build_engines=False)).report
