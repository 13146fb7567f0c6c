"""The body codec: a segment body survives JSON and back exactly (no pickle), and refuses what is not plain data."""

from __future__ import annotations

import json
import math

import pytest
import torch

from trt_passes.backend.body_codec import BodyCodecError, decode_body, dumps_body, encode_body, loads_body
from trt_passes.backend.enums import ActivationType, ElementWiseOperation, PoolingType
from trt_passes.ir import Graph, Slot, TensorType, Value
from trt_passes.ir.graph import Provenance

F = TensorType("f32", (2, 3))


def every_kind_of_attr_body() -> Graph:
    """A body using each attribute kind the IR allows: slots (single and tuples), enums, None, inf/nan floats, ints,
    bools, strings, dtype names, torch dtypes, nested lists, dicts, two outputs, provenance and a constant."""
    g = Graph()
    x = g.add_input("x", F, 0, source="model/x")
    w = g.add_constant(torch.randn(2, 3, generator=torch.Generator().manual_seed(3)), "w")
    act = g.add("trt.activation", [Value(x)], {"input": Slot(0), "type": ActivationType.GELU_ERF, "alpha": -math.inf,
                                                "beta": 0.5}, [F],
                Provenance(source="layer/gelu", rule="gelu", location="act.rw:3", ruleset="convert.core",
                           replaced=(7, 9)))
    cat = g.add("trt.concatenation", [Value(act), Value(w)], {"inputs": (Slot(0), Slot(1)), "axis": 0},
                [TensorType("f32", (4, 3))])
    odd = g.add("trt.custom_for_test", [Value(cat)],
                {"input": Slot(0), "bias": None, "flag": True, "name": "n", "to": "bf16", "dtype": torch.float16,
                 "nested": [[1, 2], (3, "a")], "table": {"k": ElementWiseOperation.SUM, "n": math.nan},
                 "pool": PoolingType.MAX},
                [TensorType("f32", (4, 3)), TensorType("i64", (4, "s0"))])
    g.set_outputs([Value(odd, 0), Value(odd, 1), Value(act)])
    return g


def same_graph(a: Graph, b: Graph) -> None:
    assert sorted(a.nx.nodes) == sorted(b.nx.nodes)
    for na, nb in zip(a.all_nodes(), b.all_nodes()):
        assert (na.id, na.op, na.name, na.outputs, na.provenance) == (nb.id, nb.op, nb.name, nb.outputs, nb.provenance)
        assert set(na.attrs) == set(nb.attrs)
        for k in na.attrs:
            va, vb = na.attrs[k], nb.attrs[k]
            assert type(va) is type(vb), (na.id, k)
            assert repr(va) == repr(vb), (na.id, k)  # repr: nan != nan, but prints the same
        assert (na.value is None) == (nb.value is None)
    assert sorted(a.nx.edges(keys=True, data="index")) == sorted(b.nx.edges(keys=True, data="index"))
    assert a._next_id == b._next_id


def test_a_body_round_trips_exactly_with_its_constants_by_reference():
    body = every_kind_of_attr_body()
    text, weights = dumps_body(body)
    back = loads_body(text, weights)
    same_graph(body, back)
    constants = [n for n in back.all_nodes() if n.op == "constant"]
    assert len(constants) == 1 and constants[0].value is weights[0]
    assert weights[0] is body.node(constants[0].id).value


def test_the_encoding_is_strict_json_of_plain_types_only():
    data, _ = encode_body(every_kind_of_attr_body())
    text = json.dumps(data, allow_nan=False)  # raises on NaN/inf literals or any non-JSON object

    def walk(v: object) -> None:
        assert v is None or isinstance(v, (bool, int, float, str, list, dict)), type(v)
        if isinstance(v, list):
            for x in v:
                walk(x)
        if isinstance(v, dict):
            assert all(isinstance(k, str) for k in v)
            for x in v.values():
                walk(x)

    walk(json.loads(text))
    assert '"$enum":"ActivationType","name":"GELU_ERF"' in text.replace(" ", "")


def test_a_real_converted_body_round_trips_and_computes_the_same():
    from trt_passes.backend.registry import default_ops
    from trt_passes.compiler import run_passes
    from trt_passes.frontends import get_frontend
    from trt_passes.ir.interpreter import run_graph
    from trt_passes.passes.settings import CompileSettings

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 5)).eval()
    x = torch.randn(2, 3, 8, 8)
    graph = get_frontend("dynamo").import_model(model, (x,))
    ctx = run_passes(graph, CompileSettings(build_engines=False, min_block_size=1))
    bodies = [n.attrs["body"] for n in ctx.graph.all_nodes() if n.op == "segment"]
    assert bodies, "the model should make at least one segment"
    for body in bodies:
        text, weights = dumps_body(body)
        back = loads_body(text, weights)
        same_graph(body, back)
        inputs = [torch.randn(*body.node(i).type.shape) for i in body.graph_inputs()]
        for a, b in zip(run_graph(body, inputs, default_ops()), run_graph(back, inputs, default_ops())):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [
    {"$enum": "os", "name": "system"},
    {"$enum": "ActivationType", "name": "NOT_A_MEMBER"},
    {"$torch": "load"},
    {"$dtype": "object"},
    {"$pickle": "gASVAAAA"},
])
def test_decoding_resolves_only_known_names(bad: dict):
    data, weights = encode_body(every_kind_of_attr_body())
    data["nodes"][-1]["attrs"]["extra"] = bad
    with pytest.raises(BodyCodecError):
        decode_body(data, weights)


def test_encoding_refuses_objects_that_are_not_plain_data():
    g = Graph()
    x = g.add_input("x", F, 0)
    n = g.add("trt.identity", [Value(x)], {"input": Slot(0), "hook": object()}, [F])
    g.set_outputs([Value(n)])
    with pytest.raises(BodyCodecError, match="hook"):
        encode_body(g)


def test_a_weight_index_out_of_range_is_refused():
    text, weights = dumps_body(every_kind_of_attr_body())
    with pytest.raises(BodyCodecError, match="weight"):
        loads_body(text, [])
    assert len(weights) == 1
