"""Trying a rule on examples at check time: a right side without the root's type is RW215 where it is written, a
domain the rule never matches is RW407 at the domain, and a correct rule is quiet."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.dsl.conftest import OPS, load
from trt_passes.dsl.examples import ConcreteTypes, annotated_domains, try_on_examples
from trt_passes.ir import TensorType
from trt_passes.ir.ops import OpRegistry

C = "ruleset r : converter\n"


def tried(text: str) -> list:
    lib = load(text)
    (rule,) = lib.all_rules()
    return try_on_examples(rule, OPS)


def test_a_right_side_of_the_wrong_dtype_is_reported_at_the_right_side_with_the_example():
    text = (C + "rule a\n    aten.relu.default(x: Tensor<f32>)\n"
            "    => trt.cast(trt.activation(x, type=ActivationType.RELU), to=f16)\n"
            "    domain { x: f32 [2..3, 4] }\n")
    (d,) = tried(text)
    assert d.code == "RW215" and (d.span.line, d.span.col) == (4, 8)
    assert "f16[" in d.message and "f32[" in d.message and any(n.startswith("on the example x: f32[") for n in d.notes)


def test_an_op_that_rejects_its_inputs_is_reported_at_that_op():
    text = (C + "rule a\n    aten.mm.default(a: Tensor<f32>[M, K], b: Tensor<f32>[K, N])\n"
            "    => trt.matrix_multiply(a, b, op_b=MatrixOperation.TRANSPOSE)\n    untested \"t\"\n")
    (d,) = tried(text)
    assert d.code == "RW215" and (d.span.line, d.span.col) == (4, 8) and "inner dims differ" in d.message


def test_a_rule_without_domain_is_tried_on_its_annotations_with_a_different_size_per_dim_name():
    # [M, N] as [2, 3]: a shuffle that forgets to transpose gives [2, 3] where aten.t gives [3, 2]
    text = C + "rule a\n    aten.t.default(x: Tensor<f32>[M, N])\n    => trt.shuffle(x, first_transpose=[0, 1])\n" \
        "    untested \"t\"\n"
    (d,) = tried(text)
    assert d.code == "RW215" and "f32[2, 3]" in d.message and "f32[3, 2]" in d.message


def test_a_domain_the_rule_never_matches_is_reported_at_the_domain_with_the_guard_part():
    text = (C + "rule a\n    aten.relu.default(x)\n    where rank(x) == 3\n"
            "    => trt.activation(x, type=ActivationType.RELU)\n    domain { x: f32 [2, 3] }\n")
    (d,) = tried(text)
    assert d.code == "RW407" and (d.span.line, d.span.col) == (6, 5)
    assert any("guard `rank(x) == 3` is false" in n for n in d.notes)
    assert [(label, s.line, s.col) for label, s in d.related] == [("the guard part `rank(x) == 3`", 4, 11)]


def test_a_rule_without_a_domain_is_never_reported_as_not_firing():
    text = C + "rule a\n    aten.relu.default(x)\n    where rank(x) == 5\n" \
        "    => trt.activation(x, type=ActivationType.RELU)\n    untested \"t\"\n"
    assert tried(text) == []


@pytest.mark.parametrize("rule", [
    "aten.relu.default(x) => trt.activation(x, type=ActivationType.RELU)\n    domain { x: f32|f16 [1..3, 4] }",
    "aten.sum.dim_IntList(x, [d], false) => trt.reduce(x, op=ReduceOperation.SUM, axes=[d], keep_dims=false)\n"
    "    domain { x: f32 [2..3, 3..4] d: 0 | 1 }",
    "aten.add.Tensor(a: Tensor<T: f32|f16>[N, C], b: Tensor<T>[C])\n"
    "    => trt.elementwise(a, b, op=ElementWiseOperation.SUM) untested \"t\"",
])
def test_a_right_side_of_the_root_type_is_quiet(rule):
    assert tried(f"{C}rule a\n    {rule}\n") == []


def test_the_annotations_describe_an_example_only_when_every_capture_is_a_tensor():
    lib = load(C + "rule a aten.add.Tensor(a: Tensor<f16>[N, 1], b: Tensor[N]) => trt.elementwise(a, b, "
               "op=ElementWiseOperation.SUM) untested \"t\"\n"
               "rule b aten.leaky_relu.default(x, s) => trt.activation(x, type=ActivationType.RELU) untested \"t\"\n")
    (dom,) = annotated_domains(lib.rule("a"))
    a, b = dom.entries
    assert (a.dtypes, b.dtypes) == (("f16",), ("f32",))  # no dtypes written: f32
    assert [getattr(d, "name", None) for d in a.dims] == ["N", None] and b.dims[0].name == "N"
    assert annotated_domains(lib.rule("b")) == ()  # `s` is a number: nothing says which


_SHAPES = st.lists(st.integers(1, 4), min_size=1, max_size=3)


@given(shape=_SHAPES, dtype=st.sampled_from(["f32", "f16", "i64"]))
def test_concrete_types_agree_with_the_dialects_inference(shape, dtype):
    concrete = ConcreteTypes(OPS)
    x = TensorType(dtype, tuple(shape))
    cases = [("aten.neg.default", {"self": x}),
             ("aten.sum.dim_IntList", {"self": x, "dim": [0], "keepdim": False, "dtype": None}),
             ("aten.add.Tensor", {"self": x, "other": TensorType(dtype, tuple(shape[-1:])), "alpha": 1})]
    for op, args in cases:
        assert concrete.infer(op, args) == OPS.infer(op, args)


def test_concrete_types_fall_back_to_the_dialect_when_an_op_rejects_zeros():
    calls = []

    class Counting(OpRegistry):
        def infer(self, op, args):
            calls.append(op)
            return super().infer(op, args)

    base = Counting(OPS.dialects.values())
    x = TensorType("i64", (2, 3))
    args = {"self": x, "other": x, "rounding_mode": "floor"}  # integer division by zero raises on zeros
    with pytest.raises(RuntimeError):
        torch.div(torch.zeros(2, 3, dtype=torch.int64), torch.zeros(2, 3, dtype=torch.int64), rounding_mode="floor")
    assert ConcreteTypes(base).infer("aten.div.Tensor_mode", args) == OPS.infer("aten.div.Tensor_mode", args)
    assert calls == ["aten.div.Tensor_mode"]


def test_a_right_side_that_raises_on_an_example_it_matches_is_reported_too():
    text = (C + "rule a\n    aten.convolution.default(x: Tensor<f32>, w, b, [1, 1], [0, 0], [1, 1], false, [0, 0], 1)\n"
            "    where is_const(w)\n"
            "    => trt.convolution(x, w, b, stride=[1, 1], padding=[0, 0], dilation=[1] * rank(b))\n"
            "    domain { x: f32 [1, 2, 5, 5] w: const f32 [3, 2, 3, 3] b: const f32 [3] | none }\n")
    (d,) = tried(text)
    assert d.code == "RW215" and "does not build on an example it matches" in d.message
