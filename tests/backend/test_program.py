"""``build_program`` turns IR graphs into GraphModules that compute what the graph (and the model) computes."""

from __future__ import annotations

import operator

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.frontends.models import BERT_INPUT_SHAPE, RESNET_INPUT_SHAPE, bert, max_relative_error, resnet18
from trt_passes.backend.program import build_program
from trt_passes.backend.segment_module import SegmentModule
from trt_passes.frontends import get_frontend
from trt_passes.ir import Graph, GraphError, Slot, TensorType, Value, verify

TOLERANCE = 1e-5
F23 = TensorType("f32", (2, 3))


def _wrapped(model_and_graph):
    graph = model_and_graph[1]
    return get_frontend("dynamo").wrap(build_program(graph), graph)


# ---- whole models -------------------------------------------------------------------------------------------------
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.1, 10.0))
def test_resnet18_program_reproduces_eager(seed: int, scale: float):
    model, _ = resnet18()
    compiled = _wrapped(resnet18())
    x = torch.randn(RESNET_INPUT_SHAPE, generator=torch.Generator().manual_seed(seed)) * scale
    with torch.no_grad():
        assert max_relative_error(compiled(x), model(x)) <= TOLERANCE


@given(ids=st.lists(st.integers(1, 1023), min_size=16, max_size=16))
def test_bert_program_reproduces_eager_with_the_models_output_class(ids: list[int]):
    model, _, _ = bert()
    compiled = _wrapped(bert())
    x = torch.tensor(ids).reshape(BERT_INPUT_SHAPE)
    with torch.no_grad():
        got, want = compiled(x), model(x)
    assert type(got) is type(want) and list(got.keys()) == list(want.keys())
    for key in want.keys():
        assert max_relative_error(got[key], want[key]) <= TOLERANCE


def test_constants_are_buffers_holding_the_models_own_tensors_and_multi_outputs_are_read_through_getitem():
    model, graph = resnet18("pytorch")  # core ATen: max pooling returns values and indices
    gm = build_program(graph)
    own = {id(t) for t in [*model.parameters(), *model.buffers()]}
    assert not list(gm.parameters())  # nothing trainable: weights are baked into engines
    installed = list(gm.buffers())
    assert installed and all(id(t) in own for t in installed)
    pool = next(n for n in gm.graph.nodes if n.target == torch.ops.aten.max_pool2d_with_indices.default)
    assert [u.target for u in pool.users] == [operator.getitem]


def test_the_program_does_not_import_a_frontend():
    import ast
    import inspect

    import trt_passes.backend.program as program

    tree = ast.parse(inspect.getsource(program))
    modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not any("frontends" in m for m in modules)


# ---- hand-made graphs ---------------------------------------------------------------------------------------------
def test_arguments_are_rebuilt_positionally_and_kwarg_only_ones_by_keyword_with_dtype_names_restored():
    g = Graph()
    x = g.add_input("x", F23, 0)
    y = g.add_input("y", F23, 1)
    cat = g.add("aten.cat.default", [Value(x), Value(y)], {"tensors": (Slot(0), Slot(1)), "dim": 0},
                [TensorType("f32", (4, 3))])
    cast = g.add("aten._to_copy.default", [Value(cat)],
                 {"self": Slot(0), "dtype": "f16", "layout": None, "device": None, "pin_memory": None,
                  "non_blocking": False, "memory_format": None}, [TensorType("f16", (4, 3))])
    g.set_outputs([Value(cast), Value(x)])
    verify(g)
    gm = build_program(g)
    call = next(n for n in gm.graph.nodes if n.target == torch.ops.aten._to_copy.default)
    assert call.kwargs["dtype"] is torch.float16  # kwarg-only, and back to a torch.dtype
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    out, passthrough = gm(a, b)
    assert out.dtype == torch.float16 and torch.equal(out, torch.cat([a, b]).half())
    assert passthrough is a
    assert [n.name for n in gm.graph.nodes if n.op == "placeholder"] == ["x", "y"]


def test_constants_named_like_a_modules_attributes_get_other_names():
    # torch.export names a node after its op ("to", "float"); folding may name a constant after that node
    g = Graph()
    x = g.add_input("x", F23, 0)
    names = ["to", "forward", "buffers", "to"]
    consts = [g.add_constant(torch.full((2, 3), float(i)), name=n) for i, n in enumerate(names)]
    total = Value(x)
    for c in consts:
        total = Value(g.add("aten.add.Tensor", [total, Value(c)], {"self": Slot(0), "other": Slot(1), "alpha": 1},
                            [F23]))
    g.set_outputs([total])
    gm = build_program(g)
    targets = [n.target for n in gm.graph.nodes if n.op == "get_attr"]
    assert len(set(targets)) == 4 and not any(hasattr(torch.fx.GraphModule, t) for t in targets)
    a = torch.randn(2, 3)
    (out,) = gm(a)
    assert torch.equal(out, a + 0.0 + 1.0 + 2.0 + 3.0)


def test_a_segment_node_runs_its_segment_module_and_its_outputs_are_read_by_index():
    body = Graph()
    bx = body.add_input("x", F23, 0)
    w = body.add_constant(torch.randn(2, 3), "w")
    mul = body.add("aten.mul.Tensor", [Value(bx), Value(w)], {"self": Slot(0), "other": Slot(1)}, [F23])
    relu = body.add("aten.relu.default", [Value(mul)], {"self": Slot(0)}, [F23])
    body.set_outputs([Value(relu), Value(mul)])

    g = Graph()
    x = g.add_input("x", F23, 0)
    seg = g.add("segment", [Value(x)], {"name": "seg0", "body": body}, [F23, F23])
    add = g.add("aten.add.Tensor", [Value(seg, 0), Value(seg, 1)],
                {"self": Slot(0), "other": Slot(1), "alpha": 1}, [F23])
    g.set_outputs([Value(add)])
    verify(g)

    gm = build_program(g, {seg: SegmentModule("seg0", body, None, runtime="reference")})
    assert isinstance(gm.get_submodule("seg0"), SegmentModule)
    a = torch.randn(2, 3)
    (got,) = gm(a)
    m = a * body.node(w).value
    torch.testing.assert_close(got, m.relu() + m)


def test_a_segment_without_a_module_is_an_error_naming_it():
    body = Graph()
    body.set_outputs([Value(body.add_input("x", F23, 0))])
    g = Graph()
    seg = g.add("segment", [Value(g.add_input("x", F23, 0))], {"name": "s", "body": body}, [F23])
    g.set_outputs([Value(seg)])
    with pytest.raises(GraphError, match=f"%{seg}: no module"):
        build_program(g, {})


def test_a_dialect_op_outside_a_segment_is_an_error():
    g = Graph()
    x = g.add_input("x", F23, 0)
    r = g.add("trt.identity", [Value(x)], {"input": Slot(0)}, [F23])
    g.set_outputs([Value(r)])
    with pytest.raises(GraphError, match="outside a segment"):
        build_program(g)
