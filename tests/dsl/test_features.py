"""Language features beyond version 1: alternatives, commutativity from the catalogue table."""

from __future__ import annotations

import torch

from tests.dsl.conftest import OPS, inp, load, node
from trt_passes.dsl import Failure, Match, match_rule
from trt_passes.dsl.commutative import COMMUTATIVE
from trt_passes.ir import Graph, Value

U = 'untested "t"'


def one(text: str):
    lib = load("ruleset r : lowering\n" + text)
    (rule,) = lib.rulesets["r"].rules
    return rule


def test_alternatives_match_the_first_that_fits_and_fail_with_the_first_reason() -> None:
    r = one(f"rule a aten.add.Tensor(x, aten.neg.default(y) | aten.relu.default(y)) => x {U}")
    g = Graph()
    a = inp(g, "a", "f32", 2)
    for op in ("aten.neg.default", "aten.relu.default"):
        m = match_rule(g, node(g, "aten.add.Tensor", self=a, other=node(g, op, self=a)).node, r, OPS)
        assert isinstance(m, Match) and m.bindings["y"] == a
    f = match_rule(g, node(g, "aten.add.Tensor", self=a, other=node(g, "aten.exp.default", self=a)).node, r, OPS)
    assert isinstance(f, Failure) and f.reason == "argument 'other': produced by aten.exp.default, rule wants " \
        "aten.neg.default"


def test_commutative_ops_match_with_operands_swapped() -> None:
    assert "aten.mul.Tensor" in COMMUTATIVE
    r = one(f"rule a aten.mul.Tensor(x, c) where is_const(c) => x {U}")
    g = Graph()
    a = inp(g, "a", "f32", 2)
    c = Value(g.add_constant(torch.tensor(2.0), "c"))
    m = match_rule(g, node(g, "aten.mul.Tensor", self=c, other=a).node, r, OPS)
    assert isinstance(m, Match) and m.bindings == {"x": a, "c": c}
    f = match_rule(g, node(g, "aten.mul.Tensor", self=a, other=a).node, r, OPS)
    assert isinstance(f, Failure) and f.reason == "guard `is_const(c)` is false"  # the as-written attempt


def test_add_commutes_only_with_unit_alpha() -> None:
    r = one(f"rule a aten.add.Tensor(x, aten.neg.default(y), alpha=_) => x {U}")
    assert len(r.normal.variants) == 1
    r2 = one(f"rule a aten.add.Tensor(x, aten.neg.default(y)) => x {U}")
    assert len(r2.normal.variants) == 2
    g = Graph()
    a = inp(g, "a", "f32", 2)
    m = match_rule(g, node(g, "aten.add.Tensor", self=node(g, "aten.neg.default", self=a), other=a).node, r2, OPS)
    assert isinstance(m, Match)


def test_non_commutative_ops_are_matched_as_written_only() -> None:
    r = one(f"rule a aten.sub.Tensor(x, aten.neg.default(y)) => x {U}")
    assert len(r.normal.variants) == 1


FAMILY = """
ruleset c : converter
family unary(op, kind) {
    exp: (aten.exp.default, UnaryOperation.EXP)
    log: (aten.log.default, UnaryOperation.LOG)
    abs: (aten.abs.default, UnaryOperation.ABS)
}
rule unary over unary
    "{op} is TensorRT's unary {kind}"
    op(x: Tensor<f32|f16>) => trt.unary(x, op=kind)
    domain { x: f32|f16 [1..3, 1..4] in 0.5..2.0 }
"""


def test_a_rule_over_a_family_is_one_rule_per_row() -> None:
    lib = load(FAMILY)
    rules = lib.rulesets["c"].rules
    assert [r.name for r in rules] == ["unary_exp", "unary_log", "unary_abs"]
    log = lib.rule("unary_log")
    assert log.root_op == "aten.log.default" and log.doc == "aten.log.default is TensorRT's unary UnaryOperation.LOG"
    g = Graph()
    a = inp(g, "a", "f32", 2)
    v = node(g, "aten.log.default", self=a)
    g.set_outputs([v])
    from trt_passes.dsl import rewrite

    assert dict(rewrite(g, lib.rulesets["c"], OPS).fires) == {"unary_log": 1}
    (n,) = [n for n in g.all_nodes() if n.op == "trt.unary"]
    assert n.attrs["op"].name == "LOG"


def test_a_wrong_value_in_a_family_row_is_reported_at_the_row() -> None:
    from tests.dsl.conftest import load_errors

    err = load_errors(FAMILY.replace("aten.abs.default", "aten.abz.default"))
    (d,) = err.diagnostics
    assert d.code == "RW101" and (d.span.line, d.span.col) == (6, 11)  # the cell `aten.abz.default` of row abs
    assert any("rule `unary_abs`, instantiated from the template at" in n for n in d.notes)
    err = load_errors(FAMILY.replace("UnaryOperation.LOG", "ActivationType.RELU"))  # a member of another enum
    (d,) = err.diagnostics
    assert d.code == "RW214" and (d.span.line, d.span.col) == (5, 29)


def test_a_mistake_in_the_template_is_reported_at_the_template_naming_the_row() -> None:
    from tests.dsl.conftest import load_errors

    err = load_errors(FAMILY.replace("trt.unary(x, op=kind)", "trt.unary(y, op=kind)"))
    assert {(d.code, d.span.line) for d in err.diagnostics} == {("RW105", 10)}
    assert {n for d in err.diagnostics for n in d.notes if n.startswith("in row")} == \
        {f"in row `{row}` (t.rw:{line}:5)" for row, line in (("exp", 4), ("log", 5), ("abs", 6))}
    err = load_errors(FAMILY.replace("over unary", "over unarry"))
    assert err.codes == ["RW109"]
    err = load_errors(FAMILY.replace("(aten.log.default, UnaryOperation.LOG)", "(aten.log.default)"))
    assert err.codes == ["RW109"]


def test_dtype_variables_must_agree_everywhere_they_are_used() -> None:
    r = one(f"rule a aten.add.Tensor(x: Tensor<T: f32|f16>, y: Tensor<T>) => x {U}")
    g = Graph()
    a, b, c = inp(g, "a", "f16", 2), inp(g, "b", "f16", 2), inp(g, "c", "f32", 2)
    assert isinstance(match_rule(g, node(g, "aten.add.Tensor", self=a, other=b).node, r, OPS), Match)
    f = match_rule(g, node(g, "aten.add.Tensor", self=a, other=c).node, r, OPS)
    assert isinstance(f, Failure) and f.reason == "argument 'other': dtype f32, but T is f16 elsewhere"
    f = match_rule(g, node(g, "aten.add.Tensor", self=inp(g, "d", "i64", 2), other=c).node, r, OPS)
    assert isinstance(f, Failure) and f.reason == "argument 'self': dtype i64, rule wants f32|f16"


def test_number_literals_match_constants_through_casts_and_broadcasts_within_tolerance() -> None:
    r = one(f"rule a aten.mul.Tensor(x, 0.5) => x {U}")
    g = Graph()
    a = inp(g, "a", "f16", 2, 3)
    half = Value(g.add_constant(torch.tensor(0.5 + 1e-9, dtype=torch.float64), "c"))
    cast = node(g, "aten._to_copy.default", self=half, dtype="f16")
    wide = node(g, "aten.expand.default", self=cast, size=[2, 3])
    assert isinstance(match_rule(g, node(g, "aten.mul.Tensor", self=a, other=wide).node, r, OPS), Match)
    assert isinstance(match_rule(g, node(g, "aten.mul.Tensor", self=half, other=a).node, r, OPS), Match)  # commutes
    other = Value(g.add_constant(torch.tensor([0.5, 0.25, 0.5]), "d"))
    f = match_rule(g, node(g, "aten.mul.Tensor", self=a, other=other).node, r, OPS)
    assert isinstance(f, Failure) and f.reason == f"argument 'other': {other}, rule wants a constant 0.5"


def test_number_literals_in_tensor_positions_get_domain_examples() -> None:
    import random

    from trt_passes.dsl import draw_example, rewrite

    lib = load("ruleset r : lowering\nrule mul_one aten.mul.Tensor(x, 1.0) => x domain { x: f32 [2, 3] }\n")
    g, _ = draw_example(lib.rule("mul_one"), OPS, random.Random(0))
    assert dict(rewrite(g, lib.rulesets["r"], OPS).fires) == {"mul_one": 1}


def test_profiling_counts_attempts_matches_and_rules_that_never_fired() -> None:
    from trt_passes.dsl import profile_rules, rewrite
    from trt_passes.dsl.compiled import compiled_matcher

    lib = load(f"""
        ruleset r : lowering
        rule neg_neg aten.neg.default(aten.neg.default(x)) => x {U}
        rule relu_relu aten.relu.default(aten.relu.default(x)) => aten.relu.default(x) {U}
        """)
    rs = lib.rulesets["r"]
    g = Graph()
    a = inp(g, "a", "f32", 2)
    g.set_outputs([node(g, "aten.neg.default", self=node(g, "aten.neg.default", self=a))])
    plain = compiled_matcher(rs, OPS)
    with profile_rules() as prof:
        rewrite(g, rs, OPS)
    assert prof.matches["neg_neg"] == 1 and prof.attempts["neg_neg"] >= 1 and prof.seconds["neg_neg"] > 0
    assert prof.never_fired() == ["relu_relu"] and "never fired (1): relu_relu" in prof.table()
    assert "PROFILE" not in plain.source  # the matchers used outside profiling are not instrumented


def test_optional_wrappers_and_use_counts() -> None:
    r = one(f"rule a aten.relu.default(aten.clone.default(y)?) where uses(y) <= 2 => y {U}")
    g = Graph()
    a = inp(g, "a", "f32", 2)
    direct = match_rule(g, node(g, "aten.relu.default", self=a).node, r, OPS)
    wrapped = match_rule(g, node(g, "aten.relu.default", self=node(g, "aten.clone.default", self=a)).node, r, OPS)
    assert isinstance(direct, Match) and isinstance(wrapped, Match) and direct.bindings == wrapped.bindings == {"y": a}
    node(g, "aten.neg.default", self=a)
    f = match_rule(g, node(g, "aten.relu.default", self=a).node, r, OPS)
    assert isinstance(f, Failure) and f.reason == "guard `uses(y) <= 2` is false"


def test_exclusive_rules_do_not_match_when_an_interior_node_escapes() -> None:
    r = one(f"rule a exclusive aten.neg.default(aten.neg.default(x)) => x {U}")
    g = Graph()
    a = inp(g, "a", "f32", 2)
    inner = node(g, "aten.neg.default", self=a)
    outer = node(g, "aten.neg.default", self=inner)
    assert isinstance(match_rule(g, outer.node, r, OPS), Match)
    reader = node(g, "aten.relu.default", self=inner)
    f = match_rule(g, outer.node, r, OPS)
    assert isinstance(f, Failure) and f.reason == \
        f"matched aten.neg.default %{inner.node} is also read by %{reader.node}, outside the match"


EXTERN = '''
extern is_pow2(int) -> bool = "tests.dsl.extern_helpers:is_pow2"
extern last_dim(Tensor) -> int = "tests.dsl.extern_helpers:last_dim"
extern wrong(int) -> bool = "tests.dsl.extern_helpers:wrong_result"
ruleset r : lowering
'''


def test_extern_functions_are_typed_checked_and_callable_from_guards() -> None:
    lib = load(EXTERN + f"rule a aten.relu.default(x) where is_pow2(last_dim(x)) => aten.neg.default(x) {U}\n"
                        f"rule b aten.neg.default(x) where wrong(rank(x)) => x {U}\n")
    g = Graph()
    assert isinstance(match_rule(g, node(g, "aten.relu.default", self=inp(g, "a", "f32", 3, 8)).node,
                                 lib.rule("a"), OPS), Match)
    f = match_rule(g, node(g, "aten.relu.default", self=inp(g, "b", "f32", 3, 6)).node, lib.rule("a"), OPS)
    assert isinstance(f, Failure) and f.reason == "guard `is_pow2(last_dim(x))` is false"
    f = match_rule(g, node(g, "aten.neg.default", self=inp(g, "c", "f32", 3)).node, lib.rule("b"), OPS)
    assert isinstance(f, Failure) and "extern wrong returned 1, declared -> bool" in f.reason


def test_extern_declarations_are_checked_at_load() -> None:
    from tests.dsl.conftest import load_errors

    for decl, says in [('extern f(int) -> bool = "tests.dsl.extern_helpers:nope"', "cannot import"),
                       ('extern g(int, int) -> bool = "tests.dsl.extern_helpers:is_pow2"', "positional arguments"),
                       ('extern h(float) -> bool = "tests.dsl.extern_helpers:is_pow2"', "annotated int"),
                       ('extern rank(int) -> bool = "tests.dsl.extern_helpers:is_pow2"', "name of a builtin")]:
        err = load_errors(decl + "\nruleset r : lowering\n")
        assert err.codes == ["RW110"] and says in str(err), str(err)
    err = load_errors(EXTERN + f"rule a aten.relu.default(x) where is_pow2(1, 2) => x {U}\n")
    assert err.codes == ["RW205"]


def test_requires_selects_rules_for_a_target() -> None:
    lib = load(f"""
        ruleset r : lowering
        rule new requires trt >= 10.8, static_shapes aten.relu.default(x: Tensor<f32>) => x {U}
        rule old aten.relu.default(x) => aten.neg.default(x) {U}
        """)
    rs = lib.rulesets["r"]
    assert [r.name for r in rs.for_target("10.8.1", static_shapes=True).rules] == ["new", "old"]
    assert [r.name for r in rs.for_target("10.7", static_shapes=True).rules] == ["old"]
    assert [r.name for r in rs.for_target("11.0", static_shapes=False).rules] == ["old"]
    assert str(lib.rule("new").requires[0]) == "trt >= 10.8"
    from tests.dsl.conftest import load_errors

    assert load_errors(f"ruleset r : lowering\nrule a requires gpu aten.relu.default(x) => x {U}").codes == ["RW111"]


TOPK = """
ruleset c : converter
rule topk_largest
    (values, indices) = aten.topk.default(x: Tensor<f32|f16>, k, d, true, true)
    => let t = trt.topk(x, op=TopKOperation.MAX, k=k, axes=[normalize_dim(d, rank(x))]);
       (t[0], trt.cast(t[1], to=i64))
    domain { x: f32 [2..3, 4..6]  k: 1 | 2  d: -1 | 1 }
rule max_values_only
    (values, _) = aten.max.dim(x: Tensor<f32>, d, false)
    => (trt.reduce(x, op=ReduceOperation.MAX, axes=[normalize_dim(d, rank(x))], keep_dims=false), x)
    untested "t"
"""


def test_multi_output_patterns_replace_every_named_output() -> None:
    import random

    from trt_passes.dsl import draw_example, rewrite
    from trt_passes.ir.interpreter import run_graph

    lib = load(TOPK)
    g, inputs = draw_example(lib.rule("topk_largest"), OPS, random.Random(1))
    assert len(g.outputs()) == 2
    expected = run_graph(g, inputs, OPS)
    assert dict(rewrite(g, lib.rulesets["c"], OPS).fires) == {"topk_largest": 1}
    assert [n.op for n in g.nodes() if n.op.startswith(("aten", "trt"))] == ["trt.topk", "trt.cast"]
    for got, want in zip(run_graph(g, inputs, OPS), expected):
        assert torch.equal(got, want)


def test_outputs_named_underscore_must_be_dead() -> None:
    lib = load(TOPK)
    g = Graph()
    mx = node(g, "aten.max.dim", self=inp(g, "a", "f32", 2, 3), dim=1)
    assert isinstance(match_rule(g, mx.node, lib.rule("max_values_only"), OPS), Match)
    node(g, "aten.neg.default", self=Value(mx.node, 1))
    f = match_rule(g, mx.node, lib.rule("max_values_only"), OPS)
    assert isinstance(f, Failure) and f.reason == "output 1 of the root is used; the rule does not replace it"


def test_multi_output_rules_are_checked() -> None:
    from tests.dsl.conftest import load_errors

    err = load_errors("ruleset c : converter\nrule a (v, i) = aten.topk.default(x, k, d, true, true) => "
                      f"trt.topk(x, op=TopKOperation.MAX, k=k, axes=[d]) {U}")
    assert err.codes == ["RW209"]
    err = load_errors(f"ruleset c : lowering\nrule a (v, i, j) = aten.max.dim(x, d, false) => (x, x, x) {U}")
    assert err.codes == ["RW209"]


def test_a_nameless_rule_over_a_family_names_instances_by_label_and_rows_give_value_ranges() -> None:
    import random

    from trt_passes.dsl import draw_example

    lib = load("""
        ruleset c : converter
        family unary_math(op, kind, what, lo, hi) {
            sin: (aten.sin.default, UnaryOperation.SIN, "sine", -3.0, 3.0)
            asin: (aten.asin.default, UnaryOperation.ASIN, "arcsine", -0.99, 0.99)
        }
        rule over unary_math
            "{what} of a float tensor is unary {kind}"
            op(x: Tensor<f32|f16|bf16>) => trt.unary(x, op=kind)
            domain { x: f32|f16|bf16 [1..3, 1..4] in lo..hi }
        """)
    assert [r.name for r in lib.rulesets["c"].rules] == ["sin", "asin"]
    asin = lib.rule("asin")
    assert asin.doc == "arcsine of a float tensor is unary UnaryOperation.ASIN"
    assert asin.domains[0].entries[0].value_range == (-0.99, 0.99)
    _, (x,) = draw_example(asin, OPS, random.Random(0))
    assert float(x.abs().max()) <= 0.99


def test_rank_ranges() -> None:
    r = one(f"rule a aten.relu.default(x: Tensor<f32>{{2..3}}) => x {U}")
    g = Graph()
    for shape in [(2, 3), (1, 2, 3)]:
        assert isinstance(match_rule(g, node(g, "aten.relu.default", self=inp(g, f"a{len(shape)}", "f32",
                                                                             *shape)).node, r, OPS), Match)
    f = match_rule(g, node(g, "aten.relu.default", self=inp(g, "b", "f32", 1, 2, 3, 4)).node, r, OPS)
    assert isinstance(f, Failure) and f.reason == "argument 'self': rank 4, rule wants 2..3"
    from tests.dsl.conftest import load_errors

    assert load_errors(f"ruleset r : lowering\nrule a aten.relu.default(x: Tensor{{3..2}}) => x {U}").codes == \
        ["RW206"]
    assert load_errors(f"ruleset r : lowering\nrule a aten.relu.default(x: Tensor{{2..3}}) where rank(x) == 4 => x "
                       f"{U}").codes == ["RW501"]


SPLIT3 = ("rule s (a, b, c) = aten.split_with_sizes.default(x, sizes, d) where len(sizes) == 3\n"
          "    => (aten.slice.Tensor(x, d, 0, sizes[0], 1), aten.slice.Tensor(x, d, sizes[0], sizes[0] + sizes[1], 1),"
          " aten.slice.Tensor(x, d, sizes[0] + sizes[1], sizes[0] + sizes[1] + sizes[2], 1)) " + U)


def test_a_list_returning_op_may_be_matched_with_one_name_per_output_of_the_node() -> None:
    # aten.split_with_sizes returns Tensor[]: how many outputs a node has is known per node, not from the schema.
    r = one(SPLIT3)
    g = Graph()
    x = inp(g, "x", "f32", 2, 6)
    three = node(g, "aten.split_with_sizes.default", self=x, split_sizes=[1, 2, 3], dim=1)
    m = match_rule(g, three.node, r, OPS)
    assert isinstance(m, Match) and [m.bindings[k] for k in "abc"] == [Value(three.node, i) for i in range(3)]
    two = node(g, "aten.split_with_sizes.default", self=x, split_sizes=[2, 4], dim=1)
    f = match_rule(g, two.node, r, OPS)
    assert isinstance(f, Failure) and f.reason == "the root has 2 outputs; the rule names 3"
