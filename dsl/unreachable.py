"""Rules that can never match: their own constraints contradict each other (RW501)."""

from __future__ import annotations

from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.facts import RuleFacts


def unreachable(facts: list[RuleFacts]) -> list[Diagnostic]:
    out = []
    for rf in facts:
        if not all(v.contradictions for v in rf.all_variants):
            continue
        for path, why in rf.contradictions:
            where = "the root" if not path else "argument " + ".".join(path)
            out.append(Diagnostic("RW501", f"rule `{rf.rule.name}` can never match: {why}", rf.rule.span,
                                  (f"at {where}",)))
    return out
