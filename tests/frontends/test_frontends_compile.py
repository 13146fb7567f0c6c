"""Every frontend compiles resnet18 and a small BERT to one TensorRT segment that matches eager PyTorch.

Parity runs on the reference runtime (no GPU here), measured on inputs other than the ones the model was compiled
with (so nothing input-dependent was baked in): the whole models with TF32 allowed (the default, which the reference
runtime computes too) within the TF32 tolerance (``trt_passes.tools.parity``: 5e-3), the small models of each
frontend's own tests with ``disable_tf32=True`` within float32's 1e-4, so the option reaches every frontend. Inputs
are small (1x3x64x64 images, 2x8 tokens) to keep the suite fast on 2 cores.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import pytest
import torch
import torch.fx

import trt_passes
from benchmarks.zoo import bert, resnet18
from trt_passes.compiler import graph_compiler
from trt_passes.frontends.calling import PyTreeProgram
from trt_passes.frontends.torch_compile import dynamo_backend
from trt_passes.passes.settings import CompileSettings
from trt_passes.tools.parity import TOLERANCE, max_relative_error

IRS = ["dynamo", "fx", "torchscript", "torch_compile"]


def image(seed: int) -> tuple[torch.Tensor, ...]:
    return (torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(seed)),)


def tokens(seed: int) -> tuple[torch.Tensor, ...]:
    return (torch.randint(0, 1000, (2, 8), generator=torch.Generator().manual_seed(seed)),)


MODELS: dict[str, tuple[Callable[[], torch.nn.Module], Callable[[int], tuple[torch.Tensor, ...]]]] = {
    "resnet18": (resnet18, image),
    "bert": (bert, tokens),
}


@functools.cache
def model(name: str) -> torch.nn.Module:
    return MODELS[name][0]()


@functools.cache
def compiled(ir: str, name: str) -> tuple[Any, list[str]]:
    """The compiled model and the warnings compile raised (built once per session)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = trt_passes.compile(model(name), ir=ir, inputs=list(MODELS[name][1](0)),
                                    require_full_compilation=True, runtime="reference")
    return result, [str(w.message) for w in caught]


def run(fn: Any, inputs: tuple[torch.Tensor, ...]) -> Any:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "running TensorRT segments with the reference runtime"
        return fn(*inputs)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("ir", IRS)
def test_each_frontend_compiles_the_whole_model_and_matches_eager(ir: str, name: str):
    result, _ = compiled(ir, name)
    x = MODELS[name][1](1)
    got, want = run(result, x), run(model(name), x)
    assert max_relative_error(got, want) <= TOLERANCE["tf32"]
    expected_type = {"dynamo": PyTreeProgram, "fx": torch.fx.GraphModule, "torchscript": torch.jit.ScriptModule,
                     "torch_compile": torch.nn.Module}[ir]
    assert isinstance(result, expected_type)
    reports = result.compile_reports if ir == "torch_compile" else [result.compile_report]
    assert len(reports) == 1
    assert len(reports[0].partitions) == 1 and not reports[0].fallbacks
    assert reports[0].f32_contractions == "tf32"


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("ir", IRS)
def test_explain_works_with_each_frontend(ir: str, name: str):
    report = trt_passes.explain(model(name), ir=ir, inputs=list(MODELS[name][1](0)), require_full_compilation=True)
    assert len(report.partitions) == 1 and not report.fallbacks
    assert report.partitions[0].engine_bytes is None  # explain builds no engines
    assert "TensorRT segments: 1" in str(report)


# ---- fx ------------------------------------------------------------------------------------------------------------
def small_cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 4)).eval()


def test_fx_takes_a_graph_module_and_returns_one_that_keeps_the_models_outputs():
    m = small_cnn()
    gm = torch.fx.symbolic_trace(m)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    result = trt_passes.compile(gm, ir="fx", inputs=[x], min_block_size=1, runtime="reference",
                                disable_tf32=True)
    assert isinstance(result, torch.fx.GraphModule)
    got = run(result, (x,))
    assert isinstance(got, torch.Tensor)  # the model returns a tensor, so does the result (not a 1-tuple)
    assert max_relative_error(got, run(m, (x,))) <= 1e-4


def test_fx_says_so_when_symbolic_trace_fails_and_export_captures_the_graph():
    _, caught = compiled("fx", "bert")
    assert any("symbolic_trace could not trace BertModel" in w and "torch.export" in w for w in caught)


# ---- torchscript ---------------------------------------------------------------------------------------------------
def test_torchscript_takes_a_script_module_and_its_result_calls_the_engine_op_after_jit_save_and_load():
    m = small_cnn()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        script = torch.jit.script(m)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    result = trt_passes.compile(script, ir="ts", inputs=[x], min_block_size=1, runtime="reference",
                                disable_tf32=True)
    assert isinstance(result, torch.jit.ScriptModule)
    assert "trt_passes.execute_engine" in result.code
    buf = io.BytesIO()
    torch.jit.save(result, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    assert max_relative_error(run(loaded, (x,)), run(m, (x,))) <= 1e-4


def test_torchscript_traces_a_module_it_cannot_script_and_says_so():
    _, caught = compiled("torchscript", "bert")
    assert any("could not script BertModel" in w and "traced it" in w for w in caught)
    _, caught = compiled("torchscript", "resnet18")
    assert not any("traced it" in w for w in caught)  # resnet18 scripts


class PairAndScale(torch.nn.Module):
    def forward(self, pair: tuple[torch.Tensor, torch.Tensor], scale: torch.Tensor) -> torch.Tensor:
        return torch.relu(pair[0] * scale) + pair[1]


@pytest.mark.parametrize("ir", ["fx", "torchscript"])
def test_fx_and_torchscript_take_nested_and_keyword_inputs_and_their_result_takes_the_tensors_flattened(ir: str):
    a, b, scale = (torch.randn(3, 4, generator=torch.Generator().manual_seed(i)) for i in range(3))
    result = trt_passes.compile(PairAndScale(), ir=ir, arg_inputs=[(a, b)], kwarg_inputs={"scale": scale},
                                min_block_size=1, runtime="reference")
    assert len(result.compile_report.partitions) == 1
    # relu(a * scale) + b: one rounding per op in float32, the same in TensorRT's reference semantics
    assert torch.equal(run(result, (a, b, scale)), PairAndScale()((a, b), scale))


# ---- torch_compile -------------------------------------------------------------------------------------------------
def test_torch_compile_compiles_on_first_call_and_again_for_new_shapes():
    m = small_cnn()
    result = trt_passes.compile(m, ir="torch_compile", min_block_size=1, runtime="reference", disable_tf32=True)
    assert result.compile_reports == []  # nothing compiled yet
    for batch in (1, 3):
        x = torch.randn(batch, 3, 8, 8, generator=torch.Generator().manual_seed(batch))
        assert max_relative_error(run(result, (x,)), run(m, (x,))) <= 1e-4
    assert len(result.compile_reports) == 2
    assert all(len(r.partitions) == 1 for r in result.compile_reports)


def test_the_trt_passes_backend_is_registered_by_name_and_as_an_entry_point():
    import torch._dynamo

    assert "trt_passes" in torch._dynamo.list_backends()
    assert "trt_passes" in entry_points(group="torch_dynamo_backends").names
    m = small_cnn()
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(6))
    fn = torch.compile(m, backend="trt_passes", options={"min_block_size": 1, "runtime": "reference",
                                                         "disable_tf32": True})
    assert max_relative_error(run(fn, (x,)), run(m, (x,))) <= 1e-4


def test_with_torch_compiles_default_dynamic_the_backend_compiles_symbolic_graphs_once_per_shape():
    # dynamic=None (the default): TorchDynamo recaptures with a symbolic batch once the batch changes
    m = small_cnn()
    reports = []
    fn = torch.compile(m, backend=dynamo_backend(graph_compiler(CompileSettings(min_block_size=1,
                                                                                runtime="reference")),
                                                 on_report=reports.append))
    for batch in (1, 3, 5, 3):
        x = torch.randn(batch, 3, 8, 8, generator=torch.Generator().manual_seed(batch))
        # conv and linear may run in TF32 (TensorRT's default): 10 mantissa bits; 5e-3 as --check accepts then
        assert max_relative_error(run(fn, (x,)), run(m, (x,))) <= 5e-3
    assert len(reports) == 3  # batches 1, 3 and 5; the second call at 3 reuses its program
    by_name = torch.compile(m, backend="trt_passes", options={"min_block_size": 1, "runtime": "reference"})
    for batch in (2, 4):
        x = torch.randn(batch, 3, 8, 8, generator=torch.Generator().manual_seed(batch))
        assert max_relative_error(run(by_name, (x,)), run(m, (x,))) <= 5e-3


BY_NAME = """
import torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).eval()
x = torch.randn(3, 4)
f = torch.compile(m, backend="trt_passes", options={"min_block_size": 1, "runtime": "reference",
                                                    "disable_tf32": True})
with torch.no_grad():
    err = ((f(x) - m(x)).abs().max() / m(x).abs().max()).item()
import sys
assert "trt_passes" in sys.modules  # TorchDynamo loaded it through the entry point
print(err)
"""


def test_the_backend_name_resolves_in_a_process_that_never_imported_trt_passes():
    import subprocess
    import sys
    from pathlib import Path

    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", BY_NAME], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert float(proc.stdout.strip().splitlines()[-1]) <= 1e-4


def test_unknown_options_are_errors_for_torch_compile():
    with pytest.raises(TypeError, match="unknown compile option 'min_blok_size'"):
        trt_passes.compile(small_cnn(), ir="torch_compile", options={"min_blok_size": 1})
    fn = torch.compile(small_cnn(), backend="trt_passes", options={"bogus": 1})
    with pytest.raises(Exception, match="unknown compile option 'bogus'"):
        run(fn, (torch.randn(1, 3, 8, 8),))


def test_an_unknown_ir_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown ir 'onnx'.*torch_compile.*torchscript.*ts"):
        trt_passes.compile(small_cnn(), ir="onnx", inputs=[torch.randn(1, 3, 8, 8)])
