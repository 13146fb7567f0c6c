"""Diagnostics: every code has a failing example (most are files in corpus/fail, checked by test_corpus.py), loads
report all problems together, and rendering shows location, code, source line, underline and notes.

``U`` is a trailing ``untested`` clause so that only the error under test is reported.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.dsl.conftest import OPS, load_errors
from trt_passes.dsl import CODES, Diagnostic, RuleLoadError, load_rules, load_sources
from trt_passes.dsl.ast import Span

U = 'untested "t"'
L = "ruleset r : lowering\n"
C = "ruleset r : converter\n"

# The failing example of each code, with the code's line and column, is a file in corpus/fail (test_corpus.py).


def test_every_code_has_a_case_here_or_in_the_corpus():
    from tests.dsl.test_corpus import codes_in_corpus

    tested = {"RW006", "RW007"} | codes_in_corpus()
    assert tested == set(CODES)


def test_unreadable_file_is_rw006(tmp_path: Path):
    with pytest.raises(RuleLoadError) as info:
        load_rules([tmp_path / "missing.rw"], OPS)
    assert info.value.codes == ["RW006"]


def test_one_ruleset_with_two_kinds_is_rw007():
    with pytest.raises(RuleLoadError) as info:
        load_sources({"a.rw": "ruleset r : lowering\n", "b.rw": "ruleset r : converter\n"}, OPS)
    (d,) = info.value.diagnostics
    assert (d.code, d.span.file, d.span.line, d.span.col) == ("RW007", "b.rw", 1, 13)


def test_all_errors_of_a_load_are_reported_together_across_files():
    sources = {
        "a.rw": L + "rule a aten.rleu.default(x) => y " + U,
        "b.rw": L + "rule b aten.relu.default(x) => x $",
        "c.rw": L + "rule a aten.relu.default(x) => x " + U,
    }
    with pytest.raises(RuleLoadError) as info:
        load_sources(sources, OPS)
    assert info.value.codes == ["RW101", "RW105", "RW002", "RW106"]


def test_unknown_op_suggests_close_names_and_missing_overload_lists_overloads():
    err = load_errors(L + "rule a aten.rleu.default(x) => x " + U)
    assert any("aten.relu.default" in n for n in err.diagnostics[0].notes)
    err = load_errors(L + "rule a aten.add(x, y) => x " + U)
    assert "aten.add.Tensor" in err.diagnostics[0].notes[0]


def test_syntax_errors_say_what_was_expected_in_words():
    err = load_errors(L + "rule a aten.relu.default(x, => x")
    assert "expected" in err.diagnostics[0].message and "a name" in err.diagnostics[0].message
    unclosed = load_errors(L + "rule a aten.relu.default(x => x").diagnostics[0]
    assert "`=>`" in unclosed.message and "not closed" in unclosed.message and unclosed.span.col == 28
    missing_arrow = load_errors(L + "rule a aten.relu.default(x) x " + U).diagnostics[0]
    assert missing_arrow.code == "RW003" and "`=>`" in missing_arrow.message


def test_rendering_shows_location_code_source_line_underline_and_notes():
    d = Diagnostic("RW105", "`y` is unbound", Span("t.rw", 2, 5, 2, 8), ("did you mean `x`?",))
    text = d.render("line one\nabc def ghi\n")
    assert text.splitlines() == [
        "t.rw:2:5: error[RW105]: `y` is unbound",
        "  | abc def ghi",
        "  |     ^~~",
        "  = note: did you mean `x`?",
    ]


def test_the_load_error_message_renders_with_the_loaded_source():
    err = load_errors(L + "rule a aten.relu.default(x) => y " + U)
    assert "rule a aten.relu.default(x) => y" in str(err)
    assert re.search(r"\^\n", str(err) + "\n")


def test_language_reference_has_an_example_for_every_code():
    spec = (Path(__file__).parents[2] / "spec" / "LANGUAGE.md").read_text()
    missing = [c for c in CODES if c not in spec]
    assert not missing


def test_syntax_errors_in_several_rules_are_all_reported_and_intact_rules_still_checked():
    text = (L + "rule a aten.relu.default(x) => )\n"
            "rule b aten.relu.default(x) => aten.nope.default(x) " + U + "\n"
            "rule c\n  aten.neg.default(x\n  => x " + U + "\n"
            "rule d aten.neg.default(x) => x " + U + "\n")
    err = load_errors(text)
    assert [(d.code, d.span.line) for d in err.diagnostics] == [("RW001", 2), ("RW101", 3), ("RW001", 6)]


def test_an_unfinished_rule_is_reported_once_and_the_next_rule_survives():
    text = L + "rule a aten.relu.default(x) =>\nrule b aten.neg.default(x) => y " + U + "\n"
    err = load_errors(text)
    assert [(d.code, d.span.line) for d in err.diagnostics] == [("RW001", 3), ("RW105", 3)]
    assert "previous rule is incomplete" in err.diagnostics[0].notes[0]


@pytest.mark.parametrize("text, message, note", [
    (L + "rule a aten.mul.Tensor(x, .5) => x " + U, "`.5` is not a number", "write `0.5`"),
    (L + "rule a aten.relu.default(x) where rank(x) > 5. => x " + U, "`5.` is not a number", "write `5.0`"),
    (L + "rule a aten.relu.default(in) => x " + U, "`in` is a reserved word and cannot be a name", "e.g. `in_`"),
    (L + "rule a aten.relu.default(x) => x\n    domain { not: f32 [2] }", "`not` is a reserved word", "not_"),
    (L + "rule a requires trt >= 10.1 priority 1 aten.relu.default(x) => x " + U,
     "`priority` is out of place", "[priority N] [exclusive]"),
    (L + 'rule a "doc" exclusive aten.relu.default(x) => x ' + U, "`exclusive` is out of place", "a rule reads"),
])
def test_common_syntax_slips_are_named(text, message, note):
    (d,) = load_errors(text).diagnostics
    assert d.code in ("RW001", "RW002") and message in d.message and any(note in n for n in d.notes), d


def test_a_keyword_where_a_rule_is_incomplete_still_says_so():
    (d,) = load_errors(L + "rule a aten.relu.default(x) =>\nruleset s : lowering\n").diagnostics
    assert "previous rule is incomplete" in d.notes[0]
