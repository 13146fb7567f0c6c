"""Where compile time goes, per model: torch.export, each of our passes, TensorRT's builder; and layers emitted.

    python -m benchmarks.compile_time [resnet18 bert ...]

Prints one table per model and a summary; each number comes from one run on this machine.
"""

from __future__ import annotations

import sys
import time
import warnings

import torch

from benchmarks.zoo import ZOO
from trt_passes.compiler import build_runtime_program, run_passes
from trt_passes.frontends import get_frontend
from trt_passes.passes.settings import CompileSettings


def measure(name: str) -> dict[str, object]:
    entry = ZOO[name]
    model, inputs = entry.build(), entry.inputs()
    frontend = get_frontend("dynamo")
    t0 = time.perf_counter()
    graph = frontend.import_model(model, inputs)
    t_import = time.perf_counter() - t0
    settings = CompileSettings(runtime="reference")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = run_passes(graph, settings)
        build_runtime_program(ctx.graph, settings)
    report = ctx.report
    return {
        "name": name,
        "import": t_import,
        "passes": [(p.name, p.seconds, p.nodes_before, p.nodes_after) for p in report.passes],
        "build": sum(p.build_seconds or 0.0 for p in report.partitions),
        "layers": sum(p.layers or 0 for p in report.partitions),
        "segments": len(report.partitions),
        "fallbacks": len(report.fallbacks),
    }


def main(names: list[str]) -> None:
    torch.set_num_threads(2)
    rows = []
    for name in names:
        m = measure(name)
        rows.append(m)
        print(f"\n{name}: export+import {m['import']:.2f} s")
        print(f"  {'pass':<22}{'ms':>9}{'ops before':>12}{'ops after':>11}")
        for pname, sec, before, after in m["passes"]:
            print(f"  {pname:<22}{sec * 1e3:9.1f}{before:12}{after:11}")
    # "ours s" is the pipeline minus TensorRT's builder: what trt-passes itself spends.
    print(f"\n{'model':<14}{'segments':>9}{'fallbacks':>10}{'layers':>8}{'export s':>10}{'passes s':>10}"
          f"{'ours s':>10}{'TRT build s':>12}")
    for m in rows:
        total = sum(p[1] for p in m["passes"])
        ours = total - m["build"]
        print(f"{m['name']:<14}{m['segments']:>9}{m['fallbacks']:>10}{m['layers']:>8}{m['import']:>10.2f}"
              f"{total:>10.2f}{ours:>10.2f}{m['build']:>12.2f}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["resnet18", "mobilenet_v2", "bert"])
