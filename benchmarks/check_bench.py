"""How long `trt-passes check` takes: the shipped rule set, and a rule author's file checked with it.

    python -m benchmarks.check_bench [--repeat 3]

Each case runs in a fresh process and times ``check_files`` only (the process's imports of torch and trt-passes,
about two seconds, are the same for every command and shown apart). Cases:

* shipped, cold: ``check spec/`` with an empty cache (the parser's tables, the library and torch's decomposition
  table are all built; the parser's tables are built in every process, never read from a cache: Lark's cache is a
  pickle, and cached files are untrusted input);
* shipped, cached: the same again;
* user file, edited: a user file changed since the last check (the library misses the cache and every file is
  parsed again; torch's table does not), tried on examples;
* user file, cached: the same file again.

Wall and CPU seconds; the median of ``--repeat`` runs (on a shared machine, CPU time is the steadier number).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import trt_passes.spec

SPEC = Path(trt_passes.spec.__file__).parent

_RUN = """
import sys, time
t0 = time.perf_counter()
from trt_passes.backend.registry import default_ops
from trt_passes.tools.rulecheck import check_files
ops = default_ops()
t1 = time.perf_counter()
c1 = time.process_time()
result = check_files(sys.argv[1:], ops)
t2 = time.perf_counter()
c2 = time.process_time()
assert not result.errors, result.render()
print(t1 - t0, t2 - t1, c2 - c1, len(result.checked))
"""

USER_FILE = """ruleset convert.mine : converter
# edit {n}
rule fused_hardtanh_relu priority 1
    "relu of a hardtanh with a non-negative lower bound is the hardtanh"
    aten.relu.default(aten.hardtanh.default(x: Tensor<f32|f16>, lo, hi))
    where lo >= 0.0
    => trt.activation(x, type=ActivationType.CLIP, alpha=lo, beta=hi)
    domain {{ x: f32|f16 [1..3, 4] lo: 0.0 | 0.5 hi: 1.0 | 6.0 }}

rule relu_of_relu priority 1
    "relu of relu is relu"
    aten.relu.default(aten.relu.default(x: Tensor<f32>))
    => trt.activation(x, type=ActivationType.RELU)
    domain {{ x: f32 [2, 3] }}
"""


def run(cache: str, paths: list[str]) -> tuple[float, float, float, int]:
    """(imports, check wall, check cpu, rules checked) in a fresh process using ``cache``."""
    env = dict(os.environ, TRT_PASSES_CACHE=cache)
    out = subprocess.run([sys.executable, "-c", _RUN, *paths], env=env, capture_output=True, text=True, check=True)
    imports, wall, cpu, n = out.stdout.split()
    return float(imports), float(wall), float(cpu), int(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, float, float, int]]] = {}
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            rows.setdefault("shipped, cold", []).append(run(cache, [str(SPEC)]))
            rows.setdefault("shipped, cached", []).append(run(cache, [str(SPEC)]))
            user = Path(cache) / "mine.rw"
            user.write_text(USER_FILE.format(n=i))
            rows.setdefault("user file, edited", []).append(run(cache, [str(user)]))
            rows.setdefault("user file, cached", []).append(run(cache, [str(user)]))
    print(f"{'case':<20} {'rules':>5} {'wall s':>8} {'cpu s':>8} {'imports s':>10}")
    for case, runs in rows.items():
        imports, wall, cpu = (statistics.median(r[k] for r in runs) for k in range(3))
        print(f"{case:<20} {runs[0][3]:>5} {wall:>8.3f} {cpu:>8.3f} {imports:>10.2f}")


if __name__ == "__main__":
    main()
