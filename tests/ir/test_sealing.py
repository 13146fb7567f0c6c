"""Seals on cache entries: only this user's key makes one that verifies, and the key itself is private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trt_passes.ir import sealing


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def test_the_key_is_created_once_private_and_reused(config: Path) -> None:
    key = sealing.secret_key()
    path = config / "trt_passes" / "cache.key"
    assert key is not None and len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    sealing._keys.clear()  # a new process reads the same file
    assert sealing.secret_key() == key


def test_a_sealed_payload_opens_only_under_its_own_name(config: Path) -> None:
    blob = sealing.seal(b"payload", "matchers/abc.py")
    assert blob is not None and sealing.unseal(blob, "matchers/abc.py") == b"payload"
    assert sealing.unseal(blob, "matchers/abd.py") is None  # a valid entry copied to another key


@pytest.mark.parametrize("edit", [
    lambda b: b[:-1] + bytes([b[-1] ^ 1]),      # payload bit flip
    lambda b: b[:30] + bytes([b[30] ^ 1]) + b[31:],   # seal bit flip
    lambda b: b[:-3],                           # truncated
    lambda b: b"",
    lambda b: b"print('hello')\n",              # an unsealed file
])
def test_an_edited_or_unsealed_blob_does_not_open(config: Path, edit) -> None:
    blob = sealing.seal(b"some bytes of an entry", "libraries/k.json")
    assert blob is not None
    assert sealing.unseal(edit(blob), "libraries/k.json") is None


def test_another_users_key_does_not_open_this_users_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "alice"))
    blob = sealing.seal(b"entry", "libraries/k.json")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "mallory"))
    assert blob is not None and sealing.unseal(blob, "libraries/k.json") is None
    assert sealing.unseal(sealing.seal(b"entry", "libraries/k.json") or b"", "libraries/k.json") == b"entry"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_key_others_can_read_is_not_used(config: Path) -> None:
    path = config / "trt_passes" / "cache.key"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"k" * 32)
    path.chmod(0o644)
    with pytest.warns(RuntimeWarning, match="caches are off.*readable by others"):
        assert sealing.secret_key() is None
    assert sealing.seal(b"x", "a/b") is None


def test_a_key_of_the_wrong_length_is_not_used(config: Path) -> None:
    path = config / "trt_passes" / "cache.key"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.warns(RuntimeWarning, match="holds 5 bytes"):
        assert sealing.secret_key() is None
