"""The runtimes a TensorRT segment can run on, by the names ``compile(runtime=...)`` takes; what each means and which
one a segment uses is :mod:`trt_passes.backend.segment_runtime`'s. A module of its own so the compile settings can
check the name without loading the runtime (measured: importing the segment runtime costs about 0.5 s, the IR and
both dialects; this module, nothing)."""

from __future__ import annotations

RUNTIMES = ("auto", "tensorrt", "reference")


def check_runtime(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}; got {runtime!r}")
