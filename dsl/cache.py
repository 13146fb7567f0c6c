"""A content-addressed disk cache for what loading rules produces (checked rule libraries, generated matchers).

Entries live under ``$TRT_PASSES_CACHE`` (default ``~/.cache/trt_passes``); ``TRT_PASSES_CACHE=off`` disables the
cache. Keys are hashes of everything the entry depends on, so an entry is never stale, only unused. Writes go to a
temporary file in the same folder and are renamed into place, so readers never see a half-written entry and
concurrent writers of one key are harmless (both write the same bytes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path


def cache_dir() -> Path | None:
    setting = os.environ.get("TRT_PASSES_CACHE")
    if setting is not None and setting.strip().lower() in ("off", "0", "none", ""):
        return None
    return Path(setting) if setting else Path.home() / ".cache" / "trt_passes"


def content_key(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p.encode("utf-8") if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))  # length-prefixed: ("ab", "c") and ("a", "bc") differ
        h.update(b)
    return h.hexdigest()[:32]


def read(kind: str, key: str, suffix: str) -> bytes | None:
    root = cache_dir()
    if root is None:
        return None
    try:
        return (root / kind / f"{key}{suffix}").read_bytes()
    except OSError:
        return None


#: entries kept per kind; the oldest beyond this are deleted (every edit of a rule file makes a new entry)
MAX_ENTRIES = 64


def _prune(folder: Path) -> None:
    with contextlib.suppress(OSError):  # another process pruned first: fine
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
        for p in entries[:-MAX_ENTRIES]:
            p.unlink(missing_ok=True)


def write(kind: str, key: str, suffix: str, data: bytes) -> Path | None:
    """Store an entry atomically; a cache that cannot be written is not an error (returns None)."""
    root = cache_dir()
    if root is None:
        return None
    folder = root / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            target = folder / f"{key}{suffix}"
            os.replace(tmp, target)
            _prune(folder)
            return target
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return None
