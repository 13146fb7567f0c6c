"""Matching semantics: schema-ordered arguments, defaults, typed captures, named dims, nested patterns, multi-output
roots, guards; a failed match records the first condition that failed with the value seen."""

from __future__ import annotations

from tests.dsl.conftest import OPS, inp, load, node
from trt_passes.dsl import Failure, Match, match_rule
from trt_passes.ir import Graph, Value


def rule(pattern: str, guard: str = ""):
    where = f" where {guard}" if guard else ""
    lib = load(f'ruleset r : lowering\nrule t {pattern}{where} => aten.clone.default(x) untested "t"')
    return lib.rule("t")


def at(g: Graph, v: Value, r) -> Match | Failure:
    return match_rule(g, v.node, r, OPS)


def reason(m: Match | Failure) -> str:
    assert isinstance(m, Failure), m
    return m.reason


def test_arguments_not_written_must_equal_the_schema_default():
    r = rule("aten.add.Tensor(x, y)")
    g = Graph()
    a, b = inp(g, "a", "f32", 2, 3), inp(g, "b", "f32", 2, 3)
    assert isinstance(at(g, node(g, "aten.add.Tensor", self=a, other=b), r), Match)
    scaled = node(g, "aten.add.Tensor", self=a, other=b, alpha=2)
    assert reason(at(g, scaled, r)) == "argument 'alpha': 2, rule wants the default 1"


def test_wildcard_accepts_any_value_and_keyword_patterns_bind_by_name():
    g = Graph()
    a, b = inp(g, "a", "f32", 2, 3), inp(g, "b", "f32", 2, 3)
    scaled = node(g, "aten.add.Tensor", self=a, other=b, alpha=2)
    assert isinstance(at(g, scaled, rule("aten.add.Tensor(x, y, alpha=_)")), Match)
    m = at(g, scaled, rule("aten.add.Tensor(other=y, self=x, alpha=k)"))
    assert isinstance(m, Match) and m.bindings == {"x": a, "y": b, "k": 2}


def test_typed_captures_check_dtype_and_rank():
    r = rule("aten.relu.default(x: Tensor<f32|bf16>[_, _, _, _])")
    g = Graph()
    ok = node(g, "aten.relu.default", self=inp(g, "a", "f32", 1, 2, 3, 4))
    assert isinstance(at(g, ok, r), Match)
    assert reason(at(g, node(g, "aten.relu.default", self=inp(g, "b", "f32", 2, 3, 4)), r)) == \
        "argument 'self': rank 3, rule wants 4"
    assert reason(at(g, node(g, "aten.relu.default", self=inp(g, "c", "f16", 1, 2, 3, 4)), r)) == \
        "argument 'self': dtype f16, rule wants f32|bf16"


def test_int_dims_and_ellipsis():
    r = rule("aten.relu.default(x: Tensor[2, ..., 3])")
    g = Graph()
    for shape in [(2, 3), (2, 5, 7, 3)]:
        assert isinstance(at(g, node(g, "aten.relu.default", self=inp(g, f"a{len(shape)}", "f32", *shape)), r),
                          Match)
    assert reason(at(g, node(g, "aten.relu.default", self=inp(g, "b", "f32", 2, 4)), r)) == \
        "argument 'self': dim 1 is 4, rule wants 3"
    assert reason(at(g, node(g, "aten.relu.default", self=inp(g, "c", "f32", 2)), r)) == \
        "argument 'self': rank 1, rule wants at least 2"


def test_named_dims_must_agree_across_captures():
    r = rule("aten.add.Tensor(x: Tensor[_, N], y: Tensor[N])")
    g = Graph()
    a, b = inp(g, "a", "f32", 3, 4), inp(g, "b", "f32", 4)
    assert isinstance(at(g, node(g, "aten.add.Tensor", self=a, other=b), r), Match)
    r2 = rule("aten.add.Tensor(x: Tensor[N, _], y: Tensor[N])")
    assert reason(at(g, node(g, "aten.add.Tensor", self=a, other=b), r2)) == \
        "argument 'other': dim 0 is 4, but N is 3 elsewhere"


def test_nested_patterns_match_producers_and_list_matched_nodes_root_first():
    r = rule("aten.relu.default(aten.neg.default(x))")
    g = Graph()
    a = inp(g, "a", "f32", 2)
    n = node(g, "aten.neg.default", self=a)
    root = node(g, "aten.relu.default", self=n)
    m = at(g, root, r)
    assert isinstance(m, Match) and m.matched_nodes == (root.node, n.node) and m.bindings == {"x": a}
    assert reason(at(g, node(g, "aten.relu.default", self=a), r)) == \
        "argument 'self': produced by input, rule wants aten.neg.default"


def test_nested_patterns_read_output_zero_only():
    r = rule("aten.neg.default(aten.max.dim(x, 1))")
    g = Graph()
    a = inp(g, "a", "f32", 2, 3)
    mx = node(g, "aten.max.dim", self=a, dim=1)
    assert isinstance(at(g, node(g, "aten.neg.default", self=mx), r), Match)
    idx = node(g, "aten.neg.default", self=Value(mx.node, 1))
    assert reason(at(g, idx, r)) == "argument 'self': reads output 1 of aten.max.dim, rule wants output 0"


def test_multi_output_roots_match_only_when_other_outputs_are_unused():
    r = rule("aten.max.dim(x, 1)")
    g = Graph()
    mx = node(g, "aten.max.dim", self=inp(g, "a", "f32", 2, 3), dim=1)
    node(g, "aten.neg.default", self=mx)
    assert isinstance(at(g, mx, r), Match)
    node(g, "aten.neg.default", self=Value(mx.node, 1))
    assert reason(at(g, mx, r)) == "output 1 of the root is used; the rule replaces output 0 only"


def test_a_capture_used_twice_must_bind_the_same_value():
    r = rule("aten.mul.Tensor(x, x)")
    g = Graph()
    a, b = inp(g, "a", "f32", 2), inp(g, "b", "f32", 2)
    assert isinstance(at(g, node(g, "aten.mul.Tensor", self=a, other=a), r), Match)
    assert reason(at(g, node(g, "aten.mul.Tensor", self=a, other=b), r)) == \
        "argument 'other': x is already %0, here %1"


def test_literals_bools_are_not_ints_and_lists_match_itemwise():
    g = Graph()
    a = inp(g, "a", "f32", 2, 3)
    keep = node(g, "aten.max.dim", self=a, dim=1, keepdim=True)
    assert isinstance(at(g, keep, rule("aten.max.dim(x, 1, true)")), Match)
    assert reason(at(g, keep, rule("aten.max.dim(x, 1, 1)"))) == "argument 'keepdim': true, rule wants 1"
    s = node(g, "aten.sum.dim_IntList", self=a, dim=[-1])
    assert isinstance(at(g, s, rule("aten.sum.dim_IntList(x, [-1])")), Match)
    assert reason(at(g, s, rule("aten.sum.dim_IntList(x, [0, 1])"))) == "argument 'dim': a list of 1, rule wants 2"


def test_scalar_typed_captures_and_dtype_literals():
    g = Graph()
    a = inp(g, "a", "f32", 2)
    lr = node(g, "aten.leaky_relu.default", self=a, negative_slope=0.2)
    assert isinstance(at(g, lr, rule("aten.leaky_relu.default(x, s: float)")), Match)
    assert reason(at(g, lr, rule("aten.leaky_relu.default(x, s: bool)"))) == \
        "argument 'negative_slope': 0.2, rule wants bool"
    cast = node(g, "aten._to_copy.default", self=a, dtype="f16")
    assert isinstance(at(g, cast, rule("aten._to_copy.default(x, dtype=f16, layout=_, device=_, "
                                       "pin_memory=_, non_blocking=_, memory_format=_)")), Match)


def test_guards_report_the_first_false_conjunct():
    r = rule("aten.relu.default(x)", "rank(x) == 2 and is_const(x) and dtype(x) == f32")
    g = Graph()
    v = node(g, "aten.relu.default", self=inp(g, "a", "f32", 2, 3))
    assert reason(at(g, v, r)) == "guard `is_const(x)` is false"
    c = Value(g.add_constant(__import__("torch").ones(2, 3), "c"))
    assert isinstance(at(g, node(g, "aten.relu.default", self=c), r), Match)


def test_guard_errors_are_failures_with_the_cause():
    r = rule("aten.relu.default(x)", "value(x) == 1")
    g = Graph()
    v = node(g, "aten.relu.default", self=inp(g, "a", "f32", 2))
    assert reason(at(g, v, r)) == "guard `value(x) == 1` cannot be evaluated: value() of %0, which is not a constant"


def test_guard_language_arithmetic_lists_and_builtins():
    g = Graph()
    v = node(g, "aten.relu.default", self=inp(g, "a", "f32", 2, 3, 4))
    true_guards = [
        "shape(x) == [2, 3, 4]", "shape(x)[-1] == 4", "numel(x) == 24", "rank(x) - 1 == 2", "7 // 2 == 3",
        "7 % 4 == 3", "[1] + [2] == [1, 2]", "[0] * 2 == [0, 0]", "2 in shape(x)", "5 not in shape(x)",
        "normalize_dim(-1, rank(x)) == 2", "all_equal([1, 1], 1)", "all_equal([[0, 0], [0]], 0)",
        "not all_equal([[0], [1]], 0)", "all_equal(3, 3)", "len(shape(x)) == 3", "is_static(x)",
        "one_use(x)", "not (rank(x) < 3 or rank(x) > 3)", "dtype(x) in [f32, f16]", "is_float(x)",
        "prod(shape(x)) == 24", "min(shape(x)) == 2 and max(2, 5) == 5", "range(3) == [0, 1, 2]", "-rank(x) == -3",
    ]
    for guard in true_guards:
        assert isinstance(at(g, v, rule("aten.relu.default(x)", guard)), Match), guard


def test_failure_reasons_are_formatted_only_when_asked():
    r = rule("aten.relu.default(x: Tensor[_, _])")
    g = Graph()
    f = at(g, node(g, "aten.relu.default", self=inp(g, "a", "f32", 2)), r)
    assert isinstance(f, Failure) and f.template == "{}: rank {}, rule wants {}" and f.args == ("argument 'self'", 1, 2)
