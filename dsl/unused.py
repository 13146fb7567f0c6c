"""Captures bound once and never used (RW505, a warning): ``_`` says "anything" without inventing a name."""

from __future__ import annotations

from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.rules import Rule


def _pattern_names(p: Any, out: dict[str, list[A.Span]]) -> None:
    if isinstance(p, A.POp):
        if p.binder is not None:
            out.setdefault(p.binder, []).append(p.span)
        for a in p.args:
            _pattern_names(a.value, out)
    elif isinstance(p, A.PList):
        for i in p.items:
            _pattern_names(i, out)
    elif isinstance(p, A.PCapture):
        out.setdefault(p.name, []).append(p.span)


def _expr_names(e: Any, out: set[str]) -> None:
    out.update(n.name for n in A.walk(e) if isinstance(n, A.Name))


def unused_captures(rules: list[Rule]) -> list[Diagnostic]:
    out = []
    for r in rules:
        bound: dict[str, list[A.Span]] = {}
        _pattern_names(r.pattern, bound)
        used: set[str] = set()
        _expr_names(r.guard, used)
        _expr_names(r.rhs, used)
        # a tensor capture a test domain draws cannot become `_` (the sampler needs a name to give it a value)
        in_domain = {e.name for d in r.domains for e in d.entries}
        in_domain |= {n for n in r.pattern.outputs or () if n}  # naming an output says "replace it"
        for name, spans in bound.items():
            if len(spans) == 1 and name not in used and name not in in_domain:
                out.append(Diagnostic("RW505", f"capture `{name}` of rule `{r.name}` is never used", spans[0],
                                      ("write `_` to accept any value without naming it",), severity="warning"))
    return out
