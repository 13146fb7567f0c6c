"""The IR graph: building, editing, ordering and verification."""

import pytest
import torch

from trt_passes.ir import Graph, GraphError, Slot, TensorType, Value, verify

F = TensorType("f32", (2, 3))


def small_graph() -> tuple[Graph, int, int, int]:
    g = Graph()
    x = g.add_input("x", F, 0)
    w = g.add_constant(torch.randn(3, 3), "w")
    m = g.add("aten.mm.default", [Value(x), Value(w)], {"self": Slot(0), "mat2": Slot(1)}, [F])
    g.set_outputs([Value(m)])
    return g, x, w, m


def test_inputs_are_returned_in_slot_order_and_uses_point_back():
    g, x, w, m = small_graph()
    assert g.inputs(m) == [Value(x), Value(w)]
    assert g.uses(Value(x)) == [(m, 0)]
    assert g.arg(m, "mat2") == Value(w)


def test_constants_hold_their_tensor_by_reference():
    t = torch.randn(4)
    g = Graph()
    c = g.add_constant(t, "t")
    assert g.node(c).value is t
    assert g.copy().node(c).value is t


def test_the_same_value_may_feed_two_slots_of_one_node():
    g = Graph()
    x = g.add_input("x", F, 0)
    m = g.add("aten.mul.Tensor", [Value(x), Value(x)], {"self": Slot(0), "other": Slot(1)}, [F])
    g.set_outputs([Value(m)])
    verify(g)
    assert g.uses(Value(x)) == [(m, 0), (m, 1)]


def test_replace_uses_moves_every_reader_and_remove_refuses_used_nodes():
    g, x, _w, m = small_graph()
    r = g.add("aten.relu.default", [Value(x)], {"self": Slot(0)}, [F])
    assert g.replace_uses(Value(x), Value(r), exclude=[r]) == 1
    assert g.input(m, 0) == Value(r)
    with pytest.raises(GraphError, match="still used"):
        g.remove(r)
    verify(g)


def test_topological_order_is_deterministic_and_respects_edges():
    g, x, w, m = small_graph()
    order = g.topo_order()
    assert order.index(x) < order.index(m) and order.index(w) < order.index(m)
    assert order == g.copy().topo_order()


def test_verify_reports_a_slot_the_attrs_do_not_name():
    g, _x, _w, m = small_graph()
    g.replace_node(m, attrs={"self": Slot(0)})
    with pytest.raises(GraphError, match="attrs reference slots"):
        verify(g)


def test_reading_an_output_index_the_producer_lacks_is_an_error():
    g = Graph()
    x = g.add_input("x", F, 0)
    with pytest.raises(GraphError, match="does not exist"):
        g.add("aten.relu.default", [Value(x, 1)], {"self": Slot(0)}, [F])


def test_printer_shows_types_args_and_results():
    g, *_ = small_graph()
    text = str(g)
    assert "aten.mm.default(self=%0, mat2=%1)" in text
    assert "f32[2, 3]" in text and "return (%2)" in text
