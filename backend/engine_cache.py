"""An on-disk engine cache (``compile(..., cache_dir=...)``): a segment whose engine was built before is not rebuilt.

**Key.** SHA-256 over: the emitted segment body as :mod:`~trt_passes.backend.body_codec` data (ops, attributes, enum
members, shapes, dtypes, edges, provenance: layer names come from provenance and are part of the engine; its meta,
with the numerics record that sets the TF32 builder flag), every constant's dtype, shape and bytes, the build
settings (workspace size, optimisation level) and the TensorRT module and version. Anything that could change the
engine changes the key.

**Layout.** ``<cache_dir>/<key>.engine`` (the serialised engine) and ``<key>.json``, its index: the key, the engine's
size and SHA-256, the artifact's other fields, and a seal, an HMAC under this user's key over all of these
(:mod:`trt_passes.ir.sealing`). Reading checks the index's structure and seal and the engine's size and hash, so an
engine someone replaced, an index edited to match it, or both, is a miss: without the user's key nobody can make an
entry that passes, and no edit of one file (or two) gets a different engine into a compile. Each file is written to
a temporary file and moved into place, the engine first, so a reader that finds the index finds the whole engine.

**Faults cost time, never the compile.** Any damaged, partial or foreign entry (bad JSON, wrong structure, bad seal,
bad hash) is a miss and is rebuilt over. A folder that cannot be read, created or written (read-only, full, a file
in its place) makes the compile go on without the cache, with one warning per folder and process.

**Concurrency.** Processes building the same key coordinate with a file lock (``filelock``; one of 256 lock files
in ``<cache_dir>/.locks``, picked by the key): one builds, the others wait, then read its entry.

**Size.** A hit marks its entry used (the index's modification time); after each store the least recently used
entries are deleted until the folder holds at most ``engine_cache_size`` bytes (default 5 GiB, as in
Torch-TensorRT). An engine larger than that on its own is not stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock, Timeout

from trt_passes.backend.body_codec import encode_body
from trt_passes.backend.emit import BuildSettings, EngineArtifact, emit_engine
from trt_passes.backend.tensorrt_import import find_tensorrt
from trt_passes.ir import sealing
from trt_passes.ir.graph import Graph

CACHE_FORMAT = 2
DEFAULT_MAX_BYTES = 5 << 30
LOCK_TIMEOUT_S = 3600.0  # the longest another process's build is waited for before building in parallel
_ORPHAN_AGE_S = 3600.0  # an engine file without index this old is left over from a crash (not being written)

_ARTIFACT_TYPES: dict[str, Any] = {
    "layer_names": list, "num_layers": int, "build_seconds": (int, float), "tensorrt_module": str,
    "tensorrt_version": str, "input_names": list, "output_names": list,
}
_INDEX_KEYS = {"cache_format", "key", "sha256", "bytes", "artifact", "seal"}
_warned: set[str] = set()


def _tensor_bytes(t: torch.Tensor) -> bytes:
    flat = t.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def engine_key(body: Graph, settings: BuildSettings, tensorrt_module: str, tensorrt_version: str) -> str:
    """The cache key of ``body`` built with ``settings`` by ``tensorrt_module`` ``tensorrt_version``."""
    data, weights = encode_body(body)
    h = hashlib.sha256()
    header = {"cache_format": CACHE_FORMAT, "tensorrt": [tensorrt_module, tensorrt_version],
              "settings": asdict(settings), "body": data,
              "weights": [[str(w.dtype), list(w.shape)] for w in weights]}
    h.update(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    for w in weights:
        h.update(_tensor_bytes(w))
    return h.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # less the umask, as any file the user writes
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _warn_once(directory: Path, reason: str) -> None:
    if str(directory) not in _warned:
        _warned.add(str(directory))
        warnings.warn(f"trt_passes: compiling without the engine cache {directory}: {reason}", RuntimeWarning,
                      stacklevel=3)


def _valid_artifact(fields: Any) -> bool:
    if not (isinstance(fields, dict) and set(fields) == set(_ARTIFACT_TYPES)):
        return False
    for name, kind in _ARTIFACT_TYPES.items():
        value = fields[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            return False
        if kind is list and not all(type(v) is str for v in value):
            return False
    return True


class EngineCache:
    """Engines by key in ``directory`` (created on first store), at most ``max_bytes`` of them (None: no limit)."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int | None = DEFAULT_MAX_BYTES) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.engine", self.directory / f"{key}.json"

    @staticmethod
    def _seal(key: str, index: dict[str, Any]) -> bytes | None:
        body = {k: v for k, v in index.items() if k != "seal"}
        return sealing.signature(f"engines/{key}", json.dumps(body, sort_keys=True, separators=(",", ":")).encode())

    def get(self, key: str) -> EngineArtifact | None:
        """The cached artifact, or None: missing, partial, damaged, forged or unreadable entries are misses."""
        engine_path, index_path = self._paths(key)
        try:
            index = json.loads(index_path.read_bytes())
            engine = engine_path.read_bytes()
        except (OSError, ValueError):
            return None
        if not (isinstance(index, dict) and set(index) == _INDEX_KEYS and index["cache_format"] == CACHE_FORMAT
                and index["key"] == key and type(index["seal"]) is str and _valid_artifact(index["artifact"])):
            return None
        seal = self._seal(key, index)
        if seal is None or not hmac.compare_digest(seal.hex(), index["seal"]):
            return None
        if len(engine) != index["bytes"] or hashlib.sha256(engine).hexdigest() != index["sha256"]:
            return None
        try:
            os.utime(index_path)  # most recently used: eviction goes by this time
        except OSError:
            pass  # a read-only cache still serves its entries
        return EngineArtifact(engine=engine, **index["artifact"])

    def put(self, key: str, artifact: EngineArtifact) -> None:
        """Store ``artifact`` (OSError when the folder cannot be written; ValueError without a sealing key), then
        delete the least recently used entries beyond the size limit."""
        fields = {k: v for k, v in asdict(artifact).items() if k != "engine"}
        index: dict[str, Any] = {"cache_format": CACHE_FORMAT, "key": key,
                                 "sha256": hashlib.sha256(artifact.engine).hexdigest(), "bytes": len(artifact.engine),
                                 "artifact": fields}
        seal = self._seal(key, index)
        if seal is None:
            raise ValueError(f"no usable sealing key ({sealing.key_path()})")
        index["seal"] = seal.hex()
        text = json.dumps(index, indent=1).encode()
        if self.max_bytes is not None and len(artifact.engine) + len(text) > self.max_bytes:
            raise ValueError(f"the engine ({len(artifact.engine)} bytes) is larger than engine_cache_size "
                             f"({self.max_bytes} bytes)")
        self.directory.mkdir(parents=True, exist_ok=True)
        engine_path, index_path = self._paths(key)
        _atomic_write(engine_path, artifact.engine)
        _atomic_write(index_path, text)
        self.evict(keep=key)

    def lock(self, key: str) -> FileLock:
        """The lock held while building ``key`` (one of 256, picked by the key's first two hex digits)."""
        folder = self.directory / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(folder / f"{key[:2]}.lock"))

    def entries(self) -> list[tuple[float, str, int]]:
        """``(last used, key, bytes)`` of each entry, oldest first."""
        out = []
        for index in self.directory.glob("*.json"):
            key = index.name[:-len(".json")]
            try:
                used, size = index.stat().st_mtime, index.stat().st_size
                size += (self.directory / f"{key}.engine").stat().st_size
            except OSError:
                continue  # deleted meanwhile, or an index without engine (a miss; rebuilt over)
            out.append((used, key, size))
        return sorted(out)

    def evict(self, keep: str | None = None) -> None:
        """Delete least recently used entries (never ``keep``) until the folder holds at most ``max_bytes``; also
        engine files a crashed process left without an index."""
        now = time.time()
        for engine in self.directory.glob("*.engine"):
            try:
                if not engine.with_suffix(".json").exists() and now - engine.stat().st_mtime > _ORPHAN_AGE_S:
                    engine.unlink(missing_ok=True)
            except OSError:
                continue
        if self.max_bytes is None:
            return
        entries = self.entries()
        total = sum(size for _, _, size in entries)
        for _, key, size in entries:
            if total <= self.max_bytes:
                break
            if key == keep:
                continue
            engine_path, index_path = self._paths(key)
            index_path.unlink(missing_ok=True)  # the index first: a reader then misses instead of reading half
            engine_path.unlink(missing_ok=True)
            total -= size


def build_cached(body: Graph, settings: BuildSettings, cache_dir: str | os.PathLike[str] | None,
                 max_bytes: int | None = DEFAULT_MAX_BYTES) -> tuple[EngineArtifact, bool]:
    """``(artifact, cached)``: the engine for ``body`` from the cache when present, else built (and stored). A
    cache that cannot be used costs a warning and the build, never the compile."""
    if cache_dir is None:
        return emit_engine(body, settings), False
    found = find_tensorrt()
    cache = EngineCache(cache_dir, max_bytes)
    key = engine_key(body, settings, found.name, found.version)
    hit = cache.get(key)
    if hit is not None:
        return hit, True
    try:
        lock = cache.lock(key)
        lock.acquire(timeout=LOCK_TIMEOUT_S)
    except (OSError, Timeout) as e:
        _warn_once(cache.directory, f"cannot write to it ({type(e).__name__}: {e})")
        return emit_engine(body, settings), False
    try:
        hit = cache.get(key)  # another process may have built it while this one waited
        if hit is not None:
            return hit, True
        artifact = emit_engine(body, settings)
        try:
            cache.put(key, artifact)
        except (OSError, ValueError) as e:
            _warn_once(cache.directory, f"cannot store engines in it ({type(e).__name__}: {e})")
        return artifact, False
    finally:
        lock.release()


__all__ = ["DEFAULT_MAX_BYTES", "EngineCache", "build_cached", "engine_key"]
