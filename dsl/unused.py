"""Captures bound once and never used (RW505, a warning): ``_`` says "anything" without inventing a name."""

from __future__ import annotations

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.rules import Rule


def unused_captures(rules: list[Rule]) -> list[Diagnostic]:
    out = []
    for r in rules:
        bound: dict[str, list[A.Span]] = {}
        for name, span in r.normal.capture_sites:
            bound.setdefault(name, []).append(span)
        # a tensor capture a test domain draws cannot become `_` (the sampler needs a name to give it a value)
        in_domain = {e.name for d in r.domains for e in d.entries}
        in_domain |= {n for n in r.normal.outputs or () if n}  # naming an output says "replace it"
        for name, spans in bound.items():
            if len(spans) == 1 and name not in r.normal.reads and name not in in_domain:
                out.append(Diagnostic("RW505", f"capture `{name}` of rule `{r.name}` is never used", spans[0],
                                      ("write `_` to accept any value without naming it",), severity="warning"))
    return out
