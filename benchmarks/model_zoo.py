"""The model zoo through the whole compiler: one table row per model.

    python -m benchmarks.model_zoo [resnet50 gpt2 ...]      # default: every model of benchmarks.zoo.MODELS
    python -m benchmarks.model_zoo --dynamic-batch [...]     # the same with the batch dim dynamic (1..4)
    python -m benchmarks.model_zoo --disable-tf32 [...]      # engines in full float32 instead of TF32
    python -m benchmarks.model_zoo --decompositions pytorch  # through run_decompositions() (default: rules)

Columns: TensorRT segments, ops left to PyTorch (the reasons ``explain`` gives are listed under the table), TensorRT
layers, compile time split into torch.export (+ import), our passes (everything but engine building) and TensorRT's
builder, and parity: the maximum relative error of the compiled program (segments on the reference runtime) against
eager PyTorch (``trt_passes.tools.parity.max_relative_error``), with the engines' TF32 rounding of float32
convolutions and matrix products (the default; ``--disable-tf32``: full float32); with TF32 also ``tf32 eager``,
how far the same rounding moves eager PyTorch itself (``trt_passes.tools.tf32_eager``), which is what TF32 costs the
model whatever runs it; and which decompositions path the model took (a model asked to take the rules path that took
the other says why under the table). Under the table: the nodes PyTorch's table decomposed on the rules path, per op
over the zoo (the candidates for rules). Each number is one run on this machine; a model that fails to compile gets a
row saying where.
"""

from __future__ import annotations

import argparse
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field

import torch

from benchmarks.zoo import MODELS, ZOO
from trt_passes.compiler import graph_compiler, import_graph
from trt_passes.frontends import get_frontend
from trt_passes.inputs import Input, example_inputs
from trt_passes.ir.decompositions import DECOMPOSITIONS
from trt_passes.passes.settings import CompileSettings
from trt_passes.tools.parity import max_relative_error
from trt_passes.tools.tf32_eager import eager_tf32


@dataclass
class Row:
    name: str
    segments: int = 0
    fallbacks: int = 0
    layers: int = 0
    export_s: float = 0.0
    passes_s: float = 0.0
    build_s: float = 0.0
    parity: float | None = None
    tf32_eager: float | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    path: str | None = None
    path_reason: str | None = None
    decomposed: Counter[str] = field(default_factory=Counter)


def dynamic_batch(inputs: tuple[torch.Tensor, ...], low: int = 1, opt: int = 2, high: int = 4) -> list[Input]:
    """Each example input as an Input whose batch dim ranges over low..high (values drawn like the example's)."""
    specs = []
    for t in inputs:
        rest = tuple(t.shape[1:])
        lo, hi = (float(t.min()), float(t.max()) + 1) if not t.dtype.is_floating_point else (-1.0, 1.0)
        specs.append(Input(dtype=t.dtype, low=lo, high=hi, min_shape=(low, *rest), opt_shape=(opt, *rest),
                           max_shape=(high, *rest)))
    return specs


def measure(name: str, *, build_engines: bool = True, dynamic: bool = False, disable_tf32: bool = False,
            decompositions: str = "rules", verbose: bool = False) -> Row:
    """One model through the compiler; ``dynamic``: with a batch dim ranging over 1..4, parity at batch 1 and 4."""
    row = Row(name)
    entry = ZOO[name]
    try:
        model, inputs = entry.build(), entry.inputs()
        frontend = get_frontend("dynamo")
        specs = dynamic_batch(inputs) if dynamic else None
        t0 = time.perf_counter()
        graph = import_graph(frontend, model, specs if specs is not None else inputs, decompositions)
        row.export_s = time.perf_counter() - t0
        settings = CompileSettings(runtime="reference", build_engines=build_engines, disable_tf32=disable_tf32,
                                   decompositions=decompositions)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flat_program, report = graph_compiler(settings)(graph)
            program = frontend.wrap(flat_program, graph)
        row.build_s = sum(p.build_seconds or 0.0 for p in report.partitions)
        row.passes_s = report.total_seconds - row.build_s
        row.segments = len(report.partitions)
        row.layers = sum(p.layers or 0 for p in report.partitions)
        row.fallbacks = len(report.fallbacks)
        row.reasons = Counter(f"{f.op}: {f.reason}" for f in report.fallbacks)
        row.path, row.path_reason = report.decompositions, report.decompositions_reason
        row.decomposed = report.decomposed_ops
        checks = [inputs] if specs is None else [
            example_inputs([x.with_shape((batch, *x.shape[1:])) for x in specs], seed=batch) for batch in (1, 4)]
        with torch.no_grad():
            row.parity = max(max_relative_error(program(*xs), model(*xs)) for xs in checks)
            if not disable_tf32:
                row.tf32_eager = max(max_relative_error(eager_tf32(model, xs), model(*xs)) for xs in checks)
    except Exception as e:  # a row per model, whatever happens
        row.error = f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
        if verbose:
            traceback.print_exc()
    return row


HEADER = (f"{'model':<20}{'segments':>9}{'fallbacks':>10}{'layers':>8}{'export s':>10}{'passes s':>10}"
          f"{'build s':>9}{'parity':>10}{'tf32 eager':>11}  path")


def format_row(r: Row, note: str = "") -> str:
    if r.error:
        return f"{r.name:<20} failed: {r.error}"
    parity = f"{r.parity:.1e}" if r.parity is not None else "-"
    own = f"{r.tf32_eager:.1e}" if r.tf32_eager is not None else "-"
    return (f"{r.name:<20}{r.segments:>9}{r.fallbacks:>10}{r.layers:>8}{r.export_s:>10.2f}{r.passes_s:>10.2f}"
            f"{r.build_s:>9.2f}{parity:>10}{own:>11}  {r.path}{note}")


def main(names: list[str], *, dynamic: bool = False, disable_tf32: bool = False, decompositions: str = "rules",
         verbose: bool = False) -> None:
    torch.set_num_threads(2)
    rows = []
    print(HEADER, flush=True)
    notes: list[str] = []
    if dynamic:
        print("dynamic batch 1..4 (opt 2); parity is the worse of batch 1 and batch 4")
    print("float32 convolutions and matrix products in " + ("full float32" if disable_tf32 else "TF32"))
    for name in names:
        r = measure(name, dynamic=dynamic, disable_tf32=disable_tf32, decompositions=decompositions, verbose=verbose)
        rows.append(r)
        mark = ""
        if r.reasons:
            notes.append(f"[{len(notes) + 1}] {name}: " + "; ".join(f"{n}x {k}" for k, n in r.reasons.most_common()))
            mark = f" [{len(notes)}]"
        if r.path_reason:
            notes.append(f"[{len(notes) + 1}] {name} took the {r.path} path: {r.path_reason}")
            mark += f" [{len(notes)}]"
        print(format_row(r, mark), flush=True)
    if notes:
        print("\nops left to PyTorch, with explain's reasons, and paths taken instead of the one asked for:")
        for n in notes:
            print(n)
    decomposed: Counter[str] = sum((r.decomposed for r in rows), Counter())
    if decomposed:
        print("\nnodes decomposed by PyTorch's table over these models (candidates for rules):")
        for op, n in decomposed.most_common():
            print(f"  {n:>5}  {op}")
    ok = [r for r in rows if not r.error]
    print(f"\n{len(ok)}/{len(rows)} compiled; {sum(r.segments == 1 and r.fallbacks == 0 for r in ok)} as one TensorRT "
          f"segment with no fallback")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="default: every model of benchmarks.zoo.MODELS")
    ap.add_argument("--dynamic-batch", action="store_true", help="the batch dim dynamic (1..4)")
    ap.add_argument("--disable-tf32", action="store_true", help="engines in full float32 instead of TF32")
    ap.add_argument("--decompositions", choices=DECOMPOSITIONS, default="rules")
    ap.add_argument("-v", "--verbose", action="store_true", help="a traceback for each model that fails")
    args = ap.parse_args()
    main(args.models or list(MODELS), dynamic=args.dynamic_batch, disable_tf32=args.disable_tf32,
         decompositions=args.decompositions, verbose=args.verbose)
