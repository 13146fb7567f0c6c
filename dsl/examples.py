"""Trying a rule on examples at check time (``trt-passes check``), without running anything: build the left side of
examples drawn from the rule's domain, match the rule alone on each, and build (off-graph) its right side where it
matches. The right side's nodes get their types from the dialects' type functions, exactly as when a model reaches
the rule.

* RW215: on an example the rule matches, the right side has another type than the root (dtype or shape), or one
  of its ops rejects its inputs' types. Reported at the right side's value (or the op) at fault.
* RW407: the rule matches none of the examples its domain draws: its domain and its pattern or guard disagree.
  Reported at the domain, with the reason the first example failed (the guard part, when it is the guard).

A rule without a domain is tried on the examples its annotations describe, when every capture is a tensor: with
its annotated dtypes (f32 when it has none) and dims (rank 2 when it has none), each dim name one size and every
other dim another (2, 3, 4, ... in order), so the right side is type-checked from the pattern's declared types
alone. Such a rule is never reported as not firing (a guard may well reject the sizes chosen).

Types come from running each op on zeros of its inputs' types (:class:`ConcreteTypes`): the examples are concrete,
and meta inference of some ATen ops imports ``torch._dynamo`` on first use, a second of a check that otherwise
takes milliseconds. An op that rejects zeros is inferred by the dialect as usual.
"""

from __future__ import annotations

import dataclasses
import random
import weakref
from collections.abc import Iterator
from typing import Any

import torch

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.domain import draw_example
from trt_passes.dsl.matcher import Failure, match_rule
from trt_passes.dsl.normal_form import DimIs, DimVar, DtypeIn, DtypeVar, MCapture, RankIn, RankIs, walk
from trt_passes.dsl.rewriter import RuleApplicationError, check_applicable
from trt_passes.dsl.rules import Rule
from trt_passes.ir.graph import Graph
from trt_passes.ir.ops import OpRegistry
from trt_passes.ir.types import TensorType, torch_dtype

#: examples drawn per rule: enough to meet each dtype of a two-dtype domain with near certainty (1 - 2^-8)
EXAMPLES = 8


class ConcreteTypes(OpRegistry):
    """``ops`` whose type inference runs each op on zeros of the argument types (static shapes only), falling back
    to the dialect's own inference when that raises."""

    def __init__(self, ops: OpRegistry) -> None:
        super().__init__(ops.dialects.values(), ops.fallback)
        self.base = ops

    def infer(self, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]:
        try:
            zeros = {k: _zeros(v) for k, v in args.items()}
            with torch.no_grad():
                return tuple(TensorType.of(t) for t in self.dialect(op).evaluate(op, zeros))
        except Exception:  # symbolic sizes, or an op that rejects zeros (an integer division): infer as usual
            return self.base.infer(op, args)


def _zeros(v: Any) -> Any:
    if isinstance(v, TensorType):
        return torch.zeros(tuple(int(d) for d in v.shape), dtype=torch_dtype(v.dtype))
    if isinstance(v, list):
        return [_zeros(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_zeros(x) for x in v)
    return v


_CONCRETE: weakref.WeakKeyDictionary[OpRegistry, ConcreteTypes] = weakref.WeakKeyDictionary()


def concrete_types(ops: OpRegistry) -> ConcreteTypes:
    """One :class:`ConcreteTypes` per registry (the rewriter memoises inference per registry object)."""
    found = _CONCRETE.get(ops)
    if found is None:
        found = _CONCRETE[ops] = ConcreteTypes(ops)
    return found


def try_on_examples(rule: Rule, ops: OpRegistry, count: int = EXAMPLES) -> list[Diagnostic]:
    """RW215 or RW407 for ``rule`` from ``count`` examples (drawn reproducibly: the seed is the rule's name)."""
    ops = concrete_types(ops)
    declared = bool(rule.domains)
    domains = rule.domains or annotated_domains(rule)
    if not domains:
        return []
    probe = rule if declared else dataclasses.replace(rule, domains=domains)
    rng = random.Random(rule.name)
    first_failure: tuple[str, Graph] | None = None
    matched = 0
    for _ in range(count):
        try:
            graph, _inputs = draw_example(probe, ops, rng)
        except Exception as e:  # the domain (or the sizes chosen) gives an example the pattern's ops reject
            if not declared:
                return []
            first_failure = first_failure or (f"its left side cannot be built: {type(e).__name__}: {e}", Graph())
            continue
        root = graph.outputs()[0].node
        m = match_rule(graph, root, rule, ops)
        if isinstance(m, Failure):
            first_failure = first_failure or (m.reason, graph)
            continue
        matched += 1
        try:
            check_applicable(graph, m, ops)
        except RuleApplicationError as e:
            return [_wrong_type(rule, e, graph)]
        except Exception as e:  # a builtin given what it cannot take (rank() of none): what a model would meet too
            return [_wrong_type(rule, RuleApplicationError(rule, f"building it raises {type(e).__name__}: {e}"),
                                graph)]
    if declared and not matched and first_failure is not None:
        return [_never_fires(rule, count, *first_failure)]
    return []


def _wrong_type(rule: Rule, e: RuleApplicationError, graph: Graph) -> Diagnostic:
    return Diagnostic("RW215", f"the right side of `{rule.name}` does not build on an example it matches: {e.detail}",
                      e.span or rule.rhs.span,
                      (f"on the example {describe_inputs(graph)}",
                       "the right side must give the root's dtype and shape (see the TensorRT dialect table in "
                       "ARCHITECTURE.md for what each trt op takes and gives)"))


def _never_fires(rule: Rule, count: int, reason: str, graph: Graph) -> Diagnostic:
    guard_part = next((c for c in rule.normal.guard if f"`{c.text}`" in reason), None)
    related = ((f"the guard part `{guard_part.text}`", guard_part.span),) if guard_part is not None else ()
    shown = f" ({describe_inputs(graph)})" if len(graph) else ""
    return Diagnostic("RW407", f"rule `{rule.name}` matches none of {count} examples drawn from its domain",
                      rule.domains[0].span,
                      (f"on the first{shown}: {reason}",
                       "make the domain draw what the pattern and guard accept (dtypes, ranks, constants, values)"),
                      related=related)


def describe_inputs(graph: Graph) -> str:
    """``x: f32[2, 3], w: const f32[4]``: the example's tensors as the rule's captures."""
    parts = []
    for node in graph.all_nodes():
        if node.op == "input":
            parts.append(f"{node.name}: {_type(graph, node.id)}")
        elif node.op == "constant" and node.name.isidentifier():  # a `const` capture (numbers are named `0.5`)
            parts.append(f"{node.name}: const {_type(graph, node.id)}")
    return ", ".join(parts) or "(no tensors)"


def _type(graph: Graph, nid: int) -> str:
    t = graph.node(nid).outputs[0]
    return f"{t.dtype}[{', '.join(str(d) for d in t.shape)}]"


# ---- the example an untested rule's annotations describe ------------------------------------------------------
def annotated_domains(rule: Rule) -> tuple[A.Domain, ...]:
    """A domain drawing the tensors the pattern's annotations describe, or ``()`` when the pattern binds a value
    that is not a tensor (or a list of tensors)."""
    sizes = _sizes()
    entries: list[A.DomainEntry] = []
    var_dtypes = _dtype_var_sets(rule)
    consts = {c.expr.args[0].value.name for c in rule.normal.guard  # type: ignore[attr-defined]
              if isinstance(c.expr, A.Call) and c.expr.func == "is_const" and c.expr.args
              and isinstance(c.expr.args[0].value, A.Name)}
    named: set[str] = set()
    for p in walk(rule.normal.variants[0]):
        if not isinstance(p, MCapture) or not p.first:
            continue
        if not (p.spec.is_tensor and not p.spec.is_tensor_list):
            return ()
        dtypes: tuple[str, ...] | None = None
        rank: int | None = None
        fixed: dict[int, A.DomainDim] = {}
        for c in p.checks:
            if isinstance(c, DtypeIn):
                dtypes = c.dtypes
            elif isinstance(c, DtypeVar) and dtypes is None:
                dtypes = var_dtypes.get(c.var, ("f32",))
            elif isinstance(c, (RankIs, RankIn)):
                rank = c.rank if isinstance(c, RankIs) else c.lo
            elif isinstance(c, DimIs):
                fixed[c.index] = A.DimInt(c.value, p.span)
            elif isinstance(c, DimVar):
                if c.name in named:
                    fixed[c.index] = A.DimName(c.name, p.span)
                else:
                    named.add(c.name)
                    size = next(sizes)
                    fixed[c.index] = A.DRange(size, size, c.name, p.span)
        dtypes = dtypes or ("f32",)
        rank = 2 if rank is None else rank
        dims = tuple(fixed.get(i, fixed.get(i - rank)) or A.DimInt(next(sizes), p.span) for i in range(rank))
        entries.append(A.DomainTensor(p.name, p.name in consts, dtypes, dims, None, False, p.span))
    return (A.Domain(tuple(entries), rule.span),)


def _sizes() -> Iterator[int]:
    """Distinct sizes for distinct dims: a rule mixing up two dims fails on them."""
    n = 2
    while True:
        yield n
        n += 1


def _dtype_var_sets(rule: Rule) -> dict[str, tuple[str, ...]]:
    """The dtypes a dtype variable ranges over (`Tensor<T: f32|f16>` somewhere in the pattern)."""
    out: dict[str, tuple[str, ...]] = {}
    for p in walk(rule.normal.variants[0]):
        if isinstance(p, MCapture):
            var = next((c.var for c in p.checks if isinstance(c, DtypeVar)), None)
            dts = next((c.dtypes for c in p.checks if isinstance(c, DtypeIn)), None)
            if var is not None and dts is not None:
                out.setdefault(var, dts)
    return out
