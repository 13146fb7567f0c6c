"""``SegmentModule`` runs a segment's body: the reference runtime, device moves, and the auto runtime's fallback."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import trt_passes.backend.segment_runtime as segment_runtime
from trt_passes.backend.segment_module import SegmentModule
from trt_passes.ir import Graph, Slot, TensorType, Value

F = TensorType("f32", (3, 4))


def linear_relu_body(weight: torch.Tensor) -> Graph:
    """x -> relu(x @ w.T), and x @ w.T itself: two outputs, one constant."""
    g = Graph()
    x = g.add_input("x", F, 0)
    w = g.add_constant(weight, "w")
    t = g.add("aten.permute.default", [Value(w)], {"self": Slot(0), "dims": [1, 0]}, [TensorType("f32", (4, 4))])
    mm = g.add("aten.mm.default", [Value(x), Value(t)], {"self": Slot(0), "mat2": Slot(1)}, [F])
    relu = g.add("aten.relu.default", [Value(mm)], {"self": Slot(0)}, [F])
    g.set_outputs([Value(relu), Value(mm)])
    return g


@given(seed=st.integers(0, 2**31 - 1))
def test_the_reference_runtime_returns_the_bodys_outputs_as_a_tuple(seed: int):
    gen = torch.Generator().manual_seed(seed)
    weight, x = torch.randn(4, 4, generator=gen), torch.randn(3, 4, generator=gen)
    module = SegmentModule("seg", linear_relu_body(weight), None, runtime="reference")
    out = module(x)
    assert isinstance(out, tuple) and len(out) == 2
    torch.testing.assert_close(out[1], x @ weight.T)
    torch.testing.assert_close(out[0], (x @ weight.T).relu())


def test_body_constants_are_buffers_that_move_with_the_module_and_the_callers_graph_is_untouched():
    weight = torch.randn(4, 4)
    body = linear_relu_body(weight)
    module = SegmentModule("seg", body, None, runtime="reference")
    assert any(b is weight for b in module.buffers())  # registered by reference, not copied
    module.double()
    x = torch.randn(3, 4, dtype=torch.float64)
    out = module(x)
    assert out[1].dtype == torch.float64
    torch.testing.assert_close(out[1], x @ weight.double().T)
    w_node = next(n for n in body.all_nodes() if n.op == "constant")
    assert w_node.value is weight  # the IR graph handed in still holds the original tensor


def test_auto_without_an_engine_falls_back_to_the_reference_runtime_warning_once_per_process(monkeypatch):
    monkeypatch.setattr(segment_runtime, "_fallback_warned", False)
    weight, x = torch.randn(4, 4), torch.randn(3, 4)
    first = SegmentModule("a", linear_relu_body(weight), None)
    second = SegmentModule("b", linear_relu_body(weight), None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first(x)
        first(x)
        second(x)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "reference runtime" in messages[0] and "no engine" in messages[0]


def test_auto_with_an_engine_on_a_device_tensorrt_cannot_use_falls_back_with_the_reason(monkeypatch):
    monkeypatch.setattr(segment_runtime, "_fallback_warned", False)
    module = SegmentModule("a", linear_relu_body(torch.randn(4, 4)), b"not-an-engine")
    with pytest.warns(RuntimeWarning, match="reference runtime"):
        out = module(torch.randn(3, 4))  # CPU tensors: engines run on CUDA only
    assert len(out) == 2


def test_the_tensorrt_runtime_without_an_engine_is_an_error_naming_the_segment():
    module = SegmentModule("seg7", linear_relu_body(torch.randn(4, 4)), None, runtime="tensorrt")
    with pytest.raises(RuntimeError, match=r"seg7.*no engine"):
        module(torch.randn(3, 4))


def test_an_unknown_runtime_is_rejected_listing_the_valid_ones():
    with pytest.raises(ValueError, match="auto, tensorrt, reference"):
        SegmentModule("s", linear_relu_body(torch.randn(4, 4)), None, runtime="cuda")


def test_the_reference_runtime_also_runs_tensorrt_dialect_ops():
    from trt_passes.backend.enums import ActivationType

    g = Graph()
    x = g.add_input("x", F, 0)
    act = g.add("trt.activation", [Value(x)], {"input": Slot(0), "type": ActivationType.RELU, "alpha": 0.0,
                                               "beta": 0.0}, [F])
    g.set_outputs([Value(act)])
    x_value = torch.randn(3, 4)
    (out,) = SegmentModule("trt", g, None, runtime="reference")(x_value)
    torch.testing.assert_close(out, x_value.relu())


def test_inputs_of_another_size_than_compiled_for_are_refused_naming_the_input_and_the_fix():
    module = SegmentModule("seg", linear_relu_body(torch.randn(4, 4)), None, runtime="reference")
    with pytest.raises(ValueError, match=r"segment seg was compiled for input .* f32\[3, 4\]; it was given float32 of "
                                         r"shape \(5, 4\).*trt_passes.Input\(min_shape"):
        module(torch.randn(5, 4))
    assert module(torch.randn(3, 4))[1].shape == (3, 4)
