"""Op coverage, measured: every case of the single-op corpus (:mod:`benchmarks.op_corpus_cases`) compiled as a new
user would, with ``min_block_size=1`` on the reference runtime, and checked against eager PyTorch.

    python -m benchmarks.op_corpus [OP ...]          # default: every op of the corpus; OP matches a prefix
    python -m benchmarks.op_corpus --details [OP ...] # also one line per case that did not convert
    python -m benchmarks.op_corpus --write           # every op, and record it in spec/coverage/op_corpus.tsv

Per op: cases, cases whose every op converted, cases with ops left to PyTorch (the first such op and the reason
``explain`` gives, under the table), cases that failed to compile, and cases whose result differs from eager (float
outputs beyond 1e-4 of the output's largest magnitude, with full float32 engines: ``disable_tf32=True``; integer and
bool outputs exactly; NaN where eager has NaN). The summary line counts ops converted in every case. ``--write``
records the run for ``trt-passes coverage`` (:mod:`trt_passes.tools.coverage_measured`).
"""

from __future__ import annotations

import datetime
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources

import torch

import trt_passes
from benchmarks.op_corpus_cases import CASES, Case
from trt_passes.tools.coverage_measured import FILE, MeasuredOp, format_tsv

TOLERANCE = 1e-4


class OneOp(torch.nn.Module):
    def __init__(self, case: Case) -> None:
        super().__init__()
        self.fn = case.fn

    def forward(self, *args: torch.Tensor) -> object:
        return self.fn(*args)


@dataclass
class OpRow:
    op: str
    cases: int = 0
    converted: int = 0
    left: int = 0
    failed: int = 0
    wrong: int = 0
    not_converted: list[tuple[str, str, str]] = field(default_factory=list)
    """(variant, outcome, why) of each case not converted whole."""


def flatten(out: object) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flatten(o)]
    raise TypeError(f"unexpected output {type(out).__name__}")


def mismatch(got: list[torch.Tensor], want: list[torch.Tensor]) -> str | None:
    """Why ``got`` is not eager's ``want``, or None when it is."""
    if len(got) != len(want):
        return f"{len(got)} outputs, eager has {len(want)}"
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        if g.shape != w.shape or g.dtype != w.dtype:
            return f"output {k}: {g.dtype}{list(g.shape)}, eager {w.dtype}{list(w.shape)}"
        if not w.dtype.is_floating_point:
            if not torch.equal(g, w):
                return f"output {k}: values differ"
            continue
        if not torch.equal(torch.isnan(g), torch.isnan(w)):
            return f"output {k}: NaN where eager has none, or the reverse"
        ok = ~torch.isnan(w)
        scale = max(1.0, float(w[ok].abs().max())) if ok.any() else 1.0
        err = float((g[ok].double() - w[ok].double()).abs().max()) / scale if ok.any() else 0.0
        if err > TOLERANCE:
            return f"output {k}: relative error {err:.2e}"
    return None


def run_case(case: Case) -> tuple[str, str]:
    """(outcome, note): outcome is converted | left | failed | wrong."""
    module = OneOp(case).eval()
    want = flatten(module(*case.inputs))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = trt_passes.compile(module, ir="dynamo", inputs=list(case.inputs), min_block_size=1,
                                          runtime="reference", disable_tf32=True)
            got = flatten(compiled(*case.inputs))
    except Exception as e:
        return "failed", f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
    bad = mismatch(got, want)
    if bad is not None:
        return "wrong", bad
    fallbacks = compiled.compile_report.fallbacks
    if fallbacks:
        fb = fallbacks[0]
        reason = fb.on_purpose or fb.reason
        return "left", f"{fb.op}: {reason.splitlines()[0][:140]}"
    return "converted", ""


def run(cases: list[Case], details: bool) -> list[OpRow]:
    rows: dict[str, OpRow] = {}
    for case in cases:
        row = rows.setdefault(case.op, OpRow(case.op))
        outcome, note = run_case(case)
        row.cases += 1
        setattr(row, outcome, getattr(row, outcome) + 1)
        if outcome != "converted":
            row.not_converted.append((case.variant, outcome, note))
        if details:
            print(f"  {case.op:24} {case.variant:34} {outcome:9} {note}", file=sys.stderr, flush=True)
    return list(rows.values())


def format_table(rows: list[OpRow]) -> str:
    lines = [f"{'op':26} {'cases':>5} {'conv':>5} {'left':>5} {'fail':>5} {'wrong':>5}"]
    for r in rows:
        lines.append(f"{r.op:26} {r.cases:5} {r.converted:5} {r.left:5} {r.failed:5} {r.wrong:5}")
    full = sum(r.converted == r.cases for r in rows)
    total: Counter[str] = Counter()
    for r in rows:
        total.update(cases=r.cases, converted=r.converted, left=r.left, failed=r.failed, wrong=r.wrong)
    lines.append("")
    lines.append(f"ops converted in every case: {full} of {len(rows)}; cases: {total['cases']}, converted "
                 f"{total['converted']}, left to PyTorch {total['left']}, failed to compile {total['failed']}, "
                 f"wrong {total['wrong']}")
    lines.append("")
    lines.append("cases not converted (variant: outcome: first op left to PyTorch and why, or the error):")
    for r in rows:
        for note in (": ".join(c) for c in r.not_converted):
            lines.append(f"  {r.op}, {note}")
    return "\n".join(lines)


def write(rows: list[OpRow]) -> str:
    """Record ``rows`` (a run of the whole corpus) where ``trt-passes coverage`` reads them; returns the path."""
    header = (f"The single-op corpus (benchmarks/op_corpus_cases.py) as `python -m benchmarks.op_corpus --write` ran "
              f"it on {datetime.date.today()}\nwith torch {torch.__version__}, trt-passes {trt_passes.__version__}: "
              "min_block_size=1, reference runtime, disable_tf32=True.")
    ops = [MeasuredOp(r.op, r.cases, r.converted, r.left, r.failed, r.wrong, tuple(r.not_converted)) for r in rows]
    path = resources.files("trt_passes.spec") / "coverage" / FILE
    with resources.as_file(path) as p:
        p.write_text(format_tsv(header, ops))
        return str(p)


def main(argv: list[str]) -> int:
    details = "--details" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    if "--write" in argv and wanted:
        print("--write records the whole corpus: name no ops", file=sys.stderr)
        return 2
    cases = [c for c in CASES if not wanted or any(c.op.startswith(w) for w in wanted)]
    rows = run(cases, details)
    print(format_table(rows))
    if "--write" in argv:
        print(f"wrote {write(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
