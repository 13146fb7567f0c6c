"""The rule library and matcher caches (``$TRT_PASSES_CACHE``) as an attacker or an unlucky user finds them: entries
written by someone else, damaged entries, pickles and code dropped under the right names, a folder that cannot be
written. Nothing there runs, and every case costs at most a rebuild, never a failed load."""

from __future__ import annotations

import marshal
import sys
from pathlib import Path

import pytest

from tests.dsl.conftest import OPS
from tests.robustness.markers import pickle_payload, python_payload
from trt_passes.dsl import cache, libcache, load_text
from trt_passes.dsl.compiled import compiled_matcher, matcher_key
from trt_passes.ir import sealing

RULES = 'ruleset r : lowering\nrule a aten.neg.default(aten.neg.default(x)) => x untested "t"\n'


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A private cache folder and key; returns (cache folder, marker path)."""
    monkeypatch.setenv("TRT_PASSES_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "cache", tmp_path / "marker"


def _library_key() -> str:
    return libcache.library_key({"<string>.rw": RULES})


def _matcher_key() -> str:
    return matcher_key(load_text(RULES, OPS).rulesets["r"], OPS)


def _drop(folder: Path, kind: str, name: str, data: bytes) -> Path:
    path = folder / kind / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_matcher_source_dropped_under_its_key_is_not_executed(folders) -> None:
    root, marker = folders
    _drop(root, "matchers", f"{_matcher_key()}.py", python_payload(marker).encode())
    m = compiled_matcher(load_text(RULES, OPS).rulesets["r"], OPS)
    assert not marker.exists() and not m.from_cache and "def root" in m.source


def test_matcher_byte_code_dropped_under_its_key_is_not_executed(folders) -> None:
    root, marker = folders
    key = _matcher_key()
    compiled_matcher(load_text(RULES, OPS).rulesets["r"], OPS)  # a genuine sealed source: the code cache is read
    code = compile(python_payload(marker), "<forged>", "exec")
    _drop(root, "matchers", f"{cache.content_key(key, sys.version)}.marshal", marshal.dumps(code))
    again = compiled_matcher(load_text(RULES, OPS).rulesets["r"], OPS)
    assert again.from_cache and not marker.exists()


def test_an_entry_sealed_with_another_users_key_is_a_miss(folders, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    root, marker = folders
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "mallory"))
    forged = sealing.seal(python_payload(marker).encode(), f"matchers/{_matcher_key()}.py")
    assert forged is not None
    _drop(root, "matchers", f"{_matcher_key()}.py", forged)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    m = compiled_matcher(load_text(RULES, OPS).rulesets["r"], OPS)
    assert not m.from_cache and not marker.exists()


@pytest.mark.parametrize("suffix", [".json", ".pickle"])
def test_a_pickled_library_is_never_unpickled(folders, suffix: str) -> None:
    root, marker = folders
    _drop(root, "libraries", f"{_library_key()}{suffix}", pickle_payload(marker))
    lib = load_text(RULES, OPS)
    assert not marker.exists() and lib.rule("a").name == "a"


def test_a_library_entry_sealed_for_another_key_is_a_miss(folders) -> None:
    root, _ = folders
    other = 'ruleset r : lowering\nrule a aten.neg.default(x) => aten.clone.default(x) untested "t"\n'
    load_text(other, OPS)  # writes a genuine entry for the other source
    (entry,) = (root / "libraries").iterdir()
    entry.rename(root / "libraries" / f"{_library_key()}.json")  # moved under this source's key
    lib = load_text(RULES, OPS)
    assert lib.rule("a").normal.emits == ()  # this source's rule (the other one emits aten.clone.default)


def test_a_damaged_library_entry_is_rebuilt(folders) -> None:
    root, _ = folders
    load_text(RULES, OPS)
    (entry,) = (root / "libraries").iterdir()
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0x10
    entry.write_bytes(bytes(data))
    assert load_text(RULES, OPS).rule("a").name == "a"
    assert libcache.fetch(_library_key(), OPS) is not None  # rewritten, sealed again


def test_a_cache_folder_that_cannot_be_written_costs_only_time(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("TRT_PASSES_CACHE", str(blocker))
    lib = load_text(RULES, OPS)
    assert compiled_matcher(lib.rulesets["r"], OPS).match is not None

