"""Symbolic dims: size expressions evaluate the same on ints, bind from run-time shapes, and infer through ops."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from trt_passes.backend.body_codec import decode_body, encode_body
from trt_passes.ir import Graph, Slot, SymbolRange, SymDim, TensorType, Value
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.fake_shapes import known_ranges
from trt_passes.ir.symbolic import SymbolicError, bind, canonical, dim_at, evaluate, fold, is_symbolic

sizes = st.integers(1, 10_000)


@given(a=sizes, b=sizes)
def test_an_expression_evaluates_as_python_integer_arithmetic(a, b):
    assert fold("2*s0 + (s1//3) - (s0 % 5)", {"s0": a, "s1": b}) == 2 * a + b // 3 - a % 5
    assert fold("Max(s0, s1)", {"s0": a, "s1": b}) == max(a, b)


def test_symbolic_values_are_found_inside_lists_and_replaced_there():
    size = [SymDim("s0"), 512, SymDim("2*s0")]
    assert is_symbolic(size) and not is_symbolic([1, 2, "f32"])  # a dtype name is not a size
    assert evaluate(size, {"s0": 3}) == [3, 512, 6]


def test_expressions_other_than_size_arithmetic_are_refused():
    with pytest.raises(SymbolicError, match="supported"):
        fold("__import__('os')", {})


def test_binding_reads_symbols_from_input_shapes_and_checks_every_dim():
    shapes = [(SymDim("s0"), SymDim("s1")), (SymDim("s0"), 4, SymDim("2*s1"))]
    assert bind(shapes, [(3, 7), (3, 4, 14)]) == {"s0": 3, "s1": 7}
    with pytest.raises(SymbolicError, match=r"^input 1, axis 2 must be 14, got shape \(3, 4, 15\)$"):
        bind(shapes, [(3, 7), (3, 4, 15)])
    with pytest.raises(SymbolicError, match="input 1, axis 1 must be 4"):
        bind(shapes, [(3, 7), (3, 5, 14)])
    with pytest.raises(SymbolicError, match=r"^input 1, axis 0 is 4, but must equal input 0, axis 0, which is 3$"):
        bind(shapes, [(3, 7), (4, 4, 14)])
    with pytest.raises(SymbolicError, match=r"^input 0, axis 0 is 9, outside the range the program was compiled for: "
                                            r"1\.\.8$"):
        bind(shapes, [(9, 7), (9, 4, 14)], {"s0": SymbolRange(1, 4, 8)})


def test_binding_errors_name_inputs_and_axes_as_given_never_the_symbol():
    shapes = [(SymDim("s0"), 4), (SymDim("s0"),)]
    labels, origins = ["input 0 ('x')", "segment input 1"], {"s0": "input 2 ('ids'), axis 1"}
    with pytest.raises(SymbolicError, match=r"^input 2 \('ids'\), axis 1 is 9, outside .*: 1\.\.8$") as info:
        bind(shapes, [(9, 4), (9,)], {"s0": SymbolRange(1, 4, 8)}, labels, origins)
    assert "s0" not in str(info.value)
    with pytest.raises(SymbolicError, match=r"^input 0 \('x'\), axis 1 must be 4"):
        bind(shapes, [(2, 5), (2,)], None, labels, origins)


def test_a_profile_dim_is_the_expression_at_each_end_of_the_symbol_ranges():
    ranges = {"s0": SymbolRange(1, 4, 8), "s1": SymbolRange(2, 16, 64)}
    d = SymDim("s0*s1")
    assert [dim_at(d, ranges, w) for w in ("min", "opt", "max")] == [2, 64, 512]
    with pytest.raises(SymbolicError, match="no upper bound"):
        dim_at(SymDim("s2"), {"s2": SymbolRange(1, 4, None)}, "max")


def test_type_inference_keeps_symbols_through_ops():
    aten = aten_dialect()
    x = TensorType("f32", (SymDim("s0"), SymDim("s1"), 128))
    (flat,) = aten.infer("aten.view.default", {"self": x, "size": [SymDim("s0*s1"), 128]})
    assert flat == TensorType("f32", ("s0*s1", 128))
    image = TensorType("f32", (SymDim("s0"), 3, 64, 64))
    args = {"input": image, "weight": torch.randn(8, 3, 3, 3), "bias": None, "stride": [2, 2], "padding": [1, 1],
            "dilation": [1, 1], "transposed": False, "output_padding": [0, 0], "groups": 1}
    (conv,) = aten.infer("aten.convolution.default", args)
    assert conv == TensorType("f32", ("s0", 8, 32, 32))


def test_size_checks_in_inference_are_decided_by_the_symbol_ranges():
    aten = aten_dialect()
    table = torch.randn(1, 512)
    args = {"self": table, "dim": 1, "start": 0, "end": SymDim("s1"), "step": 1}
    with known_ranges({"s1": SymbolRange(4, 16, 64)}):
        (out,) = aten.infer("aten.slice.Tensor", args)
    assert out == TensorType("f32", (1, "s1"))


def test_symbolic_attributes_and_ranges_survive_the_body_codec():
    g = Graph()
    x = g.add_input("x", TensorType("f32", (SymDim("s0"), 6)), 0)
    v = g.add("aten.view.default", [Value(x)], {"self": Slot(0), "size": [SymDim("s0*2"), 3]},
              [TensorType("f32", (SymDim("2*s0"), 3))])
    g.set_outputs([Value(v)])
    g.meta["symbols"] = {"s0": SymbolRange(1, 2, 4)}
    back = decode_body(*encode_body(g))
    node = back.node(v)
    assert isinstance(node.attrs["size"][0], SymDim) and node.attrs["size"] == ["2*s0", 3]
    assert back.meta["symbols"] == {"s0": SymbolRange(1, 2, 4)}
    assert isinstance(node.outputs[0].shape[0], SymDim)


def test_size_arithmetic_in_guards_gives_the_canonical_form_inference_gives():
    from trt_passes.dsl.evaluate import binop

    product = binop("*", SymDim("s72"), SymDim("s70"))
    assert product == binop("*", SymDim("s70"), SymDim("s72")) == "s70*s72"
    (flat,) = aten_dialect().infer("aten.view.default", {"self": TensorType("f32", ("s72", "s70", 8)),
                                                        "size": [-1, 8]})
    assert binop("==", [product, 8], list(flat.shape))  # a guard `shape(v) == [s[0] * s[1], s[2]]` holds
    assert binop("//", SymDim("s1"), 2) == "(s1//2)" and binop("+", SymDim("s1"), 0) == "s1"


@st.composite
def expressions(draw, depth: int = 3):
    """A random size expression over s0, s1, s2 in the dim syntax (+ - * // %, Max, Min), as text."""
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(["s0", "s1", "s2", "1", "2", "3", "7"]))
    a, b = draw(expressions(depth - 1)), draw(expressions(depth - 1))
    op = draw(st.sampled_from(["+", "-", "*", "//", "%", "Max", "Min"]))
    if op in ("//", "%"):
        return f"(({a})//{draw(st.integers(1, 5))})" if op == "//" else f"(({a}) % {draw(st.integers(1, 5))})"
    return f"{op}({a}, {b})" if op in ("Max", "Min") else f"({a}) {op} ({b})"


@given(text=expressions(), s0=sizes, s1=sizes, s2=sizes)
def test_the_canonical_form_computes_the_same_size_and_is_its_own_canonical_form(text, s0, s1, s2):
    env = {"s0": s0, "s1": s1, "s2": s2}
    dim = SymDim(text)
    assert fold(dim, env) == fold(text, env)
    assert SymDim(str(dim)) == dim and canonical(dim) == dim


@given(a=expressions(), b=expressions())
def test_sums_and_products_are_equal_whatever_the_order_of_their_operands(a, b):
    assert SymDim(f"({a}) + ({b})") == SymDim(f"({b}) + ({a})")
    assert SymDim(f"({a}) * ({b})") == SymDim(f"({b}) * ({a})")


def test_equal_sizes_are_equal_dims_and_types():
    assert SymDim("s0*2") == SymDim("2*s0") == "2*s0" and hash(SymDim("s0*2")) == hash("2*s0")
    assert SymDim("s0 + s0") == SymDim("2*s0") and SymDim("(2*s0)//2") == "s0"
    assert TensorType("f32", ("s1*s0", 4)) == TensorType("f32", (SymDim("s0*s1"), 4))
    assert SymDim("s0*s1") != SymDim("s0 + s1")
