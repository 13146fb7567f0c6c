"""Load-time analyses over the rules' normal forms (:mod:`trt_passes.dsl.normal_form`, summarised per path by
:mod:`trt_passes.dsl.facts`), one module each (unreachable, overlap, termination, unused, coverage); :func:`analyse`
runs them all on a checked library and returns every diagnostic (errors and warnings) together."""


from __future__ import annotations

from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.facts import RuleFacts
from trt_passes.dsl.overlap import overlaps_and_shadowing
from trt_passes.dsl.termination import termination
from trt_passes.dsl.unreachable import unreachable
from trt_passes.dsl.unused import unused_captures


def analyse(facts: list[RuleFacts]) -> list[Diagnostic]:
    """Every diagnostic of the analyses over ``facts`` (one per rule, in library order)."""
    return [*unreachable(facts), *overlaps_and_shadowing(facts), *termination(facts),
            *unused_captures([rf.rule for rf in facts])]
