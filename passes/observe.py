"""Watching a pipeline run without changing what it compiles: progress displays, the rule trace, debug logging.

Observers are ambient (a context variable), so no entry point needs extra parameters::

    with observing(MyObserver()):
        trt_passes.compile(model, inputs=[...])

Three environment variables work for the library and the CLI alike, read when a pipeline starts:

* ``TRT_PASSES_DEBUG=1``: debug logging for every ``trt_passes.*`` logger (a stderr handler is added when logging is
  not configured), including one ``trt_passes.rules`` line per rule application; the graph is verified after every
  pass.
* ``TRT_PASSES_VERIFY=1``: the graph is verified after every pass (otherwise after the last one only).
* ``TRT_PASSES_TRACE=path.jsonl``: one JSON object per rule application (keys: ``pass``, ``scope`` — ``""`` for the
  whole graph or the TensorRT segment's name —, ``rule``, ``location`` (``file.rw:LINE``), ``root`` (node id),
  ``root_op``, ``source`` (the model node), ``created`` (``[{"id", "op"}]``)). The file is truncated by the first
  pipeline of a process and appended to by later ones. A node the ``decompose`` pass replaced by PyTorch's
  decomposition is one such line too, its ``rule`` ``decompose:OP`` and its ``location`` the decomposition.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from trt_passes.ir import Graph
from trt_passes.passes.report import PassRecord

DEBUG_ENV = "TRT_PASSES_DEBUG"
TRACE_ENV = "TRT_PASSES_TRACE"

rules_log = logging.getLogger("trt_passes.rules")


class PipelineObserver:
    """Base class: every hook does nothing. ``wants_rewrites`` asks for :meth:`rewrite` calls (they cost a little)."""

    wants_rewrites = False

    def pipeline_start(self, name: str, steps: int) -> None:
        """A pipeline of ``steps`` passes starts."""

    def pass_start(self, index: int, total: int, name: str) -> None:
        """Pass ``index`` (0-based) of ``total`` starts."""

    def pass_end(self, index: int, total: int, record: PassRecord) -> None:
        """Pass ``index`` finished; ``record`` has its time and node counts."""

    def rewrite(self, pass_name: str, graph: Graph, scope: str, event: Any) -> None:
        """A rule fired (``event`` is a :class:`trt_passes.dsl.RewriteEvent`) in ``graph`` (``scope`` names a
        segment, ``""`` is the whole graph)."""

    def pipeline_end(self, failed: bool) -> None:
        """The pipeline finished (``failed``: a pass raised)."""


class Observers(PipelineObserver):
    """Several observers as one; remembers the running pass for :meth:`rewrite`."""

    def __init__(self, observers: Sequence[PipelineObserver]) -> None:
        self.observers = list(observers)
        self.wants_rewrites = any(o.wants_rewrites for o in self.observers)
        self.current_pass = ""

    def pipeline_start(self, name: str, steps: int) -> None:
        for o in self.observers:
            o.pipeline_start(name, steps)

    def pass_start(self, index: int, total: int, name: str) -> None:
        self.current_pass = name
        for o in self.observers:
            o.pass_start(index, total, name)

    def pass_end(self, index: int, total: int, record: PassRecord) -> None:
        for o in self.observers:
            o.pass_end(index, total, record)

    def rewrite(self, pass_name: str, graph: Graph, scope: str, event: Any) -> None:
        for o in self.observers:
            if o.wants_rewrites:
                o.rewrite(pass_name or self.current_pass, graph, scope, event)

    def pipeline_end(self, failed: bool) -> None:
        for o in self.observers:
            o.pipeline_end(failed)

    @contextlib.contextmanager
    def attached(self, ctx: Any, name: str, steps: int) -> Iterator[None]:
        """Install the rule-application hook on ``ctx`` (chained with one already there) for the pipeline."""
        previous = ctx.trace
        if self.wants_rewrites:
            def trace(graph: Graph, scope: str, event: Any) -> None:
                if previous is not None:
                    previous(graph, scope, event)
                self.rewrite("", graph, scope, event)

            ctx.trace = trace
        self.pipeline_start(name, steps)
        failed = True
        try:
            yield
            failed = False
        finally:
            ctx.trace = previous
            self.pipeline_end(failed)


_active: contextvars.ContextVar[tuple[PipelineObserver, ...]] = contextvars.ContextVar("trt_passes_observers",
                                                                                      default=())


@contextlib.contextmanager
def observing(*observers: PipelineObserver) -> Iterator[None]:
    """Every pipeline run in this context reports to ``observers`` (in addition to the outer ones)."""
    token = _active.set(_active.get() + observers)
    try:
        yield
    finally:
        _active.reset(token)


def active_observers(extra: Sequence[PipelineObserver] = ()) -> Observers:
    """The observers in effect: :func:`observing` ones, the environment's (debug log, trace file), ``extra``."""
    found: list[PipelineObserver] = [*_active.get(), *extra]
    if debug_enabled():
        configure_debug_logging()
        found.append(RuleLogger())
    trace_path = os.environ.get(TRACE_ENV)
    if trace_path:
        found.append(TraceFile(Path(trace_path)))
    return Observers(found)


# ---- the environment's observers ------------------------------------------------------------------------------
def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


VERIFY_ENV = "TRT_PASSES_VERIFY"


def verify_each_pass() -> bool:
    """Whether the scheduler verifies the graph after every pass (``TRT_PASSES_VERIFY=1``, or debugging), not only
    after the last one."""
    return debug_enabled() or os.environ.get(VERIFY_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class _UnlessRootHandles(logging.StreamHandler):  # type: ignore[type-arg]  # generic in typeshed only
    """Writes to stderr only while the root logger has no handler: once logging is configured (``basicConfig``,
    as the CLI does after ``import trt_passes`` has set this up), records reach the root's handlers by propagation
    alone, so each line is printed once."""

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            super().emit(record)


def configure_debug_logging() -> None:
    """DEBUG level for ``trt_passes.*``, with a stderr handler for as long as logging is not configured."""
    logger = logging.getLogger("trt_passes")
    logger.setLevel(logging.DEBUG)
    if not any(isinstance(h, _UnlessRootHandles) for h in logger.handlers):
        handler = _UnlessRootHandles()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logger.addHandler(handler)


def event_record(pass_name: str, graph: Graph, scope: str, event: Any) -> dict[str, Any]:
    """One rule application as plain data (the trace file's line)."""
    created = [{"id": nid, "op": graph.node(nid).op} for nid in event.created if nid in graph]
    source = None
    if event.result.node in graph:
        source = graph.node(event.result.node).provenance.source
    return {"pass": pass_name, "scope": scope, "rule": event.rule, "location": event.location, "root": event.root,
            "root_op": event.root_op, "source": source, "created": created}


class RuleLogger(PipelineObserver):
    """One DEBUG line per rule application under ``trt_passes.rules``."""

    wants_rewrites = True

    def rewrite(self, pass_name: str, graph: Graph, scope: str, event: Any) -> None:
        where = f" in {scope}" if scope else ""
        rules_log.debug("%s: %s (%s) rewrote %%%d %s%s -> %s", pass_name, event.rule, event.location, event.root,
                        event.root_op, where, ", ".join(f"%{n}" for n in event.created) or str(event.result))


_truncated: set[Path] = set()


class TraceFile(PipelineObserver):
    """Writes :func:`event_record` as JSON lines to ``path`` (truncated by the process's first pipeline)."""

    wants_rewrites = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def pipeline_start(self, name: str, steps: int) -> None:
        resolved = self.path.resolve()
        mode = "a" if resolved in _truncated else "w"
        _truncated.add(resolved)
        self._file = self.path.open(mode, encoding="utf-8")

    def rewrite(self, pass_name: str, graph: Graph, scope: str, event: Any) -> None:
        if self._file is not None:
            self._file.write(json.dumps(event_record(pass_name, graph, scope, event)) + "\n")

    def pipeline_end(self, failed: bool) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
