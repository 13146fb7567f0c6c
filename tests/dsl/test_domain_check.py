"""A domain is checked against the pattern it draws for: dtypes, ranks and fixed dims the annotations exclude, graph
inputs where the guard needs a constant (RW405), values of the wrong type (RW406)."""

from __future__ import annotations

import pytest

from tests.dsl.conftest import load

L = "ruleset r : lowering\n"


def domain_errors(pattern: str, domain: str, guard: str = "") -> list[tuple[str, str]]:
    text = f"{L}rule a {pattern} {guard} => aten.neg.default(x)\n    domain {{ {domain} }}\n"
    try:
        load(text)
    except Exception as e:  # RuleLoadError
        return [(d.code, d.message) for d in e.diagnostics]  # type: ignore[attr-defined]
    return []


@pytest.mark.parametrize("pattern, domain, guard, text", [
    ("aten.relu.default(x: Tensor<f32|f16>)", "x: f32|f64 [2]", "", "draws `x` as f64"),
    ("aten.relu.default(x: Tensor<T: f16>)", "x: f32 [2]", "", "draws `x` as f32"),
    ("aten.relu.default(x: Tensor[_, _, _])", "x: f32 [2, 3]", "", "with rank 2, its type wants rank 3"),
    ("aten.relu.default(x: Tensor[_, _, ...])", "x: f32 [2]", "", "wants rank 2 or more"),
    ("aten.relu.default(x: Tensor{3..4})", "x: f32 [2, 3]", "", "wants rank 3 to 4"),
    ("aten.relu.default(x: Tensor[_, 3])", "x: f32 [2, 4]", "", "dim 1 of `x` as 4, its type wants 3"),
    ("aten.relu.default(x: Tensor[..., 3])", "x: f32 [2, 5, 1..2]", "", "from 1..2, its type wants 3"),
    ("aten.relu.default(x: Tensor[_, 3])", "x: f32 [2, 1..4]", "", "(other sizes never match)"),
    ("aten.mul.Tensor(x, c)", "x: f32 [2] c: f32 []", "where is_const(c)", "the guard needs `is_const(c)`"),
])
def test_a_domain_drawing_what_the_pattern_excludes_is_rw405(pattern, domain, guard, text):
    (found,) = domain_errors(pattern, domain, guard)
    assert found[0] == "RW405" and text in found[1], found


@pytest.mark.parametrize("pattern, domain, text", [
    ("aten.sum.dim_IntList(x, [d], false)", "x: f32 [2, 3] d: 0 | 1.5", "gives `d` a float, but `d` is an int"),
    ("aten.sum.dim_IntList(x, d, false)", "x: f32 [2, 3] d: 1", "gives `d` an int, but `d` is a list of ints"),
    ("aten.leaky_relu.default(x, s)", "x: f32 [2, 3] s: none", "gives `s` none, but `s` is a number"),
    ("aten.sum.dim_IntList(x, [d], k)", "x: f32 [2, 3] d: 0 k: 1", "gives `k` an int, but `k` is a bool"),
    ("aten.mul.Tensor(x, c)", "x: f32 [2] c: f32 [] | none", "may give `c` none, but it matches a `Tensor`"),
])
def test_a_domain_value_of_the_wrong_type_is_rw406(pattern, domain, text):
    (found,) = domain_errors(pattern, domain)
    assert found[0] == "RW406" and text in found[1], found


@pytest.mark.parametrize("pattern, domain, guard", [
    ("aten.relu.default(x: Tensor<f32|f16>[N, 3, ...])", "x: f32|f16 [N=1..2, 3] ", ""),
    ("aten.relu.default(x: Tensor<f32>[_, 3, ...])", "x: f32 [2, 3, 4, 5]", ""),
    ("aten.mul.Tensor(x, c)", "x: f32 [2] c: const f32 []", "where is_const(c)"),
    ("aten.convolution.default(x, w, b, [1, 1], [0, 0], [1, 1], false, [0, 0], 1)",
     "x: f32 [1, 2, 5, 5] w: const f32 [3, 2, 3, 3] b: const f32 [3] | none", ""),
    ("aten.sum.dim_IntList(x, d, k)", "x: f32 [2, 3] d: [0] | [0, 1] | none k: true | false", ""),
    ("aten.leaky_relu.default(x, s)", "x: f32 [2, 3] s: 0.1 | 1", ""),
])
def test_a_domain_drawing_what_the_pattern_accepts_is_quiet(pattern, domain, guard):
    assert domain_errors(pattern, domain, guard) == []
