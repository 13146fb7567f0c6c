"""Compiled matchers of a rule set: generate (or fetch from the disk cache) the source, execute it, dispatch.

``compiled_matcher(ruleset, ops)`` is memoised per rule set and registry. The source and its byte code come from
the disk cache only when their seals verify (:mod:`trt_passes.dsl.cache`): this executes code, so it executes only
what this user's own processes generated. The interpreter
(:func:`trt_passes.dsl.matcher.match_rule`) stays the reference; ``TRT_PASSES_MATCHER=interp`` makes
:func:`~trt_passes.dsl.rewriter.match_at` and ``explain_no_match`` use it instead, ``=check`` runs both and compares.
"""

from __future__ import annotations

import marshal
import os
import sys
import time
from types import CodeType
from typing import Any

from trt_passes.dsl import cache
from trt_passes.dsl import profile as profile_state
from trt_passes.dsl.codegen import CODEGEN_VERSION, generate
from trt_passes.dsl.evaluate import registry_enums
from trt_passes.dsl.matcher import Failure, Match
from trt_passes.dsl.matchrt import RUNTIME
from trt_passes.dsl.rules import RuleSet
from trt_passes.ir.graph import Graph
from trt_passes.ir.ops import OpRegistry


def matcher_key(ruleset: RuleSet, ops: OpRegistry) -> str:
    """Hash of everything the generated source depends on: the left sides and guards of the rules' normal forms
    (spans included, as the source names lines), their order, and the signatures of the ops the patterns mention."""
    op_names: set[str] = set()
    parts: list[str] = [CODEGEN_VERSION, ruleset.name]
    for r in ruleset.rules:
        n = r.normal
        op_names.update(n.mentions)
        parts += [r.name, r.location, repr(n.outputs), repr(n.variants), repr(n.guard),
                  "exclusive" if n.exclusive else ""]
    parts += [f"{op}={ops.schema(op).signature()}" for op in sorted(op_names)]
    return cache.content_key(*parts)


class CompiledRuleSet:
    """``match(g, nid)``: the first matching rule's :class:`Match` or None; ``explain(g, nid)``: every rule of the
    node's op with its Match or Failure, in rule-set order."""

    def __init__(self, ruleset: RuleSet, ops: OpRegistry, source: str, code: CodeType, cached: bool) -> None:
        self.ruleset, self.source, self.from_cache = ruleset, source, cached
        ns: dict[str, Any] = dict(RUNTIME, PROFILE=profile_state, perf_counter=time.perf_counter)
        ns.update(OPS=ops, RULES=list(ruleset.rules), ENUMS=registry_enums(ops))
        exec(code, ns)
        self.roots: dict[str, Any] = ns["ROOTS"]

    def match(self, graph: Graph, nid: int) -> Match | None:
        fn = self.roots.get(graph.node(nid).op)
        return None if fn is None else fn(graph, nid, False)

    def explain(self, graph: Graph, nid: int) -> list[Match | Failure]:
        fn = self.roots.get(graph.node(nid).op)
        return [] if fn is None else fn(graph, nid, True)


def compiled_matcher(ruleset: RuleSet, ops: OpRegistry, profile: bool = False) -> CompiledRuleSet:
    # kept in the rule set's own caches (rule sets compare by rule names, not by patterns), per registry
    per_ops = ruleset.caches.profiled_matchers if profile else ruleset.caches.matchers
    found = per_ops.get(ops)
    if found is not None:
        return found
    key = matcher_key(ruleset, ops) + ("-profiled" if profile else "")
    data = cache.read("matchers", key, ".py")
    cached = data is not None
    source = data.decode("utf-8", "replace") if data is not None else generate(ruleset.name, ruleset.rules, profile)
    if not cached:
        cache.write("matchers", key, ".py", source.encode("utf-8"))
    # the byte code is cached next to the (readable) source: compiling ~4k generated lines costs more than loading
    code_key = cache.content_key(key, sys.version)
    code: CodeType | None = None
    blob = cache.read("matchers", code_key, ".marshal") if cached else None
    if blob is not None:
        try:
            loaded = marshal.loads(blob)  # sealed: written by marshal.dumps in this user's process
        except (EOFError, ValueError, TypeError):
            loaded = None
        code = loaded if isinstance(loaded, CodeType) else None
    if code is None:
        code = compile(source, f"<matchers of {ruleset.name}>", "exec")
        cache.write("matchers", code_key, ".marshal", marshal.dumps(code))
    compiled = per_ops[ops] = CompiledRuleSet(ruleset, ops, source, code, cached)
    return compiled


def matcher_mode() -> str:
    """``compiled`` (default), ``interp`` (the reference interpreter) or ``check`` (both, compared), from
    ``$TRT_PASSES_MATCHER``."""
    mode = os.environ.get("TRT_PASSES_MATCHER", "").strip().lower()
    if mode in ("interp", "interpreter"):
        return "interp"
    return "check" if mode == "check" else "compiled"
