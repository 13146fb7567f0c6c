"""Lowering: run the lowering rule sets (ATen -> ATen rewrites from ``.rw`` files) to a fixpoint, in name order."""

from __future__ import annotations

from trt_passes.dsl import rewrite
from trt_passes.passes.context import PassContext

#: the rule sets this pass runs without a ``rulesets=`` parameter, and their kind
DEFAULT_RULESETS, RULE_KIND = "lower.*", "lowering"


def run(ctx: PassContext, params: dict[str, str]) -> str:
    fired = 0
    names = []
    for rs in ctx.rulesets(params.get("rulesets", DEFAULT_RULESETS), RULE_KIND):
        stats = rewrite(ctx.graph, rs, ctx.ops, budget=ctx.settings.rewrite_budget, trace=ctx.tracer(ctx.graph))
        ctx.report.rule_fires.update(stats.fires)
        fired += sum(stats.fires.values())
        names.append(rs.name)
    return f"{fired} rewrites by {', '.join(names) or 'no rule set'}"
