"""Progress on a terminal (and only there), debug logging and the rule-application trace file."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import trt_passes
from tests.models_for_tests import mlp, unsupported
from trt_passes.passes.observe import DEBUG_ENV, TRACE_ENV, PipelineObserver, observing
from trt_passes.passes.pipeline import load_pipeline
from trt_passes.tools.cli import main
from trt_passes.tools.progress import ProgressLine, progress_display

STEPS = len(load_pipeline("default").steps)  # the default pipeline's passes, as the progress line counts them

MODELS = str(Path(__file__).parent.parent / "models_for_tests.py")
CLI = str(Path(sys.executable).with_name("trt-passes"))
COMPILE = [CLI, "compile", f"{MODELS}:mlp", "--input", "4x8", "--min-block-size", "1", "--runtime", "reference"]
X = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))


def run_with_terminal_stderr(argv: list[str]) -> tuple[int, str, str]:
    """Run ``argv`` with stderr on a pseudo-terminal (stdout a pipe); returns (status, stdout, terminal text)."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in (DEBUG_ENV, TRACE_ENV)}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode() if proc.stdout else ""
    proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode(errors="replace")


def test_a_terminal_sees_the_passes_and_the_engine_build_progress_and_quiet_silences_it():
    code, out, terminal = run_with_terminal_stderr(COMPILE)
    assert code == 0 and "TensorRT segments: 1" in out
    assert f"pass 1/{STEPS} functionalize" in terminal and f"pass {STEPS}/{STEPS} emit" in terminal
    assert "TensorRT [" in terminal  # TensorRT's IProgressMonitor phases while the engine builds
    assert "\r" in terminal and "\x1b[K" in terminal  # redrawn in place, then erased
    assert "trt-passes" not in out  # never on stdout
    code, out, terminal = run_with_terminal_stderr([*COMPILE, "--quiet"])
    assert code == 0 and "TensorRT segments: 1" in out
    assert f"pass 1/{STEPS}" not in terminal and "TensorRT [" not in terminal


def test_no_progress_when_stderr_is_not_a_terminal():
    proc = subprocess.run([CLI, "explain", f"{MODELS}:mlp", "--input", "4x8"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and "Passes:" in proc.stdout
    assert "pass 1/" not in proc.stderr and "\x1b[K" not in proc.stderr
    assert progress_display(stream=io.StringIO()) is None
    assert progress_display(quiet=True) is None


def test_the_progress_line_counts_rule_applications_while_a_pass_runs():
    stream = io.StringIO()
    line = ProgressLine(stream, interval=0.0)
    with observing(line):
        trt_passes.explain(unsupported(), inputs=[X], min_block_size=1)
    text = stream.getvalue()
    assert f"pass 4/{STEPS} lower" in text and "rule applications" in text
    assert text.endswith("\r\x1b[K")  # erased when the pipeline ends


def test_trace_file_has_one_json_line_per_rule_application_and_per_decomposition(tmp_path, monkeypatch):
    path = tmp_path / "trace.jsonl"
    monkeypatch.setenv(TRACE_ENV, str(path))
    report = trt_passes.explain(unsupported(), inputs=[X], min_block_size=1)
    lines = [json.loads(s) for s in path.read_text().splitlines()]
    assert len(lines) == sum(report.rule_fires.values()) + len(report.decomposed)
    for record in lines:
        assert set(record) == {"pass", "scope", "rule", "location", "root", "root_op", "source", "created"}
    decompositions = [r for r in lines if r["rule"].startswith("decompose:")]
    assert len(decompositions) == len(report.decomposed) > 0
    assert all(r["pass"] == "decompose" and r["location"].startswith(("torch._decomp:", "CompositeImplicitAutograd:"))
               for r in decompositions)
    rules = [r for r in lines if not r["rule"].startswith("decompose:")]
    assert all(".rw:" in r["location"] for r in rules)
    assert {r["pass"] for r in rules} == {"lower", "convert"}  # rules lower the linears; PyTorch's table special_i0
    relu = next(r for r in lines if r["rule"] == "relu")
    assert relu["root_op"] == "aten.relu.default" and relu["scope"].startswith("trt_")
    assert [c["op"] for c in relu["created"]] == ["trt.activation"]


def test_the_cli_trace_option_writes_the_same_lines(tmp_path, capsys):
    path = tmp_path / "cli.jsonl"
    assert main(["explain", f"{MODELS}:mlp", "--input", "4x8", "--min-block-size", "1", "--trace", str(path)]) == 0
    lines = [json.loads(s) for s in path.read_text().splitlines()]
    assert "relu" in {r["rule"] for r in lines} and all(r["location"] for r in lines)
    assert "Rules fired:" in capsys.readouterr().out


@pytest.fixture
def package_logger() -> Iterator[logging.Logger]:
    """The ``trt_passes`` logger, its level and handlers restored afterwards (TRT_PASSES_DEBUG changes them)."""
    logger = logging.getLogger("trt_passes")
    level, handlers = logger.level, list(logger.handlers)
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_debug_environment_variable_logs_passes_and_rule_applications_from_the_library(monkeypatch, caplog,
                                                                                        package_logger):
    monkeypatch.setenv(DEBUG_ENV, "1")
    with caplog.at_level(logging.DEBUG, logger="trt_passes"):
        trt_passes.explain(mlp(), inputs=[X], min_block_size=1)
    names = {r.name for r in caplog.records}
    assert {"trt_passes.passes", "trt_passes.rules"} <= names
    rules = [r.getMessage() for r in caplog.records if r.name == "trt_passes.rules"]
    assert any("relu (activations.rw:" in m and "aten.relu.default" in m for m in rules)


def test_observers_see_every_pass_start_and_end():
    seen: list[str] = []

    class Recorder(PipelineObserver):
        def pass_start(self, index: int, total: int, name: str) -> None:
            seen.append(f"start {index}/{total} {name}")

        def pass_end(self, index: int, total: int, record) -> None:
            seen.append(f"end {record.name}")

    with observing(Recorder()):
        trt_passes.explain(mlp(), inputs=[X], min_block_size=1)
    assert seen[:2] == [f"start 0/{STEPS} functionalize", "end functionalize"] and seen[-1] == "end emit"
    assert len(seen) == 2 * STEPS  # a start and an end per pass
