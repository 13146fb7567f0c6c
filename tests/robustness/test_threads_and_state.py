"""Threads and the state a compile touches: compiles in several threads at once all succeed (they are serialised),
a compile that fails leaves nothing behind (the next one, in any thread, works), loaded programs run in several
threads at once, and the caller's module keeps every submodule's ``training`` flag exactly."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import trt_passes
from tests.models_for_tests import WithUnsupportedOp
from trt_passes.ir.fake_shapes import current_ranges
from trt_passes.passes.observe import active_observers

# Compiled in exact float32 (TensorRT's TF32 off, so the reference runtime rounds nothing): 1e-5 of eager is then a
# check these small models meet with room, whatever threads and state do.
EXACT = {"disable_tf32": True}


def quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def mlp() -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(1)
    return (torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).eval(),
            torch.randn(2, 4, generator=torch.Generator().manual_seed(2)))


def cnn() -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(3)
    return (torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten()).eval(),
            torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(4)))


def gelu_norm() -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(5)
    return (torch.nn.Sequential(torch.nn.LayerNorm(6), torch.nn.GELU(), torch.nn.Linear(6, 3)).eval(),
            torch.randn(3, 6, generator=torch.Generator().manual_seed(6)))


def run_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` in threads started together; each result, or the exception it raised."""
    results: list[Any] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return results


def compile_and_check(build: Callable[[], tuple[torch.nn.Module, torch.Tensor]], ir: str = "dynamo") -> float:
    model, x = build()
    compiled = quiet(trt_passes.compile, model, ir, [x], min_block_size=1, runtime="reference", **EXACT)
    with torch.no_grad():
        return float((compiled(x) - model(x)).abs().max())


def clean_state() -> None:
    """What a finished or failed compile must leave as it found it."""
    assert torch.is_grad_enabled()
    assert torch._C._len_torch_dispatch_stack() == 0
    assert torch._guards.TracingContext.try_get() is None
    assert active_observers().observers == [] and current_ranges() == {}


# ---- threads -------------------------------------------------------------------------------------------------------
def test_models_compiled_in_several_threads_at_once_all_compile_correctly() -> None:
    jobs = [lambda b=b, ir=ir: compile_and_check(b, ir)
            for b, ir in [(mlp, "dynamo"), (cnn, "dynamo"), (gelu_norm, "dynamo"), (mlp, "fx"), (cnn, "torchscript")]]
    results = run_threads(jobs)
    assert all(isinstance(r, float) and r <= 1e-5 for r in results), results
    clean_state()
    assert compile_and_check(gelu_norm) <= 1e-5


def test_explain_and_compile_in_threads_at_once() -> None:
    model, x = cnn()
    results = run_threads([lambda: quiet(trt_passes.explain, model, inputs=[x], min_block_size=1),
                           lambda: compile_and_check(mlp)])
    assert results[0].partitions and results[1] <= 1e-5


def test_a_compile_failing_in_one_thread_does_not_break_the_others_or_later_ones() -> None:
    bad = WithUnsupportedOp().eval()
    x = torch.randn(2, 8)
    jobs = [lambda: quiet(trt_passes.compile, bad, inputs=[x], require_full_compilation=True),
            lambda: compile_and_check(mlp), lambda: compile_and_check(cnn)]
    results = run_threads(jobs)
    assert isinstance(results[0], Exception) and "i0" in str(results[0])
    assert results[1] <= 1e-5 and results[2] <= 1e-5
    clean_state()
    assert compile_and_check(gelu_norm) <= 1e-5


class _FailsToExport(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # data-dependent control flow: torch.export refuses it
            return self.drop(self.lin(x))
        return x


@pytest.mark.parametrize("failure", ["export", "pipeline"])
def test_a_failed_compile_leaves_nothing_behind(failure: str) -> None:
    model = _FailsToExport().train() if failure == "export" else WithUnsupportedOp().train()
    x = torch.ones(2, 4) if failure == "export" else torch.randn(2, 8)
    flags = [m.training for m in model.modules()]
    with pytest.raises(Exception):  # noqa: B017 - any error: what matters is what it leaves behind
        quiet(trt_passes.compile, model, inputs=[x], require_full_compilation=True)
    assert [m.training for m in model.modules()] == flags
    clean_state()
    assert compile_and_check(mlp) <= 1e-5


@pytest.mark.parametrize("fmt", ["exported_program", "torchscript"])
def test_a_loaded_program_runs_in_several_threads_at_once(tmp_path: Path, fmt: str) -> None:
    model, x = cnn()
    compiled = quiet(trt_passes.compile, model, inputs=[x], min_block_size=1, **EXACT)
    path = trt_passes.save(compiled, tmp_path / "m", output_format=fmt, inputs=[x])
    loaded = quiet(trt_passes.load, path)
    inputs = [torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(i)) for i in range(6)]

    def run(t: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return quiet(loaded, t)

    results = run_threads([lambda t=t: run(t) for t in inputs])
    with torch.no_grad():
        for t, got in zip(inputs, results):
            assert isinstance(got, torch.Tensor) and torch.allclose(got, model(t), atol=1e-5)


# ---- training flags ------------------------------------------------------------------------------------------------
class _Mixed(torch.nn.Module):
    """A model in training with a frozen batch norm and an active dropout: flags that differ by submodule."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.drop = torch.nn.Dropout(0.5)
        self.head = torch.nn.Linear(4 * 6 * 6, 3)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-1, 1)
            self.bn.running_var.uniform_(0.5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(torch.relu(self.bn(self.conv(x)))).flatten(1))


@pytest.mark.parametrize("ir", ["dynamo", "fx", "torchscript"])
def test_compile_restores_every_submodules_training_flag_and_compiles_eval_semantics(ir: str) -> None:
    model = _Mixed().train()
    model.bn.eval()  # frozen statistics inside a training model
    before = {name: m.training for name, m in model.named_modules()}
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(8))
    compiled = quiet(trt_passes.compile, model, ir, [x], min_block_size=1, runtime="reference", **EXACT)
    assert {name: m.training for name, m in model.named_modules()} == before
    assert before["bn"] is False and before["drop"] is True
    with torch.no_grad():
        expected = model.eval()(x)  # inference semantics: dropout off, batch norm on running statistics
        assert torch.allclose(compiled(x), expected, atol=1e-5)


def test_a_script_module_keeps_its_training_flags() -> None:
    model = _Mixed().train()
    model.bn.eval()
    script = quiet(torch.jit.script, model)
    before = {name: m.training for name, m in script.named_modules()}
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(9))
    quiet(trt_passes.compile, script, "torchscript", [x], min_block_size=1, runtime="reference")
    assert {name: m.training for name, m in script.named_modules()} == before
