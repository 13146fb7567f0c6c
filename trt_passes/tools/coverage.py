"""Which ATen ops the shipped (and extra) rules handle: ``trt-passes coverage``.

Three lists. First the installed torch's core ATen set: every op overload tagged ``torch.Tag.core``. Each op gets one
status, the first that applies:

* ``converted``: a converter rule's pattern is rooted at the op (the rules are named; a guard may still refuse some
  uses of the op, which ``explain`` reports per model);
* ``lowered``: a lowering rule rewrites the op into other ATen ops;
* ``decomposed``: PyTorch has a decomposition for it (torch's core-ATen table or its CompositeImplicitAutograd
  kernel), which the ``decompose`` pass applies to each such node (``run_decompositions()`` on the
  ``decompositions="pytorch"`` path);
* ``folded``: a creation op without tensor arguments (``full``, ``arange``, ``scalar_tensor``): constant folding
  turns it into a constant before partitioning;
* ``pytorch``: nothing handles it; a graph containing it runs that op in PyTorch.

Rules rooted at ops outside the core set (``aten.matmul.default`` after lowering, ...) are listed separately.

Then the ops ``torch.export`` gives for the zoo of ``benchmarks/`` (its training IR, listed in
``spec/coverage/training_ir.ops`` by ``python -m benchmarks.training_ir_ops --write``), each as the new path handles
it (:data:`TRAINING_IR_STATUSES`): ``by rule`` (a lowering or converter rule is rooted at it; an in-place op counts
as its functional twin, which the ``functionalize`` pass makes it), ``folded`` (a creation op without tensor
arguments, or ``lift_fresh_copy`` of a constant torch.export lifted: constant folding evaluates it first), ``by
PyTorch's table`` (no rule: the ``decompose`` pass applies PyTorch's decomposition, a candidate for a rule), ``left to
PyTorch`` (none of these), or ``dropped`` (the importer drops it: runtime assertions, ``getitem``).

Last, what was measured rather than read off the rules: the single-op corpus of ``benchmarks/`` as last recorded
(:mod:`trt_passes.tools.coverage_measured`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from trt_passes.backend.registry import default_ops
from trt_passes.compiler import load_library
from trt_passes.dsl import RuleLibrary
from trt_passes.ir.aten import core_aten_ops, packet_name
from trt_passes.passes.decomposition import decomposition_for
from trt_passes.passes.fold import UNFOLDABLE
from trt_passes.passes.functionalize import functional_twin
from trt_passes.passes.left_to_pytorch import left_to_pytorch_reason
from trt_passes.tools.coverage_measured import MeasuredCoverage, measured_coverage

STATUSES = ("converted", "lowered", "decomposed", "folded", "pytorch")
TRAINING_IR_STATUSES = ("by rule", "folded", "by PyTorch's table", "left to PyTorch", "dropped")
# Ops whose tensor argument is always a constant: torch.export lifts tensors a model makes from data (torch.tensor)
# out of the graph and copies them back in with this op.
_COPIES_OF_CONSTANTS = frozenset({"aten.lift_fresh_copy.default"})
# What the importer drops from torch.export's graph: runtime assertions (and the conditions only they read), and
# getitem, which becomes an output index.
_DROPPED = ("<built-in function getitem>", "aten._assert", "aten.sym_constrain_range")


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


@dataclass(frozen=True)
class TrainingIrOp:
    """One op of the zoo's training IR and how the ``decompositions="rules"`` path handles it."""

    op: str
    models: int
    """How many zoo models contain it."""
    status: str
    rules: tuple[str, ...] = ()
    decomposition: str = ""
    """PyTorch's decomposition of it (``torch._decomp:OP``, ``CompositeImplicitAutograd:OP``), when it has one."""
    via: str = ""
    """For an in-place op: the functional twin the status is about."""


@dataclass
class CoverageReport:
    ops: list[OpCoverage]
    non_core: list[OpCoverage] = field(default_factory=list)
    torch_version: str = ""
    training_ir: list[TrainingIrOp] = field(default_factory=list)
    measured: MeasuredCoverage = field(default_factory=MeasuredCoverage)

    @property
    def training_ir_totals(self) -> dict[str, int]:
        counts = Counter(o.status for o in self.training_ir)
        return {s: counts.get(s, 0) for s in TRAINING_IR_STATUSES}

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
        lines.extend(self._training_ir_lines())
        lines.extend(self.measured.lines())
        return "\n".join(lines)

    def _training_ir_lines(self) -> list[str]:
        if not self.training_ir:
            return []
        width = max(len(o.op) for o in self.training_ir) + 2
        lines = [f"ops torch.export gives for the zoo (training IR; models containing each), as the rules path "
                 f"handles them: {len(self.training_ir)}"]
        for status in TRAINING_IR_STATUSES:
            for o in (o for o in self.training_ir if o.status == status):
                detail = ", ".join(o.rules) if o.rules else o.decomposition
                via = f" (as {o.via})" if o.via else ""
                lines.append(f"  {o.op:<{width}}{o.models:>3}  {o.status:<20}{detail}{via}".rstrip())
        t = self.training_ir_totals
        lines.append("training IR totals: " + ", ".join(f"{s} {t[s]}" for s in TRAINING_IR_STATUSES))
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"torch": self.torch_version, "totals": self.totals,
                "ops": [{"op": o.op, "status": o.status, "rules": list(o.rules), "note": o.note,
                         "on_purpose": o.on_purpose} for o in self.ops],
                "non_core": [{"op": o.op, "status": o.status, "rules": list(o.rules), "note": o.note,
                              "on_purpose": o.on_purpose} for o in self.non_core],
                "training_ir": [{"op": o.op, "models": o.models, "status": o.status, "rules": list(o.rules),
                                 "decomposition": o.decomposition, "via": o.via} for o in self.training_ir],
                "training_ir_totals": self.training_ir_totals, "measured": self.measured.to_dict()}


def _on_purpose_label(o: OpCoverage) -> str:
    return "left to PyTorch on purpose" if o.status == "pytorch" else "some uses stay in PyTorch on purpose"


def rules_by_root(lib: RuleLibrary) -> tuple[dict[str, list[str]], dict[str, list[str]], set[str]]:
    """(converter rules by root op, lowering rules by root op, ops some rule replaces every result of)."""
    converters: dict[str, list[str]] = {}
    lowerings: dict[str, list[str]] = {}
    all_results: set[str] = set()  # ops some rule replaces every result of: `(v, i) = OP(...)`
    for rs in lib.rulesets.values():
        table = converters if rs.kind == "converter" else lowerings
        for rule in rs.rules:
            table.setdefault(rule.pattern.op, []).append(rule.name)
            if rule.pattern.outputs and None not in rule.pattern.outputs:
                all_results.add(rule.pattern.op)
    return converters, lowerings, all_results


def training_ir_ops() -> list[tuple[str, int]]:
    """The zoo's training-IR ops with how many models contain each (``spec/coverage/training_ir.ops``)."""
    text = (resources.files("trt_passes.spec") / "coverage" / "training_ir.ops").read_text()
    ops = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            ops.append((" ".join(words[:-1]), int(words[-1])))
    return ops


def training_ir_coverage(lib: RuleLibrary, ops: Sequence[tuple[str, int]] | None = None) -> list[TrainingIrOp]:
    """How the rules path handles each op of the zoo's training IR (``ops``: another list of (op, models)); see the
    module docstring."""
    converters, lowerings, _ = rules_by_root(lib)
    out = []
    for op, models in training_ir_ops() if ops is None else ops:
        if op.startswith(_DROPPED):
            out.append(TrainingIrOp(op, models, "dropped"))
            continue
        twin = functional_twin(op, default_ops()) if default_ops().has(op) else None
        target = twin or op
        rules = (*converters.get(target, ()), *lowerings.get(target, ()))
        decomposition = decomposition_for(target)
        name = decomposition.name if decomposition else ""
        if rules:
            status = "by rule"
        elif target in _COPIES_OF_CONSTANTS or _folds(target):
            status = "folded"
        elif decomposition is not None:
            status = "by PyTorch's table"
        else:
            status = "left to PyTorch"
        out.append(TrainingIrOp(op, models, status, rules, name, twin or ""))
    return out


def _folds(op: str) -> bool:
    """No tensor arguments, deterministic, not mutating: fold_constants evaluates it."""
    schema = default_ops().schema(op)
    if schema is None or packet_name(op) in UNFOLDABLE or schema.is_mutating:
        return False
    return not any(a.type.startswith("Tensor") for a in schema.args) and bool(schema.returns)


def coverage_report(extra_rules: Sequence[Path] = ()) -> CoverageReport:
    """The status of every core ATen op and of the zoo's training-IR ops under the shipped rules (plus
    ``extra_rules`` files or folders)."""
    lib = load_library(tuple(Path(p) for p in extra_rules), default_ops())
    converters, lowerings, all_results = rules_by_root(lib)

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
        if decomposition_for(op) is not None:
            return OpCoverage(op, "decomposed")
        if _folds(op):
            return OpCoverage(op, "folded")
        return OpCoverage(op, "pytorch", on_purpose=why)

    core = core_aten_ops()
    core_set = set(core)
    non_core = [status(op) for op in sorted((set(converters) | set(lowerings)) - core_set)]
    return CoverageReport([status(op) for op in core], non_core, torch.__version__, training_ir_coverage(lib),
                          measured_coverage())
