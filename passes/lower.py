"""Lowering: run the lowering rule sets (ATen -> ATen rewrites from ``.rw`` files) as one pool, to one fixpoint.

At each node the sets' rules compete (priority, then rule-set name, then source order), so a rule may emit an op
that a set sorting before its own lowers: no set has finished before another starts."""

from __future__ import annotations

from trt_passes.dsl import rewrite
from trt_passes.passes.context import PassContext

#: the rule sets this pass runs without a ``rulesets=`` parameter, and their kind
DEFAULT_RULESETS, RULE_KIND = "lower.*", "lowering"


def run(ctx: PassContext, params: dict[str, str]) -> str:
    fired = 0
    pattern = params.get("rulesets", DEFAULT_RULESETS)
    names = [rs.name for rs in ctx.rulesets(pattern, RULE_KIND)]
    for rs in ctx.pool(pattern, RULE_KIND):
        stats = rewrite(ctx.graph, rs, ctx.ops, budget=ctx.settings.rewrite_budget, trace=ctx.tracer(ctx.graph))
        ctx.report.rule_fires.update(stats.fires)
        fired += sum(stats.fires.values())
    return f"{fired} rewrites by {', '.join(names) or 'no rule set'}"
