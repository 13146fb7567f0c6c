"""Robustness: whatever text is loaded, the only error is a RuleLoadError made of diagnostics with known codes and
positions inside the text; whatever loads also formats and compiles. Random token soup and mutations of valid rule
files are both tried."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.dsl.conftest import OPS
from tests.dsl.test_parser import EXAMPLE
from trt_passes.dsl import CODES, RuleLoadError, format_rules, load_text, parse
from trt_passes.dsl.compiled import compiled_matcher

TOKENS = [
    "ruleset", "rule", "lowering", "converter", "priority", "where", "=>", "let", "domain", "untested", "const",
    "Tensor", "and", "or", "not", "in", "none", "true", "false", "_", "...", "..", "(", ")", "[", "]", "{", "}", "<",
    "family", "over", "recursive", "Tensor<T>", "Tensor<T: f32>", "|", "op(x)", "u: (aten.exp.default, 1.0)",
    ">", ",", ":", ";", "=", "==", "@", "|", "+", "-", "*", "//", "%", "1", "-2", "0.5", "3..4", '"doc"', "x", "y",
    "N", "f32", "f16", "i64", "int", "float", "aten.relu.default", "aten.add.Tensor", "aten.add", "aten.nope.x",
    "trt.activation", "trt.elementwise", "ActivationType.RELU", "ActivationType.NOPE", "Foo.BAR", "rank", "shape",
    "value", "len", "is_const", "r.x", "\n", " ", "#c\n", "$", "\t", "'",
]


def check(text: str) -> None:
    try:
        lib = load_text(text, OPS, "fuzz.rw")
        # whatever loads also formats (and reads back the same) and compiles
        assert parse(format_rules(text)).items == parse(text).items
        for rs in lib.rulesets.values():
            compiled_matcher(rs, OPS)
    except RuleLoadError as e:
        assert e.diagnostics
        lines = text.split("\n")
        for d in e.diagnostics:
            assert d.code in CODES, d
            assert 1 <= d.span.line <= len(lines) + 1, d
        str(e)  # rendering never fails either


@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join))
def test_token_soup_yields_only_diagnostics(text):
    check(text)


@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join))
def test_token_soup_inside_a_rule_yields_only_diagnostics(body):
    check("ruleset r : lowering\nrule a aten.relu.default(x) " + body)
    check("ruleset r : converter\nrule a aten.add.Tensor(x, y) where " + body + ' => x untested "t"')


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = EXAMPLE
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 30)))
        how = draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if how == "delete":
            text = text[:i] + text[j:]
        elif how == "insert":
            text = text[:i] + " " + draw(st.sampled_from(TOKENS)) + " " + text[i:]
        elif how == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[j:]
    return text


@given(mutated())
def test_mutated_rule_files_yield_only_diagnostics(text):
    check(text)


def test_the_unmutated_example_has_only_its_kind_errors():
    try:
        load_text(EXAMPLE, OPS, "ex.rw")
    except RuleLoadError as e:  # pragma: no cover - the example is valid
        raise AssertionError(str(e)) from e
