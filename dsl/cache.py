"""A content-addressed disk cache for what loading rules produces (checked rule libraries, generated matchers).

Entries live under ``$TRT_PASSES_CACHE`` (default ``~/.cache/trt_passes``); ``TRT_PASSES_CACHE=off`` disables the
cache. Keys are hashes of everything the entry depends on, so an entry is never stale, only unused. Writes go to a
temporary file in the same folder and are renamed into place, so readers never see a half-written entry and
concurrent writers of one key are harmless (both write the same bytes).

The folder is untrusted: matchers are code and the library decides what every compile does, so every entry is
sealed with this user's key (:mod:`trt_passes.ir.sealing`) over its name and bytes, and :func:`read` returns only
entries whose seal verifies. A damaged, edited or foreign entry is a miss (and is rewritten), never an error; a
folder that cannot be written only costs the time the cache would save.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from trt_passes.ir import sealing


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
    """The entry's bytes, if it exists and its seal verifies."""
    root = cache_dir()
    if root is None:
        return None
    try:
        blob = (root / kind / f"{key}{suffix}").read_bytes()
    except OSError:
        return None
    return sealing.unseal(blob, f"{kind}/{key}{suffix}")


#: entries kept per kind; the oldest beyond this are deleted (every edit of a rule file makes a new entry)
MAX_ENTRIES = 64


def _prune(folder: Path) -> None:
    with contextlib.suppress(OSError):  # another process pruned first: fine
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
        for p in entries[:-MAX_ENTRIES]:
            p.unlink(missing_ok=True)


def write(kind: str, key: str, suffix: str, data: bytes) -> Path | None:
    """Store an entry atomically, sealed; a cache that cannot be written is not an error (returns None)."""
    root = cache_dir()
    sealed = sealing.seal(data, f"{kind}/{key}{suffix}") if root is not None else None
    if root is None or sealed is None:
        return None
    folder = root / kind
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(sealed)
            target = folder / f"{key}{suffix}"
            os.replace(tmp, target)
            _prune(folder)
            return target
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return None
