"""The normal form every part of the engine after the checker reads: arguments by schema position with defaults,
variants, paths, static capture binding, explicit type checks, guard conjuncts, bound right-side constructors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dsl.conftest import OPS, load
from trt_passes.dsl import load_text
from trt_passes.dsl.normal_form import (
    Construct,
    DimIs,
    DimVar,
    DtypeIn,
    DtypeVar,
    IsTensor,
    MCapture,
    MConst,
    MDefault,
    MLiteral,
    MOp,
    RankIs,
    walk,
)

U = 'untested "t"'


def one(text: str):
    (rule,) = load("ruleset r : lowering\n" + text).rulesets["r"].rules
    return rule


def test_every_schema_argument_has_a_position_and_unwritten_ones_hold_their_default() -> None:
    (v,) = one(f"rule a aten.sub.Tensor(x, y) => x {U}").normal.variants
    assert [a.path for a in v.args] == [("self",), ("other",), ("alpha",)]
    assert [type(a) for a in v.args] == [MCapture, MCapture, MDefault]
    assert v.args[2].value == 1 and v.args[2].where == "argument 'alpha'"


def test_nested_positions_are_named_by_their_path_and_the_op_they_belong_to() -> None:
    (v,) = one(f"rule a aten.sub.Tensor(aten.neg.default(x), y) => x {U}").normal.variants
    inner = v.args[0]
    assert isinstance(inner, MOp) and inner.path == ("self",) and inner.op == "aten.neg.default"
    assert inner.args[0].path == ("self", "self") and inner.args[0].where == "aten.neg.default argument 'self'"


def test_a_capture_used_twice_binds_at_its_first_use_and_is_an_equality_after() -> None:
    (v,) = one(f"rule a aten.sub.Tensor(x: Tensor[N, N], x) => x {U}").normal.variants
    first, again = v.args[0], v.args[1]
    assert isinstance(first, MCapture) and isinstance(again, MCapture)
    assert (first.first, again.first) == (True, False)
    dims = [c for c in first.checks if isinstance(c, DimVar)]
    assert [(d.index, d.first) for d in dims] == [(0, True), (1, False)]


def test_alternatives_and_commutative_swaps_are_variants_as_written_first() -> None:
    rule = one(f"rule a aten.add.Tensor(x, aten.neg.default(y) | aten.relu.default(y)) => x {U}")
    ops = [(p.path, p.op) for v in rule.normal.variants for p in walk(v) if isinstance(p, MOp) and p.path]
    assert ops == [(("other",), "aten.neg.default"), (("other",), "aten.relu.default"),
                   (("self",), "aten.neg.default"), (("self",), "aten.relu.default")]


def test_numbers_in_tensor_positions_match_constants_and_elsewhere_equal_values() -> None:
    (div,) = one(f"rule a aten.div.Tensor(x, 2.0) => x {U}").normal.variants
    assert isinstance(div.args[1], MConst) and div.args[1].value == 2.0
    (leaky,) = one(f"rule a aten.leaky_relu.default(x, 0.5) => x {U}").normal.variants
    assert isinstance(leaky.args[1], MLiteral) and leaky.args[1].value == 0.5


def test_a_type_annotation_is_its_checks_in_the_order_the_matchers_make_them() -> None:
    (v,) = one(f"rule a aten.relu.default(x: Tensor<T: f32|f16>[N, ..., 3]) => x {U}").normal.variants
    assert v.args[0].checks == (IsTensor(), DtypeIn(("f32", "f16")), DtypeVar("T", True), RankIs(2, at_least=True),
                                DimVar(0, "N", True), DimIs(-1, 3))


def test_the_guard_is_its_conjuncts_each_with_its_text() -> None:
    rule = one(f"rule a aten.relu.default(x) where rank(x) == 2 and dtype(x) == f32 => x {U}")
    assert [c.text for c in rule.normal.guard] == ["rank(x) == 2", "dtype(x) == f32"]


def test_right_side_constructors_are_bound_to_schema_positions() -> None:
    rule = one(f"rule a aten.neg.default(aten.sub.Tensor(x, y)) => aten.add.Tensor(other=y, self=x) {U}")
    c = rule.normal.result
    assert isinstance(c, Construct) and c.op == "aten.add.Tensor"
    assert [s.name for s in c.specs] == ["self", "other", "alpha"] and c.slots == (1, 0, None)
    assert rule.normal.emits == ("aten.add.Tensor",)


def test_a_library_read_from_the_disk_cache_carries_the_same_normal_form(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRT_PASSES_CACHE", str(tmp_path))
    text = f"ruleset r : lowering\nrule a aten.add.Tensor(x, aten.neg.default(y)) => aten.sub.Tensor(x, y) {U}\n"
    fresh = load_text(text, OPS).rule("a")
    cached = load_text(text, OPS).rule("a")
    assert list((tmp_path / "libraries").iterdir()) and cached is not fresh
    assert cached.normal == fresh.normal and len(cached.normal.variants) == 2
