"""Run compiled models on a GPU with TensorRT: parity and latency against eager PyTorch (``scripts/gpu_check.sh``).

    python -m benchmarks.gpu_check [resnet18 mobilenet_v2 bert ...] [--disable-tf32] [--iterations N]

Needs a GPU TensorRT supports and a TensorRT runtime (``tensorrt``, or ``tensorrt_rtx`` on compute capability 8.0,
8.6, 8.9 or 12.0+); exits with status 2 and the reason otherwise. Each model (random weights) is compiled with
``runtime="tensorrt"``, so every segment runs its engine (never the reference runtime), and compared with eager
PyTorch in float32 (TF32 off in cuDNN and cuBLAS, so the reference is float32) and float64 on the same inputs; the
tolerance is the one ``--check`` uses for the precision the engines compute in (with TF32: 5e-3, or four times
eager's own error under TF32 rounding). Latency is the median of ``--iterations`` timed calls after warm-up,
synchronised with CUDA events; eager runs with torch's default backend settings.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.utils._pytree as pytree

import trt_passes
from benchmarks.zoo import ZOO
from trt_passes.backend.engine_runner import tensorrt_runtime_status
from trt_passes.tools.parity import TOLERANCE, max_relative_error, tf32_tolerance

DEFAULT_MODELS = ("resnet18", "mobilenet_v2", "bert")
EXIT_NO_GPU = 2


def _to(x: Any, device: str, dtype: torch.dtype | None = None) -> Any:
    def move(t: Any) -> Any:
        if not isinstance(t, torch.Tensor):
            return t
        t = t.to(device)
        return t.to(dtype) if dtype is not None and t.is_floating_point() else t
    return pytree.tree_map(move, x)


def median_ms(fn: Callable[[], Any], iterations: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(iterations):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def eager_float32(model: torch.nn.Module, inputs: Any) -> Any:
    """The model in float32 on the GPU: cuDNN and cuBLAS would otherwise use TF32 too (cuDNN does by default)."""
    flags = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        return model(*inputs)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = flags


def check(name: str, disable_tf32: bool, iterations: int) -> tuple[bool, str]:
    entry = ZOO[name]
    model = entry.build().cuda()
    inputs = _to(tuple(entry.inputs()), "cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = trt_passes.compile(model, inputs=list(inputs), runtime="tensorrt", disable_tf32=disable_tf32)
    report = compiled.compile_report
    with torch.no_grad():
        got, expected = compiled(*inputs), eager_float32(model, inputs)
        vs_eager = max_relative_error(got, expected)
        tolerance = (tf32_tolerance(model, inputs, expected)[0] if report.f32_contractions == "tf32"
                     else TOLERANCE["f32"])
        vs_f64 = max_relative_error(got, copy.deepcopy(model).double()(*_to(inputs, "cuda", torch.float64)))
        eager_ms = median_ms(lambda: model(*inputs), iterations)
        ours_ms = median_ms(lambda: compiled(*inputs), iterations)
    ok = vs_eager <= tolerance
    line = (f"{name:<14} segments {len(report.partitions)}  fallbacks {len(report.fallbacks):>2}  "
            f"{report.f32_contractions or '-':>4}  vs eager {vs_eager:.2e}  vs float64 {vs_f64:.2e}  "
            f"(tolerance {tolerance:g}: {'ok' if ok else 'EXCEEDED'})  eager {eager_ms:.3f} ms  "
            f"TensorRT {ours_ms:.3f} ms  speedup {eager_ms / ours_ms:.2f}x")
    return ok, line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="gpu_check", description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=list(DEFAULT_MODELS), help=f"zoo names (default: {DEFAULT_MODELS})")
    p.add_argument("--disable-tf32", action="store_true", help="build the engines with TF32 cleared")
    p.add_argument("--iterations", type=int, default=50, help="timed calls per model (median reported)")
    args = p.parse_args(argv)
    ok, reason = tensorrt_runtime_status("cuda")
    if not ok:
        print(f"gpu_check: cannot run TensorRT engines here: {reason}", file=sys.stderr)
        return EXIT_NO_GPU
    print(f"gpu_check: {reason}; torch {torch.__version__}")
    unknown = [m for m in args.models if m not in ZOO]
    if unknown:
        print(f"gpu_check: unknown models {unknown}; choose from {sorted(ZOO)}", file=sys.stderr)
        return 1
    failed = 0
    for name in args.models:
        passed, line = check(name, args.disable_tf32, args.iterations)
        print(line, flush=True)
        failed += not passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
