"""What the package never does with data it reads (saved files, caches, rule files are untrusted input): unpickle,
or load code from anywhere but the sealed matcher cache. A source-level check, so a new module cannot slip one in."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ["trt_passes", "ir", "dsl", "passes", "frontends", "backend", "spec"]


def _sources() -> list[tuple[str, str]]:
    return [(str(p.relative_to(ROOT)), p.read_text()) for folder in PACKAGE for p in (ROOT / folder).rglob("*.py")]


def test_no_module_imports_pickle() -> None:
    found = [rel for rel, text in _sources()
             if re.search(r"^\s*(import|from)\s+(pickle|_pickle|dill|cloudpickle|shelve|joblib)\b", text, re.M)]
    assert not found


def test_no_module_calls_torch_load() -> None:
    """torch.load unpickles (even weights_only=True runs a restricted unpickler): saved programs never need it."""
    assert not [rel for rel, text in _sources() if re.search(r"\btorch\.load\(", text)]


def test_only_the_sealed_matcher_cache_loads_byte_code() -> None:
    found = [rel for rel, text in _sources() if re.search(r"^\s*(import|from)\s+marshal\b", text, re.M)]
    assert found == ["dsl/compiled.py"]
    assert "cache.read(" in (ROOT / "dsl" / "compiled.py").read_text()  # sealed: dsl/cache.read verifies the seal
