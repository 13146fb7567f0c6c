"""What a compilation did, as plain data: passes run, partitions made, ops left to PyTorch, rules fired."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PassRecord:
    name: str
    seconds: float
    nodes_before: int
    nodes_after: int
    detail: str = ""


@dataclass
class Partition:
    name: str
    ops: list[str]
    inputs: list[str]
    outputs: list[str]
    layers: int | None = None
    engine_bytes: int | None = None
    build_seconds: float | None = None


@dataclass
class Fallback:
    node: int
    op: str
    source: str | None
    reason: str
    candidates: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CompileReport:
    passes: list[PassRecord] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)
    rule_fires: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(p.seconds for p in self.passes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rule_fires"] = dict(self.rule_fires)
        return d

    def __str__(self) -> str:
        return format_report(self)


def format_report(r: CompileReport) -> str:
    lines = ["Passes:"]
    width = max((len(p.name) for p in r.passes), default=4)
    for p in r.passes:
        extra = f"  {p.detail}" if p.detail else ""
        lines.append(f"  {p.name:<{width}}  {p.seconds * 1000:8.1f} ms  nodes {p.nodes_before:>5} -> {p.nodes_after:<5}"
                     f"{extra}")
    lines.append(f"  {'total':<{width}}  {r.total_seconds * 1000:8.1f} ms")
    lines.append(f"TensorRT segments: {len(r.partitions)}")
    for part in r.partitions:
        ops = Counter(part.ops)
        summary = ", ".join(f"{op.split('.')[1] if op.startswith('aten.') else op} x{n}" for op, n in ops.most_common())
        lines.append(f"  {part.name}: {len(part.ops)} ops, {len(part.inputs)} inputs, {len(part.outputs)} outputs")
        lines.append(f"    ops: {summary}")
        if part.layers is not None:
            lines.append(f"    engine: {part.layers} layers, {part.engine_bytes:,} bytes, built in "
                         f"{part.build_seconds:.2f} s")
    lines.append(f"Ops left to PyTorch: {len(r.fallbacks)}")
    for f in r.fallbacks:
        src = f" ({f.source})" if f.source else ""
        lines.append(f"  %{f.node} {f.op}{src}: {f.reason}")
        for rule, why in f.candidates:
            lines.append(f"      rule {rule}: {why}")
    if r.rule_fires:
        lines.append("Rules fired:")
        for rule, n in sorted(r.rule_fires.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {n:>5}  {rule}")
    for note in r.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines)
