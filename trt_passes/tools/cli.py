"""The ``trt-passes`` command: compile, explain, bisect, list, check.

Errors the user can fix (a bad model spec, a bad ``.rw`` file, an unsatisfiable option) are printed as one clear
message with exit status 1, never as a Python traceback; set ``TRT_PASSES_DEBUG=1`` (or ``-v``) to see the traceback,
debug logs and every rule application; ``TRT_PASSES_TRACE=path.jsonl`` writes the rule applications as JSON lines.
A progress line is drawn on stderr while passes run and engines build, when stderr is a terminal (``--quiet``: never).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from trt_passes import __version__, api
from trt_passes.backend.registry import default_ops
from trt_passes.backend.tensorrt_import import TensorRTNotAvailableError, find_tensorrt
from trt_passes.compiler import load_library
from trt_passes.dsl.examples import EXAMPLES
from trt_passes.dsl.tools import fmt_paths
from trt_passes.inputs import Input, example_inputs
from trt_passes.ir.decompositions import DECOMPOSITIONS
from trt_passes.passes.observe import RuleLogger, TraceFile, debug_enabled, observing
from trt_passes.passes.pipeline import load_pipeline
from trt_passes.passes.registry import builtin_passes
from trt_passes.tools.bisection import bisect
from trt_passes.tools.coverage import coverage_report
from trt_passes.tools.draw import write_graph
from trt_passes.tools.explain_graph import explain_with_graph
from trt_passes.tools.models import load_model
from trt_passes.tools.parity import TF32_FACTOR, TOLERANCE, check_parity, default_tolerance
from trt_passes.tools.progress import progress_display, showing_progress
from trt_passes.tools.rulecheck import check_files

EXIT_OK, EXIT_ERROR = 0, 1


def _add_compile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="torchvision:NAME, module:callable or path.py:callable (random weights)")
    p.add_argument("--input", action="append", default=[], metavar="SHAPE[:DTYPE[:LO..HI]]",
                   help="an input, e.g. 1x3x224x224 or 2x16:i64:0..1000; repeat for several inputs")
    p.add_argument("--min-block-size", type=int, default=5, metavar="N",
                   help="smallest TensorRT segment, in ops; smaller ones stay in PyTorch (default 5)")
    p.add_argument("--torch-executed-op", action="append", default=[], metavar="OP",
                   help="force an ATen op (aten.relu or aten.relu.default) to run in PyTorch; repeat for several")
    p.add_argument("--require-full-compilation", action="store_true",
                   help="fail, listing the ops and why, unless the whole model converts to one engine")
    p.add_argument("--rules", action="append", default=[], metavar="PATH", help="extra .rw files or folders")
    p.add_argument("--runtime", choices=("auto", "tensorrt", "reference"), default="auto",
                   help="what runs the TensorRT segments: tensorrt (engines; needs a GPU), reference (their "
                   "semantics in PyTorch), auto (engines where they can run; default)")
    p.add_argument("--workspace-size", type=int, default=None, metavar="BYTES",
                   help="TensorRT builder workspace limit (default: TensorRT's)")
    p.add_argument("--optimization-level", type=int, default=None, metavar="0..5",
                   help="TensorRT builder optimisation level (default: TensorRT's)")
    p.add_argument("--pipeline", default="default", metavar="NAME|FILE",
                   help="a pipeline in spec/pipelines or a .pipeline file (default: default)")
    p.add_argument("--precision", "--enabled-precisions", dest="precision", choices=("f32", "f16", "bf16"),
                   default="f32", help="run float32 compute in f16 or bf16, keeping numerically sensitive ops "
                   "(softmax, reductions, normalisations) in f32; inputs and outputs keep their dtypes")
    p.add_argument("--disable-tf32", action="store_true", help="float32 convolutions and matrix products in full "
                   "float32 (default: TF32 allowed, as in Torch-TensorRT: inputs rounded to a 10-bit mantissa)")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help="reuse engines built before (keyed on network, "
                   "weights, settings and TensorRT version)")
    p.add_argument("--decompositions", choices=DECOMPOSITIONS, default="rules",
                   help="rules: lower torch.export's graph with the .rw rules, PyTorch's decomposition only for the "
                   "ops no rule handles (default); pytorch: ExportedProgram.run_decompositions() on the whole "
                   "program first")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display on stderr")
    p.add_argument("--trace", metavar="FILE.jsonl", help="write every rule application as a JSON line "
                   "(as TRT_PASSES_TRACE=FILE.jsonl does)")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "min_block_size": args.min_block_size,
        "torch_executed_ops": tuple(args.torch_executed_op),
        "require_full_compilation": args.require_full_compilation,
        "rules": tuple(args.rules),
        "runtime": args.runtime,
        "workspace_size": args.workspace_size,
        "optimization_level": args.optimization_level,
        "pipeline": args.pipeline,
        "cache_dir": args.cache_dir,
        "enabled_precisions": (args.precision,),
        "disable_tf32": args.disable_tf32,
        "decompositions": args.decompositions,
    }


def _tolerance(args: argparse.Namespace, f32_contractions: str | None = None) -> float:
    """``--tolerance``, else the default for the precision the compiled engines compute in (``bisect`` evaluates
    every graph in exact float32 arithmetic: no TF32)."""
    if args.tolerance is not None:
        return float(args.tolerance)
    return default_tolerance(f32_contractions, None if args.precision == "f32" else args.precision)


def _model_and_specs(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The model and its ``--input`` specs (Inputs; dynamic ones keep their ranges)."""
    if not args.input:
        raise ValueError("give at least one --input SHAPE[:DTYPE], e.g. --input 1x3x224x224")
    return load_model(args.model), [Input.parse(s) for s in args.input]


def _model_and_inputs(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The model and example tensors drawn from its ``--input`` specs (at the opt shape of a dynamic one)."""
    model, specs = _model_and_specs(args)
    return model, list(example_inputs(specs))


def _check_shapes(specs: list[Any]) -> list[list[Any]]:
    """The input specs to check parity at: the opt shapes, and for dynamic inputs also all-min and all-max."""
    if not any(s.dynamic_axes for s in specs):
        return [specs]
    return [[s.with_shape(getattr(s, f"{which}_shape") if s.dynamic_axes else s.shape) for s in specs]
            for which in ("min", "opt", "max")]


def cmd_compile(args: argparse.Namespace) -> int:
    model, specs = _model_and_specs(args)
    start = time.perf_counter()
    with _progress(args):
        compiled = api.compile(model, inputs=specs, **_options(args))
    seconds = time.perf_counter() - start
    print(compiled.compile_report)
    print(f"Compiled in {seconds:.2f} s (torch.export and TensorRT's builder included)")
    if args.check:
        contractions = compiled.compile_report.f32_contractions
        tf32 = contractions == "tf32" and args.precision == "f32" and args.tolerance is None
        worst, tolerance = 0.0, _tolerance(args, contractions)
        for shapes in _check_shapes(specs):
            result = check_parity(model, compiled, list(example_inputs(shapes)), tf32=tf32)
            dynamic = any(s.dynamic_axes for s in specs)
            where = " at " + ", ".join("x".join(map(str, s.shape)) for s in shapes) if dynamic else ""
            print(f"Parity{where}: {result}")
            worst = max(worst, result.vs_eager)
            tolerance = max(tolerance, result.tolerance or 0.0)
        if args.tolerance is not None:
            why = "--tolerance"
        elif tf32:
            why = f"TF32: {TOLERANCE['tf32']:g}, or {TF32_FACTOR:g} times eager's own error with TF32 rounding"
        else:
            why = f"the default for {args.precision if args.precision != 'f32' else contractions or 'f32'} compute"
        print(f"Tolerance: {tolerance:g} ({why})")
        if worst > tolerance:
            print(f"error: parity {worst:.3g} exceeds --tolerance {tolerance:g}", file=sys.stderr)
            return EXIT_ERROR
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    if not args.input:  # naming a rule or a pass
        passes = builtin_passes()
        if args.target in passes:
            print(passes[args.target].describe())
            return EXIT_OK
        lib = load_library(tuple(args.rules), default_ops())
        for rs in lib.rulesets.values():
            for rule in rs.rules:
                if rule.name == args.target:
                    print(describe_rule(rule))
                    return EXIT_OK
        print(f"error: {args.target!r} is no pass or rule; to explain a model give --input SHAPE", file=sys.stderr)
        return EXIT_ERROR

    args.model = args.target
    model, specs = _model_and_specs(args)
    with _progress(args):
        report, graph = explain_with_graph(model, specs, **_options(args))
    if args.json:

        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print(report)
    if args.graph:

        path = write_graph(args.graph, graph, report, expand=args.expand)
        print(f"Graph drawn to {path}", file=sys.stderr)
    return EXIT_OK


def cmd_bisect(args: argparse.Namespace) -> int:
    model, inputs = _model_and_inputs(args)
    paths = DECOMPOSITIONS if args.decompositions == "both" else (args.decompositions,)
    results = {}
    for path in paths:
        with _progress(args):
            results[path] = bisect(model, inputs, tolerance=_tolerance(args), **{**_options(args),
                                                                                 "decompositions": path})
    if args.json:
        out = results[paths[0]].to_dict() if len(paths) == 1 else {p: r.to_dict() for p, r in results.items()}
        print(json.dumps(out, indent=2, default=str))
    else:
        print("\n\n".join(f"== decompositions={p}\n{r}" if len(paths) > 1 else str(r) for p, r in results.items()))
    drifted = any(r.drifted for r in results.values())
    return EXIT_ERROR if drifted else EXIT_OK  # scripts can tell a drift from a clean run


@contextlib.contextmanager
def _progress(args: argparse.Namespace) -> Iterator[None]:
    """The progress line (on a terminal, unless --quiet) and the --trace file, for the command's pipelines."""
    trace = (TraceFile(Path(args.trace)),) if getattr(args, "trace", None) else ()
    with observing(*trace), showing_progress(progress_display(quiet=getattr(args, "quiet", False))):
        yield


def describe_rule(rule: Any) -> str:
    lines = [f"rule {rule.name}  ({rule.kind}, rule set {rule.ruleset}, priority {rule.priority})",
             f"  defined at {rule.location}"]
    if rule.doc:
        lines.append(f"  {rule.doc}")
    source = getattr(rule, "source_text", None)
    if source:
        lines.extend("  | " + ln for ln in source.splitlines())
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "passes":
        for spec in builtin_passes().values():
            print(spec.describe())
        pipeline = load_pipeline("default")
        print(f"\npipeline {pipeline.name} ({pipeline.source}):")
        for step in pipeline.steps:
            params = " ".join(f"{k}={v}" for k, v in step.params.items())
            print(f"  {step.line:>3}: {step.pass_name} {params}".rstrip())
        return EXIT_OK
    lib = load_library(tuple(args.rules), default_ops())
    for name, rs in sorted(lib.rulesets.items()):
        print(f"ruleset {name} ({rs.kind}, {len(rs.rules)} rules)")
        for rule in rs.rules:
            print(f"  {rule.name:<40} {rule.location}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    for f in args.files:
        if not Path(f).exists():
            print(f"error: {f} does not exist", file=sys.stderr)
            return EXIT_ERROR
    result = check_files(args.files, default_ops(), pipeline=args.pipeline, examples=args.examples, test=args.test,
                         decompositions=args.decompositions)
    if result.diagnostics:
        print(result.render(), file=sys.stderr)
    failed = bool(result.errors) or (args.deny_warnings and bool(result.warnings))
    print(f"{'failed' if failed else 'ok'}: {result.summary()}"
          + ("  (--deny-warnings: warnings are errors)" if args.deny_warnings and result.warnings else ""))
    return EXIT_ERROR if failed else EXIT_OK


def cmd_coverage(args: argparse.Namespace) -> int:
    report = coverage_report(tuple(Path(r) for r in args.rules))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return EXIT_OK


def cmd_fmt(args: argparse.Namespace) -> int:
    return fmt_paths(args.paths, check=args.check)


class _Version(argparse.Action):
    """``--version``: trt-passes, torch and the TensorRT module the backend would use (looked up only when asked:
    importing TensorRT takes a while)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(version_text())
        parser.exit()


def version_text() -> str:
    """``trt-passes 0.1.0 (torch 2.14.1, tensorrt_rtx 1.7.1)``."""
    try:
        found = find_tensorrt()
        trt = f"{found.name} {found.version}"
    except TensorRTNotAvailableError:
        trt = "no TensorRT module"
    return f"trt-passes {__version__} (torch {torch.__version__}, {trt})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trt-passes", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (also TRT_PASSES_DEBUG=1)")
    parser.add_argument("--version", action=_Version, help="print the versions of trt-passes, torch and TensorRT")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compile", help="compile a model, print the partition and build engines")
    _add_compile_options(p)
    p.add_argument("--check", action="store_true", help="compare the compiled program with eager PyTorch")
    p.add_argument("--tolerance", type=float, default=None, help="largest max-relative-error --check accepts "
                   f"(default with TF32: {TOLERANCE['tf32']:g}, or {TF32_FACTOR:g} times eager's own error under "
                   f"TF32 rounding if larger; {TOLERANCE['f32']:g} with --disable-tf32; with --precision f16 "
                   f"{TOLERANCE['f16']:g}, bf16 {TOLERANCE['bf16']:g})")
    p.set_defaults(func=cmd_compile)
    p = sub.add_parser("explain", help="explain a rule, a pass, or a model's compilation (with --input)")
    _add_compile_options(p)
    p.set_defaults(func=cmd_explain)
    p.add_argument("--json", action="store_true", help="machine-readable report (keys: trt_passes.passes.report)")
    p.add_argument("--graph", metavar="FILE.svg|FILE.html", help="draw the partitioned graph")
    p.add_argument("--expand", action="store_true", help="with --graph: draw each segment's nodes, not one box")
    # `explain` takes a rule, pass or model: rename the positional for its help text.
    p._positionals._group_actions[0].dest = "target"
    p._positionals._group_actions[0].help = "a rule name, a pass name, or a MODEL (with --input)"
    p = sub.add_parser("bisect", help="find the pass and rule application after which outputs drift from eager")
    _add_compile_options(p)
    p.add_argument("--tolerance", type=float, default=None, help="largest max-relative-error accepted "
                   f"(default {TOLERANCE['f32']:g}: graphs are evaluated in exact float32; with --precision f16 "
                   f"{TOLERANCE['f16']:g}, bf16 {TOLERANCE['bf16']:g})")
    p.add_argument("--json", action="store_true", help="machine-readable result")
    # bisect compares the two paths too: --decompositions both runs it on each
    p._option_string_actions["--decompositions"].choices = (*DECOMPOSITIONS, "both")
    p.set_defaults(func=cmd_bisect)
    p = sub.add_parser("list", help="list the passes (with the default pipeline) or the rules")
    p.add_argument("what", choices=("rules", "passes"), help="rules (each with its file and line) or passes")
    p.add_argument("--rules", action="append", default=[], metavar="PATH", help="extra .rw files or folders to list")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("fmt", help="format .rw files in place (printing then parsing gives the same rules back)")
    p.add_argument("paths", nargs="+", help=".rw files or folders")
    p.add_argument("--check", action="store_true", help="only report files that would change; exit 1 if any")
    p.set_defaults(func=cmd_fmt)
    p = sub.add_parser("check", help="check .rw files together with the shipped rules, in the pipeline that runs "
                       "them; print every error and warning")
    p.add_argument("files", nargs="+", help=".rw files or folders")
    p.add_argument("--deny-warnings", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--test", action="store_true", help="also run each rule's property test: examples drawn from "
                   "its domain, rewritten and compared with eager PyTorch (reports the first counterexample)")
    p.add_argument("--examples", type=int, default=EXAMPLES, metavar="N",
                   help=f"examples each rule is tried on (default {EXAMPLES}; 0: none)")
    p.add_argument("--pipeline", default="default", help="the pipeline whose steps run the rules")
    p.add_argument("--decompositions", choices=DECOMPOSITIONS, default="rules",
                   help="the compile setting the rules are checked for: which ops reach them (RW510)")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("coverage", help="status of each core ATen op (converted, lowered, decomposed, or PyTorch) "
                       "and of the zoo's training-IR ops (by rule, by PyTorch's table, left to PyTorch)")
    p.add_argument("--rules", action="append", default=[], metavar="PATH",
                   help="extra .rw files or folders counted with the shipped rules")
    p.add_argument("--json", action="store_true", help="machine-readable coverage")
    p.set_defaults(func=cmd_coverage)
    return parser


def _option_values_starting_with_minus(argv: Sequence[str]) -> list[str]:
    """``--input -2x16`` as ``--input=-2x16``: argparse would take ``-2x16`` for an option and say only "expected one
    argument"; joined, the value reaches its own check, which says what is wrong with it."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--input" and arg[:1] == "-" and arg[1:2].isdigit():
            out[-1] = f"--input={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(_option_values_starting_with_minus(sys.argv[1:] if argv is None else argv))
    debug = args.verbose or debug_enabled()
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(name)s: %(message)s")
    try:
        if args.verbose and not debug_enabled():  # -v: also the rule applications, as TRT_PASSES_DEBUG=1 does
            with observing(RuleLogger()):
                return int(args.func(args))
        return int(args.func(args))
    except Exception as e:  # the CLI's contract: one readable line, not a traceback (unless debugging)
        if debug:
            raise
        render = getattr(e, "render", None)
        print(f"error: {render() if callable(render) else e}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
