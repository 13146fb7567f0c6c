"""A one-line progress display on stderr: the pass running (with its rule applications so far) and TensorRT's
engine-build phases (through TensorRT's ``IProgressMonitor``).

Only for a terminal: :func:`progress_display` gives None when stderr is not a TTY or ``quiet`` is set. The line is
redrawn in place (``\\r`` and erase-to-end) at most every ``interval`` seconds and erased when the pipeline ends, so
it never mixes with the report printed on stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

from trt_passes.backend.emit import watch_builds
from trt_passes.ir import Graph
from trt_passes.passes.observe import PipelineObserver, observing
from trt_passes.passes.report import PassRecord

BAR_WIDTH = 24


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = int(width * done / total) if total > 0 else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _columns(stream: IO[str]) -> int:
    """The terminal's width (100 when it does not say: a fresh pseudo-terminal reports 0)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 100
    return max(columns, 40) if columns else 100


class ProgressLine(PipelineObserver):
    """Observes pipelines (:mod:`trt_passes.passes.observe`) and engine builds (``BuildProgress``)."""

    wants_rewrites = True

    def __init__(self, stream: IO[str], interval: float = 0.1) -> None:
        self.stream = stream
        self.interval = interval
        self._lock = threading.Lock()
        self._last = 0.0
        self._shown = False
        self.total = 0
        self.index = 0
        self.pass_name = ""
        self.rewrites = 0
        self.pass_started = 0.0
        self._phases: list[list[Any]] = []  # [name, done, steps]
        self.columns = _columns(stream)

    # -- drawing
    def _draw(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        self.stream.write("\r" + text[: self.columns - 1] + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._shown = False

    def _pass_text(self) -> str:
        elapsed = time.monotonic() - self.pass_started
        rewrites = f", {self.rewrites} rule applications" if self.rewrites else ""
        return (f"trt-passes {bar(self.index, self.total)} pass {self.index + 1}/{self.total} {self.pass_name} "
                f"({elapsed:.1f} s{rewrites})")

    # -- pipeline
    def pipeline_start(self, name: str, steps: int) -> None:
        self.total = steps

    def pass_start(self, index: int, total: int, name: str) -> None:
        with self._lock:
            self.index, self.total, self.pass_name, self.rewrites = index, total, name, 0
            self.pass_started = time.monotonic()
            self._draw(self._pass_text(), force=True)

    def rewrite(self, pass_name: str, graph: Graph, scope: str, event: Any) -> None:
        with self._lock:
            self.rewrites += 1
            self._draw(self._pass_text())

    def pass_end(self, index: int, total: int, record: PassRecord) -> None:
        with self._lock:
            self.index = index + 1

    def pipeline_end(self, failed: bool) -> None:
        self.clear()

    # -- TensorRT builds (BuildProgress)
    def phase_start(self, phase: str, parent: str | None, steps: int) -> None:
        with self._lock:
            self._phases.append([phase, 0, max(steps, 1)])
            self._draw(self._build_text(), force=len(self._phases) == 1)

    def step_complete(self, phase: str, step: int) -> None:
        with self._lock:
            for entry in reversed(self._phases):
                if entry[0] == phase:
                    entry[1] = step + 1
                    break
            self._draw(self._build_text())

    def phase_finish(self, phase: str) -> None:
        with self._lock:
            for i in range(len(self._phases) - 1, -1, -1):
                if self._phases[i][0] == phase:
                    del self._phases[i:]
                    break
            if self._phases:
                self._draw(self._build_text())

    def _build_text(self) -> str:
        head = f"trt-passes pass {self.index + 1}/{self.total} {self.pass_name}: " if self.total else ""
        if not self._phases:
            return head + "TensorRT building an engine"
        top_name, top_done, top_steps = self._phases[0]
        inner = self._phases[-1][0] if len(self._phases) > 1 else ""
        return (f"{head}TensorRT {bar(top_done, top_steps, 16)} {top_name} {top_done}/{top_steps}"
                + (f" > {inner}" if inner else ""))


def progress_display(quiet: bool = False, stream: IO[str] | None = None) -> ProgressLine | None:
    """A :class:`ProgressLine` on ``stream`` (stderr) when it is a terminal and not ``quiet``; else None."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return None
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return ProgressLine(stream)


@contextlib.contextmanager
def showing_progress(display: ProgressLine | None) -> Iterator[None]:
    """Report pipelines and engine builds in this context to ``display`` (nothing when it is None)."""
    if display is None:
        yield
        return
    try:
        with observing(display), watch_builds(display):
            yield
    finally:
        display.clear()
