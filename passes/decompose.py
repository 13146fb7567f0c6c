"""decompose: PyTorch's decomposition for each node no rule handles, one node at a time; then lowering again.

A node is decomposed when no lowering rule (of the ``lower.*`` and ``unconverted.*`` sets) and no converter rule
matches it, the user did not ask for its op to run in PyTorch (``torch_executed_ops``), and PyTorch has a
decomposition for it: the one ``run_decompositions()`` would apply
(:func:`~trt_passes.passes.decomposition.decomposition_for`). The decomposition is traced on fake tensors of the
node's types (symbolic sizes included) and spliced in its place, its nodes' provenance naming it. The nodes a
decomposition produces are decomposed in turn when no rule handles them either (as ``run_decompositions()`` would
decompose them), so the lowering rules then see the plain ATen they were written for. As before the ``lower`` pass,
constants are folded first (a decomposition's ``permute`` of a weight must be a constant for the rules folding scales
into weights); then the lowering rule sets run on the whole graph (and the ``unconverted.*`` sets where no converter
matches, as the ``lower_unconverted`` pass applies them), and the rounds repeat until nothing changes (at most
:data:`MAX_ROUNDS`). Ops with no decomposition stay for partition to leave in PyTorch. Each decomposed node is listed
in the report (``explain``: "decomposed by PyTorch's table"): each is a candidate for a rule.
"""

from __future__ import annotations

from collections import Counter

import torch

from trt_passes.dsl import RewriteEvent, RuleSet, match_at, rewrite
from trt_passes.ir import Graph, Node, Value
from trt_passes.passes.context import PassContext
from trt_passes.passes.decomposition import NotDecomposable, Template, decomposition_for, template_key, trace
from trt_passes.passes.fold import fold_constants, one_thread
from trt_passes.passes.lower_unconverted import lower_unconverted
from trt_passes.passes.report import Decomposed

MAX_ROUNDS = 4
"""Rounds of decompose-then-lower; more are needed only when lowering produces ops no rule handles."""
MAX_DEPTH = 16
"""Decompositions of decompositions within a round; a deeper chain stops (noted in the report)."""


class _Decomposer:
    def __init__(self, ctx: PassContext, lowerings: list[RuleSet], fallbacks: list[RuleSet],
                 converters: list[RuleSet]) -> None:
        self.ctx, self.lowerings, self.fallbacks, self.converters = ctx, lowerings, fallbacks, converters
        self.templates: dict[object, Template | NotDecomposable] = {}
        self.refused: set[int] = set()

    def candidates(self, g: Graph) -> list[Node]:
        return [node for node in g.nodes() if self.wanted(g, node)]

    def wanted(self, g: Graph, node: Node) -> bool:
        if not node.op.startswith("aten.") or node.id in self.refused or decomposition_for(node.op) is None:
            return False
        if self.ctx.settings.executes_in_torch(node.op):
            return False  # the user wants this op whole, in PyTorch
        rulesets = [*self.lowerings, *self.fallbacks, *self.converters]
        return not any(match_at(g, node.id, rs, self.ctx.ops) is not None for rs in rulesets)

    def template(self, g: Graph, node: Node) -> Template:
        key = template_key(g, node)
        found = self.templates.get(key) if key is not None else None
        if found is None:
            decomposition = decomposition_for(node.op)
            assert decomposition is not None
            try:
                found = trace(g, node, self.ctx.ops, decomposition)
            except NotDecomposable as e:
                found = e
            if key is not None:
                self.templates[key] = found
        if isinstance(found, NotDecomposable):
            raise found
        return found

    def decompose(self, g: Graph, node: Node, depth: int) -> list[int] | None:
        """Splice ``node``'s decomposition in; the new node ids, or None when it has none the IR can hold."""
        try:
            template = self.template(g, node)
        except NotDecomposable as e:
            self.refused.add(node.id)
            self.ctx.report.not_decomposed.append(Decomposed(node.id, node.op, node.provenance.source,
                                                             decomposition_for(node.op).name,  # type: ignore[union-attr]
                                                             [], depth, str(e)))
            return None
        made = template.splice(g, node)
        produced = [g.node(n).op for n in made]
        self.ctx.report.decomposed.append(Decomposed(node.id, node.op, node.provenance.source,
                                                     template.decomposition.name, produced, depth))
        trace_fn = self.ctx.tracer(g)
        if trace_fn is not None:
            result = g.node(made[-1]) if made else None
            trace_fn(RewriteEvent(f"decompose:{node.op}", template.decomposition.name, node.id, node.op,
                                  tuple(made), Value(result.id) if result is not None else Value(node.id)))
        return made

    def lower(self, g: Graph) -> int:
        fired = 0
        for rs in self.lowerings:
            stats = rewrite(g, rs, self.ctx.ops, budget=self.ctx.settings.rewrite_budget, trace=self.ctx.tracer(g))
            self.ctx.report.rule_fires.update(stats.fires)
            fired += stats.total
        unconverted, lowered = lower_unconverted(self.ctx, self.fallbacks, self.lowerings, self.converters)
        return fired + unconverted + lowered


def decompose(ctx: PassContext, lower_pattern: str, convert_pattern: str,
              unconverted_pattern: str = "unconverted.*") -> tuple[Counter[str], int, int]:
    """Decompose and lower ``ctx.graph`` to a fixpoint; returns (ops decomposed, rounds, lowering rewrites)."""
    g = ctx.graph
    worker = _Decomposer(ctx, ctx.pool(lower_pattern, "lowering"), ctx.pool(unconverted_pattern, "lowering"),
                         ctx.converter_pool(convert_pattern))
    done: Counter[str] = Counter()
    rewrites = 0
    for round_ in range(1, MAX_ROUNDS + 1):
        decomposed = _decompose_round(g, worker)
        if not decomposed:
            return done, round_ - 1, rewrites
        done.update(decomposed)
        with torch.no_grad(), one_thread():  # as the fold_constants pass evaluates
            fold_constants(ctx)
        rewrites += worker.lower(g)
    left = worker.candidates(g)
    if left:
        ctx.report.notes.append(f"decompose stopped after {MAX_ROUNDS} rounds; {len(left)} nodes are still "
                                f"decomposable ({', '.join(sorted({n.op for n in left}))})")
    return done, MAX_ROUNDS, rewrites


def _decompose_round(g: Graph, worker: _Decomposer) -> list[str]:
    """Decompose every node no rule handles, then what those decompositions produce, depth by depth."""
    decomposed: list[str] = []
    nodes = worker.candidates(g)
    for depth in range(1, MAX_DEPTH + 1):
        made: list[int] = []
        for node in nodes:
            new = worker.decompose(g, node, depth)
            if new is not None:
                decomposed.append(node.op)
                made.extend(new)
        nodes = [g.node(n) for n in made if n in g and worker.wanted(g, g.node(n))]
        if not nodes:
            return decomposed
    worker.ctx.report.notes.append(f"decompose stopped after {MAX_DEPTH} decompositions of decompositions; "
                                   f"{len(nodes)} nodes are still decomposable")
    return decomposed


def run(ctx: PassContext, params: dict[str, str]) -> str:
    done, rounds, rewrites = decompose(ctx, params.get("lower", "lower.*"), params.get("convert", "convert.*"),
                                       params.get("unconverted", "unconverted.*"))
    if not done:
        return "no node needed PyTorch's decompositions"
    rounds_text = "1 round" if rounds == 1 else f"{rounds} rounds"
    return (f"{sum(done.values())} nodes decomposed by PyTorch's table ({len(done)} ops) in {rounds_text}, "
            f"{rewrites} rewrites after them")
