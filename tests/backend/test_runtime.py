"""Which TensorRT module is used, and whether engines can run here (never on this GPU-less CI; the runner itself
needs a supported GPU, so only its refusals are tested)."""

from __future__ import annotations

import builtins
import importlib
import types
from typing import Any

import pytest
import torch

from trt_passes.backend import engine_runner, tensorrt_import
from trt_passes.backend.engine_runner import EngineLoadError, EngineRunner, tensorrt_runtime_status
from trt_passes.backend.tensorrt_import import TensorRTNotAvailableError, find_tensorrt, import_tensorrt


@pytest.fixture
def fresh_import(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Let a test decide which of tensorrt / tensorrt_rtx imports; the cached choice is reset before and after."""
    find_tensorrt.cache_clear()
    real_import = importlib.import_module

    def with_available(*names: str) -> None:
        def fake(name: str, *args: Any) -> Any:
            if name in tensorrt_import.CANDIDATES:
                if name not in names:
                    raise ImportError(f"No module named {name!r}")
                module = types.ModuleType(name)
                module.__version__ = "9.9"  # type: ignore[attr-defined]
                return module
            return real_import(name, *args)
        monkeypatch.setattr(importlib, "import_module", fake)

    yield with_available
    find_tensorrt.cache_clear()


def test_full_tensorrt_is_preferred_when_it_imports(fresh_import: Any) -> None:
    fresh_import("tensorrt", "tensorrt_rtx")
    assert find_tensorrt().name == "tensorrt" and import_tensorrt().__name__ == "tensorrt"


def test_tensorrt_rtx_is_the_fallback(fresh_import: Any) -> None:
    fresh_import("tensorrt_rtx")
    found = find_tensorrt()
    assert (found.name, found.version) == ("tensorrt_rtx", "9.9")


def test_without_either_the_error_says_what_to_install(fresh_import: Any) -> None:
    fresh_import()
    with pytest.raises(TensorRTNotAvailableError, match=r"pip install 'trt-passes\[rtx\]'"):
        import_tensorrt()


def test_the_installed_module_is_found() -> None:
    found = find_tensorrt()
    assert found.name in tensorrt_import.CANDIDATES and found.version


def test_engines_do_not_run_on_cpu() -> None:
    ok, reason = tensorrt_runtime_status(torch.device("cpu"))
    assert not ok and "CUDA" in reason


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the GPU-less path")
def test_without_cuda_the_status_says_so_and_the_runner_refuses_clearly() -> None:
    ok, reason = tensorrt_runtime_status("cuda")
    assert not ok and "not available" in reason
    with pytest.raises(EngineLoadError, match="cannot deserialise a TensorRT engine here: CUDA is not available"):
        EngineRunner(b"not an engine")


@pytest.mark.parametrize(("capability", "supported"), [((8, 0), True), ((8, 6), True), ((8, 9), True),
                                                       ((9, 0), False), ((7, 5), False), ((12, 0), True),
                                                       ((12, 1), True)])
def test_tensorrt_rtx_compute_capabilities(monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int],
                                           supported: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: "Test GPU")
    monkeypatch.setattr(engine_runner, "find_tensorrt",
                        lambda: tensorrt_import.TensorRTModule(builtins, "tensorrt_rtx", "1.7"))
    ok, reason = tensorrt_runtime_status("cuda")
    assert ok is supported
    assert f"{capability[0]}.{capability[1]}" in reason
    if not supported:
        assert "does not support" in reason
