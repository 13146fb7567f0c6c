"""Seals on what this user's trt_passes processes write to disk caches, so that nobody else can forge an entry.

The caches (checked rule libraries and generated matchers, :mod:`trt_passes.dsl.cache`; built engines,
:mod:`trt_passes.backend.engine_cache`) live in folders that other users or programs may be able to write, and what
they hold is turned into code (matchers) or decides what a compiled model computes (rules, engines). Every entry
therefore carries an HMAC-SHA256 over its content and its name, under a secret key only this user can read; an entry
whose seal does not verify (damaged, edited, written by another user or copied from another machine) is a cache
miss and is rebuilt, never used.

The key is 32 random bytes in ``$XDG_CONFIG_HOME/trt_passes/cache.key`` (default ``~/.config/trt_passes``), created
on first use with mode 0600 in a folder created with mode 0700. A key file that is not a regular file owned by this
user and unreadable by others is not used: the caches then do nothing (one warning says why). Processes that should
share a cache folder across users or machines need the same key file.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import threading
import warnings
from pathlib import Path

KEY_BYTES = 32
MAGIC = b"trt_passes sealed v1\n"
_SEAL = len(MAGIC) + hashlib.sha256().digest_size

_keys: dict[Path, bytes | None] = {}
_lock = threading.Lock()
_warned: set[Path] = set()


def key_path() -> Path:
    """Where this user's key lives (``$XDG_CONFIG_HOME/trt_passes/cache.key``)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "trt_passes" / "cache.key"


def secret_key() -> bytes | None:
    """This user's key, created on first use; None when no trustworthy key can be had (caches then miss)."""
    path = key_path()
    with _lock:
        if path not in _keys:
            try:
                _keys[path] = _read_key(path) if path.exists() else _create_key(path)
            except (OSError, ValueError) as e:
                _keys[path] = None
                if path not in _warned:
                    _warned.add(path)
                    warnings.warn(f"trt_passes: caches are off: no usable key at {path} ({e}); delete the file to "
                                  "have a new one made", RuntimeWarning, stacklevel=3)
        return _keys[path]


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o077):
            raise ValueError("owned by another user or readable by others; it must be the user's own, mode 0600")
        data = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != KEY_BYTES:
        raise ValueError(f"holds {len(data)} bytes, not {KEY_BYTES}")
    return data


def _create_key(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
    finally:
        os.close(fd)
    try:
        with contextlib.suppress(FileExistsError):  # never replaces a key another process made: theirs wins
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_key(path)


def signature(context: str, payload: bytes) -> bytes | None:
    """The HMAC of ``payload`` stored under the name ``context`` (None: no key, nothing can be sealed)."""
    key = secret_key()
    if key is None:
        return None
    name = context.encode("utf-8")
    return hmac.new(key, len(name).to_bytes(8, "little") + name + payload, hashlib.sha256).digest()


def seal(payload: bytes, context: str) -> bytes | None:
    """``payload`` with its seal in front, to be stored under the name ``context``; None without a key."""
    mac = signature(context, payload)
    return None if mac is None else MAGIC + mac + payload


def unseal(blob: bytes, context: str) -> bytes | None:
    """The payload of a sealed ``blob`` read from ``context``, or None when the seal does not verify."""
    if len(blob) < _SEAL or not blob.startswith(MAGIC):
        return None
    payload = blob[_SEAL:]
    mac = signature(context, payload)
    return payload if mac is not None and hmac.compare_digest(mac, blob[len(MAGIC):_SEAL]) else None
