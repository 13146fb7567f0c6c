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
