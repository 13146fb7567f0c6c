"""Converter coverage: which ATen ops can still be in a graph after lowering, and which of them no converter rule
has as its root (those always fall back to PyTorch). A CLI can print :meth:`CoverageReport.format`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from trt_passes.dsl.rules import RuleLibrary


@dataclass
class CoverageReport:
    #: op -> converter rules rooted at it
    converted: dict[str, list[str]] = field(default_factory=dict)
    #: op reachable after lowering with no converter -> where it comes from (lowering rules emitting it, or "model")
    missing: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing

    def format(self) -> str:
        n = len(self.converted) + len(self.missing)
        lines = [f"{len(self.converted)} of {n} ATen ops reachable after lowering have a converter"]
        for op in sorted(self.missing):
            lines.append(f"  no converter: {op}  (from {', '.join(self.missing[op])})")
        return "\n".join(lines)


def converter_coverage(library: RuleLibrary, model_ops: Iterable[str] = ()) -> CoverageReport:
    """ATen ops reachable after lowering: what lowering rules emit plus ``model_ops`` (e.g. a graph's
    ``count_ops()``), each either handled by a converter rule or reported missing."""
    sources: dict[str, list[str]] = {}
    converters: dict[str, list[str]] = {}
    for rs in library.rulesets.values():
        for r in rs.rules:
            if rs.kind == "lowering":
                for op in r.normal.emits:
                    if r.name not in sources.setdefault(op, []):
                        sources[op].append(r.name)
            else:
                converters.setdefault(r.root_op, []).append(r.name)
    for op in model_ops:
        sources.setdefault(op, []).append("model")
    report = CoverageReport()
    for op in sorted(o for o in sources if o.startswith("aten.")):
        if op in converters:
            report.converted[op] = converters[op]
        else:
            report.missing[op] = sources[op]
    return report
