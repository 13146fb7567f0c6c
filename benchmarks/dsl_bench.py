"""Benchmarks of the `.rw` engine: loading the shipped rules (cold and from the disk cache), rewriting synthetic
graphs of 1k, 10k and 100k nodes (time should grow linearly), and the compiled matchers against the interpreter.

    python -m benchmarks.dsl_bench [--sizes 1000,10000,100000]

Every number is one run on this machine (the cold load runs in a fresh process, so it includes building the parser).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import trt_passes.spec
from trt_passes.backend.registry import default_ops
from trt_passes.dsl import load_rules, match_at, rewrite
from trt_passes.dsl.compiled import compiled_matcher
from trt_passes.ir import Graph, TensorType, Value
from trt_passes.ir.construct import add_op

SPEC = Path(trt_passes.spec.__file__).parent
OPS = default_ops()

_LOAD = """
import time, sys
t0 = time.perf_counter()
from trt_passes.backend.registry import default_ops
from trt_passes.dsl import load_rules
from trt_passes.dsl.compiled import compiled_matcher
ops = default_ops()
t1 = time.perf_counter()
lib = load_rules([sys.argv[1] + "/lower", sys.argv[1] + "/convert"], ops)
t2 = time.perf_counter()
for rs in lib.rulesets.values():
    compiled_matcher(rs, ops)
t3 = time.perf_counter()
print(t2 - t1, t3 - t2, sum(len(rs.rules) for rs in lib.rulesets.values()))
"""


def load_times(cache: str) -> tuple[float, float, int]:
    """(load+check+analyse, compile matchers, rules) in a fresh process using ``cache``."""
    env = dict(os.environ, TRT_PASSES_CACHE=cache)
    out = subprocess.run([sys.executable, "-c", _LOAD, str(SPEC)], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def synthetic(n: int) -> Graph:
    """About ``n`` nodes: a chain of blocks x -> clone -> relu -> add(., c) -> mul(., c) -> sigmoid, each block with
    its own constant (lowering drops the clone, the converter turns the rest into TensorRT layers)."""
    g = Graph()
    h = Value(g.add_input("x", TensorType("f32", (4, 8)), 0))
    template: list[tuple[str, dict]] = []
    # one block built through the catalogue (types inferred), then replicated without re-inferring
    c = Value(g.add_constant(torch.ones(4, 8), "c0"))
    first = h
    for op, args in [("aten.clone.default", {}), ("aten.relu.default", {}), ("aten.add.Tensor", {"other": c}),
                     ("aten.mul.Tensor", {"other": c}), ("aten.sigmoid.default", {})]:
        nid = add_op(g, OPS, op, {"self": h, **args})
        template.append((op, dict(g.node(nid).attrs)))
        h = Value(nid)
    out_type = g.type(h)
    blocks = max(1, n // 6)
    for b in range(1, blocks):
        c = Value(g.add_constant(torch.ones(4, 8), f"c{b}"))
        for op, attrs in template:
            inputs = [h] if op in ("aten.clone.default", "aten.relu.default", "aten.sigmoid.default") else [h, c]
            h = Value(g.add(op, inputs, attrs, [out_type]))
    del first
    g.set_outputs([h])
    return g


def time_rewrite(n: int, lib) -> tuple[int, float, float]:
    g = synthetic(n)
    size = len(g)
    t0 = time.perf_counter()
    rewrite(g, lib.rulesets["lower.core"], OPS)
    t1 = time.perf_counter()
    rewrite(g, lib.rulesets["convert.core"], OPS)
    t2 = time.perf_counter()
    left = [nd.op for nd in g.all_nodes() if nd.op.startswith("aten.")]
    assert not left, left[:5]
    return size, t1 - t0, t2 - t1


def time_matching(lib, n: int) -> tuple[float, float, int]:
    """Seconds for match_at at every node for both rule sets: (compiled, interpreter, attempts)."""
    g = synthetic(n)
    nodes = g.topo_order()
    out = []
    for mode in ("compiled", "interp"):
        os.environ["TRT_PASSES_MATCHER"] = mode
        t0 = time.perf_counter()
        for rs in lib.rulesets.values():
            for nid in nodes:
                match_at(g, nid, rs, OPS)
        out.append(time.perf_counter() - t0)
    os.environ.pop("TRT_PASSES_MATCHER", None)
    return out[0], out[1], len(nodes) * len(lib.rulesets)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    args = ap.parse_args(argv)
    os.environ.pop("TRT_PASSES_MATCHER", None)
    with tempfile.TemporaryDirectory() as cache:
        cold = load_times(cache)
        warm = load_times(cache)
    print(f"shipped rules: {cold[2]} rules")
    print(f"{'load (parse+check+analyse)':32} cold {cold[0]:7.3f} s   cached {warm[0]:7.3f} s")
    print(f"{'compile matchers':32} cold {cold[1]:7.3f} s   cached {warm[1]:7.3f} s")
    lib = load_rules([SPEC / "lower", SPEC / "convert"], OPS)
    for rs in lib.rulesets.values():
        compiled_matcher(rs, OPS)
    print()
    print(f"{'nodes':>8} {'lower s':>9} {'convert s':>10} {'total s':>9} {'us/node':>8} {'x time':>7} {'x nodes':>8}")
    base = None
    for n in (int(s) for s in args.sizes.split(",")):
        size, lo, cv = time_rewrite(n, lib)
        total = lo + cv
        ratio = "" if base is None else f"{total / base[1]:7.1f} {size / base[0]:8.1f}"
        base = base or (size, total)
        print(f"{size:8d} {lo:9.3f} {cv:10.3f} {total:9.3f} {1e6 * total / size:8.1f} {ratio}")
    print()
    comp, interp, attempts = time_matching(lib, 3000)
    print(f"match_at at every node of a 3k-node graph, both rule sets ({attempts} calls):")
    print(f"  compiled {comp:7.3f} s   interpreter {interp:7.3f} s   speed-up x{interp / comp:.1f}")


if __name__ == "__main__":
    main()
