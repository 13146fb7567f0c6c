"""The `.rw` corpus: every file under corpus/fail must fail to load with the diagnostics its header announces
(``# expect: CODE LINE:COL``, one per line); every file under corpus/pass must load, with exactly the warnings its
header announces (``# warn: CODE LINE:COL``). Adding a case is adding a file.

A file whose header says ``# check:`` is checked as ``trt-passes check FILE`` checks it instead of loaded alone:
with the shipped rules, in the default pipeline, tried on examples (``# check: test`` also runs each rule's
property test, as ``--test`` does; ``# check: pipeline=FILE`` checks it in the pipeline of that file, beside it). Its
errors and warnings are those the header announces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.dsl.conftest import OPS
from trt_passes.dsl import RuleLoadError, load_rules
from trt_passes.tools.rulecheck import check_files

CORPUS = Path(__file__).parent / "corpus"
HEADER = re.compile(r"^#\s*(expect|warn):\s*(RW\d{3})\s+(\d+):(\d+)", re.M)
CHECK = re.compile(r"^#\s*check:(.*)$", re.M)


def expected(path: Path, kind: str) -> set[tuple[str, int, int]]:
    return {(c, int(line), int(col)) for k, c, line, col in HEADER.findall(path.read_text()) if k == kind}


def codes_in_corpus() -> set[str]:
    return {c for p in CORPUS.rglob("*.rw") for _, c, _, _ in HEADER.findall(p.read_text())}


def checked(path: Path) -> tuple[set[tuple[str, int, int]], set[tuple[str, int, int]], str] | None:
    """(errors, warnings, rendered) of ``trt-passes check`` on a ``# check:`` file; None for other files."""
    m = CHECK.search(path.read_text())
    if m is None:
        return None
    words = m.group(1).split()
    pipelines = [str(path.parent / w.removeprefix("pipeline=")) for w in words if w.startswith("pipeline=")]
    result = check_files([path], OPS, test="test" in words, pipeline=pipelines[0] if pipelines else "default")
    at = {(d.code, d.span.line, d.span.col, d.severity) for d in result.diagnostics
          if Path(d.span.file).resolve() == path.resolve()}
    return ({a[:3] for a in at if a[3] == "error"}, {a[:3] for a in at if a[3] == "warning"},
            result.render())


@pytest.mark.parametrize("path", sorted((CORPUS / "fail").glob("*.rw")), ids=lambda p: p.stem)
def test_failing_corpus_file_reports_its_diagnostics(path: Path) -> None:
    want = expected(path, "expect")
    assert want, f"{path.name} has no `# expect:` header"
    found_by_check = checked(path)
    if found_by_check is not None:
        errors, warnings, text = found_by_check
        assert (errors, warnings) == (want, expected(path, "warn")), text
        return
    with pytest.raises(RuleLoadError) as info:
        load_rules([path], OPS)
    found = {(d.code, d.span.line, d.span.col) for d in info.value.diagnostics if d.severity == "error"}
    assert want == found, str(info.value)


@pytest.mark.parametrize("path", sorted((CORPUS / "pass").glob("*.rw")), ids=lambda p: p.stem)
def test_passing_corpus_file_loads_with_its_warnings(path: Path) -> None:
    found_by_check = checked(path)
    if found_by_check is not None:
        errors, warnings, text = found_by_check
        assert (errors, warnings) == (set(), expected(path, "warn")), text
        return
    lib = load_rules([path], OPS)
    assert {(d.code, d.span.line, d.span.col) for d in lib.warnings} == expected(path, "warn")
