"""The domain sampler: one example of a rule's left side as a standalone graph, and the property test it enables —
the graph computes the same before and after rewriting (float64, never on all-zero inputs)."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.dsl.conftest import OPS, load
from trt_passes.dsl import DomainError, Match, draw_example, match_at, rewrite
from trt_passes.dsl.domain import widen_to_f64
from trt_passes.ir import verify
from trt_passes.ir.interpreter import run_graph

RULES = load('''\
ruleset lower : lowering

rule addmm_as_mm_add
    aten.addmm.default(c, a: Tensor<f64|f32>[_, _], b, beta=1, alpha=1)
    => aten.add.Tensor(aten.mm.default(a, b), c)
    domain {
        a: f64|f32 [M=1..6, K=1..6] in -2.0..2.0
        b: f64|f32 [K, N=1..6]
        c: f64|f32 [N]
    }

rule sub_as_add_neg
    aten.sub.Tensor(x, y, alpha=k)
    => aten.add.Tensor(x, aten.neg.default(y), alpha=k)
    domain { x: f64 [2..3, 1..4] y: f64 [1] k: 1 | 2 | 3 }

rule conv_bias_split recursive "the bias becomes none"
    aten.convolution.default(x, w, b, s, p, d, false, _, g)
    where is_const(w) and b != none
    => aten.add.Tensor(aten.convolution.default(x, w, none, s, p, d, false, [0, 0], g),
                       aten.view.default(b, [-1, 1, 1]))
    domain {
        x: f64 [N=1..2, C=1..4, 5..9, 5..9]
        w: const f64 [K=1..4, C, 3, 3]
        b: const f64 [K] | none
        s: [1, 1] | [2, 2]
        p: [0, 0] | [1, 1]
        d: [1, 1]
        g: 1
    }

rule relu_of_relu
    aten.relu.default(aten.relu.default(x)) => aten.relu.default(x)
    domain { x: f64 [3, 4] in -1.0..1.0 }
    domain { x: f64 [2..5] }

rule zero_range recursive "not at all: the domain tests never rewrite"
    aten.abs.default(x) => aten.relu.default(aten.abs.default(x))
    domain { x: f64 [3] in 0.0..0.0 }
    domain { x: i32 [4] in 0..0 }

rule no_domain aten.clone.default(x) => x
    untested "identity"
''').rulesets["lower"]


def test_named_dims_are_drawn_once_and_shared_dtype_sets_draw_one_dtype():
    rng = random.Random(1)
    dtypes = set()
    for _ in range(20):
        _, (c, a, b) = draw_example(RULES.rule("addmm_as_mm_add"), OPS, rng)
        assert a.shape[1] == b.shape[0] and b.shape[1] == c.shape[0]
        assert a.dtype == b.dtype == c.dtype
        dtypes.add(a.dtype)
        assert a.abs().max() <= 2.0
    assert dtypes == {torch.float64, torch.float32}


def test_the_left_side_becomes_a_typed_graph_with_inputs_constants_and_the_root_as_output():
    rng = random.Random(2)
    seen_none = seen_bias = False
    for _ in range(20):
        g, inputs = draw_example(RULES.rule("conv_bias_split"), OPS, rng)
        verify(g)
        assert len(inputs) == 1 and [n.op for n in g.nodes()].count("constant") in (1, 2)
        (conv,) = [n for n in g.all_nodes() if n.op == "aten.convolution.default"]
        assert list(conv.attrs) == [a.name for a in OPS.schema(conv.op).args]
        assert conv.attrs["output_padding"] == [0, 0] and conv.attrs["transposed"] is False
        assert g.outputs()[0].node == conv.id
        assert tuple(run_graph(g, inputs, OPS)[0].shape) == conv.outputs[0].shape
        seen_none |= conv.attrs["bias"] is None
        seen_bias |= conv.attrs["bias"] is not None
    assert seen_none and seen_bias


def test_values_are_never_all_zero():
    rng = random.Random(3)
    for _ in range(10):
        _, (x,) = draw_example(RULES.rule("zero_range"), OPS, rng)
        assert x.count_nonzero() > 0


def test_each_example_draws_one_of_the_domain_blocks():
    shapes = {draw_example(RULES.rule("relu_of_relu"), OPS, random.Random(s))[1][0].dim() for s in range(20)}
    assert shapes == {1, 2}


def test_a_rule_without_a_domain_cannot_be_sampled():
    with pytest.raises(DomainError, match="untested: identity"):
        draw_example(RULES.rule("no_domain"), OPS, random.Random(0))


@pytest.mark.parametrize("name", ["addmm_as_mm_add", "sub_as_add_neg", "conv_bias_split", "relu_of_relu"])
@given(data=st.data())
def test_rewriting_a_domain_example_keeps_its_value(name, data):
    rule = RULES.rule(name)
    g, inputs = draw_example(rule, OPS, data)
    reference_graph, inputs64 = widen_to_f64(g, inputs, OPS)
    reference = run_graph(reference_graph, inputs64, OPS)[0]
    m = match_at(g, g.outputs()[0].node, RULES, OPS)
    if rule.name != "conv_bias_split" or g.node(g.outputs()[0].node).attrs["bias"] is not None:
        assert isinstance(m, Match) and m.rule.name == name
    assert reference.dtype == torch.float64
    assert reference.count_nonzero() > 0 or name == "relu_of_relu"
    rewrite(g, RULES, OPS)
    verify(g)
    after = run_graph(g, inputs, OPS)[0]
    tol = {torch.float64: 1e-9, torch.float32: 1e-4}[after.dtype]
    torch.testing.assert_close(after.double(), reference, rtol=tol, atol=tol)
