"""Where compile time goes with each decompositions path, per model: the rules path (torch.export's graph lowered by
``.rw`` rules, PyTorch's decomposition only for nodes no rule handles) and the ``run_decompositions()`` path, in the
same run, on the models and sizes the side-by-side comparison with Torch-TensorRT uses (fp32, batch 1, torchvision
at 224x224, a 2-layer BERT of width 128 at sequence length 128).

    python -m benchmarks.decompositions [resnet18 bert ...] [--repeat N] [--rules PATH ...] [--profile]

Per model and path: torch.export, ``run_decompositions()`` (the old path only), the import into the IR, loading the
rule set, each pass of the pipeline, TensorRT's builder, the program builder, TensorRT layers, segments and ops left
to PyTorch, parity (the maximum relative error of the compiled program, its segments on the reference runtime,
against eager PyTorch), whether a program asked to take the rules path took the old one, and our own time: the
compile call
minus torch.export minus TensorRT's builder, set against Torch-TensorRT's own time on this kind of machine
(:data:`PEER_OWN_SECONDS`, measured with ``shared/peer/side_by_side.py``). Then the nodes PyTorch's table decomposed
on the rules path (the candidates for rules) and the time to load the shipped rule set from its cache in a fresh
process. ``--profile`` prints the top of a cProfile of each rules-path compile. With ``--repeat N`` each model
compiles N times on each path (the paths alternating) and the row is the run with the median own time; other work
on this machine shows in the numbers.

All models compile in one process, after a warm-up compile of a small model on both paths: what a process pays once
(imports, loading the rule set and its compiled matchers) is the last line, not part of any model's row.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

import trt_passes
import trt_passes.compiler as compiler
import trt_passes.frontends.dynamo as dynamo
from trt_passes.passes.report import CompileReport
from trt_passes.tools.parity import max_relative_error

PEER_OWN_SECONDS = {"resnet18": 2.2, "mobilenet_v2": 3.3, "efficientnet_b0": 3.6, "densenet121": 6.6,
                    "convnext_tiny": 2.5, "vit_b_16": 3.2, "swin_t": 6.3, "maxvit_t": 11.0, "bert": 1.55}
"""Torch-TensorRT's own time (its compile minus torch.export minus TensorRT's builder), seconds, fp32 batch 1."""
TARGET = 0.3
"""Our own time should be at most this share of Torch-TensorRT's."""
MODELS = tuple(PEER_OWN_SECONDS)
PATHS = ("rules", "pytorch")


def _torchvision(name: str) -> Callable[[], tuple[torch.nn.Module, tuple[torch.Tensor, ...]]]:
    def build() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
        import torchvision  # the benchmark's model library, imported when a model is built

        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None).eval()
        with torch.no_grad():
            for m in model.modules():  # torchvision zero-initialises ViT's classifier: every logit 0, parity moot
                if isinstance(m, torch.nn.Linear) and not m.weight.any():
                    torch.nn.init.normal_(m.weight, std=0.02)
                    torch.nn.init.normal_(m.bias, std=0.02)
        return model, (torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1)),)

    return build


class _Bert(torch.nn.Module):
    """The side-by-side comparison's BERT: 2 layers of width 128, returning (last hidden state, pooled)."""

    def __init__(self) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel  # the benchmark's model library

        cfg = BertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
                         vocab_size=1000, attn_implementation="sdpa")
        self.bert = BertModel(cfg)

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.bert(input_ids=input_ids)
        return out.last_hidden_state, out.pooler_output


def _bert() -> tuple[torch.nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return _Bert().eval(), (torch.randint(0, 1000, (1, 128), generator=torch.Generator().manual_seed(1)),)


BUILDERS: dict[str, Callable[[], tuple[torch.nn.Module, tuple[torch.Tensor, ...]]]] = {
    **{name: _torchvision(name) for name in MODELS if name != "bert"}, "bert": _bert}


@dataclass
class Run:
    model: str
    path: str
    total_s: float = 0.0
    export_s: float = 0.0
    decomp_s: float = 0.0
    import_s: float = 0.0
    rules_s: float = 0.0
    program_s: float = 0.0
    build_s: float = 0.0
    passes: list[tuple[str, float]] = field(default_factory=list)
    layers: int = 0
    segments: int = 0
    fallbacks: int = 0
    parity: float | None = None
    took: str | None = None
    reason: str | None = None
    decomposed: Counter[str] = field(default_factory=Counter)
    profile: str = ""
    error: str | None = None

    @property
    def own_s(self) -> float:
        return self.total_s - self.export_s - self.build_s


class _Timer:
    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


@contextmanager
def _timing(obj: Any, name: str, timer: _Timer) -> Iterator[None]:
    """``obj.name`` timed by ``timer`` (the original is called unchanged) while the context lasts."""
    original = getattr(obj, name)
    setattr(obj, name, timer.wrap(original))
    try:
        yield
    finally:
        setattr(obj, name, original)


def measure(name: str, path: str, rules: tuple[str, ...] = (), profile: bool = False) -> Run:
    run = Run(name, path)
    try:
        model, inputs = BUILDERS[name]()
        export, decomp, program, imported, rules_load = _Timer(), _Timer(), _Timer(), _Timer(), _Timer()
        profiler = cProfile.Profile() if profile else None
        with (warnings.catch_warnings(), _timing(torch.export, "export", export),
              _timing(torch.export.ExportedProgram, "run_decompositions", decomp),
              _timing(dynamo, "import_exported_program", imported), _timing(compiler, "load_library", rules_load),
              _timing(compiler, "build_runtime_program", program)):
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            compiled = trt_passes.compile(model, inputs=list(inputs), min_block_size=1, decompositions=path,
                                          rules=list(rules), runtime="reference")
            if profiler is not None:
                profiler.disable()
            run.total_s = time.perf_counter() - start
        report: CompileReport = compiled.compile_report
        run.export_s, run.decomp_s, run.program_s = export.seconds, decomp.seconds, program.seconds
        run.import_s, run.rules_s = imported.seconds, rules_load.seconds
        run.build_s = sum(p.build_seconds or 0.0 for p in report.partitions)
        run.passes = [(p.name, p.seconds) for p in report.passes]
        run.layers = sum(p.layers or 0 for p in report.partitions)
        run.segments, run.fallbacks = len(report.partitions), len(report.fallbacks)
        run.took, run.reason = report.decompositions, report.decompositions_reason
        run.decomposed = report.decomposed_ops
        with torch.no_grad():
            run.parity = max_relative_error(compiled(*inputs), model(*inputs))
        if profiler is not None:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            run.profile = out.getvalue()
    except Exception as e:  # one row per model and path, whatever happens
        run.error = f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
    return run


class _WarmUp(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.norm, self.fc = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu_(self.norm(self.conv(x))).mean((2, 3)))


def warm_up(rules: tuple[str, ...] = ()) -> None:
    """Pay the once-per-process costs (imports, the rule set, compiled matchers, TensorRT) before measuring."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in PATHS:
            trt_passes.compile(_WarmUp().eval(), inputs=[torch.randn(1, 3, 8, 8)], decompositions=path,
                               rules=list(rules))


def rule_load_seconds(rules: tuple[str, ...] = ()) -> float:
    """Loading the shipped rule set (plus ``rules``) in a fresh process whose cache is warm: the second of two
    processes, so the first has filled the on-disk cache."""
    script = ("import time, trt_passes.compiler as c\nfrom pathlib import Path\nt = time.perf_counter()\n"
              f"c.load_library(tuple(Path(p) for p in {list(rules)!r}))\nprint(time.perf_counter() - t)\n")
    seconds = 0.0
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        seconds = float(out.stdout.strip().splitlines()[-1])
    return seconds


def _passes_line(run: Run) -> str:
    return "  ".join(f"{n} {s * 1e3:.0f}" for n, s in run.passes)


def main(argv: list[str]) -> None:
    torch.set_num_threads(2)
    valued = ("--rules", "--repeat")
    rules = tuple(argv[i + 1] for i, a in enumerate(argv) if a == "--rules")
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 1
    names = [a for i, a in enumerate(argv) if not a.startswith("-") and (i == 0 or argv[i - 1] not in valued)]
    profile = "--profile" in argv
    warm_up(rules)
    runs: list[Run] = []
    for name in names or MODELS:
        tries: dict[str, list[Run]] = {path: [] for path in PATHS}
        for rep in range(repeat):
            for path in PATHS if rep % 2 == 0 else PATHS[::-1]:
                run = measure(name, path, rules, profile and path == "rules" and rep == 0)
                tries[path].append(run)
                if run.error:
                    print(f"{name} [{path}] failed: {run.error}", flush=True)
                    continue
                print(f"{name} [{path}]: own {run.own_s:.2f} s; passes (ms) {_passes_line(run)}", flush=True)
                if run.profile:
                    print(run.profile)
        for path in PATHS:
            ok = sorted((r for r in tries[path] if not r.error), key=lambda r: r.own_s)
            runs.append(ok[len(ok) // 2] if ok else tries[path][0])
    print(f"\n{'model':<16}{'path':<9}{'export':>8}{'decomp':>8}{'import':>8}{'rules':>7}{'passes':>8}{'program':>8}"
          f"{'build':>7}{'own':>7}{'own/peer':>9}{'layers':>8}{'segs':>6}{'left':>6}{'parity':>9}  took")
    for r in runs:
        if r.error:
            print(f"{r.model:<16}{r.path:<9} failed: {r.error}")
            continue
        passes = sum(s for _, s in r.passes) - r.build_s
        share = r.own_s / PEER_OWN_SECONDS[r.model] if r.model in PEER_OWN_SECONDS else float("nan")
        took = r.took if r.took == r.path else f"{r.took} ({r.reason})"
        print(f"{r.model:<16}{r.path:<9}{r.export_s:>8.2f}{r.decomp_s:>8.2f}{r.import_s:>8.2f}{r.rules_s:>7.2f}"
              f"{passes:>8.2f}{r.program_s:>8.2f}{r.build_s:>7.2f}{r.own_s:>7.2f}{share:>9.2f}{r.layers:>8}"
              f"{r.segments:>6}{r.fallbacks:>6}{r.parity:>9.1e}  {took}")
    print(f"(seconds; own = compile - export - build; own/peer against Torch-TensorRT's own time, target "
          f"<= {TARGET}; passes excludes the builder; left: ops left to PyTorch)")
    decomposed: Counter[str] = Counter()
    for r in runs:
        if r.path == "rules":
            decomposed.update(r.decomposed)
    if decomposed:
        print("\nnodes PyTorch's table decomposed on the rules path (candidates for rules):")
        for op, n in decomposed.most_common():
            print(f"  {n:>5}  {op}")
    print(f"\nshipped rule set loaded from its cache in a fresh process: {rule_load_seconds(rules) * 1e3:.0f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
