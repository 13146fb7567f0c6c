"""Run a validated pipeline over a graph, timing each pass and counting the ops it leaves."""

from __future__ import annotations

import logging
import time

from trt_passes.ir import verify
from trt_passes.ir.fake_shapes import known_ranges
from trt_passes.passes.context import PassContext, count_ops
from trt_passes.passes.observe import PipelineObserver, active_observers, verify_each_pass
from trt_passes.passes.pipeline import Pipeline, PipelineStep, validate_pipeline
from trt_passes.passes.registry import PassSpec, builtin_passes
from trt_passes.passes.report import PassRecord

log = logging.getLogger("trt_passes.passes")


class PassError(RuntimeError):
    """A pass failed; names the pass and the pipeline line that ran it."""


def run_step(pipeline: Pipeline, step: PipelineStep, ctx: PassContext, spec: PassSpec, *,
             check: bool = True) -> PassRecord:
    """Run one step of ``pipeline``; its record is appended to ``ctx.report.passes`` and returned."""
    before = count_ops(ctx.graph)
    start = time.perf_counter()
    with known_ranges(ctx.graph.meta.get("symbols")):  # type inference decides size checks by the real ranges
        detail = spec.run(ctx, step.params)
    seconds = time.perf_counter() - start
    if check:
        verify(ctx.graph)
    after = count_ops(ctx.graph)
    record = PassRecord(spec.name, seconds, before, after, detail)
    ctx.report.passes.append(record)
    log.debug("%s (%s): %.1f ms, %d -> %d ops %s", spec.name, pipeline.where(step), seconds * 1e3, before,
              after, detail)
    return record


def run_pipeline(pipeline: Pipeline, ctx: PassContext, *, check: bool | None = None,
                 observers: tuple[PipelineObserver, ...] = ()) -> None:
    """Run every step of ``pipeline`` on ``ctx.graph``; each step's record goes to ``ctx.report.passes``.

    The graph is verified after every pass when ``check`` is true, or (``check=None``) when ``TRT_PASSES_VERIFY=1``
    or debugging asks for it (:func:`~trt_passes.passes.observe.verify_each_pass`; the tests do); otherwise after
    the last pass only: verifying a large graph costs tens of milliseconds, after every pass a tenth of a big model's
    compile. ``observers`` (and the ambient ones, see :mod:`trt_passes.passes.observe`) see each pass start and
    end."""
    table = builtin_passes()
    validate_pipeline(pipeline, table)
    watch = active_observers(observers)
    total = len(pipeline.steps)
    each = verify_each_pass() if check is None else check
    with watch.attached(ctx, pipeline.name, total):
        for i, step in enumerate(pipeline.steps):
            watch.pass_start(i, total, step.pass_name)
            last = i == total - 1
            record = run_step(pipeline, step, ctx, table[step.pass_name], check=each or (last and check is None))
            watch.pass_end(i, total, record)
