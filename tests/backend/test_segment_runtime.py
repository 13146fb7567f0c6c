"""The one decision both forms of a segment (``SegmentModule`` and the ``execute_engine`` op) make: engine or
reference runtime, with the reason, warned once per process."""

from __future__ import annotations

import warnings

import pytest
import torch

import trt_passes  # noqa: F401  (registers the op)
import trt_passes.backend.segment_runtime as segment_runtime
from trt_passes.backend.engine_op import make_meta
from trt_passes.backend.segment_module import SegmentModule
from trt_passes.backend.segment_runtime import use_engine
from trt_passes.ir import Graph, Slot, TensorType, Value

CPU = torch.device("cpu")
F = TensorType("f32", (3, 4))


def neg_body() -> Graph:
    g = Graph()
    x = g.add_input("x", F, 0)
    neg = g.add("aten.neg.default", [Value(x)], {"self": Slot(0)}, [F])
    g.set_outputs([Value(neg)])
    return g


def test_auto_warns_once_per_process_whether_segments_run_as_modules_or_as_ops(monkeypatch):
    monkeypatch.setattr(segment_runtime, "_fallback_warned", False)
    x = torch.randn(3, 4)
    meta, weights = make_meta("op_seg", neg_body(), "auto", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (module_out,) = SegmentModule("module_seg", neg_body(), None)(x)
        (op_out,) = torch.ops.trt_passes.execute_engine([x], torch.zeros(0, dtype=torch.uint8), weights, meta)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "reference runtime" in messages[0] and "'module_seg' has no engine" in messages[0]
    assert torch.equal(module_out, -x) and torch.equal(op_out, -x)


def test_the_reference_runtime_is_chosen_without_a_warning_even_with_an_engine(monkeypatch):
    monkeypatch.setattr(segment_runtime, "_fallback_warned", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert use_engine("s", "reference", True, CPU) is False


def test_the_tensorrt_runtime_where_the_engine_cannot_run_is_an_error_naming_segment_and_reason():
    with pytest.raises(RuntimeError, match=r"'s'.*runtime='tensorrt'.*cannot run.*CUDA devices, not cpu"):
        use_engine("s", "tensorrt", True, CPU)


def test_without_weights_a_segment_whose_engine_cannot_run_is_an_error_not_a_fallback():
    for runtime in ("auto", "reference"):
        with pytest.raises(RuntimeError, match=r"'s' was saved without its weights.*cannot run here"):
            use_engine("s", runtime, False, CPU, reference_possible=False)


def test_an_engine_recorded_for_another_gpu_falls_back_with_the_compatibility_reason(monkeypatch):
    monkeypatch.setattr(segment_runtime, "_fallback_warned", False)
    monkeypatch.setattr(segment_runtime, "tensorrt_runtime_status", lambda device: (True, "a GPU here"))
    monkeypatch.setattr(segment_runtime, "current_tensorrt", lambda: ("tensorrt_rtx", "1.7.1.116"))
    monkeypatch.setattr(segment_runtime, "current_target", lambda: {"gpu": "NVIDIA RTX A4000",
                                                                    "compute_capability": [8, 6]})
    record = {"tensorrt_module": "tensorrt_rtx", "tensorrt_version": "1.7.1.116",
              "target": {"gpu": "NVIDIA H100", "compute_capability": [9, 0]}}
    with pytest.warns(RuntimeWarning, match=r"reference runtime.*built for NVIDIA H100"):
        assert use_engine("s", "auto", True, torch.device("cuda"), record) is False
    assert use_engine("s", "auto", True, torch.device("cuda"), {**record, "target": None}) is True


def matmul_body(tf32: bool | None) -> Graph:
    g = Graph()
    t = TensorType("f32", (1, 1))
    x = g.add_input("x", t, 0)
    one = g.add_constant(torch.ones(1, 1), "one")
    mm = g.add("trt.matrix_multiply", [Value(x), Value(one)],
               {"a": Slot(0), "b": Slot(1), "op_a": "NONE", "op_b": "NONE"}, [t])
    g.set_outputs([Value(mm)])
    if tf32 is not None:
        g.meta["numerics"] = {"tf32": tf32}
    return g


@pytest.mark.parametrize("tf32, expected", [(True, 1.0), (False, 1.0 + 2.0 ** -20), (None, 1.0 + 2.0 ** -20)])
def test_the_reference_runtime_computes_with_the_numerics_the_engine_was_built_with(tf32, expected):
    x = torch.tensor([[1.0 + 2.0 ** -20]])
    (module_out,) = SegmentModule("seg", matmul_body(tf32), None, "reference")(x)
    meta, weights = make_meta("seg", matmul_body(tf32), "reference", None)
    (op_out,) = torch.ops.trt_passes.execute_engine([x], torch.zeros(0, dtype=torch.uint8), weights, meta)
    assert module_out.item() == expected and op_out.item() == expected
