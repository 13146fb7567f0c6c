"""Load-time analyses over the normalised rule representation (:mod:`trt_passes.dsl.facts`), one module each
(unreachable, overlap, termination, unused, coverage); :func:`analyse` runs them all on a checked library and returns
every diagnostic (errors and warnings) together."""


from __future__ import annotations

from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.facts import rule_facts
from trt_passes.dsl.overlap import overlaps_and_shadowing
from trt_passes.dsl.rules import Rule
from trt_passes.dsl.termination import termination
from trt_passes.dsl.unreachable import unreachable
from trt_passes.dsl.unused import unused_captures
from trt_passes.ir.ops import OpRegistry


def analyse(rules: list[Rule], ops: OpRegistry) -> list[Diagnostic]:
    facts = [rule_facts(r, ops) for r in rules]
    return [*unreachable(facts), *overlaps_and_shadowing(facts), *termination(facts), *unused_captures(rules)]
