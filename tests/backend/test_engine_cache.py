"""The engine cache: keys cover everything that shapes an engine, entries are written atomically, damaged entries
are misses, and concurrent processes sharing a cache directory both succeed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from trt_passes.backend.emit import BuildSettings, EngineArtifact
from trt_passes.backend.engine_cache import EngineCache, build_cached, engine_key
from trt_passes.backend.enums import ActivationType, ElementWiseOperation
from trt_passes.ir import Graph, Slot, TensorType, Value

F = TensorType("f32", (2, 8))
REPO = Path(__file__).resolve().parents[2]


def body(bias: torch.Tensor, act: ActivationType = ActivationType.RELU, shape: tuple[int, int] = (2, 8)) -> Graph:
    t = TensorType("f32", shape)
    g = Graph()
    x = g.add_input("x", t, 0)
    b = g.add_constant(bias, "bias")
    s = g.add("trt.elementwise", [Value(x), Value(b)], {"a": Slot(0), "b": Slot(1),
                                                         "op": ElementWiseOperation.SUM}, [t])
    r = g.add("trt.activation", [Value(s)], {"input": Slot(0), "type": act, "alpha": 0.0, "beta": 0.0}, [t])
    g.set_outputs([Value(r)])
    return g


def bias(seed: int = 0, shape: tuple[int, int] = (2, 8)) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


DEFAULT_SETTINGS = BuildSettings()


def key(g: Graph, settings: BuildSettings = DEFAULT_SETTINGS, version: str = "1.7.1.116") -> str:
    return engine_key(g, settings, "tensorrt_rtx", version)


def test_equal_segments_built_separately_share_a_key():
    assert key(body(bias(0))) == key(body(bias(0).clone()))


@pytest.mark.parametrize("change", ["weights", "one_weight_bit", "attribute", "shape", "settings", "tensorrt",
                                    "numerics"])
def test_the_key_changes_with_everything_that_shapes_the_engine(change: str):
    base = key(body(bias(0)))
    if change == "weights":
        other = key(body(bias(1)))
    elif change == "one_weight_bit":
        w = bias(0)
        w.view(torch.int32)[0, 0] ^= 1
        other = key(body(w))
    elif change == "attribute":
        other = key(body(bias(0), ActivationType.SIGMOID))
    elif change == "shape":
        other = key(body(bias(0, (2, 9)), shape=(2, 9)))
    elif change == "settings":
        other = key(body(bias(0)), BuildSettings(optimization_level=1))
    elif change == "numerics":  # the TF32 builder flag the body records (its engine is built with it)
        g = body(bias(0))
        g.meta["numerics"] = {"tf32": True}
        other = key(g)
    else:
        other = key(body(bias(0)), version="1.8.0.1")
    assert other != base


def artifact(engine: bytes = b"serialized-engine-bytes") -> EngineArtifact:
    return EngineArtifact(engine, ["relu:x#3"], 1, 0.25, "tensorrt_rtx", "1.7.1.116", ["x"], ["output0"])


def test_a_stored_artifact_reads_back_equal_and_leaves_no_temporary_files(tmp_path: Path):
    cache = EngineCache(tmp_path / "cache")
    assert cache.get("k" * 64) is None
    cache.put("k" * 64, artifact())
    assert cache.get("k" * 64) == artifact()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["k" * 64 + ".engine", "k" * 64 + ".json"]


@pytest.mark.parametrize("damage", ["engine_truncated", "engine_missing", "json_missing", "json_garbled"])
def test_a_partial_or_damaged_entry_is_a_miss(tmp_path: Path, damage: str):
    cache = EngineCache(tmp_path)
    cache.put("a" * 64, artifact())
    engine, meta = tmp_path / ("a" * 64 + ".engine"), tmp_path / ("a" * 64 + ".json")
    if damage == "engine_truncated":
        engine.write_bytes(engine.read_bytes()[:5])
    elif damage == "engine_missing":
        engine.unlink()
    elif damage == "json_missing":
        meta.unlink()
    else:
        meta.write_text(meta.read_text()[:10])
    assert cache.get("a" * 64) is None


def test_build_cached_builds_once_then_hits(tmp_path: Path):
    g = body(bias(3))
    first, hit1 = build_cached(g, BuildSettings(), tmp_path)
    second, hit2 = build_cached(body(bias(3)), BuildSettings(), tmp_path)
    assert (hit1, hit2) == (False, True)
    assert second.engine == first.engine and second.layer_names == first.layer_names
    meta = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert meta["artifact"]["tensorrt_module"] == first.tensorrt_module


WORKER = textwrap.dedent("""
    import json, sys
    import torch
    import trt_passes
    from trt_passes.tools.parity import max_relative_error
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3),
                                torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 4)).eval()
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    compiled = trt_passes.compile(model, inputs=[x], cache_dir=sys.argv[1], require_full_compilation=True,
                                  runtime="reference", disable_tf32=True)  # exact float32: a tight check
    with torch.no_grad():
        err = max_relative_error(compiled(x), model(x))
    print(json.dumps({"cached": [p.cached for p in compiled.compile_report.partitions], "err": err,
                      "report": str(compiled.compile_report)}))
""")


def run_workers(cache: Path, n: int) -> list[dict]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(cache)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, env=env) for _ in range(n)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_two_processes_building_into_one_cache_both_succeed_and_a_later_compile_hits(tmp_path: Path):
    cache = tmp_path / "engines"
    first = run_workers(cache, 2)
    for r in first:
        assert r["cached"] == [False] or r["cached"] == [True]  # a worker may find the other's finished engine
        assert r["err"] <= 1e-4
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]
    [later] = run_workers(cache, 1)
    assert later["cached"] == [True]
    assert "from the engine cache" in later["report"]
    assert later["err"] <= 1e-4
