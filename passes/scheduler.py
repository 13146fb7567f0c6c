"""Run a validated pipeline over a graph, timing each pass and counting the ops it leaves."""

from __future__ import annotations

import logging
import time

from trt_passes.ir import verify
from trt_passes.passes.context import PassContext, count_ops
from trt_passes.passes.pipeline import Pipeline, validate_pipeline
from trt_passes.passes.registry import builtin_passes
from trt_passes.passes.report import PassRecord

log = logging.getLogger("trt_passes.passes")


class PassError(RuntimeError):
    """A pass failed; names the pass and the pipeline line that ran it."""


def run_pipeline(pipeline: Pipeline, ctx: PassContext, *, check: bool = True) -> None:
    """Run every step of ``pipeline`` on ``ctx.graph``; each step's record goes to ``ctx.report.passes``."""
    table = builtin_passes()
    validate_pipeline(pipeline, table)
    for step in pipeline.steps:
        spec = table[step.pass_name]
        before = count_ops(ctx.graph)
        start = time.perf_counter()
        detail = spec.run(ctx, step.params)
        seconds = time.perf_counter() - start
        if check:
            verify(ctx.graph)
        after = count_ops(ctx.graph)
        ctx.report.passes.append(PassRecord(spec.name, seconds, before, after, detail))
        log.debug("%s (%s): %.1f ms, %d -> %d ops %s", spec.name, pipeline.where(step), seconds * 1e3, before,
                  after, detail)
