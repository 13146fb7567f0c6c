"""Applying a rule set to a graph until no rule matches.

A rule's replacement is planned completely (every new node with its attrs and inferred types) before the graph is
touched, so a rule that would produce the wrong type fails with the graph unchanged. Nodes are visited from a worklist
indexed by root op; after a rewrite the nodes whose match may have changed (the new nodes, their producers, the
readers of the replaced value) are revisited, and a final sweep confirms the fixpoint.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import torch

from trt_passes.dsl import ast as A
from trt_passes.dsl.builtins import GuardError
from trt_passes.dsl.evaluate import Evaluator, registry_enums, show_expr
from trt_passes.dsl.matcher import Failure, GraphContext, Match, match_rule
from trt_passes.dsl.rules import Rule, RuleSet
from trt_passes.dsl.signature import bind_args
from trt_passes.ir.graph import Graph, Provenance, Slot, Value
from trt_passes.ir.ops import OpRegistry
from trt_passes.ir.types import TensorType, torch_dtype


class RuleApplicationError(RuntimeError):
    """A matched rule could not build its replacement (wrong type, bad argument); names the rule and file:line."""

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(f"rule {rule.name} ({rule.location}): {message}")
        self.rule = rule


class RewriteBudgetError(RuntimeError):
    """More rule applications than the budget: usually two rules undoing each other. ``rules`` kept firing."""

    def __init__(self, ruleset: str, budget: int, rules: dict[str, int]) -> None:
        named = ", ".join(f"{r} ({n}x)" for r, n in sorted(rules.items(), key=lambda kv: -kv[1]))
        super().__init__(f"rewriting with rule set {ruleset} did not reach a fixpoint within {budget} rule "
                         f"applications; rules that kept firing: {named}")
        self.ruleset, self.budget, self.rules = ruleset, budget, dict(rules)


@dataclass(frozen=True)
class RewriteEvent:
    """One rule application, for ``trace``."""

    rule: str
    location: str
    root: int
    root_op: str
    created: tuple[int, ...]
    result: Value


@dataclass
class RewriteStats:
    fires: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.fires.values())


# ---- planning a replacement ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pending:
    """Output ``output`` of the ``index``-th planned node."""

    index: int
    output: int = 0


@dataclass
class _PlannedNode:
    op: str
    inputs: list[Value | Pending]
    attrs: dict[str, Any]
    outputs: tuple[TensorType, ...]
    value: torch.Tensor | None = None


class _Plan:
    """Builds the replacement's nodes off-graph; also the builtins' context on the right side."""

    def __init__(self, graph: Graph, ops: OpRegistry, rule: Rule) -> None:
        self.graph, self.ops, self.rule = graph, ops, rule
        self.nodes: list[_PlannedNode] = []
        self._graph_ctx = GraphContext(graph)
        self._enums = registry_enums(ops)

    # EvalContext
    def tensor_type(self, x: Any) -> TensorType:
        if isinstance(x, Pending):
            return self.nodes[x.index].outputs[x.output]
        return self._graph_ctx.tensor_type(x)

    def constant_value(self, x: Any) -> torch.Tensor | None:
        if isinstance(x, Pending):
            n = self.nodes[x.index]
            return n.value if n.op == "constant" else None
        return self._graph_ctx.constant_value(x)

    def use_count(self, x: Any) -> int:
        if isinstance(x, Pending):
            raise GuardError("one_use() of a node the right side creates")
        return self._graph_ctx.use_count(x)

    # NodeBuilder
    def op(self, expr: A.OpExpr, values: Sequence[Any]) -> Pending:
        schema = self.ops.schema(expr.op)
        bound, problems = bind_args(schema, expr.args, expr.span, in_pattern=False)
        if problems:
            raise RuleApplicationError(self.rule, problems[0].message)
        index_of = {id(a): i for i, a in enumerate(expr.args)}
        attrs: dict[str, Any] = {}
        infer_args: dict[str, Any] = {}
        inputs: list[Value | Pending] = []

        def slot(ref: Any, name: str) -> Slot:
            if not isinstance(ref, (Value, Pending)):
                raise RuleApplicationError(self.rule, f"argument '{name}' of {expr.op} wants a tensor, got {ref!r}")
            inputs.append(ref)
            return Slot(len(inputs) - 1)

        for spec in schema.args:
            arg = bound.get(spec.name)
            v = values[index_of[id(arg)]] if arg is not None else spec.default
            if spec.is_tensor_list:
                if not isinstance(v, (list, tuple)):
                    raise RuleApplicationError(self.rule, f"argument '{spec.name}' of {expr.op} wants a list of "
                                                          f"tensors, got {v!r}")
                attrs[spec.name] = tuple(slot(r, spec.name) if r is not None else None for r in v)
                infer_args[spec.name] = [self.tensor_type(r) if r is not None else None for r in v]
            elif spec.is_tensor:
                if v is None:
                    attrs[spec.name] = infer_args[spec.name] = None
                else:
                    attrs[spec.name] = slot(v, spec.name)
                    infer_args[spec.name] = self.tensor_type(v)
            else:
                if isinstance(v, (Value, Pending)):
                    raise RuleApplicationError(self.rule, f"argument '{spec.name}' of {expr.op} is `{spec.type}`, "
                                                          "got a tensor")
                v = self._member(spec.type, v)
                attrs[spec.name] = infer_args[spec.name] = v
        try:
            outputs = tuple(self.ops.infer(expr.op, infer_args))
        except Exception as e:  # the dialect's own message says what is wrong with the arguments
            raise RuleApplicationError(self.rule, f"{show_expr(expr)}: cannot infer its type: "
                                                  f"{type(e).__name__}: {e}") from e
        self.nodes.append(_PlannedNode(expr.op, inputs, attrs, outputs))
        return Pending(len(self.nodes) - 1)

    def _member(self, type_name: str, v: Any) -> Any:
        """An enum value of the rule's catalogue, re-expressed as the member of the argument's enum type."""
        enum = self._enums.get(type_name)
        if enum is not None and isinstance(v, Enum) and type(v) is not enum and v.name in enum.__members__:
            return enum[v.name]
        return v

    def const(self, value: Any, dtype: Any, span: A.Span) -> Pending:
        if isinstance(value, (Value, Pending)):
            raise RuleApplicationError(self.rule, "const() wants a number or a nested list, got a tensor")
        try:
            t = torch.tensor(value, dtype=torch_dtype(dtype) if isinstance(dtype, str) else dtype)
        except Exception as e:
            raise RuleApplicationError(self.rule, f"const({value!r}, {dtype!r}): {e}") from e
        self.nodes.append(_PlannedNode("constant", [], {}, (TensorType.of(t),), t))
        return Pending(len(self.nodes) - 1)


def _same_type(a: TensorType, b: TensorType) -> bool:
    return a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)


def apply_match(graph: Graph, m: Match, ops: OpRegistry) -> tuple[Value, tuple[int, ...]]:
    """Build, check and commit the replacement of ``m``; returns the new value and the created node ids."""
    rule = m.rule
    plan = _Plan(graph, ops, rule)
    ev = Evaluator(plan, registry_enums(ops), builder=plan)
    env = dict(m.bindings)
    try:
        for let in rule.rhs.lets:
            env[let.name] = ev.eval(let.value, env)
        result = ev.eval(rule.rhs.result, env)
    except GuardError as e:
        raise RuleApplicationError(rule, f"right side: {e}") from e
    if not isinstance(result, (Value, Pending)):
        raise RuleApplicationError(rule, f"the right side gives {result!r}, not a tensor")
    root = graph.node(m.root)
    new_type, want = plan.tensor_type(result), root.outputs[0]
    if not _same_type(new_type, want):
        raise RuleApplicationError(rule, f"the replacement has type {new_type}, but the matched {root.op} "
                                         f"(%{m.root}) has type {want}")
    if result == Value(m.root, 0):
        raise RuleApplicationError(rule, "the right side is the matched root itself; the rule would fire forever")
    created = _commit(graph, plan, result, m)
    new = _resolve(result, created)
    graph.replace_uses(Value(m.root, 0), new)
    _remove_dead(graph, m.matched_nodes)
    return new, tuple(created[i] for i in sorted(created))


def _commit(graph: Graph, plan: _Plan, result: Value | Pending, m: Match) -> dict[int, int]:
    # only planned nodes the result depends on are added (a `let` nobody reads creates nothing)
    needed: set[int] = set()
    stack = [result]
    while stack:
        r = stack.pop()
        if isinstance(r, Pending) and r.index not in needed:
            needed.add(r.index)
            stack.extend(plan.nodes[r.index].inputs)
    rule, root = m.rule, graph.node(m.root)
    prov = Provenance(source=root.provenance.source, rule=rule.name, location=rule.location, ruleset=rule.ruleset,
                      replaced=tuple(m.matched_nodes))
    created: dict[int, int] = {}
    for i, pn in enumerate(plan.nodes):
        if i not in needed:
            continue
        inputs = [_resolve(r, created) for r in pn.inputs]
        created[i] = graph.add(pn.op, inputs, pn.attrs, pn.outputs, provenance=prov, value=pn.value)
    return created


def _resolve(r: Value | Pending, created: dict[int, int]) -> Value:
    return Value(created[r.index], r.output) if isinstance(r, Pending) else r


def _remove_dead(graph: Graph, matched: Sequence[int]) -> None:
    changed = True
    while changed:
        changed = False
        for nid in matched:
            if nid in graph and not graph.users(nid):
                graph.remove(nid)
                changed = True


# ---- driving --------------------------------------------------------------------------------------------------
def match_at(graph: Graph, nid: int, ruleset: RuleSet, ops: OpRegistry) -> Match | None:
    """The first rule of ``ruleset`` (priority order) matching at node ``nid``, or None."""
    for rule in ruleset.by_root().get(graph.node(nid).op, ()):
        m = match_rule(graph, nid, rule, ops)
        if isinstance(m, Match):
            return m
    return None


def explain_no_match(graph: Graph, nid: int, ruleset: RuleSet, ops: OpRegistry) -> list[tuple[str, str]]:
    """Why each rule of ``ruleset`` rooted at this node's op does not match: ``[(rule, first failed condition)]``.

    A rule that does match is listed with reason ``"matches"``; when no rule has this op as root the single entry
    is ``("*", "no rule of <ruleset> has root <op>")``.
    """
    op = graph.node(nid).op
    rules = ruleset.by_root().get(op, [])
    if not rules:
        return [("*", f"no rule of {ruleset.name} has root {op}")]
    out = []
    for rule in rules:
        m = match_rule(graph, nid, rule, ops)
        out.append((rule.name, m.reason if isinstance(m, Failure) else "matches"))
    return out


def rewrite(graph: Graph, ruleset: RuleSet, ops: OpRegistry, *, budget: int | None = None,
            trace: Callable[[RewriteEvent], None] | None = None) -> RewriteStats:
    """Apply ``ruleset`` to ``graph`` in place until no rule matches; returns how often each rule fired.

    Converter rule sets visit consumers before producers (reverse topological order) so that a pattern fusing
    several nodes is tried before the rule for its innermost node; lowering rule sets visit in topological order.
    ``budget`` caps the number of applications (default ``100 + 20 * len(graph)``).
    """
    by_root = ruleset.by_root()
    limit = budget if budget is not None else 100 + 20 * len(graph)
    stats = RewriteStats()
    recent: deque[str] = deque(maxlen=64)
    work: deque[int] = deque()
    queued: set[int] = set()

    def ordered() -> list[int]:
        order = graph.topo_order()
        return order[::-1] if ruleset.kind == "converter" else order

    def push(nids: Sequence[int], front: bool = False) -> None:
        for n in nids:
            if n in queued or n not in graph or graph.node(n).op not in by_root:
                continue
            queued.add(n)
            if front:
                work.appendleft(n)
            else:
                work.append(n)

    push(ordered())
    while True:
        while work:
            nid = work.popleft()
            queued.discard(nid)
            if nid not in graph:
                continue
            m = match_at(graph, nid, ruleset, ops)
            if m is None:
                continue
            if stats.total >= limit:
                raise RewriteBudgetError(ruleset.name, limit, Counter(recent))
            producers = sorted({v.node for n in m.matched_nodes for v in graph.inputs(n)})
            new, created = apply_match(graph, m, ops)
            stats.fires[m.rule.name] += 1
            recent.append(m.rule.name)
            if trace is not None:
                trace(RewriteEvent(m.rule.name, m.rule.location, m.root, m.rule.root_op, created, new))
            touched = list(created) + graph.users(new.node) + producers
            touched += [v.node for c in created for v in graph.inputs(c)]
            push(touched, front=True)
        # confirm the fixpoint: anything the worklist's neighbourhood heuristic missed is picked up here
        missed = [n for n in ordered() if graph.node(n).op in by_root and match_at(graph, n, ruleset, ops)]
        if not missed:
            return stats
        push(missed)
