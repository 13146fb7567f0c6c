"""``runtime="tensorrt"``: compiled programs run their engines through TensorRT's runtime API.

No GPU here, so TensorRT's runtime is the test double of tests/backend/fake_tensorrt.py, put where the real module
is imported (``sys.modules``) together with the CUDA side (``trt_passes.backend.gpu.GPU``): engines are built by the
installed TensorRT for real, their I/O is read from the network at build time, and executing an engine computes its
segment with the reference runtime from the memory the runner hands over. Everything between (deserialising,
binding tensors by name, dtypes, input shapes against the optimisation profile, output allocation, the stream, the
saved op) is the real code path. ``scripts/gpu_check.sh`` runs the same path on a GPU.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

import trt_passes
from tests.backend.fake_tensorrt import FakeGpu, FakeTensorRT
from tests.needs_tensorrt import tensorrt_rtx_or_skip
from trt_passes.backend import engine_op, gpu
from trt_passes.backend.emit import engine_io_names
from trt_passes.backend.engine_runner import EngineLoadError, EngineRunner
from trt_passes.backend.segment_module import SegmentModule
from trt_passes.backend.tensorrt_import import TensorRTNotAvailableError, find_tensorrt
from trt_passes.inputs import Input

REAL = tensorrt_rtx_or_skip("the runtime path's tests build real engines with TensorRT for RTX")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    """TensorRT for RTX with the fake runtime, and a fake GPU (compute capability 8.9) whose memory is the CPU's."""
    module = FakeTensorRT(REAL, "tensorrt_rtx")
    monkeypatch.setitem(sys.modules, "tensorrt_rtx", module)
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # `import tensorrt` fails, as without NVIDIA's package
    monkeypatch.setattr(gpu, "GPU", FakeGpu())
    monkeypatch.setattr(engine_op, "_runners", {})
    find_tensorrt.cache_clear()
    yield module
    find_tensorrt.cache_clear()


def compile_quietly(model: torch.nn.Module, inputs: list[Any], **options: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trt_passes.compile(model, inputs=inputs, min_block_size=1, **options)


class Mixed(torch.nn.Module):
    """One segment with inputs and outputs of five dtypes and three ranks: what binding by name and the dtype mapping
    must get right (each side path also feeds the float result, so nothing splits the segment)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(8, 8)

    def forward(self, x: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, h: torch.Tensor,
                b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = torch.where(mask, torch.relu(self.lin(x)), -x)
        n = ids + (y[0, :5] * 4).long()
        m = torch.logical_and(torch.logical_not(mask), y > 0)
        return y, n, m, h * y[0, :4].half(), b + y[:2, :2].bfloat16()


def mixed_inputs(seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(3, 8, generator=g), torch.randint(-9, 9, (5,), generator=g),
            torch.rand(3, 8, generator=g) < 0.5, torch.randn(4, generator=g).half(),
            torch.randn(2, 2, generator=g).bfloat16()]


def test_every_segment_runs_its_engine_and_computes_what_the_reference_runtime_does(fake: FakeTensorRT) -> None:
    model = Mixed().eval()
    on_engine = compile_quietly(model, mixed_inputs(0), runtime="tensorrt")
    reference = compile_quietly(model, mixed_inputs(0), runtime="reference")
    assert fake.register_program(on_engine) == len(on_engine.compile_report.partitions) == 1
    x = mixed_inputs(1)
    with torch.no_grad():
        got, want, eager = on_engine(*x), reference(*x), model(*x)
    assert len(fake.executions) == len(on_engine.compile_report.partitions)
    for g, w, e in zip(got, want, eager):
        assert g.dtype == e.dtype and g.shape == e.shape
        assert torch.equal(g, w)
    assert gpu.GPU.streams == [0x5EED] * len(fake.executions)  # the stream the runner asked the GPU for


def test_the_fake_engine_describes_the_io_the_network_really_had(fake: FakeTensorRT) -> None:
    """The fake is only as good as its I/O: read back what the real builder's network declared."""
    program = compile_quietly(Mixed().eval(), mixed_inputs(0), runtime="tensorrt")
    (segment,) = [m for m in program.modules() if isinstance(m, SegmentModule)]
    (built,) = fake.engines.values()
    trt = REAL
    inputs = [(t.name, t.dtype, t.shape) for t in built.tensors if t.is_input]
    expected = {"f32": trt.float32, "i64": trt.int64, "bool": trt.bool, "f16": trt.float16, "bf16": trt.bfloat16}
    body_inputs = [segment.body.node(nid).type for nid in segment.body.graph_inputs()]
    assert [(dt, shape) for _, dt, shape in inputs] == [(expected[t.dtype], tuple(t.shape)) for t in body_inputs]
    outputs = [t.name for t in built.tensors if not t.is_input]
    assert outputs == [f"output{i}" for i in range(len(segment.body.outputs()))]


def test_a_dynamic_batch_sets_each_calls_input_shape_within_the_profile(fake: FakeTensorRT) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).eval()
    spec = Input(min_shape=(1, 8), opt_shape=(4, 8), max_shape=(6, 8))
    program = compile_quietly(model, [spec], runtime="tensorrt")
    fake.register_program(program)
    (built,) = fake.engines.values()
    (x_io,) = [t for t in built.tensors if t.is_input]
    assert x_io.shape == (-1, 8) and x_io.profile == ((1, 8), (4, 8), (6, 8))
    reference = compile_quietly(model, [spec], runtime="reference")
    for batch in (1, 3, 6):
        x = torch.randn(batch, 8, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            got = program(x)
        assert got.shape == (batch, 4)
        assert torch.equal(got, reference(x))
    assert [e.input_shapes[x_io.name] for e in fake.executions] == [(1, 8), (3, 8), (6, 8)]


def test_a_shape_outside_the_profile_is_refused_naming_the_range(fake: FakeTensorRT) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU()).eval()
    program = compile_quietly(model, [Input(min_shape=(1, 8), opt_shape=(2, 8), max_shape=(4, 8))],
                              runtime="tensorrt")
    (segment,) = [m for m in program.modules() if isinstance(m, SegmentModule)]
    fake.register(segment.engine, segment.body)
    with pytest.raises(ValueError, match=r"has shape \(9, 8\); the engine takes \(1, 8\) to \(4, 8\)"):
        segment(torch.randn(9, 8))
    assert fake.executions == []


def test_the_runner_binds_by_name_whatever_order_the_engine_lists_its_tensors(fake: FakeTensorRT) -> None:
    program = compile_quietly(Mixed().eval(), mixed_inputs(0), runtime="tensorrt")
    (segment,) = [m for m in program.modules() if isinstance(m, SegmentModule)]
    fake.register(segment.engine, segment.body)
    runner = EngineRunner(segment.engine, "cpu", *_names(segment))
    engine_order = [runner.engine.get_tensor_name(i) for i in range(runner.engine.num_io_tensors)]
    network_order = [*runner.input_names, *runner.output_names]
    assert sorted(engine_order) == sorted(network_order) and engine_order != network_order
    with pytest.raises(EngineLoadError, match="not built from this segment"):
        EngineRunner(segment.engine, "cpu", ["x"], ["output0"])


def _names(segment: SegmentModule) -> tuple[list[str], list[str]]:
    return engine_io_names(segment.body)  # the names the segment module binds by


def test_a_program_split_in_two_engines_runs_both(fake: FakeTensorRT) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 2)).eval()
    program = compile_quietly(model, [torch.randn(2, 8)], runtime="tensorrt",
                              torch_executed_ops=["aten.tanh.default"])
    assert fake.register_program(program) == 2
    x = torch.randn(2, 8)
    with torch.no_grad():
        got = program(x)
    assert len({e.engine for e in fake.executions}) == 2
    reference = compile_quietly(model, [torch.randn(2, 8)], runtime="reference")
    assert torch.equal(got, reference(x))


def test_a_saved_and_loaded_program_runs_its_engines_through_the_op(fake: FakeTensorRT, tmp_path: Path) -> None:
    model = Mixed().eval()
    program = compile_quietly(model, mixed_inputs(0), runtime="tensorrt")
    fake.register_program(program)
    path = tmp_path / "mixed.pt2"
    trt_passes.save(program, path, inputs=mixed_inputs(0))
    loaded = trt_passes.load(path)
    x = mixed_inputs(2)
    with torch.no_grad():
        got, want = loaded(*x), program(*x)
    assert len(fake.executions) == 2  # one through the loaded op, one through the module
    for g, w in zip(got, want):
        assert torch.equal(g, w)


def test_an_input_on_another_device_or_of_another_dtype_is_refused(fake: FakeTensorRT) -> None:
    program = compile_quietly(torch.nn.Sequential(torch.nn.Linear(8, 4)).eval(), [torch.randn(2, 8)],
                              runtime="tensorrt")
    (segment,) = [m for m in program.modules() if isinstance(m, SegmentModule)]
    fake.register(segment.engine, segment.body)
    runner = EngineRunner(segment.engine, "cpu", *_names(segment))
    with pytest.raises(ValueError, match="is on meta, the engine runs on cpu"):
        runner(torch.empty(2, 8, device="meta"))
    with pytest.raises(TypeError, match=r"is torch\.float16, the engine wants torch\.float32"):
        runner(torch.randn(2, 8).half())
    assert fake.executions == []


@pytest.mark.parametrize(("gpu_state", "message"), [
    (FakeGpu(is_available=False), "CUDA is not available"),
    (FakeGpu(capability_=(9, 0)), r"does not support Fake GPU \(CPU memory\) \(compute capability 9\.0\)"),
])
def test_runtime_tensorrt_on_a_gpu_tensorrt_cannot_use_is_an_error_naming_why(fake: FakeTensorRT, monkeypatch,
                                                                             gpu_state: FakeGpu, message: str) -> None:
    program = compile_quietly(torch.nn.Sequential(torch.nn.Linear(8, 4)).eval(), [torch.randn(2, 8)],
                              runtime="tensorrt")
    fake.register_program(program)
    monkeypatch.setattr(gpu, "GPU", gpu_state)
    with pytest.raises(RuntimeError, match=f"runtime='tensorrt' but the engine cannot run: .*{message}"):
        program(torch.randn(2, 8))


def test_auto_runs_the_engine_where_it_can(fake: FakeTensorRT) -> None:
    program = compile_quietly(torch.nn.Sequential(torch.nn.Linear(8, 4)).eval(), [torch.randn(2, 8)],
                              runtime="auto")
    fake.register_program(program)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "falling back to the reference runtime" warning
        program(torch.randn(2, 8))
    assert len(fake.executions) == 1


def test_bytes_that_are_not_an_engine_are_refused_with_tensorrts_error(fake: FakeTensorRT) -> None:
    with pytest.raises(EngineLoadError, match=r"could not deserialise the engine: .*not an engine"):
        EngineRunner(b"not an engine", "cpu")


def test_without_a_tensorrt_module_the_runner_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt_rtx", None)
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    monkeypatch.setattr(gpu, "GPU", FakeGpu())
    find_tensorrt.cache_clear()
    try:
        with pytest.raises(EngineLoadError, match=r"pip install 'trt-passes\[rtx\]'"):
            EngineRunner(b"engine", "cpu")
        with pytest.raises(TensorRTNotAvailableError):
            find_tensorrt()
    finally:
        find_tensorrt.cache_clear()
