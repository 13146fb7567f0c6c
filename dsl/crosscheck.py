"""Holding the compiled matchers against the interpreter (the reference): ``TRT_PASSES_MATCHER=check`` makes
:func:`~trt_passes.dsl.rewriter.match_at` and ``explain_no_match`` run both and raise :class:`MatcherMismatch` on any
difference (which rule matched, its bindings and matched nodes, or the reason a rule failed)."""

from __future__ import annotations

import weakref
from typing import Any

from trt_passes.dsl.compiled import CompiledRuleSet, compiled_matcher, matcher_key
from trt_passes.dsl.matcher import Failure, Match, match_rule
from trt_passes.dsl.rules import Rule, RuleSet
from trt_passes.ir.graph import Graph
from trt_passes.ir.ops import OpRegistry


class MatcherMismatch(AssertionError):
    """The compiled matcher and the interpreter disagree: a bug in the code generator."""


def same_outcome(a: Match | Failure | None, b: Match | Failure | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if type(a) is not type(b) or a.rule.name != b.rule.name or a.root != b.root:
        return False
    if isinstance(a, Match):
        assert isinstance(b, Match)
        return a.bindings == b.bindings and a.matched_nodes == b.matched_nodes
    assert isinstance(b, Failure)
    return a.reason == b.reason


def _describe(m: Any) -> str:
    if isinstance(m, Match):
        return f"Match({m.rule.name}, bindings={m.bindings}, nodes={m.matched_nodes})"
    return f"Failure({m.rule.name}: {m.reason})" if isinstance(m, Failure) else repr(m)


def checked_match_at(graph: Graph, nid: int, ruleset: RuleSet, ops: OpRegistry) -> Match | None:
    interp = next((m for r in ruleset.by_root().get(graph.node(nid).op, ())
                   if isinstance(m := match_rule(graph, nid, r, ops), Match)), None)
    compiled = compiled_matcher(ruleset, ops).match(graph, nid)
    if not same_outcome(interp, compiled):
        raise MatcherMismatch(f"match_at %{nid} ({graph.node(nid).op}) in {ruleset.name}: interpreter "
                              f"{_describe(interp)}, compiled {_describe(compiled)}")
    return interp


def checked_explain(graph: Graph, nid: int, ruleset: RuleSet, ops: OpRegistry) -> list[Match | Failure]:
    interp = [match_rule(graph, nid, r, ops) for r in ruleset.by_root().get(graph.node(nid).op, ())]
    compiled = compiled_matcher(ruleset, ops).explain(graph, nid)
    if len(interp) != len(compiled) or not all(same_outcome(a, b) for a, b in zip(interp, compiled)):
        raise MatcherMismatch(f"explain %{nid} in {ruleset.name}: interpreter {[_describe(m) for m in interp]}, "
                              f"compiled {[_describe(m) for m in compiled]}")
    return interp


def checked_match_rule(graph: Graph, nid: int, rule: Rule, ops: OpRegistry) -> Match | Failure:
    """:func:`match_rule` (the interpreter), checked against the rule compiled on its own."""
    interp = match_rule(graph, nid, rule, ops)
    if graph.node(nid).op != rule.root_op:  # the compiled dispatcher never tries a rule at another op
        return interp
    (compiled,) = _compiled_alone(rule, ops).explain(graph, nid)
    if not same_outcome(interp, compiled):
        raise MatcherMismatch(f"rule {rule.name} at %{nid}: interpreter {_describe(interp)}, "
                              f"compiled {_describe(compiled)}")
    return interp


#: each rule compiled in a rule set of its own, per registry, by the content of that rule set: rules compare by name
#: and location, so neither equality nor the short-lived rule set could key it
_ALONE: weakref.WeakKeyDictionary[OpRegistry, dict[str, CompiledRuleSet]] = weakref.WeakKeyDictionary()


def _compiled_alone(rule: Rule, ops: OpRegistry) -> CompiledRuleSet:
    single = RuleSet(f"single:{rule.name}", rule.kind, (rule,))
    table = _ALONE.setdefault(ops, {})
    key = matcher_key(single, ops)
    found = table.get(key)
    if found is None:
        found = table[key] = compiled_matcher(single, ops)
    return found
