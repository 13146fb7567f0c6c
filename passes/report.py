"""What a compilation did, as plain data: passes run, partitions made, ops left to PyTorch, rules fired.

``str(report)`` is the text ``explain`` prints; :meth:`CompileReport.to_dict` is its JSON (``--json``), with these
stable keys (schema ``trt-passes/report/1``; keys are only ever added):

* ``schema``: ``"trt-passes/report/1"``.
* ``summary``: ``ops_total`` (ops the partitioner saw), ``ops_converted`` (ops in TensorRT segments),
  ``converted_share`` (0..1), ``segments``, ``fallbacks``, ``total_seconds`` (all passes),
  ``suggested_min_block_size`` (int or null: the value that keeps every segment merged back into PyTorch).
* ``passes``: ``[{name, seconds, ops_before, ops_after, nodes_before, nodes_after, detail}]`` in the order they
  ran; ``ops_*`` count the graph's ops (segment bodies included; not inputs, constants or outputs), and
  ``nodes_*`` are the same numbers under their first name.
* ``partitions``: ``[{name, ops: [op...], op_counts: {op: n}, inputs: [T], outputs: [T], layers, engine_bytes,
  build_seconds, emission_error, cached}]`` where ``T`` is ``{type: "f32[1, 3]", dtype: "f32", shape: [1, 3]}``;
  ``layers`` is the TensorRT network's layer count (also from ``explain``, which defines networks without building
  engines); ``engine_bytes``/``build_seconds`` are null unless engines were built; ``emission_error`` is null or
  TensorRT's objection to the segment.
* ``fallbacks``: ``[{node, op, source, reason, candidates: [[rule, first failed condition]], segment_size}]``, in
  model order (``source``: the model's node the op comes from; ``node``: the IR node id)
  (``segment_size``: for ops merged back because their segment was small, that segment's op count, else null;
  ``on_purpose``: for ops no rule matched, why no rule is meant to (``passes/left_to_pytorch.py``), else null).
* ``rule_fires``: ``{rule: count}``; ``rules_fired``: ``[{rule, count}]`` most frequent first.
* ``notes``: ``[str]``.
* ``numerics``: ``{f32_contractions: "tf32" | "f32" | null}``: what float32 convolutions, deconvolutions and matrix
  products compute in (``"tf32"``: inputs rounded to a 10-bit mantissa, f32 accumulation; ``disable_tf32=True``
  gives ``"f32"``); null before emission.
* ``decompositions``: how the model's high-level ops were lowered: ``{path, reason, decomposed, not_decomposed,
  decomposed_ops}``. ``path`` is ``"rules"`` (``torch.export``'s graph lowered by rules, the ``decompose`` pass
  applying PyTorch's decomposition to nodes no rule handles), ``"pytorch"`` (the whole program went through
  ``ExportedProgram.run_decompositions()``) or null (not recorded by the frontend); ``reason`` is null, or why a
  program compiled with ``decompositions="rules"`` took the ``"pytorch"`` path. ``decomposed``: ``[{node, op,
  source, decomposition, produced: [op...], depth}]``, each node the ``decompose`` pass decomposed by PyTorch's
  table (``decomposition``: ``"torch._decomp:OP"`` or ``"CompositeImplicitAutograd:OP"``; ``depth``: 1 for a node
  that was in the graph, n + 1 for one a depth-n decomposition produced); ``not_decomposed``: the same for nodes
  whose decomposition could not be used, with ``reason``; ``decomposed_ops``: ``{op: count}`` of ``decomposed``;
  ``lowered_unconverted``: ``[{node, op, source, rule, converters: [[rule, first failed condition]]}]``, each node
  the ``lower_unconverted`` pass lowered because no converter took it (an op a converter can take whole, such as
  attention, where its arguments are ones the converters refuse).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from trt_passes.ir.aten import packet_name
from trt_passes.passes.left_to_pytorch import left_to_pytorch_reason

SCHEMA = "trt-passes/report/1"
NO_RULE_MATCHED = "no converter rule"
"""How the partitioner's reasons for an op no rule matched begin ("... matched", "... handles OP")."""


@dataclass
class PassRecord:
    name: str
    seconds: float
    nodes_before: int
    """Ops in the graph before the pass (segment bodies included; inputs, constants and outputs are not ops)."""
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
    emission_error: str | None = None
    cached: bool = False
    """The engine came from the engine cache (``cache_dir``) instead of being built."""
    nodes: list[int] = field(default_factory=list)
    """The ids its ops had in the partitioned graph (what a failed build leaves to PyTorch on the next attempt)."""


@dataclass
class Fallback:
    node: int
    op: str
    source: str | None
    reason: str
    candidates: list[tuple[str, str]] = field(default_factory=list)
    segment_size: int | None = None
    """For an op merged back because its segment was smaller than ``min_block_size``: that segment's op count."""

    @property
    def on_purpose(self) -> str | None:
        """Why no rule converts this op (or this use of it), from :mod:`trt_passes.passes.left_to_pytorch`; only for
        ops no rule matched (an op merged back for ``min_block_size`` or listed in ``torch_executed_ops`` could
        have converted)."""
        if self.segment_size is not None or not self.reason.startswith(NO_RULE_MATCHED):
            return None
        return left_to_pytorch_reason(self.op)


@dataclass
class Decomposed:
    """A node the ``decompose`` pass replaced by PyTorch's decomposition of its op (or, with ``reason``, could not)."""

    node: int
    op: str
    source: str | None
    decomposition: str
    """``torch._decomp:OP`` (torch's core-ATen decomposition table) or ``CompositeImplicitAutograd:OP``."""
    produced: list[str]
    depth: int
    """1 for a node that was in the graph, n + 1 for a node a depth-n decomposition produced."""
    reason: str | None = None


@dataclass
class LoweredUnconverted:
    """A node of an op a converter can take whole that no converter took, lowered by an ``unconverted.*`` rule."""

    node: int
    op: str
    source: str | None
    rule: str
    converters: list[tuple[str, str]] = field(default_factory=list)
    """Why each converter rule rooted at the op refused the node: ``[(rule, first failed condition)]``."""


@dataclass
class CompileReport:
    passes: list[PassRecord] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)
    rule_fires: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    f32_contractions: str | None = None
    """``"tf32"`` or ``"f32"``: the precision float32 convolutions and matrix products of the engines run in (set by
    the emit pass; ``trt_passes.tools.parity.default_tolerance`` reads it)."""
    decompositions: str | None = None
    """``"rules"`` or ``"pytorch"``: which way the model's high-level ops were lowered (see the module docstring)."""
    decompositions_reason: str | None = None
    """Why a compilation asked for ``"rules"`` took the ``"pytorch"`` path (``functionalize``'s reason)."""
    decomposed: list[Decomposed] = field(default_factory=list)
    not_decomposed: list[Decomposed] = field(default_factory=list)
    lowered_unconverted: list[LoweredUnconverted] = field(default_factory=list)

    @property
    def decomposed_ops(self) -> Counter[str]:
        """How many nodes of each op PyTorch's table decomposed: the candidates for rules."""
        return Counter(d.op for d in self.decomposed)

    @property
    def total_seconds(self) -> float:
        return sum(p.seconds for p in self.passes)

    @property
    def ops_converted(self) -> int:
        return sum(len(p.ops) for p in self.partitions)

    @property
    def ops_total(self) -> int:
        """Ops the partitioner placed: in TensorRT segments or left to PyTorch."""
        return self.ops_converted + len(self.fallbacks)

    @property
    def converted_share(self) -> float:
        return self.ops_converted / self.ops_total if self.ops_total else 0.0

    @property
    def suggested_min_block_size(self) -> int | None:
        """The ``min_block_size`` that would keep every segment that was merged back into PyTorch, or None."""
        sizes = [f.segment_size for f in self.fallbacks if f.segment_size is not None]
        return min(sizes) if sizes else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; keys are documented in this module's docstring."""
        return {
            "schema": SCHEMA,
            "summary": {
                "ops_total": self.ops_total,
                "ops_converted": self.ops_converted,
                "converted_share": round(self.converted_share, 6),
                "segments": len(self.partitions),
                "fallbacks": len(self.fallbacks),
                "total_seconds": self.total_seconds,
                "suggested_min_block_size": self.suggested_min_block_size,
            },
            "passes": [{"name": p.name, "seconds": p.seconds, "ops_before": p.nodes_before,
                        "ops_after": p.nodes_after, "nodes_before": p.nodes_before, "nodes_after": p.nodes_after,
                        "detail": p.detail} for p in self.passes],
            "partitions": [{"name": p.name, "ops": list(p.ops), "op_counts": dict(Counter(p.ops).most_common()),
                            "inputs": [type_dict(t) for t in p.inputs], "outputs": [type_dict(t) for t in p.outputs],
                            "layers": p.layers, "engine_bytes": p.engine_bytes, "build_seconds": p.build_seconds,
                            "emission_error": p.emission_error, "cached": p.cached} for p in self.partitions],
            "fallbacks": [{"node": f.node, "op": f.op, "source": f.source, "reason": f.reason,
                           "candidates": [[rule, why] for rule, why in f.candidates],
                           "segment_size": f.segment_size, "on_purpose": f.on_purpose} for f in self.fallbacks],
            "rule_fires": dict(self.rule_fires),
            "rules_fired": [{"rule": r, "count": n} for r, n in _by_count(self.rule_fires)],
            "notes": list(self.notes),
            "numerics": {"f32_contractions": self.f32_contractions},
            "decompositions": {
                "path": self.decompositions,
                "reason": self.decompositions_reason,
                "decomposed": [_decomposed_dict(d) for d in self.decomposed],
                "not_decomposed": [{**_decomposed_dict(d), "reason": d.reason} for d in self.not_decomposed],
                "decomposed_ops": dict(_by_count(self.decomposed_ops)),
                "lowered_unconverted": [{"node": u.node, "op": u.op, "source": u.source, "rule": u.rule,
                                         "converters": [[rule, why] for rule, why in u.converters]}
                                        for u in self.lowered_unconverted],
            },
        }

    def __str__(self) -> str:
        return format_report(self)


def _decomposed_dict(d: Decomposed) -> dict[str, Any]:
    return {"node": d.node, "op": d.op, "source": d.source, "decomposition": d.decomposition,
            "produced": list(d.produced), "depth": d.depth}


_TYPE = re.compile(r"^(?P<dtype>\w+)\[(?P<dims>[^\]]*)\]$")


def type_dict(text: str) -> dict[str, Any]:
    """``"f32[1, 3]"`` (a :class:`TensorType` printed) as ``{"type", "dtype", "shape"}``; symbolic dims stay
    strings."""
    m = _TYPE.match(text.strip())
    if m is None:
        return {"type": text, "dtype": None, "shape": None}
    dims = [d.strip() for d in m["dims"].split(",") if d.strip()]
    return {"type": text, "dtype": m["dtype"], "shape": [int(d) if d.lstrip("-").isdigit() else d for d in dims]}


def _by_count(c: Counter[str]) -> list[tuple[str, int]]:
    return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))


NUMERICS_LINES = {
    "tf32": "float32 convolutions and matrix products may run in TF32 (inputs rounded to a 10-bit mantissa, f32 "
            "accumulation; the reference runtime computes the same); disable_tf32=True keeps full float32",
    "f32": "float32 convolutions and matrix products run in full float32 (disable_tf32=True)",
}


def format_report(r: CompileReport) -> str:
    lines = ["Passes:"]
    width = max((len(p.name) for p in r.passes), default=4)
    for p in r.passes:
        extra = f"  {p.detail}" if p.detail else ""
        lines.append(f"  {p.name:<{width}}  {p.seconds * 1000:8.1f} ms  ops {p.nodes_before:>5} -> {p.nodes_after:<5}"
                     f"{extra}")
    lines.append(f"  {'total':<{width}}  {r.total_seconds * 1000:8.1f} ms")
    lines.extend(_format_decompositions(r))
    if r.ops_total:
        lines.append(f"Converted: {r.ops_converted} of {r.ops_total} ops ({100 * r.converted_share:.1f}%) run in "
                     f"TensorRT")
    lines.append(f"TensorRT segments: {len(r.partitions)}")
    for part in r.partitions:
        ops = Counter(part.ops)
        summary = ", ".join(f"{packet_name(op)} x{n}" for op, n in ops.most_common())
        layers = f", {part.layers} layers" if part.layers is not None else ""
        lines.append(f"  {part.name}: {len(part.ops)} ops{layers}, {len(part.inputs)} inputs, "
                     f"{len(part.outputs)} outputs")
        lines.append(f"    inputs:  {', '.join(part.inputs) or '-'}")
        lines.append(f"    outputs: {', '.join(part.outputs) or '-'}")
        lines.append(f"    ops: {summary}")
        if part.engine_bytes is not None and part.cached:
            lines.append(f"    engine: {part.layers} layers, {part.engine_bytes:,} bytes, from the engine cache "
                         f"(not rebuilt; the original build took {part.build_seconds:.2f} s)")
        elif part.engine_bytes is not None:
            lines.append(f"    engine: {part.layers} layers, {part.engine_bytes:,} bytes, built in "
                         f"{part.build_seconds:.2f} s")
        if part.emission_error:
            lines.append(f"    TensorRT refuses it: {part.emission_error}")
    lines.append(f"Ops left to PyTorch: {len(r.fallbacks)}")
    for f in r.fallbacks:
        lines.append(f"  {f.source or f'%{f.node}'} ({f.op}): {f.reason}")
        if f.on_purpose:
            lines.append(f"      left to PyTorch on purpose: {f.on_purpose}")
        for rule, why in f.candidates:
            lines.append(f"      rule {rule}: {why}")
    suggestion = r.suggested_min_block_size
    if suggestion is not None:
        merged = sum(1 for f in r.fallbacks if f.segment_size is not None)
        lines.append(f"Suggestion: min_block_size={suggestion} would also run in TensorRT the {merged} ops whose "
                     f"segments were too small")
    if r.partitions and r.f32_contractions is not None:
        lines.append(f"Numerics: {NUMERICS_LINES[r.f32_contractions]}")
    if r.rule_fires:
        lines.append("Rules fired:")
        for rule, n in _by_count(r.rule_fires):
            lines.append(f"  {n:>5}  {rule}")
    for note in r.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines)


PATHS = {
    "rules": "torch.export's graph, lowered by .rw rules",
    "pytorch": "ExportedProgram.run_decompositions() on the whole program",
}


def _format_decompositions(r: CompileReport) -> list[str]:
    if r.decompositions is None:
        return []
    lines = [f"Decompositions: {PATHS.get(r.decompositions, r.decompositions)}"]
    if r.decompositions_reason:
        lines.append(f"  taken instead of the rules because {r.decompositions_reason}")
    if r.decomposed:
        ops = ", ".join(f"{packet_name(op)} x{n}" for op, n in _by_count(r.decomposed_ops))
        lines.append(f"  {len(r.decomposed)} nodes decomposed by PyTorch's table (candidates for rules): {ops}")
        for d in r.decomposed:
            src = f" ({d.source})" if d.source else ""
            made = Counter(packet_name(op) for op in d.produced)
            into = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in made.most_common()) or "its input"
            lines.append(f"    %{d.node} {d.op}{src}: decomposed by PyTorch's table ({d.decomposition}) into {into}")
    for d in r.not_decomposed:
        src = f" ({d.source})" if d.source else ""
        lines.append(f"    %{d.node} {d.op}{src}: PyTorch's decomposition ({d.decomposition}) not used: {d.reason}")
    if r.lowered_unconverted:
        ops = ", ".join(f"{packet_name(op)} x{n}" for op, n in
                        _by_count(Counter(u.op for u in r.lowered_unconverted)))
        lines.append(f"  {len(r.lowered_unconverted)} nodes lowered because no converter takes them: {ops}")
        for u in r.lowered_unconverted:
            src = f" ({u.source})" if u.source else ""
            lines.append(f"    %{u.node} {u.op}{src}: no converter takes it; lowered by rule {u.rule}")
            for rule, why in u.converters:
                lines.append(f"        converter {rule}: {why}")
    return lines
