"""A rule's property test: on an example of its left side, rewriting with the rule's rule set fires the rule and
keeps the result, compared with eager PyTorch in float64 (TensorRT ops on their reference semantics).

The project's tests run it on every shipped rule (tests/spec/test_rule_properties.py, with Hypothesis drawing the
examples); ``trt-passes check --test`` runs it on a rule author's rules and reports the first counterexample:

* RW601: the rewritten example computes something else (beyond the tolerance of the dtype it computes in), or a
  result of another dtype or shape than the IR says;
* RW602: rewriting or running the example fails, or a converter leaves ATen ops behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.domain import draw_example
from trt_passes.dsl.examples import concrete_types, describe_inputs
from trt_passes.dsl.rewriter import rewrite
from trt_passes.dsl.rules import Rule, RuleSet
from trt_passes.ir.graph import Graph
from trt_passes.ir.interpreter import bind_symbols, run_graph
from trt_passes.ir.ops import OpRegistry
from trt_passes.ir.symbolic import evaluate
from trt_passes.ir.types import FLOAT_DTYPES, TensorType, dtype_name

#: examples ``check --test`` draws per rule
PROPERTY_EXAMPLES = 20

# Tolerances by the dtype the rewritten graph computes in, against a float64 reference. `rtol` is about half an ulp
# of the dtype plus room for a few roundings of intermediates (f32: 2^-24 ~ 6e-8 per op; f16: 2^-11 ~ 5e-4;
# bf16: 2^-8 ~ 4e-3; folded batch-norm weights and f32-accumulated products are rounded several times).
# Accumulating ops (convolution, matmul, reductions, normalisation, softmax) can cancel, so per-element relative
# error is meaningless near zero: the absolute tolerance is `rtol` times the largest reference magnitude (at
# least 1), i.e. errors are measured against the scale of the output.
RTOL = {"f64": 1e-12, "f32": 1e-5, "f16": 1e-2, "bf16": 2e-2}


@dataclass(frozen=True)
class Outcome:
    """What one example showed: whether the rule fired, and what went wrong (``code`` RW601 or RW602) if anything."""

    fired: bool
    problem: str | None = None
    code: str | None = None
    before: str = ""
    after: str = ""
    fires: dict[str, int] = field(default_factory=dict)  # every rule that fired, how often


def upcast(t: torch.Tensor) -> torch.Tensor:
    """Float tensors to float64 (ints and bools stay exact as they are)."""
    return t.to(torch.float64) if t.is_floating_point() else t


def float64_copy(g: Graph) -> Graph:
    """The same graph with every float constant in float64; inputs are upcast by the caller."""
    g64 = g.copy()
    for node in list(g64.all_nodes()):
        if node.op == "constant" and node.value is not None and node.value.is_floating_point():
            g64.replace_node(node.id, value=upcast(node.value))
    return g64


def reference(g: Graph, inputs: Sequence[torch.Tensor], ops: OpRegistry) -> list[torch.Tensor]:
    """Eager PyTorch in float64 where the dtype allows (a left side is ATen only)."""
    return run_graph(float64_copy(g), [upcast(t) for t in inputs], ops)


def mismatch(actual: torch.Tensor, expected: torch.Tensor, out_type: TensorType) -> str | None:
    """None when ``actual`` is ``expected`` within the tolerance of ``out_type``'s dtype; else how it differs."""
    if dtype_name(actual.dtype) != out_type.dtype:
        return f"dtype {actual.dtype}, the IR says {out_type}"
    if tuple(actual.shape) != tuple(out_type.shape):
        return f"shape {tuple(actual.shape)}, the IR says {out_type}"
    if out_type.dtype in FLOAT_DTYPES:
        rtol = RTOL[out_type.dtype]
        expected = expected.to(torch.float64)  # a cast in the rule's left side keeps its target dtype
        finite = expected[torch.isfinite(expected)]
        scale = max(1.0, finite.abs().max().item()) if finite.numel() else 1.0
        try:
            torch.testing.assert_close(actual.to(torch.float64), expected, rtol=rtol, atol=rtol * scale,
                                       equal_nan=True)
        except AssertionError as e:
            return f"{_differences(str(e))} (tolerance {rtol:g} for {out_type.dtype}, relative to the output's scale)"
        return None
    if not torch.equal(actual, expected.to(actual.dtype)):  # integer and bool results are exact
        return f"{actual.tolist()} != {expected.tolist()} (exact for {out_type.dtype})"
    return None


def check_example(rule: Rule, ruleset: RuleSet, graph: Graph, inputs: Sequence[torch.Tensor],
                  ops: OpRegistry) -> Outcome:
    """Rewrite ``graph`` (an example of ``rule``'s left side) with ``ruleset`` and compare with eager PyTorch."""
    symbols = bind_symbols(graph, list(inputs)) or {}  # a symbolic output type is checked at the inputs' sizes
    out_types = [TensorType(t.dtype, evaluate(list(t.shape), symbols))
                 for t in (graph.type(v) for v in graph.outputs())]
    before = str(graph)
    try:
        expected = reference(graph, inputs, ops)
    except Exception as e:  # the left side itself does not run: the example is not one the rule can meet
        return Outcome(False, f"eager PyTorch rejects the example: {type(e).__name__}: {e}", "RW602", before)
    try:
        stats = rewrite(graph, ruleset, ops)
    except Exception as e:
        return Outcome(False, f"rewriting fails: {type(e).__name__}: {e}", "RW602", before)
    after = str(graph)
    if not stats.fires[rule.name]:
        return Outcome(False, before=before, after=after, fires=dict(stats.fires))
    if rule.kind == "converter":  # a converter leaves nothing of what it matched to PyTorch
        left = sorted({n.op for n in graph.all_nodes() if n.op.startswith("aten.") or ops.is_fallback_op(n.op)})
        if left:
            return Outcome(True, f"torch ops are left after conversion: {', '.join(left)}", "RW602", before, after)
    try:
        actual = run_graph(graph, [t.clone() for t in inputs], ops)
    except Exception as e:
        return Outcome(True, f"the rewritten example fails to run: {type(e).__name__}: {e}", "RW602", before, after)
    for i, (a, e, t) in enumerate(zip(actual, expected, out_types)):
        problem = mismatch(a, e, t)
        if problem is not None:
            return Outcome(True, f"output {i} differs from eager PyTorch: {problem}", "RW601", before, after)
    return Outcome(True, before=before, after=after)


def check_property(rule: Rule, ruleset: RuleSet, ops: OpRegistry, source: Any,
                   count: int = PROPERTY_EXAMPLES) -> list[Diagnostic]:
    """RW601/RW602 for the first of ``count`` examples (from ``source``: a ``random.Random`` or Hypothesis data)
    on which ``rule`` breaks its property; ``[]`` when none does (or the rule has no domain)."""
    if not rule.domains:
        return []
    ops = concrete_types(ops)  # the same types, without meta inference's import of torch._dynamo
    for _ in range(count):
        try:
            graph, inputs = draw_example(rule, ops, source)
        except Exception:
            continue  # a domain that draws what its pattern rejects is RW407's business
        shown = describe_inputs(graph)
        values = _values(graph, inputs)
        outcome = check_example(rule, ruleset, graph, inputs, ops)
        if outcome.problem is not None and outcome.code is not None:
            what = "changes the result" if outcome.code == "RW601" else "fails"
            return [Diagnostic(outcome.code, f"rule `{rule.name}` {what} on an example from its domain: "
                               f"{outcome.problem}", rule.span,
                               (f"the example: {shown}", *values, f"before:\n{_indent(outcome.before)}",
                                *([f"after:\n{_indent(outcome.after)}"] if outcome.after else [])))]
    return []


def _values(graph: Graph, inputs: Sequence[torch.Tensor]) -> list[str]:
    names = [n.name for n in graph.all_nodes() if n.op == "input"]
    return [f"{name} = {_short_tensor(t)}" for name, t in zip(names, inputs) if t.numel() <= 24]


def _short_tensor(t: torch.Tensor) -> str:
    return str(_rounded(t.tolist()))


def _rounded(v: Any) -> Any:
    if isinstance(v, list):
        return [_rounded(x) for x in v]
    return float(f"{v:.4g}") if isinstance(v, float) else v


def _differences(text: str) -> str:
    """The lines of ``assert_close``'s message that say how much differs, as one line."""
    keep = [line.strip().rstrip(".") for line in text.splitlines()
            if line.strip().startswith(("Mismatched", "Greatest"))]
    return "; ".join(keep) or text.strip().splitlines()[0]


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines())
