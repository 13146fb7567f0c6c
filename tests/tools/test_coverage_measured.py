"""The measured part of ``trt-passes coverage``: the single-op corpus as ``benchmarks.op_corpus --write`` recorded
it, read back as written, and kept in step with the corpus it claims to measure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.op_corpus_cases import CASES
from trt_passes.tools.cli import main
from trt_passes.tools.coverage_measured import MeasuredOp, format_tsv, measured_coverage, parse_tsv

text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).map(str.strip).filter(bool)


@st.composite
def measured_ops(draw: st.DrawFn) -> MeasuredOp:
    converted, left, failed, wrong = (draw(st.integers(0, 9)) for _ in range(4))
    misses = draw(st.lists(st.tuples(text, st.sampled_from(["left", "failed", "wrong"]), text),
                           max_size=left + failed + wrong))
    return MeasuredOp(draw(text), converted + left + failed + wrong, converted, left, failed, wrong, tuple(misses))


@given(st.lists(measured_ops(), max_size=5, unique_by=lambda o: o.op))
def test_what_is_written_is_read_back(ops: list[MeasuredOp]):
    back = parse_tsv(format_tsv("measured here\nwith torch x", ops))
    assert back.ops == ops and back.header == "measured here with torch x"


def test_a_malformed_line_is_an_error_naming_the_line():
    with pytest.raises(ValueError, match=r"op_corpus.tsv:2: expected .*got 'op\\tadd\\tseven"):
        parse_tsv("# header\nop\tadd\tseven\t1\t0\t0\t0\n")


def test_the_shipped_measurement_covers_the_corpus_as_it_is():
    measured = measured_coverage()
    by_op: dict[str, int] = {}
    for case in CASES:
        by_op[case.op] = by_op.get(case.op, 0) + 1
    assert {o.op: o.cases for o in measured.ops} == by_op, "run `python -m benchmarks.op_corpus --write`"
    for o in measured.ops:
        assert o.converted + o.left + o.failed + o.wrong == o.cases
        assert len(o.not_converted) == o.cases - o.converted


def test_the_coverage_command_prints_the_measurement(capsys: pytest.CaptureFixture[str]):
    assert main(["coverage"]) == 0
    out = capsys.readouterr().out
    measured = measured_coverage()
    full = sum(o.converted == o.cases for o in measured.ops)
    assert f"ops converted in every case: {full} of {len(measured.ops)}" in out
