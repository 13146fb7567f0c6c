"""What the built wheel holds: every subpackage under ``trt_passes/``, the rule files, and ``py.typed``."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-w", str(out)], check=True, capture_output=True, timeout=600)
    (wheel,) = out.glob("trt_passes-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def test_the_wheel_marks_the_package_as_typed(wheel_names: set[str]) -> None:
    # PEP 561: type checkers use a package's inline hints only when py.typed is in its top-level folder.
    assert "trt_passes/py.typed" in wheel_names


def test_the_wheel_holds_each_layer_under_trt_passes_and_the_shipped_rules(wheel_names: set[str]) -> None:
    for module in ("ir/symbolic.py", "dsl/grammar.lark", "passes/partition.py", "frontends/dynamo.py",
                   "backend/emit.py", "tools/cli.py", "api.py"):
        assert f"trt_passes/{module}" in wheel_names, module
    assert any(n.startswith("trt_passes/spec/") and n.endswith(".rw") for n in wheel_names)
