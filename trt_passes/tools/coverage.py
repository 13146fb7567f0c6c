"""Which core ATen ops the shipped (and extra) rules handle: ``trt-passes coverage``.

The op list is the installed torch's core ATen set: every op overload tagged ``torch.Tag.core``. Each op gets one
status, the first that applies:

* ``converted``: a converter rule's pattern is rooted at the op (the rules are named; a guard may still refuse some
  uses of the op, which ``explain`` reports per model);
* ``lowered``: a lowering rule rewrites the op into other ATen ops;
* ``decomposed``: ``torch._decomp.core_aten_decompositions()`` has an entry for it, so ``torch.export``'s default
  decompositions (which every frontend runs) never leave it in a graph;
* ``folded``: a creation op without tensor arguments (``full``, ``arange``, ``scalar_tensor``): constant folding
  turns it into a constant before partitioning;
* ``pytorch``: nothing handles it; a graph containing it runs that op in PyTorch.

Rules rooted at ops outside the core set (``aten.matmul.default`` after lowering, ...) are listed separately.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch._decomp import core_aten_decompositions

from trt_passes.backend.registry import default_ops
from trt_passes.compiler import load_library
from trt_passes.ir.aten import core_aten_ops, packet_name
from trt_passes.passes.fold import UNFOLDABLE
from trt_passes.passes.left_to_pytorch import left_to_pytorch_reason

STATUSES = ("converted", "lowered", "decomposed", "folded", "pytorch")


@dataclass(frozen=True)
class OpCoverage:
    op: str
    status: str
    rules: tuple[str, ...] = ()
    note: str = ""
    """For ops with several results when no rule names them all: rules replace result 0 only, so they apply when
    the others are unused."""
    on_purpose: str = ""
    """Why the op, or some uses of it, stays in PyTorch by design (``passes/left_to_pytorch.py``)."""


@dataclass
class CoverageReport:
    ops: list[OpCoverage]
    non_core: list[OpCoverage] = field(default_factory=list)
    torch_version: str = ""

    @property
    def totals(self) -> dict[str, int]:
        counts = Counter(o.status for o in self.ops)
        return {s: counts.get(s, 0) for s in STATUSES}

    def by_status(self, status: str) -> list[OpCoverage]:
        return [o for o in self.ops if o.status == status]

    def __str__(self) -> str:
        lines = [f"core ATen ops of torch {self.torch_version}: {len(self.ops)}"]
        width = max((len(o.op) for o in [*self.ops, *self.non_core]), default=10) + 2
        for o in sorted(self.ops, key=lambda o: (STATUSES.index(o.status), o.op)):
            lines.append(f"  {o.op:<{width}}{o.status:<12}{', '.join(o.rules)}{o.note}".rstrip())
            if o.on_purpose:
                lines.append(f"  {'':<{width}}{'':<12}{_on_purpose_label(o)}: {o.on_purpose}")
        if self.non_core:
            lines.append(f"rules rooted at ops outside the core set: {len(self.non_core)} ops")
            for o in self.non_core:
                lines.append(f"  {o.op:<{width}}{o.status:<12}{', '.join(o.rules)}{o.note}".rstrip())
                if o.on_purpose:
                    lines.append(f"  {'':<{width}}{'':<12}{_on_purpose_label(o)}: {o.on_purpose}")
        t = self.totals
        share = (len(self.ops) - t["pytorch"]) / max(len(self.ops), 1)
        lines.append("totals: " + ", ".join(f"{s} {t[s]}" for s in STATUSES)
                     + f" (of {len(self.ops)}; {share:.0%} handled without PyTorch)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"torch": self.torch_version, "totals": self.totals,
                "ops": [{"op": o.op, "status": o.status, "rules": list(o.rules), "note": o.note,
                         "on_purpose": o.on_purpose} for o in self.ops],
                "non_core": [{"op": o.op, "status": o.status, "rules": list(o.rules), "note": o.note,
                              "on_purpose": o.on_purpose} for o in self.non_core]}


def _on_purpose_label(o: OpCoverage) -> str:
    return "left to PyTorch on purpose" if o.status == "pytorch" else "some uses stay in PyTorch on purpose"


def decomposed_ops() -> set[str]:
    """The ops ``torch.export``'s default core-ATen decompositions rewrite away."""
    return {str(k) for k in core_aten_decompositions().keys()}


def coverage_report(extra_rules: Sequence[Path] = ()) -> CoverageReport:
    """The status of every core ATen op under the shipped rules (plus ``extra_rules`` files or folders)."""
    lib = load_library(tuple(Path(p) for p in extra_rules), default_ops())
    converters: dict[str, list[str]] = {}
    lowerings: dict[str, list[str]] = {}
    all_results: set[str] = set()  # ops some rule replaces every result of: `(v, i) = OP(...)`
    for rs in lib.rulesets.values():
        table = converters if rs.kind == "converter" else lowerings
        for rule in rs.rules:
            table.setdefault(rule.pattern.op, []).append(rule.name)
            if rule.pattern.outputs and None not in rule.pattern.outputs:
                all_results.add(rule.pattern.op)
    decomposed = decomposed_ops()

    def folds(op: str) -> bool:
        """No tensor arguments, deterministic, not mutating: fold_constants evaluates it."""
        schema = default_ops().schema(op)
        if schema is None or packet_name(op) in UNFOLDABLE or schema.is_mutating:
            return False
        return not any(a.type.startswith("Tensor") for a in schema.args) and bool(schema.returns)

    def note(op: str) -> str:
        schema = default_ops().schema(op)
        if op in all_results or not schema or len(schema.returns) <= 1:
            return ""
        return " (result 0 only: the other results must be unused)"

    def status(op: str) -> OpCoverage:
        why = left_to_pytorch_reason(op) or ""
        if op in converters:
            return OpCoverage(op, "converted", tuple(converters[op]), note(op), why)
        if op in lowerings:
            return OpCoverage(op, "lowered", tuple(lowerings[op]), note(op), why)
        if op in decomposed:
            return OpCoverage(op, "decomposed")
        if folds(op):
            return OpCoverage(op, "folded")
        return OpCoverage(op, "pytorch", on_purpose=why)

    core = core_aten_ops()
    core_set = set(core)
    non_core = [status(op) for op in sorted((set(converters) | set(lowerings)) - core_set)]
    return CoverageReport([status(op) for op in core], non_core, torch.__version__)
