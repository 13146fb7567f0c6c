"""Guards and right sides are typed from the pattern: an operation that can never succeed is reported where it is
written, and the idioms the shipped rules use are accepted."""

from __future__ import annotations

import pytest

from tests.dsl.conftest import load, load_errors
from trt_passes.dsl.exprtypes import (
    BOOL,
    DTYPE,
    INT,
    NONE,
    STR,
    TENSOR,
    accepts,
    comparable,
    describe,
    list_of,
    optional,
    schema_type,
)

U = 'untested "t"'


def guard_errors(pattern: str, guard: str) -> list[tuple[str, int, str]]:
    """(code, column, message) of each diagnostic of a lowering rule ``pattern where guard => ...``."""
    text = f"ruleset r : lowering\nrule a {pattern} where {guard} => aten.neg.default(x) {U}\n"
    try:
        load(text)
    except Exception as e:  # RuleLoadError
        return [(d.code, d.span.col, d.message) for d in e.diagnostics]  # type: ignore[attr-defined]
    return []


@pytest.mark.parametrize("guard, code, text", [
    ('dtype(x) == "f16"', "RW210", "compares a dtype with a string"),
    ("shape(x) == 4", "RW210", "compares a list of ints with an int"),
    ("x > 0", "RW210", "orders a tensor"),
    ("x == 0", "RW210", "compares a tensor with an int"),
    ("rank(x) == none", "RW210", "compares an int with none"),
    ("dtype(x) in [1, 2]", "RW210", "looks for a dtype in a list of 2 ints"),
    ("len(rank(x)) == 1", "RW211", "`len()` takes a list, got an int"),
    ("normalize_dim(shape(x), 2) == 0", "RW211", "`normalize_dim()` takes an int"),
    ("shape(x) + 1 == [1]", "RW213", "`+` of a list of ints and an int"),
    ("rank(x)[0] == 1", "RW213", "cannot index an int"),
    ("x[0] == 1", "RW213", "cannot index a tensor"),
    ("rank(x)", "RW213", "is an int, not true or false"),
    ("not rank(x)", "RW213", "`not` of an int"),
    ("rank(x) > 1 and len(shape(x))", "RW213", "is an int, not true or false"),
])
def test_a_guard_that_can_never_hold_is_a_type_error_naming_both_types(guard, code, text):
    (found,) = guard_errors("aten.relu.default(x)", guard)
    assert found[0] == code and text in found[2], found


def test_the_error_points_at_the_offending_sub_expression():
    # `where ` starts at column 29 in this rule; len's argument `rank(x)` starts 4 columns after the guard
    (found,) = guard_errors("aten.relu.default(x)", "rank(x) >= 1 and len(rank(x)) == 1")
    prefix = "rule a aten.relu.default(x) where rank(x) >= 1 and len("
    assert found[:2] == ("RW211", len(prefix) + 1)


def test_an_index_beyond_the_rank_the_pattern_gives_is_out_of_range():
    (found,) = guard_errors("aten.relu.default(x: Tensor[_, _])", "shape(x)[4] == 1")
    assert found[0] == "RW212" and "has 2 items" in found[2]
    (found,) = guard_errors("aten.relu.default(x: Tensor[_, _])", "shape(x)[-3] == 1")
    assert found[0] == "RW212"
    assert guard_errors("aten.relu.default(x: Tensor[_, _])", "shape(x)[-2] == 1") == []
    (found,) = guard_errors("aten.relu.default(x: Tensor{2..3})", "shape(x)[3] == 1")
    assert found[0] == "RW212" and "at most 3" in found[2]
    assert guard_errors("aten.relu.default(x: Tensor{2..3})", "shape(x)[2] == 1") == []
    assert guard_errors("aten.relu.default(x: Tensor[_, ...])", "shape(x)[7] == 1") == []
    assert guard_errors("aten.relu.default(x)", "shape(x)[7] == 1") == []


def test_lists_of_different_known_lengths_are_never_equal():
    (found,) = guard_errors("aten.relu.default(x: Tensor[_, _, _])", "shape(x) == [1, 2]")
    assert found[0] == "RW210" and "list of 3 ints" in found[2]


@pytest.mark.parametrize("pattern, guard", [
    ("aten.relu.default(x)", "dtype(x) == f16 and rank(x) >= 2 and shape(x)[-1] % 8 == 0"),
    ("aten.relu.default(x)", "0 not in shape(x) and is_static(x) and numel(x) > 1"),
    ("aten.relu.default(x)", "is_float(x) and is_float(dtype(x)) and all_equal(shape(x), 1)"),
    ("aten.mul.Tensor(x, c)", "is_const(c) and value(c) == 0.5 and all_equal(value(c), 0)"),
    ("aten.mul.Tensor(x, c)", "shape(x) == shape(c) + [1] and rank(c) * 2 == len(shape(x) * 2)"),
    ("aten.sum.dim_IntList(x, dims, k)", "dims != none and len(dims) > 0 and dims == range(rank(x)) and not k"),
    ("aten.sum.dim_IntList(x, dims, k)", "dims[0] == normalize_dim(-1, rank(x)) and min(dims) >= 0"),
    ("aten.convolution.default(x, w, b, s, p, d, false, _, g)", "b == none or (is_const(b) and g > 1)"),
    ("aten.leaky_relu.default(x, s)", "s > 0 and s < 1.5"),
    ("aten.clamp.default(x, lo, hi)", "lo != none and hi != none and lo < hi"),
    ("aten.add.Tensor(x, y, alpha=a)", "a == 1 and dtype(x) == dtype(y)"),
    ("aten.relu.default(x: Tensor{2..4})", "shape(x)[1] > 1 and broadcast_strides(x, x) == [1, 1]"),
])
def test_the_idioms_of_real_guards_type_check(pattern, guard):
    assert guard_errors(pattern, guard) == []


def test_extern_arguments_are_checked_against_the_declared_types():
    text = ('extern shape_from(Tensor, int) -> int[] = "trt_passes.spec.rule_support:shape_from"\n'
            "ruleset r : lowering\n"
            f"rule a aten.relu.default(x) where shape_from(x, shape(x)) == [1] => aten.neg.default(x) {U}\n")
    (d,) = load_errors(text).diagnostics
    assert d.code == "RW211" and "extern `shape_from` takes an int here, got a list of ints" in d.message


def test_the_type_algebra_on_its_own():
    assert comparable(optional(INT), NONE) and not comparable(INT, NONE)
    assert comparable(INT, schema_type("Scalar", {})) and not comparable(BOOL, INT)
    assert not comparable(DTYPE, STR) and comparable(list_of(INT, 2, 2), list_of(INT))
    assert accepts(list_of(INT), list_of(INT, 3, 3)) and not accepts(list_of(INT), INT)
    assert accepts(optional(STR), NONE) and not accepts(STR, NONE)
    assert accepts(TENSOR, optional(TENSOR))  # a rule tests optional tensors for none itself
    assert schema_type("int[]?", {}) == optional(list_of(INT))
    assert describe(optional(list_of(INT))) == "a list of ints or none"


def rhs_errors(kind: str, rule: str) -> list[tuple[str, str]]:
    text = f"ruleset r : {kind}\nrule a {rule} {U}\n"
    try:
        load(text)
    except Exception as e:  # RuleLoadError
        return [(d.code, d.message) for d in e.diagnostics]  # type: ignore[attr-defined]
    return []


@pytest.mark.parametrize("rule, text", [
    ("aten.sum.dim_IntList(x, [d], false) => trt.reduce(x, op=ReduceOperation.SUM, axes=d, keep_dims=false)",
     "argument `axes` of trt.reduce is `int[]`, got an int"),
    ("aten.leaky_relu.default(x, s) => trt.activation(x, type=ActivationType.LEAKY_RELU, alpha=x)",
     "argument `alpha` of trt.activation is `float`, got a tensor"),
    ("aten.sum.dim_IntList(x, [d], false) => trt.reduce(x, op=ReduceOperation.SUM, axes=[d], keep_dims=0)",
     "argument `keep_dims` of trt.reduce is `bool`, got an int"),
    ("aten.relu.default(x) => trt.cast(x, to=none)", "argument `to` of trt.cast is `dtype`, got none"),
    ("aten.relu.default(x) => trt.activation(x, type=UnaryOperation.EXP)",
     "is `ActivationType`, got an `UnaryOperation` member"),
    ("aten.relu.default(x) => trt.activation(1.0, type=ActivationType.RELU)",
     "argument `input` of trt.activation is `Tensor`, got a float"),
    ("aten.relu.default(x) => trt.cast(x, to=\"f16\")", "is `dtype`, got a string"),
    ("aten.relu.default(x) => trt.elementwise(x, const(x, f32), op=ElementWiseOperation.SUM)",
     "const() makes a constant of a number or a (nested) list, got a tensor"),
    ("aten.relu.default(x) => trt.elementwise(x, const(1, \"f32\"), op=ElementWiseOperation.SUM)",
     "the second argument of const() is a dtype, got a string"),
])
def test_a_right_side_argument_of_the_wrong_type_for_the_schema_is_rw214(rule, text):
    (found,) = rhs_errors("converter", rule)
    assert found[0] == "RW214" and text in found[1], found


def test_a_lowering_right_side_is_typed_against_aten_schemas_too():
    (found,) = rhs_errors("lowering", "aten.gelu.default(x) => aten.gelu.default(aten.neg.default(x), "
                          "approximate=none)")
    assert found == ("RW214", "argument `approximate` of aten.gelu.default is `str`, got none (`none`)")


@pytest.mark.parametrize("kind, rule", [
    ("converter", "aten.sum.dim_IntList(x, dims, k) => trt.reduce(x, op=ReduceOperation.SUM, axes=dims, keep_dims=k)"),
    ("converter", "aten.leaky_relu.default(x, s) => trt.activation(x, type=ActivationType.LEAKY_RELU, alpha=s)"),
    ("converter", "aten.convolution.default(x, w, b, s, p, d, false, _, g) => trt.convolution(x, w, b, stride=s, "
     "padding=p, dilation=d, groups=g)"),
    ("converter", "aten.relu.default(x) => let t = trt.topk(x, TopKOperation.MAX, 1, [0]); t[0]"),
    ("converter", "aten.relu.default(x) => trt.shuffle(x, reshape=shape(x), second_transpose=none)"),
    ("converter", "aten.mul.Tensor(x, c) => trt.elementwise(x, const(value(c), dtype(x)), "
     "op=ElementWiseOperation.PROD)"),
    ("lowering", "aten.rsub.Scalar(x, s) => aten.sub.Tensor(const(s, dtype(x)), x)"),
    ("lowering", "aten.addmm.default(c, a, b, beta=1, alpha=1) => aten.add.Tensor(aten.mm.default(a, b), c)"),
])
def test_right_sides_of_the_schema_types_are_accepted(kind, rule):
    assert rhs_errors(kind, rule) == []
