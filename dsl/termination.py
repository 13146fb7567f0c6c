"""Termination of lowering rule sets (RW504): the graph from each rule's root op to the ops its right side emits
must have no cycle, unless every rule on the cycle

* matches more op nodes than it creates of the cycle's ops (the count of those nodes strictly decreases: e.g.
  ``permute(permute(x)) => permute(x)``), or
* is declared ``recursive "MEASURE"``, naming the measure that decreases with each application.

Converter rule sets emit ``trt.*`` ops no rule matches, so they cannot cycle.
"""

from __future__ import annotations

import networkx as nx

from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.facts import RuleFacts


def termination(facts: list[RuleFacts]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    by_set: dict[str, list[RuleFacts]] = {}
    for rf in facts:
        if rf.rule.kind == "lowering":
            by_set.setdefault(rf.rule.ruleset, []).append(rf)
    for rules in by_set.values():
        g = nx.DiGraph()
        emits = {rf.rule.name: rf.rule.normal.emits for rf in rules}  # with repeats: two adds are two nodes
        for rf in rules:
            for op in emits[rf.rule.name]:
                g.add_edge(rf.rule.root_op, op)
        comp = {op: i for i, scc in enumerate(nx.strongly_connected_components(g)) for op in scc}
        for rf in rules:
            r = rf.rule
            cyclic = [op for op in emits[r.name] if comp.get(op) == comp.get(r.root_op)
                      and (op != r.root_op or g.has_edge(op, op))]
            if not cyclic or r.recursive is not None or rf.node_count > len(cyclic):
                continue
            cycle = _cycle_through(g, r.root_op, cyclic[0])
            out.append(Diagnostic(
                "RW504", f"rule `{r.name}` may rewrite forever: {' -> '.join(cycle)}", r.span,
                (f"it matches {rf.node_count} node{'s' if rf.node_count != 1 else ''} and creates {len(cyclic)} of "
                 "the ops on this cycle",
                 'if it terminates, say why: rule NAME recursive "the measure that decreases" ...')))
    return out


def _cycle_through(g: nx.DiGraph, root: str, nxt: str) -> list[str]:
    try:
        back = nx.shortest_path(g, nxt, root)
    except nx.NetworkXNoPath:
        back = [nxt]
    return [root, *back] if back[-1] == root else [root, nxt, root]
