"""The measured part of ``trt-passes coverage``: the single-op corpus of ``benchmarks/`` as last run.

``python -m benchmarks.op_corpus --write`` compiles every case of ``benchmarks/op_corpus_cases.py`` (one op, in the
variants real code and Torch-TensorRT's converter tests use) as a new user would and writes what happened to
``spec/coverage/op_corpus.tsv``: per op the cases tried, converted whole, left (partly) to PyTorch, failed to compile
and wrong against eager; then one line per case not converted, with the first op left to PyTorch and why. This
module reads that file (plain tab-separated text, never executed) for the coverage report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

FILE = "op_corpus.tsv"


@dataclass(frozen=True)
class MeasuredOp:
    op: str
    cases: int
    converted: int
    left: int
    failed: int
    wrong: int
    not_converted: tuple[tuple[str, str, str], ...] = ()
    """(variant, outcome, why) of each case not converted whole."""


@dataclass
class MeasuredCoverage:
    header: str = ""
    """How and when it was measured (the file's comment lines)."""
    ops: list[MeasuredOp] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.ops:
            return []
        full = sum(o.converted == o.cases for o in self.ops)
        total = {k: sum(getattr(o, k) for o in self.ops) for k in ("cases", "converted", "left", "failed", "wrong")}
        out = [f"measured: {self.header}",
               f"  ops converted in every case: {full} of {len(self.ops)}; cases {total['cases']}: converted "
               f"{total['converted']}, left to PyTorch {total['left']}, failed to compile {total['failed']}, "
               f"wrong {total['wrong']}"]
        for o in self.ops:
            for variant, outcome, why in o.not_converted:
                out.append(f"  {o.op}, {variant}: {outcome}: {why}")
        return out

    def to_dict(self) -> dict[str, object]:
        return {"header": self.header, "ops": [
            {"op": o.op, "cases": o.cases, "converted": o.converted, "left": o.left, "failed": o.failed,
             "wrong": o.wrong, "not_converted": [list(c) for c in o.not_converted]} for o in self.ops]}


def format_tsv(header: str, ops: list[MeasuredOp]) -> str:
    """The file :func:`parse_tsv` reads."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += ["\t".join(["op", o.op, *(str(getattr(o, k)) for k in ("cases", "converted", "left", "failed",
                                                                     "wrong"))]) for o in ops]
    lines += ["\t".join(["case", o.op, v, outcome, why.replace("\t", " ").replace("\n", " ")])
              for o in ops for v, outcome, why in o.not_converted]
    return "\n".join(lines) + "\n"


def parse_tsv(text: str) -> MeasuredCoverage:
    header = " ".join(line[1:].strip() for line in text.splitlines() if line.startswith("#"))
    ops: dict[str, MeasuredOp] = {}
    cases: dict[str, list[tuple[str, str, str]]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if cells[0] == "op" and len(cells) == 7 and all(c.isdigit() for c in cells[2:]):
            counts = [int(c) for c in cells[2:]]
            ops[cells[1]] = MeasuredOp(cells[1], *counts)
        elif cells[0] == "case" and len(cells) == 5:
            cases.setdefault(cells[1], []).append((cells[2], cells[3], cells[4]))
        else:
            raise ValueError(f"spec/coverage/{FILE}:{lineno}: expected `op NAME CASES CONVERTED LEFT FAILED WRONG` "
                             f"or `case OP VARIANT OUTCOME WHY`, tab-separated; got {line[:80]!r}")
    return MeasuredCoverage(header, [MeasuredOp(o.op, o.cases, o.converted, o.left, o.failed, o.wrong,
                                                tuple(cases.get(o.op, ()))) for o in ops.values()])


def measured_coverage() -> MeasuredCoverage:
    """The shipped measurement (empty when the file is missing)."""
    path = resources.files("trt_passes.spec") / "coverage" / FILE
    return parse_tsv(path.read_text()) if path.is_file() else MeasuredCoverage()
