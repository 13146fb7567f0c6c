"""Termination of lowering rule sets (RW504): the graph from each rule's root op to the ops its right side emits
must have no cycle, unless every rule on the cycle

* matches more op nodes than it creates of the cycle's ops (the count of those nodes strictly decreases: e.g.
  ``permute(permute(x)) => permute(x)``; a rule matches as few nodes as its smallest variant, since an optional
  ``OP(p)?`` may be absent), or
* is declared ``recursive "MEASURE"``, naming the measure that decreases with each application.

A rule the count accepts still loops when its right side is an instance of its own pattern, each capture in its own
place: ``neg(x) + y => y + neg(x)`` matches two nodes and creates one ``add``, but matches what it creates through
``add``'s commutative swap.

Converter rule sets emit ``trt.*`` ops no rule matches, so they cannot cycle.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.evaluate import show_expr
from trt_passes.dsl.facts import RuleFacts
from trt_passes.dsl.normal_form import MCapture, MDefault, MLiteral, MOp, MPattern, MWild
from trt_passes.dsl.rules import Rule


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
            if not cyclic or r.recursive is not None:
                continue
            nodes = min(v.node_count for v in rf.all_variants)
            if nodes > len(cyclic):
                again = _matches_own_result(r)
                if again is not None:
                    out.append(Diagnostic(
                        "RW504", f"rule `{r.name}` rewrites its own result forever: `{show_expr(again)}` is an "
                        "instance of its own pattern", again.span,
                        ("every capture lands in its own place again (for a commutative op, possibly after a swap), "
                         "so the rule matches the node it just created; that it matches more nodes than it creates "
                         "does not help", "write the result in a form the rule does not match, or drop the rule")))
                continue
            cycle = _cycle_through(g, r.root_op, cyclic[0])
            out.append(Diagnostic(
                "RW504", f"rule `{r.name}` may rewrite forever: {' -> '.join(cycle)}", r.span,
                (f"it matches {nodes} node{'s' if nodes != 1 else ''} and creates {len(cyclic)} of "
                 "the ops on this cycle",
                 'if it terminates, say why: rule NAME recursive "the measure that decreases" ...')))
    return out


def _matches_own_result(rule: Rule) -> A.OpExpr | None:
    """The constructor of ``rule``'s right side that one of its pattern's variants matches with every capture bound
    to the right-side value of the same name (so the guard sees the same values), or None."""
    lets = {let.name: let.value for let in rule.rhs.lets}
    for e in A.walk(rule.rhs):
        if isinstance(e, A.OpExpr) and e.op == rule.root_op:
            for variant in rule.normal.variants:
                if _instance(variant, e, lets, rule):
                    return e
    return None


def _instance(p: MPattern, e: Any, lets: dict[str, Any], rule: Rule) -> bool:
    """Whether right-side expression ``e`` certainly matches pattern position ``p`` with captures in place."""
    while isinstance(e, A.Name) and e.name in lets:
        e = lets[e.name]
    if isinstance(p, MWild):
        return True
    if isinstance(p, MCapture):
        return isinstance(e, A.Name) and e.name == p.name
    if isinstance(p, MOp):
        if not isinstance(e, A.OpExpr) or e.op != p.op or (p.binder is not None and p.path):
            return False
        written = _bound_args(e, p, rule)
        return written is not None and all(_instance(a, written.get(a.spec.name, _DEFAULT), lets, rule)
                                           for a in p.args)
    if isinstance(p, MDefault):
        return e is _DEFAULT
    if isinstance(p, MLiteral):
        return isinstance(e, (A.Literal, A.DtypeLit, A.EnumLit)) and e == p.written
    return False


_DEFAULT = object()


def _bound_args(e: A.OpExpr, p: MOp, rule: Rule) -> dict[str, Any] | None:
    """The constructor's written arguments by schema name (positional ones in schema order)."""
    names = [a.spec.name for a in p.args]
    kwonly = {a.spec.name for a in p.args if a.spec.kwarg_only}
    positional = [n for n in names if n not in kwonly]
    out: dict[str, Any] = {}
    for i, a in enumerate(e.args):
        if a.keyword is not None:
            out[a.keyword] = a.value
        elif i < len(positional):
            out[positional[i]] = a.value
        else:
            return None
    return out


def _cycle_through(g: nx.DiGraph, root: str, nxt: str) -> list[str]:
    try:
        back = nx.shortest_path(g, nxt, root)
    except nx.NetworkXNoPath:
        back = [nxt]
    return [root, *back] if back[-1] == root else [root, nxt, root]
