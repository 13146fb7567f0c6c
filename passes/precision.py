"""Reduced precision (``enabled_precisions`` with f16 or bf16): float32 compute runs in the reduced dtype.

Each op that reads float32 tensors gets one of three treatments, from the table ``spec/precision/policy.ops``:

* ``keep_f32`` (softmax, accumulating reductions, normalisations, exp/log/pow, and the ops that lowering rules
  listed in ``keep_f32_rules`` made of such ops, e.g. a variance's squared deviations): its inputs are cast (back)
  up to float32 and its results stay float32;
* ``follow`` (views, selections, comparisons, casts: exact in any dtype): it runs in the dtype its non-constant
  inputs already have (float32 when they disagree, which is exact, or when it reads only constants), so a float32
  result flows on until the next computing op casts it down;
* every other op computes in the reduced dtype: its float32 inputs are cast down.

Ops whose float inputs were not all float32 in the model (it mixed dtypes on purpose) and ops reading no float32
tensor are left as they are. Constants are cast when compiling (a new constant node; the model's weight tensors are
held by reference and never modified); other values through ``aten._to_copy`` nodes, at most one per value and dtype.
The model's inputs keep their dtypes and its float32 outputs are cast back to float32, so the compiled program is
called as before; a custom op (a library op, :mod:`trt_passes.ir.library_ops`) gets its inputs in the dtypes the
model gave it, since nothing says it computes in another. Output types of the ops whose inputs changed dtype are
inferred again through the op registry.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from trt_passes.ir import FLOAT_DTYPES, Graph, Node, Provenance, Slot, TensorType, Value, torch_dtype
from trt_passes.ir.aten import qualified_packet
from trt_passes.ir.interpreter import node_args
from trt_passes.ir.ops import OpRegistry
from trt_passes.passes.context import PassContext

CAST_OP = "aten._to_copy.default"  # the cast the lowering rules write and the converter rules turn into trt.cast
FLOAT32 = "f32"
RULE = "reduce_precision"  # provenance of the casts and constants this pass makes


class PrecisionTableError(ValueError):
    """A malformed ``.ops`` table: an unknown section, op or rule, or an entry listed twice."""


@dataclass(frozen=True)
class PrecisionTable:
    """Op packets (``aten.NAME``) kept in float32, lowering rules whose products are kept in float32, and op packets
    that follow their inputs' dtype."""

    keep_f32: frozenset[str]
    follow: frozenset[str]
    keep_f32_rules: frozenset[str] = frozenset()

    def treatment(self, op: str, rule: str | None = None) -> str:
        """``"keep_f32"``, ``"follow"`` or ``"reduce"`` for ``op``, created by lowering rule ``rule`` (or None)."""
        packet = qualified_packet(op)
        if packet in self.keep_f32 or rule in self.keep_f32_rules:
            return "keep_f32"
        if packet in self.follow:
            return "follow"
        return "reduce"


def policy_path() -> Path:
    return Path(str(resources.files("trt_passes.spec"))) / "precision" / "policy.ops"


def parse_table(text: str, source: str, ops: OpRegistry) -> PrecisionTable:
    sections: dict[str, set[str]] = {"keep_f32": set(), "keep_f32_rules": set(), "follow": set()}
    current: set[str] | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            name = line.strip("[]")
            if name not in sections:
                raise PrecisionTableError(f"{source}:{lineno}: unknown section [{name}]; sections: "
                                          f"{', '.join(sections)}")
            current = sections[name]
            continue
        if current is None:
            raise PrecisionTableError(f"{source}:{lineno}: ops before the first [section]")
        for packet in line.split():
            if current is sections["keep_f32_rules"]:  # rule names: checked against the loaded rules by check_rules
                if packet in current:
                    raise PrecisionTableError(f"{source}:{lineno}: {packet} is listed twice")
                current.add(packet)
                continue
            if not _packet_exists(ops, packet):
                raise PrecisionTableError(f"{source}:{lineno}: no op {packet!r} (write aten.NAME, no overload)")
            if any(packet in s for s in sections.values()):
                raise PrecisionTableError(f"{source}:{lineno}: {packet} is listed twice")
            current.add(packet)
    return PrecisionTable(frozenset(sections["keep_f32"]), frozenset(sections["follow"]),
                          frozenset(sections["keep_f32_rules"]))


def check_rules(table: PrecisionTable, rules: Any) -> None:
    """Every rule named in ``[keep_f32_rules]`` must be a lowering rule of ``rules`` (a RuleLibrary)."""
    known = {r.name for rs in rules.rulesets.values() if rs.kind == "lowering" for r in rs.rules}
    unknown = sorted(table.keep_f32_rules - known)
    if unknown:
        raise PrecisionTableError(f"spec/precision/{policy_path().name}: [keep_f32_rules] names no lowering rule "
                                  f"{', '.join(unknown)}")


def _packet_exists(ops: OpRegistry, packet: str) -> bool:
    prefix, _, name = packet.partition(".")
    if prefix not in ops.dialects or not name or "." in name:
        return False
    dialect = ops.dialects[prefix]
    # ATen's op_names() lists only the packets torch has loaded so far (torch.ops.aten fills in on first access);
    # its overloads(NAME) looks the packet up.
    overloads = getattr(dialect, "overloads", None)
    if overloads is not None:
        return bool(overloads(name))
    return any(op.startswith(packet + ".") for op in dialect.op_names())


@functools.lru_cache(maxsize=4)
def shipped_table(ops: OpRegistry) -> PrecisionTable:
    path = policy_path()
    return parse_table(path.read_text(), f"spec/precision/{path.name}", ops)


@dataclass
class PrecisionStats:
    reduced: int = 0
    """Ops now computing in the reduced dtype."""
    kept_f32: int = 0
    """Ops of the table's keep_f32 list reading float32 tensors: they stay float32."""
    casts: int = 0
    """``aten._to_copy`` nodes inserted."""
    constants: int = 0
    """Constants cast when compiling."""


class Caster:
    """Casts values, each (value, dtype) once: later readers reuse the cast, so nothing is cast down and up twice."""

    def __init__(self, g: Graph, ops: OpRegistry, stats: PrecisionStats, rule: str = RULE) -> None:
        self.g, self.ops, self.stats, self.rule = g, ops, stats, rule
        self.done: dict[tuple[Value, str], Value] = {}

    def cast(self, v: Value, dtype: str) -> Value:
        if self.g.type(v).dtype == dtype:
            return v
        key = (v, dtype)
        if key not in self.done:
            self.done[key] = self._make(v, dtype)
        return self.done[key]

    def _make(self, v: Value, dtype: str) -> Value:
        producer = self.g.node(v.node)
        source = producer.provenance.source
        if producer.op == "constant":
            assert producer.value is not None
            with torch.no_grad():  # a new tensor: the user's weight stays as it is, and no autograd graph
                value = producer.value.detach().to(torch_dtype(dtype))
            self.stats.constants += 1
            return Value(self.g.add_constant(value, name=producer.name, provenance=Provenance(
                source=source, rule=self.rule, replaced=(producer.id,))))
        schema = self.ops.schema(CAST_OP)
        attrs = {a.name: a.default for a in schema.args}
        attrs.update(self=Slot(0), dtype=dtype)
        t = self.g.type(v)
        self.stats.casts += 1
        return Value(self.g.add(CAST_OP, [v], attrs, [TensorType(dtype, t.shape)],
                                provenance=Provenance(source=source, rule=self.rule)))


def reduce_precision(g: Graph, ops: OpRegistry, dtype: str, table: PrecisionTable) -> PrecisionStats:
    """Make ``g``'s float32 compute run in ``dtype`` (``"f16"``/``"bf16"``) as the module docstring says."""
    if dtype not in ("f16", "bf16"):
        raise ValueError(f"reduced precision is f16 or bf16, not {dtype!r}")
    original = {Value(n.id, i): t for n in g.all_nodes() for i, t in enumerate(n.outputs)}
    stats = PrecisionStats()
    caster = Caster(g, ops, stats)
    for nid in g.topo_order():
        node = g.node(nid)
        if node.op in ("input", "constant"):
            continue
        library = ops.is_fallback_op(node.op)
        if node.op != "output" and not node.op.startswith("aten.") and not library:
            raise ValueError(f"reduce_precision works on ATen graphs (before partition and convert); found "
                             f"%{nid} {node.op}")
        inputs = g.inputs(nid)
        # The model's outputs keep their dtypes, and so do a custom op's inputs: it was written for them.
        if node.op == "output" or library:
            for slot, v in enumerate(inputs):
                if g.type(v) != original[v]:
                    g.set_input(nid, slot, caster.cast(v, original[v].dtype))
            continue
        target = _target(g, node, inputs, original, dtype, table)
        if target is None:
            continue
        stats.kept_f32 += table.treatment(node.op, node.provenance.rule) == "keep_f32"
        changed = False
        for slot, v in enumerate(inputs):
            if original[v].dtype == FLOAT32 and g.type(v).dtype != target:
                g.set_input(nid, slot, caster.cast(v, target))
            changed |= g.type(g.input(nid, slot)) != original[v]
        if not changed:
            continue
        outputs = infer_types(g, ops, node)
        if target == FLOAT32 and outputs != node.outputs:
            raise AssertionError(f"%{nid} {node.op}: inputs restored to float32 but its types went from "
                                 f"{node.outputs} to {outputs}")
        g.replace_node(nid, outputs=outputs)
        stats.reduced += target != FLOAT32
    return stats


def _target(g: Graph, node: Node, inputs: list[Value], original: dict[Value, TensorType], dtype: str,
            table: PrecisionTable) -> str | None:
    """The dtype ``node``'s float32 inputs are cast to, or None to leave the node alone."""
    floats = [original[v].dtype for v in inputs if original[v].dtype in FLOAT_DTYPES]
    if FLOAT32 not in floats:
        return None  # no float32 compute here (integer, bool, or other float dtypes only)
    treatment = table.treatment(node.op, node.provenance.rule)
    if treatment == "keep_f32" or any(f != FLOAT32 for f in floats):
        return FLOAT32  # sensitive, or the model mixes float dtypes here on purpose: as it was written
    if treatment == "follow":
        now = {g.type(v).dtype for v in inputs
               if original[v].dtype == FLOAT32 and g.node(v.node).op != "constant"}
        # Mixed: float32 holds both exactly. Constants only: keep them as they are, since they may be indices
        # (lowering writes argmax as a `where` over an arange constant) and float16 holds integers exactly only up
        # to 2048, bfloat16 up to 256; a computing op reading the result casts it down anyway.
        return now.pop() if len(now) == 1 else FLOAT32
    return dtype


def infer_types(g: Graph, ops: OpRegistry, node: Node, who: str = RULE) -> tuple[TensorType, ...]:
    env = {v: g.type(v) for v in g.inputs(node.id)}
    try:
        return tuple(ops.infer(node.op, node_args(g, node, env)))  # type: ignore[arg-type]  # types, not tensors
    except Exception as e:  # re-raised naming the node and the dtypes it was given
        given = ", ".join(str(t) for t in env.values())
        fix = f"; list it in [keep_f32] of {policy_path().name} to keep it in float32" if who == RULE else ""
        raise ValueError(f"{who}: %{node.id} {node.op} {node.provenance.describe()} does not take "
                         f"({given}): {type(e).__name__}: {e}{fix}") from e


def run(ctx: PassContext, params: dict[str, str]) -> str:
    dtype = ctx.settings.reduced_precision
    if dtype is None:
        return "float32 only (enabled_precisions): nothing to do"
    table = shipped_table(ctx.ops)
    if ctx.rules is not None:
        check_rules(table, ctx.rules)
    stats = reduce_precision(ctx.graph, ctx.ops, dtype, table)
    return (f"{stats.reduced} ops in {dtype}, {stats.kept_f32} kept in f32; {stats.casts} casts inserted, "
            f"{stats.constants} constants cast")
