"""Rules of one rule set that compete for the same nodes.

* RW502: two rules of equal priority can match the same node and neither is more specific (or they are the same
  condition): which fires would depend on source order. Reported only when overlap is certain: the patterns are
  compatible and both rules have the same opaque guard conjuncts (a guard the analysis cannot read might make them
  disjoint).
* RW503: a rule is shadowed: a higher-priority rule matches every node it matches, so it never fires.
* Equal priority with one rule strictly more general than the other is fine: the more specific rule is tried first
  (:func:`order_by_specificity`), so ordering is priority, then specificity, then source order.
"""

from __future__ import annotations

from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.evaluate import values_equal
from trt_passes.dsl.facts import UNSET, Path, PathFacts, RuleFacts
from trt_passes.dsl.rules import Rule

_EMPTY = PathFacts()


def _implies(b: PathFacts, a: PathFacts) -> bool:
    """Whatever satisfies ``b`` satisfies ``a``."""
    if a.op is not None and b.op != a.op:
        return False
    if a.dtypes is not None and (b.dtypes is None or not b.dtypes <= a.dtypes):
        return False
    if a.rank is not None and b.rank != a.rank:
        return False
    if a.min_rank and (b.rank if b.rank is not None else b.min_rank) < a.min_rank:
        return False
    if a.max_rank is not None:
        b_max = b.rank if b.rank is not None else b.max_rank
        if b_max is None or b_max > a.max_rank:
            return False
    if a.literal is not UNSET and (b.literal is UNSET or not values_equal(a.literal, b.literal)):
        return False
    return True


def subsumes(a: RuleFacts, b: RuleFacts) -> bool:
    """Every node ``b`` matches, ``a`` matches too (``a`` is at least as general): each variant of ``b`` is
    covered by some variant of ``a``."""
    return all(any(_subsumes(va, vb) for va in a.all_variants) for vb in b.all_variants)


def _subsumes(a: RuleFacts, b: RuleFacts) -> bool:
    if a.rule.root_op != b.rule.root_op:
        return False
    if not all(_implies(b.paths.get(p, _EMPTY), fa) for p, fa in a.paths.items()):
        return False
    return a.equal <= b.equal and a.opaque <= b.opaque and _var_groups(a) <= _var_groups(b) \
        and a.const_literals <= b.const_literals


def _compatible(a: PathFacts, b: PathFacts) -> bool:
    if a.op is not None and b.op is not None and a.op != b.op:
        return False
    if a.dtypes is not None and b.dtypes is not None and not a.dtypes & b.dtypes:
        return False
    if a.rank is not None and b.rank is not None and a.rank != b.rank:
        return False
    lo = max(a.min_rank, b.min_rank, a.rank or 0, b.rank or 0)
    highs = [h for h in (a.max_rank, b.max_rank, a.rank, b.rank) if h is not None]
    if highs and lo > min(highs):
        return False
    if a.literal is not UNSET and b.literal is not UNSET and not values_equal(a.literal, b.literal):
        return False
    tensorish = lambda f: f.op is not None or f.dtypes is not None or f.rank is not None  # noqa: E731
    return not ((a.literal is not UNSET and tensorish(b)) or (b.literal is not UNSET and tensorish(a)))


def _var_groups(rf: RuleFacts) -> set[frozenset[Path]]:
    """Sets of paths a dtype variable ties together (variable names do not matter, only which paths agree)."""
    groups: dict[str, set[Path]] = {}
    for var, path in rf.dtype_vars:
        groups.setdefault(var, set()).add(path)
    return {frozenset(g) for g in groups.values() if len(g) > 1}


def certainly_overlap(a: RuleFacts, b: RuleFacts) -> bool:
    return any(_overlap(va, vb) for va in a.all_variants for vb in b.all_variants)


def _overlap(a: RuleFacts, b: RuleFacts) -> bool:
    if a.rule.root_op != b.rule.root_op or a.opaque != b.opaque or a.equal != b.equal \
            or _var_groups(a) != _var_groups(b) or a.const_literals != b.const_literals:
        return False
    if a.contradictions or b.contradictions:
        return False
    return all(_compatible(fa, b.paths[p]) for p, fa in a.paths.items() if p in b.paths)


def _span_note(r: Rule) -> str:
    return f"`{r.name}` is at {r.span}"


def overlaps_and_shadowing(facts: list[RuleFacts]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    by_root: dict[tuple[str, str], list[RuleFacts]] = {}
    for rf in facts:
        by_root.setdefault((rf.rule.ruleset, rf.rule.root_op), []).append(rf)
    for group in by_root.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                ra, rb = a.rule, b.rule
                if ra.priority == rb.priority:
                    ab, ba = subsumes(a, b), subsumes(b, a)
                    if (ab and ba) or (not ab and not ba and certainly_overlap(a, b)):
                        same = " (they test the same conditions)" if ab and ba else ""
                        out.append(Diagnostic(
                            "RW502", f"rules `{ra.name}` and `{rb.name}` of equal priority {ra.priority} both match "
                            f"some {ra.root_op} nodes{same}", rb.span,
                            (_span_note(ra), _span_note(rb),
                             "give one a higher priority, or make their patterns or guards disjoint"),
                            related=((f"`{ra.name}`", a.root_span),)))
                    continue
                hi, lo = (a, b) if ra.priority > rb.priority else (b, a)
                if subsumes(hi, lo):
                    out.append(Diagnostic(
                        "RW503", f"rule `{lo.rule.name}` never fires: `{hi.rule.name}` (priority {hi.rule.priority}) "
                        f"matches everything it matches", lo.rule.span,
                        (_span_note(hi.rule), "raise its priority above the more general rule, or delete it"),
                        related=((f"`{hi.rule.name}`", hi.root_span),)))
    return out


def order_by_specificity(rules: list[Rule], facts: dict[str, RuleFacts]) -> list[Rule]:
    """``rules`` (already by priority, then source order) with each rule moved before an equal-priority rule of
    the same root that is strictly more general than it."""
    out: list[Rule] = []
    for r in rules:
        fr = facts.get(r.name)
        pos = len(out)
        if fr is not None:
            for i, e in enumerate(out):
                fe = facts.get(e.name)
                if fe is not None and e.priority == r.priority and subsumes(fe, fr) and not subsumes(fr, fe):
                    pos = i
                    break
        out.insert(pos, r)
    return out
