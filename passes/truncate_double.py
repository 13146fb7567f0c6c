"""truncate_double (``truncate_double=True``): float64 tensors become float32, so a float64 model runs in TensorRT.

TensorRT has no float64 tensors: without this option every op reading or making one stays in PyTorch. With it, as
Torch-TensorRT's option of the same name: float64 constants (weights) are cast to float32 when compiling (new
constants; the model's tensors are never modified), float64 inputs are cast to float32 where they enter, and a
``dtype`` argument asking for float64 (``x.double()``, ``torch.arange(..., dtype=torch.float64)``) asks for float32.
The model's float64 outputs are cast back to float64, so the compiled program is called, and answers, as before,
with float32's precision (a relative error near 6e-8 per rounding, instead of 1e-16). Runs right after
``functionalize``, so lowering, folding and the converters see a float32 graph.
"""

from __future__ import annotations

from trt_passes.ir import Graph, Value
from trt_passes.ir.ops import OpRegistry
from trt_passes.passes.context import PassContext
from trt_passes.passes.precision import Caster, PrecisionStats, infer_types

RULE = "truncate_double"  # provenance of the casts and constants this pass makes
DOUBLE, SINGLE = "f64", "f32"


def truncate_double(g: Graph, ops: OpRegistry) -> PrecisionStats:
    """Make every float64 tensor of ``g`` float32, as the module docstring says; ``reduced`` counts the ops changed."""
    original = {Value(n.id, i): t for n in g.all_nodes() for i, t in enumerate(n.outputs)}
    stats = PrecisionStats()
    caster = Caster(g, ops, stats, rule=RULE)
    for nid in g.topo_order():
        node = g.node(nid)
        if node.op in ("input", "constant"):
            continue
        if node.op == "output":  # the model's outputs keep their dtypes
            for slot, v in enumerate(g.inputs(nid)):
                if g.type(v) != original[v]:
                    g.set_input(nid, slot, caster.cast(v, original[v].dtype))
            continue
        changed = False
        for slot, v in enumerate(g.inputs(nid)):
            if g.type(v).dtype == DOUBLE:
                g.set_input(nid, slot, caster.cast(v, SINGLE))
            changed |= g.type(g.input(nid, slot)) != original[v]  # cast here, or its producer now makes f32
        attrs = _single_dtype_args(ops, node.op, node.attrs)
        if not changed and attrs is node.attrs:
            continue
        node = g.replace_node(nid, attrs=attrs)
        g.replace_node(nid, outputs=infer_types(g, ops, node, who=RULE))
        stats.reduced += 1
    return stats


def _single_dtype_args(ops: OpRegistry, op: str, attrs: dict) -> dict:
    """``attrs`` with each ScalarType argument asking for float64 asking for float32 (the same dict if none does)."""
    if not ops.has(op):
        return attrs
    asks = [a.name for a in ops.schema(op).args if "ScalarType" in a.type and attrs.get(a.name) == DOUBLE]
    return {**attrs, **dict.fromkeys(asks, SINGLE)} if asks else attrs


def run(ctx: PassContext, params: dict[str, str]) -> str:
    if not ctx.settings.truncate_double:
        return "truncate_double=False: float64 tensors stay float64 (and in PyTorch)"
    stats = truncate_double(ctx.graph, ctx.ops)
    return f"{stats.reduced} ops now compute in f32; {stats.casts} casts inserted, {stats.constants} constants cast"

