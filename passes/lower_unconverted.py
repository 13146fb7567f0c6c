"""lower_unconverted: the lowering rules for ops a converter can take whole, applied only where no converter does.

Some high-level ops have a TensorRT layer of their own (``scaled_dot_product_attention``: the attention layer) that
supports some of their arguments, and must be lowered to simpler ops (matmul + softmax) for the rest. Their lowering
rules live in rule sets named ``unconverted.*``: as ``lower.*`` sets, which the ``lower`` pass runs to a fixpoint over
the whole graph, they would lower every such node before a converter ever saw it. This pass applies them only at
nodes no converter rule matches (the converter pool ``partition`` and ``convert`` use), pooled as ``lower`` pools. The
converters are asked again at every node a rule produces, so a rule that normalises a node into another form of the
same op (the default scale made a number, grouped-query heads repeated) hands the converters a node they may take.
After rules fired, constants are folded and the ``lower.*`` sets run on what they produced; rounds repeat until no
rule fires (at most :data:`MAX_ROUNDS`). Each node lowered is in the report, with the rule and why each converter
refused it (``explain``: "no converter takes it").
"""

from __future__ import annotations

import torch

from trt_passes.dsl import RewriteEvent, RuleSet, explain_no_match, match_at, rewrite
from trt_passes.passes.context import PassContext
from trt_passes.passes.fold import fold_constants, one_thread
from trt_passes.passes.report import LoweredUnconverted

#: the rule sets this pass runs without a ``rulesets=`` parameter, and their kind
DEFAULT_RULESETS, RULE_KIND = "unconverted.*", "lowering"
MAX_ROUNDS = 4
"""Rounds of lowering-where-unconverted then lowering; a second is needed only when ``lower.*`` makes such an op."""


class _Lowering:
    """One ``lower_unconverted`` run: the rule sets, and what to record about each node the fallbacks lower."""

    def __init__(self, ctx: PassContext, fallbacks: list[RuleSet], lowerings: list[RuleSet],
                 converters: list[RuleSet]) -> None:
        self.ctx, self.fallbacks, self.lowerings, self.converters = ctx, fallbacks, lowerings, converters
        self.refused: dict[int, LoweredUnconverted] = {}  # node -> its record, until the rule's name is known

    def converts(self, nid: int) -> bool:
        return any(match_at(self.ctx.graph, nid, rs, self.ctx.ops) is not None for rs in self.converters)

    def unconverted(self, nid: int) -> bool:
        """The rewrite's ``where``: no converter matches ``nid``. Asked right before a fallback rule is applied
        there, so the node's op, source and the converters' reasons are noted now, while the node exists."""
        if self.converts(nid):
            return False
        g = self.ctx.graph
        node = g.node(nid)
        why = [reason for rs in self.converters for reason in explain_no_match(g, nid, rs, self.ctx.ops)]
        self.refused[nid] = LoweredUnconverted(nid, node.op, node.provenance.source, "", why)
        return True

    def lowered(self, event: RewriteEvent) -> None:
        """The rewrite's ``trace``: the rule applied at a node :meth:`unconverted` accepted."""
        record = self.refused.pop(event.root)
        record.rule = event.rule
        self.ctx.report.lowered_unconverted.append(record)
        observer = self.ctx.tracer(self.ctx.graph)
        if observer is not None:
            observer(event)

    def run(self) -> tuple[int, int]:
        """Round after round until no fallback rule fires; returns (fallback rewrites, lowering rewrites)."""
        g, ctx = self.ctx.graph, self.ctx
        fired = lowered = 0
        for _ in range(MAX_ROUNDS):
            fired_now = 0
            for rs in self.fallbacks:
                stats = rewrite(g, rs, ctx.ops, budget=ctx.settings.rewrite_budget, trace=self.lowered,
                                where=self.unconverted)
                ctx.report.rule_fires.update(stats.fires)
                fired_now += stats.total
            if not fired_now:
                return fired, lowered
            fired += fired_now
            with torch.no_grad(), one_thread():  # as the fold_constants pass evaluates
                fold_constants(ctx)
            for rs in self.lowerings:
                stats = rewrite(g, rs, ctx.ops, budget=ctx.settings.rewrite_budget, trace=ctx.tracer(g))
                ctx.report.rule_fires.update(stats.fires)
                lowered += stats.total
        if any(n.op in rs.by_root() and match_at(g, n.id, rs, ctx.ops) is not None and not self.converts(n.id)
               for n in g.nodes() for rs in self.fallbacks):
            ctx.report.notes.append(f"lower_unconverted stopped after {MAX_ROUNDS} rounds; its rules still match")
        return fired, lowered


def lower_unconverted(ctx: PassContext, fallbacks: list[RuleSet], lowerings: list[RuleSet],
                      converters: list[RuleSet]) -> tuple[int, int]:
    """Apply ``fallbacks`` at the nodes no rule of ``converters`` matches, then ``lowerings`` on the whole graph,
    round after round until no fallback rule fires; returns (fallback rewrites, lowering rewrites)."""
    return _Lowering(ctx, fallbacks, lowerings, converters).run()


def run(ctx: PassContext, params: dict[str, str]) -> str:
    fallbacks = ctx.pool(params.get("rulesets", DEFAULT_RULESETS), RULE_KIND)
    lowerings = ctx.pool(params.get("lower", "lower.*"), "lowering")
    converters = ctx.converter_pool(params.get("convert", "convert.*"))
    fired, lowered = lower_unconverted(ctx, fallbacks, lowerings, converters)
    if not fired:
        return "no node these rules match is left unconverted"
    names = [rs.name for rs in ctx.rulesets(params.get("rulesets", DEFAULT_RULESETS), RULE_KIND)]
    return f"{fired} rewrites of nodes no converter takes by {', '.join(names)}, " \
           f"{lowered} lowering rewrites after them"
