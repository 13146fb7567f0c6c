"""What a pass sees: the graph, the op registry, the loaded rules, the settings and the report it adds to."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trt_passes.dsl import RuleLibrary, RuleSet
from trt_passes.ir import Graph
from trt_passes.ir.ops import OpRegistry
from trt_passes.passes.report import CompileReport
from trt_passes.passes.settings import CompileSettings


@dataclass
class PassContext:
    graph: Graph
    ops: OpRegistry
    rules: RuleLibrary
    settings: CompileSettings
    report: CompileReport
    trace: Callable[[Graph, str, Any], None] | None = None
    """Called after every rule application with (the graph rewritten, its scope: "" or a segment's name, the
    :class:`trt_passes.dsl.RewriteEvent`); observation only (``bisect``, ``TRT_PASSES_TRACE``)."""
    def tracer(self, graph: Graph, scope: str = "") -> Callable[[Any], None] | None:
        """The ``trace=`` callback for ``rewrite(graph, ...)``: None when nobody observes rule applications."""
        trace = self.trace
        if trace is None:
            return None
        return lambda event: trace(graph, scope, event)

    def converter_pool(self, pattern: str) -> list[RuleSet]:
        """The converter rule sets matching ``pattern`` as ONE rule set (:meth:`pool`). A node converts once, so every
        converter competes at each node; a user's fusion rule with a higher priority thus beats the shipped
        single-op rules for the ops it fuses."""
        return self.pool(pattern, "converter")

    def pool(self, pattern: str, kind: str) -> list[RuleSet]:
        """The rule sets of ``kind`` matching ``pattern`` as ONE rule set (:meth:`RuleLibrary.pool`): at each node
        the rules compete, higher priority first, then rule-set name, then source order. Lowering steps run their
        sets as a pool to one fixpoint, so a rule may emit an op any set of its step lowers, whatever the sets'
        names."""
        return self.rules.pool(pattern, kind)

    def rulesets(self, pattern: str, kind: str) -> list[RuleSet]:
        """Rule sets whose name matches the glob ``pattern`` and whose kind is ``kind``, by name."""
        chosen = [rs for name, rs in sorted(self.rules.rulesets.items())
                  if fnmatch.fnmatchcase(name, pattern) and rs.kind == kind]
        return chosen


def count_ops(g: Graph) -> int:
    """Non-structural nodes of ``g`` and of its segment bodies: the work left in a program."""
    n = 0
    for node in g.all_nodes():
        if node.op == "segment":
            n += count_ops(node.attrs["body"])
        elif node.op not in ("input", "output", "constant"):
            n += 1
    return n
