"""Rewriting to a fixpoint: which rules fire, what the graph looks like after, provenance, and the errors that name the
rule at fault (a replacement of the wrong type, a rule set that never settles)."""

from __future__ import annotations

import pytest
import torch

from tests.dsl.conftest import OPS, inp, load, node
from trt_passes.dsl import (
    RewriteBudgetError,
    RewriteEvent,
    RuleApplicationError,
    explain_no_match,
    match_at,
    rewrite,
)
from trt_passes.ir import Graph, Provenance, Slot, Value, verify
from trt_passes.ir.interpreter import run_graph

LOWER = '''\
ruleset lower : lowering
rule double_neg aten.neg.default(aten.neg.default(x)) => x
    untested "t"
rule relu_relu aten.relu.default(r @ aten.relu.default(x)) => r
    untested "t"
rule clone aten.clone.default(x) => x
    untested "t"
'''


def chain(g: Graph, x: Value, *ops: str) -> Value:
    for op in ops:
        x = node(g, op, self=x)
    return x


def test_rules_apply_until_no_rule_matches():
    rs = load(LOWER).rulesets["lower"]
    g = Graph()
    x = inp(g, "x", "f64", 3)
    out = chain(g, x, "aten.relu.default", "aten.clone.default", "aten.relu.default", "aten.relu.default",
                "aten.neg.default", "aten.neg.default", "aten.relu.default")
    g.set_outputs([out])
    inputs = [torch.randn(3, dtype=torch.float64) + 0.1]
    before = run_graph(g, inputs, OPS)
    stats = rewrite(g, rs, OPS)
    verify(g)
    assert dict(stats.fires) == {"clone": 1, "relu_relu": 3, "double_neg": 1}
    assert g.count_ops() == {"input": 1, "aten.relu.default": 1, "output": 1}
    torch.testing.assert_close(run_graph(g, inputs, OPS), before)


def test_a_rule_set_that_never_settles_raises_a_budget_error_naming_the_rules():
    rs = load('''\
        ruleset loop : lowering
        rule neg_as_mul recursive "a false promise: the budget catches it"
            aten.neg.default(x) => aten.mul.Tensor(x, const(-1.0, dtype(x)))
            untested "t"
        rule mul_as_neg recursive "a false promise"
            aten.mul.Tensor(x, c) where is_const(c) and value(c) == -1.0 => aten.neg.default(x)
            untested "t"
    ''').rulesets["loop"]
    g = Graph()
    g.set_outputs([chain(g, inp(g, "x", "f32", 2), "aten.neg.default")])
    with pytest.raises(RewriteBudgetError) as info:
        rewrite(g, rs, OPS, budget=10)
    assert set(info.value.rules) == {"neg_as_mul", "mul_as_neg"}
    assert "neg_as_mul" in str(info.value) and "mul_as_neg" in str(info.value)


def test_created_nodes_carry_provenance_of_rule_location_and_replaced_nodes():
    rs = load('''\
        ruleset lower : lowering
        rule sub_as_add
            aten.sub.Tensor(x, y)
            => aten.add.Tensor(x, aten.neg.default(y))
            untested "t"
    ''', file="sub.rw").rulesets["lower"]
    g = Graph()
    x, y = inp(g, "x", "f32", 2), inp(g, "y", "f32", 2)
    sub = node(g, "aten.sub.Tensor", self=x, other=y)
    g.replace_node(sub.node, provenance=Provenance(source="sub_1"))
    g.set_outputs([sub])
    rewrite(g, rs, OPS)
    created = [n for n in g.all_nodes() if n.op.startswith("aten.")]
    assert {n.op for n in created} == {"aten.add.Tensor", "aten.neg.default"}
    for n in created:
        assert n.provenance == Provenance(source="sub_1", rule="sub_as_add", location="sub.rw:2", ruleset="lower",
                                          replaced=(sub.node,))
    add = next(n for n in created if n.op == "aten.add.Tensor")
    assert list(add.attrs) == ["self", "other", "alpha"] and add.attrs["alpha"] == 1


def test_a_replacement_of_the_wrong_type_names_the_rule_and_leaves_the_graph_alone():
    rs = load('''\
        ruleset lower : lowering
        rule bad
            aten.relu.default(x) => aten.sum.default(x)
            untested "t"
    ''', file="bad.rw").rulesets["lower"]
    g = Graph()
    g.set_outputs([chain(g, inp(g, "x", "f32", 2, 3), "aten.relu.default")])
    before = str(g)
    with pytest.raises(RuleApplicationError, match=r"rule bad \(bad\.rw:2\).*f32\[\].*f32\[2, 3\]"):
        rewrite(g, rs, OPS)
    assert str(g) == before


def test_matched_interior_nodes_still_used_elsewhere_stay():
    rs = load(LOWER).rulesets["lower"]
    g = Graph()
    x = inp(g, "x", "f32", 2)
    inner = node(g, "aten.neg.default", self=x)
    outer = node(g, "aten.neg.default", self=inner)
    g.set_outputs([outer, inner])
    rewrite(g, rs, OPS)
    assert g.outputs() == [x, inner] and outer.node not in g and inner.node in g


def test_converter_rule_sets_give_fused_patterns_the_first_chance():
    rs = load('''\
        ruleset conv : converter
        rule add aten.add.Tensor(a, b) => trt.elementwise(a, b, op=ElementWiseOperation.SUM)
            untested "t"
        rule relu aten.relu.default(x) => trt.activation(x, type=ActivationType.RELU)
            untested "t"
        rule add_relu priority 1 aten.relu.default(aten.add.Tensor(a, b))
            => trt.activation(trt.elementwise(a, b, op=ElementWiseOperation.SUM), type=ActivationType.RELU)
            untested "t"
    ''').rulesets["conv"]
    g = Graph()
    x, y = inp(g, "x", "f64", 4), inp(g, "y", "f64", 4)
    g.set_outputs([node(g, "aten.relu.default", self=node(g, "aten.add.Tensor", self=x, other=y))])
    inputs = [torch.randn(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)]
    before = run_graph(g, inputs, OPS)
    stats = rewrite(g, rs, OPS)
    assert dict(stats.fires) == {"add_relu": 1}
    torch.testing.assert_close(run_graph(g, inputs, OPS), before)


def test_lowering_visits_producers_first():
    rs = load(LOWER.replace("rule clone aten.clone.default(x) => x", "rule clone aten.clone.default(x) => x")
              ).rulesets["lower"]
    g = Graph()
    x = inp(g, "x", "f32", 2)
    g.set_outputs([chain(g, x, "aten.clone.default", "aten.relu.default", "aten.clone.default")])
    events: list[RewriteEvent] = []
    rewrite(g, rs, OPS, trace=events.append)
    assert [e.root for e in events] == [1, 3] and all(e.rule == "clone" for e in events)
    assert events[0].location == "t.rw:6"


def test_priority_orders_rules_with_the_same_root():
    rs = load('''\
        ruleset lower : lowering
        rule low aten.relu.default(x) => aten.clamp_min.default(x, 0)
            untested "t"
        rule high priority 2 aten.relu.default(x: Tensor<f32>) => aten.clamp.default(x, 0)
            untested "t"
    ''').rulesets["lower"]
    assert [r.name for r in rs.rules] == ["high", "low"]
    g = Graph()
    g.set_outputs([chain(g, inp(g, "x", "f32", 2), "aten.relu.default")])
    assert dict(rewrite(g, rs, OPS).fires) == {"high": 1}


def test_lets_name_values_and_unused_lets_create_no_nodes():
    rs = load('''\
        ruleset lower : lowering
        rule scale
            aten.mul.Tensor(x, y) where is_const(y) and value(y) == 2.0
            => let two = const(2.0, dtype(x));
               let unused = aten.neg.default(x);
               aten.add.Tensor(x, x)
            untested "t"
    ''').rulesets["lower"]
    g = Graph()
    x = inp(g, "x", "f64", 3)
    two = Value(g.add_constant(torch.tensor(2.0, dtype=torch.float64), "two"))
    g.set_outputs([node(g, "aten.mul.Tensor", self=x, other=two)])
    rewrite(g, rs, OPS)
    # the graph's own constant is a capture, not a matched node: dead code elimination (a pass) removes it
    assert g.count_ops() == {"input": 1, "constant": 1, "aten.add.Tensor": 1, "output": 1}
    assert [n.id for n in g.all_nodes() if n.op == "constant"] == [two.node]


def test_const_creates_a_constant_node_with_the_value():
    rs = load('''\
        ruleset lower : lowering
        rule neg_as_mul recursive "a false promise: the budget catches it"
            aten.neg.default(x) => aten.mul.Tensor(x, const(-1.0, dtype(x)))
            untested "t"
    ''').rulesets["lower"]
    g = Graph()
    g.set_outputs([chain(g, inp(g, "x", "f64", 3), "aten.neg.default")])
    rewrite(g, rs, OPS)
    (c,) = [n for n in g.all_nodes() if n.op == "constant"]
    assert c.value.item() == -1.0 and c.value.dtype == torch.float64 and c.provenance.rule == "neg_as_mul"
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(run_graph(g, [x], OPS)[0], -x)


def test_match_at_and_explain_no_match_report_per_rule():
    rs = load(LOWER).rulesets["lower"]
    g = Graph()
    x = inp(g, "x", "f32", 2)
    once = node(g, "aten.neg.default", self=x)
    twice = node(g, "aten.neg.default", self=once)
    g.set_outputs([twice])
    m = match_at(g, twice.node, rs, OPS)
    assert m is not None and m.rule.name == "double_neg" and m.matched_nodes == (twice.node, once.node)
    assert match_at(g, once.node, rs, OPS) is None
    assert explain_no_match(g, once.node, rs, OPS) == [
        ("double_neg", "argument 'self': produced by input, rule wants aten.neg.default")]
    assert explain_no_match(g, x.node, rs, OPS) == [("*", "no rule of lower has root input")]


def test_tensor_list_arguments_capture_whole_lists_or_items():
    rs = load('''\
        ruleset lower : lowering
        rule cat_last_dim recursive "the dim becomes non-negative"
            aten.cat.default(ts, d) where d < 0
            => aten.cat.default(ts, normalize_dim(d, rank(ts[0])))
            untested "t"
        rule cat_pair_of_same recursive "the pair stops being the same value"
            aten.cat.default([a, a], 0) => aten.cat.default([aten.clone.default(a), a], 0)
            untested "t"
    ''').rulesets["lower"]
    g = Graph()
    x, y = inp(g, "x", "f32", 2, 3), inp(g, "y", "f32", 2, 1)
    g.set_outputs([node(g, "aten.cat.default", tensors=[x, y], dim=-1)])
    assert dict(rewrite(g, rs, OPS).fires) == {"cat_last_dim": 1}
    (cat,) = [n for n in g.all_nodes() if n.op == "aten.cat.default"]
    assert cat.attrs["dim"] == 1 and g.inputs(cat.id) == [x, y]


def test_list_patterns_over_tensor_lists_build_domain_examples():
    import random

    from trt_passes.dsl import draw_example

    lib = load('''\
        ruleset lower : lowering
        rule cat_two recursive "the dim becomes negative" aten.cat.default([a, b], 0) => aten.cat.default([a, b], -2)
            domain { a: f32 [N=1..3, 2] b: f32 [N, 2] }
    ''')
    g, inputs = draw_example(lib.rule("cat_two"), OPS, random.Random(0))
    assert len(inputs) == 2 and match_at(g, g.outputs()[0].node, lib.rulesets["lower"], OPS) is not None


def test_optional_tensor_list_items_may_be_absent():
    rs = load('''\
        ruleset lower : lowering
        rule index_rows aten.index.Tensor(x, [i]) => aten.index_select.default(x, 0, i)
            untested "t"
    ''').rulesets["lower"]
    g = Graph()
    x = inp(g, "x", "f64", 4, 3)
    i = Value(g.add_constant(torch.tensor([2, 0]), "i"))
    g.set_outputs([node(g, "aten.index.Tensor", self=x, indices=[i])])
    inputs = [torch.randn(4, 3, dtype=torch.float64)]
    before = run_graph(g, inputs, OPS)
    assert dict(rewrite(g, rs, OPS).fires) == {"index_rows": 1}
    torch.testing.assert_close(run_graph(g, inputs, OPS), before)
    g2 = Graph()
    y = inp(g2, "y", "f64", 4, 3)
    col = node(g2, "aten.index.Tensor", self=y, indices=[None, Value(g2.add_constant(torch.tensor([1]), "j"))])
    assert g2.node(col.node).attrs["indices"] == (None, Slot(1))
    assert match_at(g2, col.node, rs, OPS) is None
