"""Emission: build one TensorRT engine per segment (TensorRT, or TensorRT for RTX when that is what imports).

Each segment body first records the numerics its engine is built with (``body.meta["numerics"]``, from the
``disable_tf32`` setting): emission sets the builder flags from that record, and the reference runtime computes as it
says, so the two cannot disagree (``backend/layers/numerics.py``). The report says which precision float32
convolutions and matrix products run in.
"""

from __future__ import annotations

from trt_passes.backend.emit import BuildSettings, EmissionError, check_emission
from trt_passes.backend.engine_cache import build_cached
from trt_passes.backend.layers.numerics import Numerics
from trt_passes.backend.tensorrt_import import TensorRTNotAvailableError
from trt_passes.passes.context import PassContext


class SegmentBuildError(RuntimeError):
    """TensorRT refused to build a segment's engine. ``nodes``: the ids its ops had in the partitioned graph, which
    the driver leaves to PyTorch when it compiles again (``reason`` says why)."""

    def __init__(self, segment: str, nodes: list[int], error: EmissionError) -> None:
        super().__init__(f"segment {segment}: {error}")
        self.segment, self.nodes, self.error = segment, nodes, error
        first = str(error).splitlines()[0]
        self.reason = f"TensorRT failed to build the engine of its segment ({segment}): {first}"


def record_numerics(ctx: PassContext) -> Numerics:
    """Write the engines' numerics into every segment body and the report."""
    numerics = Numerics(tf32=not ctx.settings.disable_tf32)
    for node in ctx.graph.all_nodes():
        if node.op == "segment":
            node.attrs["body"].meta["numerics"] = numerics.to_meta()
    ctx.report.f32_contractions = numerics.f32_contractions
    return numerics


def run(ctx: PassContext, params: dict[str, str]) -> str:
    record_numerics(ctx)
    if not ctx.settings.build_engines:
        return check_networks(ctx)
    settings = BuildSettings(workspace_size=ctx.settings.workspace_size,
                             optimization_level=ctx.settings.optimization_level)
    built = cached = 0
    records = {p.name: p for p in ctx.report.partitions}
    for node in list(ctx.graph.all_nodes()):
        if node.op != "segment":
            continue
        record = records.get(node.attrs["name"])
        try:
            artifact, hit = build_cached(node.attrs["body"], settings, ctx.settings.cache_dir,
                                         ctx.settings.engine_cache_size)
        except EmissionError as e:
            if record is None or not record.nodes:
                raise
            raise SegmentBuildError(node.attrs["name"], record.nodes, e) from e
        ctx.graph.replace_node(node.id, attrs={**node.attrs, "engine": artifact})
        if record is not None:
            record.layers = artifact.num_layers
            record.engine_bytes = len(artifact.engine)
            record.build_seconds = artifact.build_seconds
            record.cached = hit
        cached += hit
        built += not hit
    return f"{built} engines built" + (f", {cached} from the cache" if ctx.settings.cache_dir is not None else "")


def check_networks(ctx: PassContext) -> str:
    """Without building engines (``explain``): define and type-check each segment's network, recording its layer
    count, or the emission error, on the segment's report entry."""
    records = {p.name: p for p in ctx.report.partitions}
    checked = 0
    for node in list(ctx.graph.all_nodes()):
        if node.op != "segment":
            continue
        record = records.get(node.attrs["name"])
        try:
            layers = check_emission(node.attrs["body"])
        except TensorRTNotAvailableError:
            return "engines not built; no TensorRT module to check the networks with"
        except EmissionError as e:
            if record is not None:
                record.emission_error = str(e)
            continue
        if record is not None:
            record.layers = len(layers)
        checked += 1
    return f"{checked} networks defined and type-checked; no engines built"
