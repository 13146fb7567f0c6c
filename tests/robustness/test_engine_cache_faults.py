"""The engine cache (``cache_dir``) under faults: index files that parse but are not indexes, engines replaced with
their hashes rewritten to match, entries sealed by someone else, folders that cannot be written, processes building
the same engine at once, and a size limit. Every fault costs at most a rebuild (and one warning), never a compile;
a forged engine never reaches a compiled program."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

import trt_passes
from tests.backend.test_engine_cache import artifact, bias, body
from trt_passes.backend import engine_cache
from trt_passes.backend.emit import BuildSettings, EngineArtifact
from trt_passes.backend.engine_cache import EngineCache, build_cached

REPO = Path(__file__).resolve().parents[2]
SETTINGS = BuildSettings()


@pytest.fixture(autouse=True)
def private_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(engine_cache, "_warned", set())


def _one_entry(folder: Path) -> tuple[Path, Path]:
    (index,) = folder.glob("*.json")
    return index.with_suffix(".engine"), index


def _stored(tmp_path: Path) -> tuple[Path, EngineArtifact]:
    folder = tmp_path / "engines"
    built, hit = build_cached(body(bias(7)), SETTINGS, folder)
    assert not hit
    return folder, built


def _edit_index(index: Path, change: Any) -> None:
    data = json.loads(index.read_text())
    index.write_text(json.dumps(change(data)))


# ---- damaged and forged entries ------------------------------------------------------------------------------------
STRUCTURES = {
    "a list": lambda d: [d],
    "a string": lambda d: "engine",
    "no artifact": lambda d: {k: v for k, v in d.items() if k != "artifact"},
    "artifact not a dict": lambda d: {**d, "artifact": ["relu"]},
    "num_layers a string": lambda d: {**d, "artifact": {**d["artifact"], "num_layers": "3"}},
    "layer_names not strings": lambda d: {**d, "artifact": {**d["artifact"], "layer_names": [1, 2]}},
    "an unknown artifact field": lambda d: {**d, "artifact": {**d["artifact"], "engine": "x"}},
    "an extra field": lambda d: {**d, "extra": 1},
    "sha256 a number": lambda d: {**d, "sha256": 7},
    "bytes null": lambda d: {**d, "bytes": None},
    "another key": lambda d: {**d, "key": "0" * 64},
    "no seal": lambda d: {k: v for k, v in d.items() if k != "seal"},
    "another format": lambda d: {**d, "cache_format": 1},
}


@pytest.mark.parametrize("damage", sorted(STRUCTURES))
def test_an_index_that_parses_but_is_not_one_is_rebuilt(tmp_path: Path, damage: str) -> None:
    folder, built = _stored(tmp_path)
    _, index = _one_entry(folder)
    _edit_index(index, STRUCTURES[damage])
    again, hit = build_cached(body(bias(7)), SETTINGS, folder)
    assert not hit and again.engine == built.engine
    assert build_cached(body(bias(7)), SETTINGS, folder)[1]  # rebuilt over: the next compile hits


@pytest.mark.parametrize("damage", ["truncated json", "empty json", "binary json", "engine truncated",
                                    "engine missing", "index missing", "engine bit flip"])
def test_a_damaged_entry_is_rebuilt(tmp_path: Path, damage: str) -> None:
    folder, built = _stored(tmp_path)
    engine, index = _one_entry(folder)
    if damage == "truncated json":
        index.write_text(index.read_text()[:40])
    elif damage == "empty json":
        index.write_bytes(b"")
    elif damage == "binary json":
        index.write_bytes(os.urandom(64))
    elif damage == "engine truncated":
        engine.write_bytes(engine.read_bytes()[:100])
    elif damage == "engine missing":
        engine.unlink()
    elif damage == "index missing":
        index.unlink()
    else:
        data = bytearray(engine.read_bytes())
        data[len(data) // 2] ^= 4
        engine.write_bytes(bytes(data))
    again, hit = build_cached(body(bias(7)), SETTINGS, folder)
    assert not hit and again.engine == built.engine


def test_an_engine_replaced_with_its_hash_rewritten_to_match_is_never_used(tmp_path: Path) -> None:
    folder, built = _stored(tmp_path)
    engine, index = _one_entry(folder)
    forged = os.urandom(len(built.engine))
    engine.write_bytes(forged)
    _edit_index(index, lambda d: {**d, "sha256": hashlib.sha256(forged).hexdigest(), "bytes": len(forged)})
    again, hit = build_cached(body(bias(7)), SETTINGS, folder)
    assert not hit and again.engine == built.engine and again.engine != forged


def test_an_entry_sealed_with_another_users_key_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "mallory"))
    folder = tmp_path / "engines"
    key = "f" * 64
    EngineCache(folder).put(key, artifact(b"mallory's engine"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert EngineCache(folder).get(key) is None


def test_a_whole_compile_survives_a_cache_folder_full_of_garbage(tmp_path: Path) -> None:
    folder = tmp_path / "engines"
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).eval()
    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(0))
    first = _compile(model, x, folder)
    for path in folder.iterdir():
        if path.is_file():
            path.write_bytes(b"[1, 2, 3]" if path.suffix == ".json" else os.urandom(32))
    again = _compile(model, x, folder)
    assert [p.cached for p in again.compile_report.partitions] == [False]
    assert torch.equal(again(x), first(x))


def _compile(model: torch.nn.Module, x: torch.Tensor, folder: Path) -> Any:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return trt_passes.compile(model, inputs=[x], cache_dir=folder, min_block_size=1, runtime="reference")


# ---- folders that cannot be used ------------------------------------------------------------------------------------
def test_a_file_where_the_folder_should_be_warns_once_and_compiles(tmp_path: Path) -> None:
    blocker = tmp_path / "engines"
    blocker.write_text("not a folder")
    with pytest.warns(RuntimeWarning, match="compiling without the engine cache") as record:
        first = build_cached(body(bias(1)), SETTINGS, blocker)
        second = build_cached(body(bias(2)), SETTINGS, blocker)
    assert len(record) == 1 and not first[1] and not second[1]


def test_a_full_disk_warns_once_and_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(engine_cache, "_atomic_write", full)
    with pytest.warns(RuntimeWarning, match="No space left") as record:
        built, hit = build_cached(body(bias(1)), SETTINGS, tmp_path / "engines")
        build_cached(body(bias(2)), SETTINGS, tmp_path / "engines")
    assert len(record) == 1 and not hit and built.num_layers >= 1
    assert not [p for p in (tmp_path / "engines").iterdir() if p.suffix in (".tmp", ".json", ".engine")]


def test_a_read_only_folder_serves_what_it_holds_and_warns_instead_of_storing(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder, built = _stored(tmp_path)

    def read_only(path: Path, data: bytes) -> None:
        raise PermissionError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(engine_cache, "_atomic_write", read_only)
    assert build_cached(body(bias(7)), SETTINGS, folder) == (built, True)
    with pytest.warns(RuntimeWarning, match="Read-only file system"):
        assert not build_cached(body(bias(8)), SETTINGS, folder)[1]


def test_a_cache_path_under_a_file_warns_and_compiles(tmp_path: Path) -> None:
    # The unusable folder every user meets, root included (root ignores permission bits: see the next test).
    blocker = tmp_path / "a_file"
    blocker.write_bytes(b"not a folder")
    with pytest.warns(RuntimeWarning, match="compiling without the engine cache"):
        built, hit = build_cached(body(bias(9)), SETTINGS, blocker / "engines")
    assert not hit and built.num_layers >= 1
    assert blocker.read_bytes() == b"not a folder"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores permission bits; the test above covers an unusable folder as root")
def test_a_folder_without_write_permission_warns_and_compiles(tmp_path: Path) -> None:
    folder, _ = _stored(tmp_path)
    folder.chmod(0o555)
    try:
        with pytest.warns(RuntimeWarning, match="compiling without the engine cache"):
            assert not build_cached(body(bias(9)), SETTINGS, folder)[1]
    finally:
        folder.chmod(0o755)


def test_without_a_usable_sealing_key_the_cache_is_skipped_with_a_warning(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("trt_passes.ir.sealing.secret_key", lambda: None)
    with pytest.warns(RuntimeWarning, match="no usable sealing key"):
        built, hit = build_cached(body(bias(3)), SETTINGS, tmp_path / "engines")
    assert not hit and built.num_layers >= 1


# ---- concurrent builders -------------------------------------------------------------------------------------------
WORKER = textwrap.dedent("""
    import sys, time
    from tests.backend.test_engine_cache import bias, body
    from trt_passes.backend import engine_cache
    from trt_passes.backend.emit import BuildSettings
    builds = []
    real = engine_cache.emit_engine
    def counted(*args, **kwargs):
        builds.append(1)
        time.sleep(1.0)  # a slow build: the others must be waiting on the lock meanwhile
        return real(*args, **kwargs)
    engine_cache.emit_engine = counted
    while time.time() < float(sys.argv[2]):  # start together
        time.sleep(0.01)
    artifact, hit = engine_cache.build_cached(body(bias(5)), BuildSettings(), sys.argv[1])
    print(len(builds), int(hit), artifact.num_layers)
""")


def test_processes_building_one_engine_build_it_once(tmp_path: Path) -> None:
    start = str(time.time() + 8.0)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path / "engines"), start], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        results.append(tuple(int(v) for v in out.split()))
    assert sorted((builds, hit) for builds, hit, _ in results) == [(0, 1), (0, 1), (1, 0)]


# ---- size limit ----------------------------------------------------------------------------------------------------
def test_least_recently_used_entries_go_beyond_the_size_limit(tmp_path: Path) -> None:
    folder = tmp_path / "engines"
    big = EngineCache(folder, max_bytes=None)
    for i, key in enumerate(("a" * 64, "b" * 64, "c" * 64)):
        big.put(key, artifact(bytes([i]) * 4000))
        os.utime(folder / f"{key}.json", (1000 + i, 1000 + i))
    assert big.get("a" * 64) is not None  # used now: the most recent
    limited = EngineCache(folder, max_bytes=2 * 4000 + 4000)
    limited.put("d" * 64, artifact(b"d" * 4000))
    # 4 entries of ~4.4 kB against 12 kB: b and c (least recently used) go; a (just read) and d (just stored) stay
    assert sorted(p.stem for p in folder.glob("*.json")) == ["a" * 64, "d" * 64]
    assert sorted(p.stem for p in folder.glob("*.engine")) == ["a" * 64, "d" * 64]
    assert sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) <= limited.max_bytes


def test_an_engine_larger_than_the_limit_is_built_and_not_stored(tmp_path: Path) -> None:
    with pytest.warns(RuntimeWarning, match="larger than engine_cache_size"):
        built, hit = build_cached(body(bias(4)), SETTINGS, tmp_path / "engines", max_bytes=100)
    assert not hit and built.num_layers >= 1 and not list((tmp_path / "engines").glob("*.engine"))
