"""Warnings about rules in the pipeline that runs them: the user's rule sets and the shipped ones together, in the
order the pipeline's steps run them (each step pools its rule sets into one: higher priority first, then rule-set
name, then source order; a lowering step runs its pool to one fixpoint).

* RW506: what a lowering rule emits is rewritten back to its root op by other rule sets of its step's pool or of a
  later step: its work is undone (in one rule set this would be the cycle RW504 reports).
* RW507: a lowering rule emits an op that only the sets of *earlier* steps lower: the op stays (those sets never
  run again), for a converter to take or, without one, for PyTorch.
* RW508: across rule sets, a rule never fires or ties: a higher-priority or equal-priority rule that comes first
  in its step's pool takes the nodes it matches. Within one rule set the same conflicts are the errors
  RW502/RW503.
* RW509: a rule set no step of the pipeline runs (its name or kind matches no step's ``rulesets=``).
* RW510: a rule's root op never reaches the rules: every frontend removes it before the rules run (in-place ops
  made functional; on the ``run_decompositions()`` path also the ops its table decomposes), and no lowering rule
  emits it.

The pipeline and the set of ops decomposed on import are given as data by the caller (the CLI): this module knows
neither passes nor frontends.
"""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.facts import RuleFacts, rule_facts
from trt_passes.dsl.overlap import certainly_overlap, subsumes
from trt_passes.dsl.rules import Rule, RuleLibrary


@dataclass(frozen=True)
class RuleStep:
    """A pipeline step that runs rule sets: the pass, the glob naming its rule sets, their kind, where it is, and the
    glob naming the lowering sets it runs again on what its own rules made (``lower_unconverted`` re-runs ``lower.*``;
    empty: none)."""

    pass_name: str
    pattern: str
    kind: str
    where: str
    relowers: str = ""

    def selects(self, name: str, kind: str) -> bool:
        return kind == self.kind and fnmatch.fnmatchcase(name, self.pattern)


def pipeline_warnings(library: RuleLibrary, steps: Sequence[RuleStep], decomposed: Iterable[str],
                      why_decomposed: str = "") -> list[Diagnostic]:
    """Every RW506-RW510 warning of ``library`` run by ``steps``; ``decomposed``: ops no frontend hands to the rules
    (``why_decomposed`` says why, for the message)."""
    order = _lowering_order(library, steps)
    relowered = _relowered(library, steps)
    facts = {r.name: rule_facts(r) for r in library.all_rules()}
    out = _unselected(library, steps)
    out += _undone(library, order, relowered)
    out += _escaped(library, order, relowered)
    out += _cross_set_conflicts(library, steps, facts)
    out += _decomposed_roots(library, order, frozenset(decomposed), why_decomposed)
    return out


def _warning(code: str, message: str, span: A.Span, *notes: str,
             related: tuple[tuple[str, A.Span], ...] = ()) -> Diagnostic:
    return Diagnostic(code, message, span, tuple(notes), severity="warning", related=related)


def _lowering_order(library: RuleLibrary, steps: Sequence[RuleStep]) -> dict[str, int]:
    """Each lowering set's position in the run: the index of the first step that runs it (the sets of one step
    share it: they run as one pool)."""
    order: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.kind != "lowering":
            continue
        for name in sorted(library.rulesets):
            if name not in order and step.selects(name, library.rulesets[name].kind):
                order[name] = i
    return order


def _relowered(library: RuleLibrary, steps: Sequence[RuleStep]) -> dict[str, set[str]]:
    """Each lowering set -> the lowering sets the step running it runs again afterwards, on what it made."""
    out: dict[str, set[str]] = {}
    for step in steps:
        if step.kind != "lowering":
            continue
        again = {n for n, rs in library.rulesets.items() if step.relowers and rs.kind == "lowering"
                 and fnmatch.fnmatchcase(n, step.relowers)}
        for name, rs in library.rulesets.items():
            if name not in out and step.selects(name, rs.kind):
                out[name] = again
    return out


def _emits(rule: Rule) -> list[A.OpExpr]:
    return [n for n in A.walk(rule.rhs) if isinstance(n, A.OpExpr)]


# ---- RW509 ---------------------------------------------------------------------------------------------------
def _unselected(library: RuleLibrary, steps: Sequence[RuleStep]) -> list[Diagnostic]:
    out = []
    runs = "; ".join(f"{s.pass_name} runs {s.kind} sets `{s.pattern}` ({s.where})" for s in steps) or "none runs rules"
    for name, rs in sorted(library.rulesets.items()):
        if not rs.rules or any(s.selects(name, rs.kind) for s in steps):
            continue
        firsts: dict[str, Rule] = {}
        for r in rs.rules:
            if r.span.file not in firsts or (r.span.line, r.span.col) < (firsts[r.span.file].span.line,
                                                                          firsts[r.span.file].span.col):
                firsts[r.span.file] = r
        for r in firsts.values():
            out.append(_warning(
                "RW509", f"no pipeline step runs rule set `{name}` ({rs.kind}): its rules never fire", r.span,
                f"the pipeline's rule steps: {runs}",
                "name the rule set to match a step (lowering sets `lower.NAME`, converter sets `convert.NAME`)"))
    return out


# ---- RW506 / RW507 -----------------------------------------------------------------------------------------
def _lowerers(library: RuleLibrary, order: dict[str, int]) -> dict[str, set[str]]:
    """op -> the lowering sets that have a rule rooted at it."""
    out: dict[str, set[str]] = {}
    for name in order:
        for r in library.rulesets[name].rules:
            out.setdefault(r.root_op, set()).add(name)
    return out


def _undone(library: RuleLibrary, order: dict[str, int], relowered: dict[str, set[str]]) -> list[Diagnostic]:
    out = []
    for name, pos in order.items():
        later = nx.DiGraph()
        via: dict[tuple[str, str], Rule] = {}
        for other, p in order.items():
            if p > pos or (p == pos and other != name) or other in relowered.get(name, ()):
                for r in library.rulesets[other].rules:
                    for e in _emits(r):
                        later.add_edge(r.root_op, e.op)
                        via.setdefault((r.root_op, e.op), r)
        if not later:
            continue
        for rule in library.rulesets[name].rules:
            for e in _emits(rule):
                if e.op == rule.root_op or e.op not in later or rule.root_op not in later:
                    continue
                try:
                    path = nx.shortest_path(later, e.op, rule.root_op)
                except nx.NetworkXNoPath:
                    continue
                steps = [via[(a, b)] for a, b in itertools.pairwise(path)]
                names = ", ".join(f"`{r.name}` ({r.ruleset}, {r.location})" for r in steps)
                out.append(_warning(
                    "RW506", f"what rule `{rule.name}` emits is rewritten back to {rule.root_op} by rule sets that "
                    f"run with or after `{name}`: {' -> '.join(path)}", e.op_span,
                    f"by {names}", "the two rewrites undo each other; drop one, or make their guards disjoint",
                    related=tuple((f"`{r.name}`", r.span) for r in steps[:1])))
                break
    return out


def _converted_ops(library: RuleLibrary) -> set[str]:
    return {r.root_op for rs in library.rulesets.values() if rs.kind == "converter" for r in rs.rules}


def _escaped(library: RuleLibrary, order: dict[str, int], relowered: dict[str, set[str]]) -> list[Diagnostic]:
    out = []
    lowerers = _lowerers(library, order)
    converted = _converted_ops(library)
    for name, pos in order.items():
        for rule in library.rulesets[name].rules:
            seen: set[str] = set()
            for e in _emits(rule):
                sets = lowerers.get(e.op, set())
                if e.op in seen or not sets or any(order[s] >= pos or s in relowered.get(name, ()) for s in sets):
                    continue
                seen.add(e.op)
                earlier = ", ".join(f"`{s}`" for s in sorted(sets, key=order.__getitem__))
                fate = "a converter takes it" if e.op in converted else "no converter has it as root: it runs in " \
                    "PyTorch"
                out.append(_warning(
                    "RW507", f"rule `{rule.name}` emits {e.op}, which only {earlier} lowers, and that runs in an "
                    f"earlier pipeline step than `{name}`: the {e.op} it emits stays", e.op_span,
                    f"each step runs its lowering sets as one pool, once, to a fixpoint; after lowering, {fate}",
                    f"put the rule in a set the step running {earlier.split(', ')[0]} runs, or emit what that set "
                    f"lowers {e.op} to"))
    return out


# ---- RW508 ---------------------------------------------------------------------------------------------------
def _cross_set_conflicts(library: RuleLibrary, steps: Sequence[RuleStep],
                         facts: dict[str, RuleFacts]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    reported: set[str] = set()
    pools: list[tuple[str, list[Rule]]] = []
    for step in steps:
        chosen = [rs for n, rs in sorted(library.rulesets.items()) if step.selects(n, rs.kind)]
        pool = sorted((r for rs in chosen for r in rs.rules), key=lambda r: -r.priority)  # as PassContext pools
        pools.append((f"the {step.kind} pool of `{step.pass_name}`", pool))
    for what, pool in pools:
        by_root: dict[str, list[Rule]] = {}
        for r in pool:
            by_root.setdefault(r.root_op, []).append(r)
        for group in by_root.values():
            for i, first in enumerate(group):
                for later in group[i + 1:]:
                    if later.ruleset == first.ruleset or later.name in reported:
                        continue
                    d = _conflict(what, first, later, facts)
                    if d is not None:
                        reported.add(later.name)
                        out.append(d)
    return out


def _conflict(what: str, first: Rule, later: Rule, facts: dict[str, RuleFacts]) -> Diagnostic | None:
    fa, fb = facts[first.name], facts[later.name]
    ahead = f"`{first.ruleset}` comes first in {what} (priority, then rule-set name)"
    related = ((f"`{first.name}`", first.span),)
    if subsumes(fa, fb) and first.priority >= later.priority:
        return _warning("RW508", f"rule `{later.name}` never fires: `{first.name}` ({first.ruleset}, priority "
                        f"{first.priority}) matches every node it matches, and {ahead}", later.span,
                        f"`{first.name}` is at {first.location}",
                        "give it a higher priority (a step's rule sets compete as one pool), or drop it",
                        related=related)
    # lowerings tie harmlessly more often (two exact forms of one op); converters pick the layer a node becomes
    if "converter" in what and first.priority == later.priority and certainly_overlap(fa, fb) \
            and not subsumes(fb, fa):
        return _warning("RW508", f"rule `{later.name}` ties with `{first.name}` ({first.ruleset}) at priority "
                        f"{later.priority}: on the nodes both match, `{first.name}` wins because {ahead}",
                        later.span, f"`{first.name}` is at {first.location}",
                        "give the rule that should win a higher priority", related=related)
    return None


# ---- RW510 ---------------------------------------------------------------------------------------------------
def _decomposed_roots(library: RuleLibrary, order: dict[str, int], decomposed: frozenset[str],
                      why: str) -> list[Diagnostic]:
    emitted = {e.op for n in order for r in library.rulesets[n].rules for e in _emits(r)}
    out = []
    for r in library.all_rules():
        if r.root_op in decomposed and r.root_op not in emitted:
            out.append(_warning(
                "RW510", f"rule `{r.name}` never fires: {r.root_op} never reaches the rules", r.pattern.op_span,
                why or "every frontend removes it before the rules run", "no lowering rule emits it either",
                "write the rule for the ops it decomposes into"))
    return out
