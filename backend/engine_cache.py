"""An on-disk engine cache (``compile(..., cache_dir=...)``): a segment whose engine was built before is not rebuilt.

**Key.** SHA-256 over: the emitted segment body as :mod:`~trt_passes.backend.body_codec` data (ops, attributes, enum
members, shapes, dtypes, edges, provenance: layer names come from provenance and are part of the engine), every
constant's dtype, shape and bytes, the build settings (workspace size, optimisation level) and the TensorRT module
and version. Anything that could change the engine changes the key.

**Layout.** ``<cache_dir>/<key>.engine`` (the serialised engine) and ``<key>.json`` (the artifact's other fields and
the engine's SHA-256). Each is written to a temporary file in the same directory and moved into place with
``os.replace`` (atomic on POSIX and Windows), the engine first, so a reader that finds the JSON finds the whole
engine; a reader also checks the engine's hash, so a damaged entry is a miss (and is rebuilt), never a bad engine.
Concurrent processes building the same key both write complete files; the last rename wins, and both are the same
engine for all purposes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from trt_passes.backend.body_codec import encode_body
from trt_passes.backend.emit import BuildSettings, EngineArtifact, emit_engine
from trt_passes.backend.tensorrt_import import find_tensorrt
from trt_passes.ir.graph import Graph

CACHE_FORMAT = 1


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a shared cache is readable by everyone who may read the dir
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class EngineCache:
    """Engines by key in ``directory`` (created on first use)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.engine", self.directory / f"{key}.json"

    def get(self, key: str) -> EngineArtifact | None:
        """The cached artifact, or None (missing, partial or damaged entries are misses)."""
        engine_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text())
            engine = engine_path.read_bytes()
        except (OSError, ValueError):
            return None
        if meta.get("cache_format") != CACHE_FORMAT or hashlib.sha256(engine).hexdigest() != meta.get("sha256"):
            return None
        fields: dict[str, Any] = meta["artifact"]
        return EngineArtifact(engine=engine, **fields)

    def put(self, key: str, artifact: EngineArtifact) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        engine_path, meta_path = self._paths(key)
        fields = {k: v for k, v in asdict(artifact).items() if k != "engine"}
        meta = {"cache_format": CACHE_FORMAT, "sha256": hashlib.sha256(artifact.engine).hexdigest(),
                "artifact": fields}
        _atomic_write(engine_path, artifact.engine)
        _atomic_write(meta_path, json.dumps(meta, indent=1).encode())


def build_cached(body: Graph, settings: BuildSettings, cache_dir: str | os.PathLike[str] | None) -> \
        tuple[EngineArtifact, bool]:
    """``(artifact, cached)``: the engine for ``body`` from the cache when present, else built (and stored)."""
    if cache_dir is None:
        return emit_engine(body, settings), False
    found = find_tensorrt()
    cache = EngineCache(cache_dir)
    key = engine_key(body, settings, found.name, found.version)
    hit = cache.get(key)
    if hit is not None:
        return hit, True
    artifact = emit_engine(body, settings)
    cache.put(key, artifact)
    return artifact, False
