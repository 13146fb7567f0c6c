"""What the `trt-passes fmt` and `trt-passes coverage` commands do, as functions (the CLI only parses arguments).

    code = fmt_paths(["spec/"], check=True)        # 1 if any file is not formatted (nothing written)
    print(coverage_text(["spec/lower", "spec/convert"], ops))
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TextIO

from trt_passes.dsl.coverage import converter_coverage
from trt_passes.dsl.diagnostics import RuleLoadError
from trt_passes.dsl.formatter import format_rules
from trt_passes.dsl.loader import load_rules, rule_files
from trt_passes.ir.ops import OpRegistry


def fmt_paths(paths: Iterable[str | os.PathLike[str]], *, check: bool = False, out: TextIO = sys.stdout) -> int:
    """Format every `.rw` file under ``paths`` in place (``check``: only report files that would change).
    Returns the exit code: 0 when all files are (or now are) formatted, 1 otherwise or on a syntax error."""
    status = 0
    for f in rule_files(paths):
        text = f.read_text(encoding="utf-8")
        try:
            new = format_rules(text, str(f))
        except RuleLoadError as e:
            print(e, file=out)
            status = 1
            continue
        if new == text:
            continue
        if check:
            print(f"would reformat {f}", file=out)
            status = 1
        else:
            tmp = f.with_name(f".{f.name}.fmt")
            tmp.write_text(new, encoding="utf-8")
            os.replace(tmp, f)  # atomic: an interrupted run never leaves half a file
            print(f"reformatted {f}", file=out)
    return status


def coverage_text(paths: Iterable[str | os.PathLike[str]], ops: OpRegistry, model_ops: Iterable[str] = ()) -> str:
    """The converter coverage report of the rules under ``paths`` (see :func:`converter_coverage`)."""
    return converter_coverage(load_rules(paths, ops), model_ops).format()
