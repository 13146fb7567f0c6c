"""Partitioning keeps the contracted graph acyclic and extraction preserves what the graph computes."""

import networkx as nx
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trt_passes.ir import Graph, Slot, TensorType, Value, verify
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.interpreter import run_graph
from trt_passes.ir.ops import OpRegistry
from trt_passes.passes.partition import extract_segment, group_supported

T = TensorType("f32", (3,))
OPS = OpRegistry([aten_dialect()])


@st.composite
def random_dags(draw):
    """A graph of binary/unary elementwise ops over one input, each op randomly supported or not."""
    g = Graph()
    values = [Value(g.add_input("x", T, 0))]
    supported = set()
    for _ in range(draw(st.integers(1, 25))):
        a = draw(st.sampled_from(values))
        if draw(st.booleans()):
            b = draw(st.sampled_from(values))
            nid = g.add("aten.add.Tensor", [a, b], {"self": Slot(0), "other": Slot(1), "alpha": 1}, [T])
        else:
            nid = g.add("aten.sin.default", [a], {"self": Slot(0)}, [T])
        if draw(st.booleans()):
            supported.add(nid)
        values.append(Value(nid))
    g.set_outputs(values[-draw(st.integers(1, min(3, len(values) - 1))):])
    return g, supported


# Pure graph work, so cheap: many examples (25 once missed a segment entered at one member and left at another).
@settings(max_examples=300)
@given(random_dags())
def test_grouping_assigns_only_supported_nodes_and_contracting_segments_leaves_a_dag(case):
    g, supported = case
    seg = group_supported(g, supported)
    assert set(seg) == supported
    contracted = nx.DiGraph()
    label = {n: ("seg", seg[n]) if n in seg else ("node", n) for n in g.nx.nodes}
    contracted.add_nodes_from(set(label.values()))
    for u, v in g.nx.edges():
        if label[u] != label[v]:
            contracted.add_edge(label[u], label[v])
    assert nx.is_directed_acyclic_graph(contracted)


@given(random_dags(), st.integers(0, 2**31 - 1))
def test_extracting_every_segment_preserves_the_graphs_results(case, seed):
    g, supported = case
    x = torch.randn(3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).float() + 0.5
    expected = run_graph(g, [x], OPS)
    seg = group_supported(g, supported)
    groups: dict[int, list[int]] = {}
    for nid in g.topo_order():
        if nid in seg:
            groups.setdefault(seg[nid], []).append(nid)
    for k, members in enumerate(groups.values()):
        extract_segment(g, members, f"trt_{k}")
    verify(g)
    got = run_graph(g, [x], OPS)
    assert all(torch.equal(a, b) for a, b in zip(got, expected))
    assert sum(n.op == "segment" for n in g.all_nodes()) == len(groups)


def test_a_segment_shares_constants_by_reference_and_takes_only_real_inputs():
    g = Graph()
    x = g.add_input("x", T, 0)
    w = torch.randn(3)
    c = g.add_constant(w, "w")
    m = g.add("aten.mul.Tensor", [Value(x), Value(c)], {"self": Slot(0), "other": Slot(1)}, [T])
    s = g.add("aten.sin.default", [Value(m)], {"self": Slot(0)}, [T])
    g.set_outputs([Value(s)])
    seg = extract_segment(g, [m, s], "trt_0")
    body = g.node(seg).attrs["body"]
    assert g.inputs(seg) == [Value(x)]
    constants = [n for n in body.all_nodes() if n.op == "constant"]
    assert len(constants) == 1 and constants[0].value is w


def _sin(g: Graph, v: Value) -> Value:
    return Value(g.add("aten.sin.default", [v], {"self": Slot(0)}, [T]))


def _add(g: Graph, a: Value, b: Value) -> Value:
    return Value(g.add("aten.add.Tensor", [a, b], {"self": Slot(0), "other": Slot(1), "alpha": 1}, [T]))


def test_segments_that_feed_each_other_directly_become_one():
    # b starts its own segment (its only producer is an input), then feeds a's segment directly.
    g = Graph()
    x = Value(g.add_input("x", T, 0))
    a, b = _sin(g, x), _sin(g, x)
    c = _add(g, a, b)
    g.set_outputs([c])
    seg = group_supported(g, {a.node, b.node, c.node})
    assert len(set(seg.values())) == 1


def test_segments_joined_through_a_pytorch_op_stay_apart():
    g = Graph()
    x = Value(g.add_input("x", T, 0))
    a = _sin(g, x)
    u = _sin(g, a)  # unsupported: a -> u -> b and a -> b, so merging a's and b's segments would be a cycle
    b = _add(g, a, u)
    g.set_outputs([b])
    seg = group_supported(g, {a.node, b.node})
    assert seg[a.node] != seg[b.node]
