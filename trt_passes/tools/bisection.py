"""Which step broke my accuracy? Find the first pass, and inside it the first rule application, after which the
program's outputs drift from eager PyTorch beyond a tolerance.

The model is imported once and the pipeline runs step by step (the scheduler's :func:`run_step`); after each pass
the whole graph is evaluated with :func:`run_graph` (ATen through torch, ``trt.*`` through the reference runtime)
and compared with the eager outputs (:func:`max_relative_error`). When a pass crosses the tolerance it is replayed
from a snapshot taken before it, stopping after the k-th rule application, and k is bisected: the application
after which the error first exceeds the tolerance while the one before it did not is the culprit. Replays are
deterministic (the rewriter visits nodes in a fixed order), so ``log2(applications)`` replays suffice.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.utils._pytree as pytree

from trt_passes.backend.registry import default_ops
from trt_passes.compiler import compiling, import_graph, load_library, new_context, reimport_with_pytorch_decompositions
from trt_passes.frontends import get_frontend
from trt_passes.ir import Graph
from trt_passes.ir.interpreter import run_graph
from trt_passes.model_inputs import ModelCall, resolve_call
from trt_passes.passes.context import PassContext
from trt_passes.passes.functionalize import NeedsPyTorchDecompositions
from trt_passes.passes.observe import active_observers
from trt_passes.passes.pipeline import Pipeline, PipelineStep, load_pipeline, validate_pipeline
from trt_passes.passes.registry import builtin_passes
from trt_passes.passes.report import CompileReport, PassRecord
from trt_passes.passes.scheduler import run_step
from trt_passes.passes.settings import CompileSettings
from trt_passes.tools.parity import max_relative_error


@dataclass(frozen=True)
class PassError:
    """The error against eager after one pass (``line``: the pipeline file and line that ran it)."""

    name: str
    line: str
    error: float
    seconds: float


@dataclass(frozen=True)
class RuleApplication:
    """The rule application after which the outputs first drift."""

    rule: str
    location: str
    ruleset: str | None
    index: int
    """1-based position among the pass's rule applications."""
    of: int
    """How many rule applications the pass made."""
    scope: str
    """``""`` (the whole graph) or the name of the TensorRT segment rewritten."""
    root: int
    root_op: str
    rewrote: list[tuple[int, str]]
    """The nodes the rule matched (id, op), root first."""
    created: list[tuple[int, str]]
    source: str | None
    """The model node the rewritten nodes came from."""
    error_before: float
    error_after: float


@dataclass
class BisectResult:
    tolerance: float
    baseline_error: float
    """The imported graph against eager, before any pass (a frontend problem when above the tolerance)."""
    passes: list[PassError] = field(default_factory=list)
    culprit_pass: PassError | None = None
    error_before_pass: float | None = None
    culprit: RuleApplication | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    decompositions: str | None = None
    """The path the program took: ``"rules"`` or ``"pytorch"`` (see the ``decompositions`` compile setting)."""

    @property
    def drifted(self) -> bool:
        return self.culprit_pass is not None or self.baseline_error > self.tolerance

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``tolerance``, ``baseline_error``, ``passes`` (``[{name, line, error, seconds}]``),
        ``culprit_pass`` (one of those or null), ``error_before_pass``, ``culprit`` (null or ``{rule, location,
        ruleset, index, of, scope, root, root_op, rewrote: [[id, op]], created: [[id, op]], source, error_before,
        error_after}``), ``seconds``, ``notes``, ``decompositions``."""
        def plain(x: Any) -> Any:
            return None if x is None else {k: v for k, v in x.__dict__.items()}

        return {"tolerance": self.tolerance, "baseline_error": self.baseline_error,
                "passes": [plain(p) for p in self.passes], "culprit_pass": plain(self.culprit_pass),
                "error_before_pass": self.error_before_pass, "culprit": plain(self.culprit),
                "seconds": self.seconds, "notes": list(self.notes), "decompositions": self.decompositions}

    def __str__(self) -> str:
        return format_bisect(self)


def format_bisect(r: BisectResult) -> str:
    path = f", decompositions={r.decompositions}" if r.decompositions else ""
    lines = [f"Error against eager PyTorch (max relative error; tolerance {r.tolerance:g}{path}):",
             f"  {'imported graph':<28} {r.baseline_error:10.3g}"]
    for p in r.passes:
        mark = "  <- drifts here" if p is r.culprit_pass else ""
        lines.append(f"  {'after ' + p.name:<28} {p.error:10.3g}   ({p.line}, {p.seconds * 1000:.0f} ms){mark}")
    if r.baseline_error > r.tolerance:
        lines.append("The imported graph already differs from eager PyTorch: a frontend problem, not a pass.")
    elif r.culprit_pass is None:
        lines.append("No step drifts beyond the tolerance.")
    else:
        p = r.culprit_pass
        lines.append(f"First drifting pass: {p.name} ({p.line}): error {r.error_before_pass:.3g} -> {p.error:.3g}")
        c = r.culprit
        if c is not None:
            where = f" in segment {c.scope}" if c.scope else ""
            lines.append(f"First drifting rule application: rule {c.rule} at {c.location}"
                         f" (rule set {c.ruleset}), application {c.index} of {c.of}{where}")
            lines.append(f"  rewrote: {', '.join(f'%{i} {op}' for i, op in c.rewrote)}"
                         + (f" (from {c.source})" if c.source else ""))
            lines.append(f"  into:    {', '.join(f'%{i} {op}' for i, op in c.created) or 'an existing value'}")
            lines.append(f"  error:   {c.error_before:.3g} -> {c.error_after:.3g}")
    lines.extend(f"Note: {n}" for n in r.notes)
    lines.append(f"Bisected in {r.seconds:.2f} s")
    return "\n".join(lines)


def clone_graph(g: Graph) -> Graph:
    """A copy whose segment bodies are copies too (constants' tensors stay shared): a snapshot passes cannot touch."""
    c = g.copy()
    for node in list(c.all_nodes()):
        if node.op == "segment":
            c.replace_node(node.id, attrs={**node.attrs, "body": clone_graph(node.attrs["body"])})
    return c


class _Stop(Exception):
    """Ends a replay after the rule application being probed."""


class _Bisector:
    def __init__(self, pipeline: Pipeline, ctx: PassContext, inputs: list[torch.Tensor], expected: Any,
                 tolerance: float) -> None:
        self.pipeline, self.ctx, self.inputs, self.expected = pipeline, ctx, inputs, expected
        self.tolerance = tolerance
        self.table = builtin_passes()

    def error(self, g: Graph) -> float:
        with torch.no_grad():
            return max_relative_error(run_graph(g, self.inputs, self.ctx.ops), self.expected)

    def fresh_ctx(self, graph: Graph, report: CompileReport) -> PassContext:
        return replace(self.ctx, graph=clone_graph(graph), report=copy.deepcopy(report))

    def run(self, result: BisectResult) -> None:
        """Run the pipeline pass by pass (reported to the observers in effect: progress, trace file) until the
        error exceeds the tolerance, then bisect that pass's rule applications."""
        watch = active_observers()
        total = len(self.pipeline.steps)
        with watch.attached(self.ctx, self.pipeline.name, total):
            for i, step in enumerate(self.pipeline.steps):
                watch.pass_start(i, total, step.pass_name)
                record = self.step(step, result)
                watch.pass_end(i, total, record)
                if result.culprit_pass is not None:
                    return

    def step(self, step: PipelineStep, result: BisectResult) -> PassRecord:
        """Run one pass, evaluate the graph after it; when it drifts, find the rule application (``within``)."""
        graph_before, report_before = clone_graph(self.ctx.graph), copy.deepcopy(self.ctx.report)
        error_before = result.passes[-1].error if result.passes else result.baseline_error
        applications = 0
        observed = self.ctx.trace

        def count(g: Graph, scope: str, event: Any) -> None:
            nonlocal applications
            applications += 1
            if observed is not None:
                observed(g, scope, event)

        self.ctx.trace = count
        try:
            record = run_step(self.pipeline, step, self.ctx, self.table[step.pass_name])
        finally:
            self.ctx.trace = observed
        err = self.error(self.ctx.graph)
        result.passes.append(PassError(step.pass_name, self.pipeline.where(step), err, record.seconds))
        if err > self.tolerance:
            result.culprit_pass = result.passes[-1]
            result.error_before_pass = error_before
            result.culprit = self.within(step, graph_before, report_before, error_before, applications, result)
        return record

    def replay(self, step: PipelineStep, graph: Graph, report: CompileReport, stop_at: int | None
               ) -> tuple[int, dict[int, str], Any]:
        """Run ``step`` on a copy of ``graph``; with ``stop_at`` stop after that many rule applications and
        return (applications, ops of nodes created so far, (error, event, scope graph, scope) at the stop)."""
        ctx = self.fresh_ctx(graph, report)
        created_ops: dict[int, str] = {}
        count = 0
        probe: Any = None

        def trace(g: Graph, scope: str, event: Any) -> None:
            nonlocal count, probe
            count += 1
            for nid in event.created:
                created_ops[nid] = g.node(nid).op
            if count == stop_at:
                probe = (self.error(ctx.graph), event, g, scope)
                raise _Stop

        ctx.trace = trace
        with contextlib.suppress(_Stop):  # the trace stops the replay at the probed rule application
            run_step(self.pipeline, step, ctx, self.table[step.pass_name], check=False)
        if stop_at is not None and probe is None:
            raise RuntimeError(f"replaying {step.pass_name} made {count} rule applications, fewer than the "
                               f"{stop_at} of its first run: the pass is not deterministic, so it cannot be bisected")
        return count, created_ops, probe

    def within(self, step: PipelineStep, graph: Graph, report: CompileReport, error_before: float, total: int,
               result: BisectResult) -> RuleApplication | None:
        """Bisect the ``total`` rule applications of ``step`` (replayed from ``graph``, the state before it)."""
        if total == 0:
            result.notes.append(f"{step.pass_name} applies no rules; the drift is the pass's own work")
            return None
        errors = {0: error_before}
        probes: dict[int, Any] = {}
        lo, hi = 0, total
        last = self.replay(step, graph, report, total)
        probes[total] = last
        errors[total] = last[2][0]
        if errors[total] <= self.tolerance:
            result.notes.append(f"after all {total} rule applications of {step.pass_name} the error is "
                                f"{errors[total]:.3g}; the drift comes from the pass's own work after them")
            return None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            probes[mid] = self.replay(step, graph, report, mid)
            errors[mid] = probes[mid][2][0]
            if errors[mid] > self.tolerance:
                hi = mid
            else:
                lo = mid
        _, created_ops, (err, event, scope_graph, scope) = probes[hi]
        return self.describe(event, scope_graph, scope, graph, created_ops, hi, total, errors[lo], err)

    def describe(self, event: Any, g: Graph, scope: str, before: Graph, created_ops: dict[int, str], index: int,
                 total: int, error_before: float, error_after: float) -> RuleApplication:
        created = [(nid, g.node(nid).op) for nid in event.created if nid in g]
        prov = g.node(event.result.node).provenance if event.result.node in g else None
        matched = prov.replaced if prov is not None and prov.rule == event.rule else (event.root,)
        scope_before = _scope_graph(before, scope)

        def op_of(nid: int) -> str:
            if nid in created_ops:
                return created_ops[nid]
            if scope_before is not None and nid in scope_before:
                return scope_before.node(nid).op
            return event.root_op if nid == event.root else "?"

        rewrote = [(event.root, event.root_op)] + [(n, op_of(n)) for n in matched if n != event.root]
        rule = self.ctx.rules.rule(event.rule)
        return RuleApplication(event.rule, event.location, getattr(rule, "ruleset", None), index, total, scope,
                               event.root, event.root_op, rewrote, created,
                               prov.source if prov is not None else None, error_before, error_after)


def _scope_graph(g: Graph, scope: str) -> Graph | None:
    if not scope:
        return g
    for node in g.all_nodes():
        if node.op == "segment" and node.attrs.get("name") == scope:
            return node.attrs["body"]
    return None


def _flat_tensors(x: Any) -> list[torch.Tensor]:
    return [t for t in pytree.tree_leaves(x) if isinstance(t, torch.Tensor)]


def bisect_model(model: Any, ir: str, inputs: ModelCall | Sequence[Any] | None, settings: CompileSettings,
                 tolerance: float = 1e-4) -> BisectResult:
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be a non-negative max relative error, got {tolerance}")
    start = time.perf_counter()
    settings = replace(settings, build_engines=False)
    call = (inputs if isinstance(inputs, ModelCall) else resolve_call(model, inputs)).examples()
    with torch.no_grad():
        expected = model(*call.args, **call.kwargs)
    graph = import_graph(get_frontend(ir), model, call, settings.decompositions)
    flat = _flat_tensors((call.args, call.kwargs))
    if len(flat) != len(graph.graph_inputs()):
        raise ValueError(f"bisect feeds the graph its inputs positionally: the model takes {len(flat)} tensors, "
                         f"the imported graph {len(graph.graph_inputs())}")
    ops = default_ops()
    library = load_library(settings.rules, ops)
    pipeline = load_pipeline(settings.pipeline)
    validate_pipeline(pipeline)
    try:
        result = _bisect_graph(pipeline, new_context(graph, ops, library, settings), flat, expected, tolerance)
    except NeedsPyTorchDecompositions as e:  # as the driver does: the whole program through run_decompositions()
        ctx = new_context(reimport_with_pytorch_decompositions(graph, e), ops, library, settings, e.reason)
        result = _bisect_graph(pipeline, ctx, flat, expected, tolerance)
        result.notes.append(f"the program took the run_decompositions() path because {e.reason}")
    result.seconds = time.perf_counter() - start
    return result


def _bisect_graph(pipeline: Pipeline, ctx: PassContext, inputs: list[torch.Tensor], expected: Any,
                  tolerance: float) -> BisectResult:
    bisector = _Bisector(pipeline, ctx, inputs, expected, tolerance)
    result = BisectResult(tolerance, bisector.error(ctx.graph), decompositions=ctx.report.decompositions)
    if result.baseline_error <= tolerance:
        bisector.run(result)
    return result


def bisect(model: Any, inputs: Sequence[Any] | None = None, *, tolerance: float = 1e-4, ir: str = "default",
           arg_inputs: Any = None, kwarg_inputs: Mapping[str, Any] | None = None, **options: Any) -> BisectResult:
    """Find the first pass, and within it the first rule application, after which ``model``'s compiled program
    drifts from eager PyTorch by more than ``tolerance`` (max relative error). Inputs and options as for
    :func:`trt_passes.compile` (``rules=[...]`` adds ``.rw`` files). ``print`` the result, or read ``.culprit``.

    >>> result = trt_passes.bisect(model, [torch.randn(1, 3, 64, 64)], rules=["my.rw"])  # doctest: +SKIP
    >>> result.culprit.rule, result.culprit.location                                     # doctest: +SKIP
    """
    settings = CompileSettings.from_options(options)
    call = resolve_call(model, inputs, arg_inputs, kwarg_inputs)
    with compiling():  # one compile at a time per process (trt_passes.compiler)
        return bisect_model(model, ir, call, settings, tolerance)
