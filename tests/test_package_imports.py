"""Importing a low layer loads nothing above it: ``trt_passes/__init__.py`` exposes the public names lazily."""

import subprocess
import sys

import pytest

ABOVE_THE_IR = ("trt_passes.dsl", "trt_passes.passes", "trt_passes.frontends", "trt_passes.backend",
                "trt_passes.tools", "trt_passes.api", "trt_passes.compiler", "trt_passes.serialize")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(m for m in sys.modules if m.startswith('trt_passes')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("statement", ["import trt_passes.ir.graph", "import trt_passes",
                                       "from trt_passes.ir import Graph"])
def test_importing_the_ir_or_the_package_loads_no_layer_above_the_ir(statement: str) -> None:
    loaded = _modules_after(statement)
    assert not {m for m in loaded if m.startswith(ABOVE_THE_IR)}, sorted(loaded)


def test_public_names_load_on_first_use_and_unknown_names_are_attribute_errors() -> None:
    loaded = _modules_after("import trt_passes\ntrt_passes.compile\nimport torch\n"
                            "assert hasattr(torch.ops.trt_passes, 'execute_engine')\n"
                            "try:\n    trt_passes.no_such_name\nexcept AttributeError:\n    pass\n"
                            "else:\n    raise SystemExit('no AttributeError')")
    assert "trt_passes.api" in loaded and "trt_passes.compiler" in loaded
