"""Constant folding evaluates pure ATen nodes on constants; dead-code elimination removes unused nodes."""

import torch

from trt_passes.ir import Graph, Slot, TensorType, Value
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.ops import OpRegistry
from trt_passes.passes.context import PassContext
from trt_passes.passes.dce import eliminate_dead_code
from trt_passes.passes.fold import fold_constants
from trt_passes.passes.report import CompileReport
from trt_passes.passes.settings import CompileSettings


def ctx_for(g: Graph) -> PassContext:
    return PassContext(g, OpRegistry([aten_dialect()]), None, CompileSettings(), CompileReport())


def test_arithmetic_on_constants_becomes_one_constant_with_the_eager_value():
    g = Graph()
    x = g.add_input("x", TensorType("f32", (4,)), 0)
    a, b = torch.randn(4), torch.randn(4)
    ca, cb = g.add_constant(a, "a"), g.add_constant(b, "b")
    s = g.add("aten.mul.Tensor", [Value(ca), Value(cb)], {"self": Slot(0), "other": Slot(1)}, [TensorType("f32", (4,))])
    y = g.add("aten.add.Tensor", [Value(x), Value(s)], {"self": Slot(0), "other": Slot(1), "alpha": 1},
              [TensorType("f32", (4,))])
    g.set_outputs([Value(y)])
    assert fold_constants(ctx_for(g)) == 1
    folded = g.node(g.input(y, 1).node)
    assert folded.op == "constant" and torch.equal(folded.value, a * b)
    assert folded.provenance.rule == "fold_constants"
    assert eliminate_dead_code(g) == 2  # a and b are now unused


def test_random_ops_are_never_folded():
    g = Graph()
    shape = TensorType("f32", (2,))
    r = g.add("aten.rand.default", [], {"size": [2], "dtype": None, "layout": None, "device": None,
                                        "pin_memory": None}, [shape])
    g.set_outputs([Value(r)])
    assert fold_constants(ctx_for(g)) == 0


def test_a_fold_that_would_blow_a_constant_up_is_left_alone():
    g = Graph()
    c = g.add_constant(torch.randn(1, 1), "c")
    big = TensorType("f32", (1024, 1024))
    e = g.add("aten.expand.default", [Value(c)], {"self": Slot(0), "size": [1024, 1024], "implicit": False}, [big])
    g.set_outputs([Value(e)])
    assert fold_constants(ctx_for(g)) == 0


def test_creation_ops_fold_to_constants():
    g = Graph()
    t = TensorType("i64", (5,))
    r = g.add("aten.arange.start_step", [], {"start": 0, "end": 5, "step": 1, "dtype": "i64", "layout": None,
                                             "device": None, "pin_memory": None}, [t])
    g.set_outputs([Value(r)])
    assert fold_constants(ctx_for(g)) == 1
    assert torch.equal(g.node(g.outputs()[0].node).value, torch.arange(5))
