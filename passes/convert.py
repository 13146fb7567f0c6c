"""Conversion: run the converter rule sets (ATen -> TensorRT dialect) inside every TensorRT segment."""

from __future__ import annotations

from trt_passes.dsl import rewrite
from trt_passes.ir import STRUCTURAL_OPS
from trt_passes.passes.context import PassContext

#: the rule sets this pass runs without a ``rulesets=`` parameter, and their kind (pooled: see converter_pool)
DEFAULT_RULESETS, RULE_KIND = "convert.*", "converter"


class ConversionError(RuntimeError):
    """A node the partitioner accepted was left unconverted (a rule matched at partition time but not here)."""


def run(ctx: PassContext, params: dict[str, str]) -> str:
    rulesets = ctx.converter_pool(params.get("rulesets", DEFAULT_RULESETS))
    converted = 0
    for node in list(ctx.graph.all_nodes()):
        if node.op != "segment":
            continue
        body = node.attrs["body"]
        for rs in rulesets:
            stats = rewrite(body, rs, ctx.ops, budget=ctx.settings.rewrite_budget,
                            trace=ctx.tracer(body, node.attrs["name"]))
            ctx.report.rule_fires.update(stats.fires)
            converted += sum(stats.fires.values())
        left = [n for n in body.all_nodes() if n.op not in STRUCTURAL_OPS and not n.op.startswith("trt.")]
        if left:
            names = ", ".join(f"%{n.id} {n.op} ({n.provenance.source})" for n in left[:5])
            raise ConversionError(f"segment {node.attrs['name']}: {len(left)} ops were not converted: {names}")
    return f"{converted} rule applications"
