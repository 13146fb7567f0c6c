"""The layering ARCHITECTURE.md declares holds in the code: each layer imports only the layers its "may import"
column names, wherever the import statement is (module level, inside a function, under ``TYPE_CHECKING``).

The table is read from ARCHITECTURE.md itself, so the document and this check cannot drift apart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from trt_passes.frontends import FRONTENDS

ROOT = Path(__file__).resolve().parent.parent
TOP = "trt_passes"  # the package root: the public API, the driver and the tools, which may import everything


def declared_table() -> dict[str, set[str] | None]:
    """ARCHITECTURE.md's table as ``{layer folder: the layers it may import}`` (None: everything)."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    rows = re.findall(r"^\| `trt_passes(?:\.(\w+))?` \(`(\w+)/`\) \|.*\| ([^|]+) \|$", text, flags=re.MULTILINE)
    folders = {folder for _, folder, _ in rows}
    table: dict[str, set[str] | None] = {}
    for _, folder, may_import in rows:
        words = set(re.findall(r"\w+", may_import))
        table[folder] = None if "everything" in words else words & folders
    return table


def package_layers() -> set[str]:
    """The folders pyproject.toml maps to subpackages of ``trt_passes`` (``"trt_passes.ir" = "ir"``)."""
    text = (ROOT / "pyproject.toml").read_text()
    return set(re.findall(r'^"trt_passes\.(\w+)" = "\1"$', text, flags=re.MULTILINE))


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to; None outside the project."""
    parts = module.split(".")
    if parts[0] != TOP:
        return None
    if len(parts) > 1 and parts[1] in package_layers():
        return parts[1]
    return TOP


def imported_modules(path: Path, package: str) -> list[tuple[int, str]]:
    """Every module ``path`` imports, with its line: import statements anywhere in the file (relative ones resolved
    against ``package``) and ``importlib.import_module("...")`` calls with a literal name."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from trt_passes import dsl` imports the subpackage dsl; `from trt_passes import compile` the root.
            found.extend((node.lineno, f"{base}.{alias.name}" if base == TOP else base) for alias in node.names)
        elif (isinstance(node, ast.Call) and _called_name(node) == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def _called_name(call: ast.Call) -> str | None:
    return getattr(call.func, "attr", getattr(call.func, "id", None))


def violations(folder: str, allowed: set[str]) -> list[str]:
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        package = ".".join([TOP, folder, *path.relative_to(ROOT / folder).parent.parts])
        for line, module in imported_modules(path, package):
            layer = layer_of(module)
            if layer is not None and layer != folder and layer not in allowed:
                out.append(f"{path.relative_to(ROOT)}:{line}: {folder} imports {module} "
                           f"(may import: {', '.join(sorted(allowed)) or 'nothing of the project'})")
    return out


def test_the_table_names_every_layer_of_the_package():
    assert set(declared_table()) == package_layers() | {TOP}


def test_the_table_says_the_ir_imports_nothing_of_the_project_and_the_top_everything():
    table = declared_table()
    assert table["ir"] == set()
    assert table[TOP] is None


@pytest.mark.parametrize("folder", sorted(package_layers()))
def test_each_layer_imports_only_what_the_table_allows(folder: str):
    allowed = declared_table()[folder]
    assert allowed is not None, f"{folder} may import everything; only the package root may"
    found = violations(folder, allowed)
    assert not found, "imports the ARCHITECTURE.md table forbids:\n" + "\n".join(found)


def test_the_check_sees_imports_inside_functions_relative_imports_and_import_module(tmp_path: Path):
    source = tmp_path / "m.py"
    source.write_text("import importlib\n"
                      "def f():\n    from trt_passes.passes.report import CompileReport\n"
                      "def g():\n    from ..backend import emit\n"
                      "def h():\n    return importlib.import_module('trt_passes.inputs')\n"
                      "from trt_passes import dsl, compile\n")
    found = sorted((line, module, layer_of(module))
                   for line, module in imported_modules(source, "trt_passes.frontends"))
    assert found == [(1, "importlib", None), (3, "trt_passes.passes.report", "passes"),
                     (5, "trt_passes.backend", "backend"), (7, "trt_passes.inputs", TOP),
                     (8, "trt_passes.compile", TOP), (8, "trt_passes.dsl", "dsl")]


def test_the_driver_names_no_frontend():
    """Adding a frontend means adding it to the frontends' table, never editing the driver: the driver neither
    imports a frontend module nor spells a frontend's name."""
    path = ROOT / "trt_passes" / "compiler.py"
    frontend_modules = [m for _, m in imported_modules(path, TOP) if m.startswith(f"{TOP}.frontends.")]
    assert frontend_modules == []
    spelled = {n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)} & set(FRONTENDS)
    assert spelled == set()
