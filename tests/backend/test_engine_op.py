"""``torch.ops.trt_passes.execute_engine``: schema, real and fake implementations, export/script round trips, and its
meta record."""

from __future__ import annotations

import io
import json
import warnings

import pytest
import torch

import trt_passes  # noqa: F401  (registers the op)
from trt_passes.backend.engine_op import engine_op_program, make_meta, parse_meta, script_program, segment_calls
from trt_passes.backend.engine_record import ArtifactError
from trt_passes.backend.enums import ActivationType, ElementWiseOperation
from trt_passes.backend.program import build_program
from trt_passes.backend.segment_module import SegmentModule
from trt_passes.ir import Graph, Slot, TensorType, Value

F = TensorType("f32", (3, 4))


def relu_add_body(bias: torch.Tensor) -> Graph:
    """(x, y) -> (relu(x) + bias, y): a trt.* body with a constant and an output that is an input."""
    g = Graph()
    x = g.add_input("x", F, 0)
    y = g.add_input("y", F, 1)
    b = g.add_constant(bias, "bias")
    r = g.add("trt.activation", [Value(x)], {"input": Slot(0), "type": ActivationType.RELU, "alpha": 0.0,
                                              "beta": 0.0}, [F])
    s = g.add("trt.elementwise", [Value(r), Value(b)], {"a": Slot(0), "b": Slot(1),
                                                         "op": ElementWiseOperation.SUM}, [F])
    g.set_outputs([Value(s), Value(y)])
    return g


def call(body: Graph, *inputs: torch.Tensor, runtime: str = "reference") -> list[torch.Tensor]:
    meta, weights = make_meta("seg", body, runtime, None)
    return torch.ops.trt_passes.execute_engine(list(inputs), torch.zeros(0, dtype=torch.uint8), weights, meta)


def test_the_op_is_registered_with_the_documented_schema():
    schema = str(torch.ops.trt_passes.execute_engine.default._schema)
    assert schema == ("trt_passes::execute_engine(Tensor[] inputs, Tensor engine, Tensor[] weights, str meta) "
                      "-> Tensor[]")


def test_the_reference_implementation_computes_the_body_and_never_aliases_its_arguments():
    gen = torch.Generator().manual_seed(1)
    bias, x, y = (torch.randn(3, 4, generator=gen) for _ in range(3))
    out = call(relu_add_body(bias), x, y)
    torch.testing.assert_close(out[0], x.relu() + bias)
    torch.testing.assert_close(out[1], y)
    assert out[1].untyped_storage().data_ptr() != y.untyped_storage().data_ptr()


def test_the_fake_implementation_gives_the_recorded_types_without_running_the_body():
    from torch._subclasses.fake_tensor import FakeTensorMode

    meta, weights = make_meta("seg", relu_add_body(torch.ones(3, 4)), "reference", None)
    with FakeTensorMode() as mode:
        x = mode.from_tensor(torch.randn(3, 4))
        fake_w = [mode.from_tensor(w) for w in weights]
        out = torch.ops.trt_passes.execute_engine([x, x], torch.zeros(0, dtype=torch.uint8), fake_w, meta)
    assert [(o.dtype, tuple(o.shape)) for o in out] == [(torch.float32, (3, 4))] * 2


def program_with_segment(runtime: str = "auto") -> torch.fx.GraphModule:
    body = relu_add_body(torch.randn(3, 4, generator=torch.Generator().manual_seed(2)))
    g = Graph()
    x = g.add_input("x", F, 0)
    y = g.add_input("y", F, 1)
    seg = g.add("segment", [Value(x), Value(y)], {"name": "trt_0", "body": body}, [F, F])
    neg = g.add("aten.neg.default", [Value(seg, 0)], {"self": Slot(0)}, [F])
    g.set_outputs([Value(neg), Value(seg, 1)])
    return build_program(g, {seg: SegmentModule("trt_0", body, None, runtime)})


def test_a_program_with_op_calls_exports_saves_loads_and_scripts_with_the_same_results():
    program = program_with_segment("reference")
    ops = engine_op_program(program)
    assert len(segment_calls(ops)) == 1
    assert not any(isinstance(m, SegmentModule) for m in ops.modules())
    gen = torch.Generator().manual_seed(5)
    x, y = torch.randn(3, 4, generator=gen), torch.randn(3, 4, generator=gen)
    expected = program(x, y)
    for got in (ops(x, y),):
        for a, b in zip(got, expected):
            torch.testing.assert_close(a, b)

    ep = torch.export.export(ops, (x, y))
    assert any("execute_engine" in str(n.target) for n in ep.graph.nodes)
    buf = io.BytesIO()
    torch.export.save(ep, buf)
    buf.seek(0)
    loaded = torch.export.load(buf)
    again = torch.export.export(loaded.module(), (x, y))  # re-export of a loaded program
    for a, b in zip(again.module()(x, y), expected):
        torch.testing.assert_close(a, b)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        script = script_program(ops)
        buf = io.BytesIO()
        torch.jit.save(script, buf)
        buf.seek(0)
        reloaded = torch.jit.load(buf)
    for a, b in zip(reloaded(x, y), expected):
        torch.testing.assert_close(a, b)


def test_the_meta_string_records_outputs_body_and_engine():
    program = program_with_segment()
    program.get_submodule("trt_0").engine = b"\x01\x02engine"
    program.get_submodule("trt_0").engine_info = {"tensorrt_module": "tensorrt_rtx", "tensorrt_version": "1.7.1.116",
                                                  "target": {"gpu": None, "compute_capability": None}}
    ops = engine_op_program(program)
    meta = parse_meta(segment_calls(ops)[0].args[3])
    assert meta["format"] == 1 and meta["name"] == "trt_0" and meta["runtime"] == "auto"
    assert meta["outputs"] == [["f32", [3, 4]], ["f32", [3, 4]]]
    assert meta["engine"]["tensorrt_module"] == "tensorrt_rtx" and meta["engine"]["bytes"] == 8
    engine = ops.get_buffer(segment_calls(ops)[0].args[1].target)
    assert engine.dtype == torch.uint8 and bytes(engine.tolist()) == b"\x01\x02engine"


def test_a_corrupt_meta_string_is_an_artifact_error():
    with pytest.raises(ArtifactError, match="corrupted") as info:
        parse_meta("{not json")
    assert info.value.kind == "corrupt"
    with pytest.raises(ArtifactError) as info:
        parse_meta(json.dumps({"format": 99}))
    assert info.value.kind == "format"
