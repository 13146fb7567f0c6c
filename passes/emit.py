"""Emission: build one TensorRT engine per segment (TensorRT, or TensorRT for RTX when that is what imports)."""

from __future__ import annotations

from trt_passes.passes.context import PassContext


def run(ctx: PassContext, params: dict[str, str]) -> str:
    if not ctx.settings.build_engines:
        return "skipped (build_engines=False)"
    from trt_passes.backend.emit import BuildSettings, emit_engine

    settings = BuildSettings(workspace_size=ctx.settings.workspace_size,
                             optimization_level=ctx.settings.optimization_level)
    built = 0
    records = {p.name: p for p in ctx.report.partitions}
    for node in list(ctx.graph.all_nodes()):
        if node.op != "segment":
            continue
        artifact = emit_engine(node.attrs["body"], settings)
        ctx.graph.replace_node(node.id, attrs={**node.attrs, "engine": artifact})
        record = records.get(node.attrs["name"])
        if record is not None:
            record.layers = artifact.num_layers
            record.engine_bytes = len(artifact.engine)
            record.build_seconds = artifact.build_seconds
        built += 1
    return f"{built} engines built"
