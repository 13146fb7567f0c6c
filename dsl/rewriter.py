"""Applying a rule set to a graph until no rule matches.

A rule's replacement is planned completely (every new node with its attrs and inferred types) before the graph is
touched, so a rule that would produce the wrong type fails with the graph unchanged. Nodes are visited from a worklist
indexed by root op; after a rewrite the nodes whose match may have changed (the new nodes, their producers, the
readers of the replaced value) are revisited, and a final sweep confirms the fixpoint.
"""

from __future__ import annotations

import weakref
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import torch

from trt_passes.dsl import ast as A
from trt_passes.dsl import profile as profile_state
from trt_passes.dsl.builtins import GuardError
from trt_passes.dsl.compiled import compiled_matcher, matcher_mode
from trt_passes.dsl.crosscheck import checked_explain, checked_match_at
from trt_passes.dsl.evaluate import Evaluator, registry_enums, show_expr
from trt_passes.dsl.matcher import Failure, GraphContext, Match, match_rule
from trt_passes.dsl.normal_form import Construct
from trt_passes.dsl.rules import Rule, RuleSet
from trt_passes.ir.graph import Graph, Provenance, Slot, Value
from trt_passes.ir.ops import OpRegistry
from trt_passes.ir.types import TensorType, torch_dtype


class RuleApplicationError(RuntimeError):
    """A matched rule could not build its replacement (wrong type, bad argument); names the rule and file:line.
    ``detail`` is the message without the rule's name; ``span`` the part of the right side at fault, when known."""

    def __init__(self, rule: Rule, message: str, span: A.Span | None = None) -> None:
        super().__init__(f"rule {rule.name} ({rule.location}): {message}")
        self.rule, self.detail, self.span = rule, message, span


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
    def op(self, c: Construct, values: Sequence[Any]) -> Pending:
        """A node for constructor ``c`` (bound to its schema when the rule was loaded); ``values``: its written
        arguments, evaluated."""
        attrs: dict[str, Any] = {}
        infer_args: dict[str, Any] = {}
        inputs: list[Value | Pending] = []

        def slot(ref: Any, name: str) -> Slot:
            if not isinstance(ref, (Value, Pending)):
                raise RuleApplicationError(self.rule, f"argument '{name}' of {c.op} wants a tensor, got {ref!r}",
                                           c.written.span)
            inputs.append(ref)
            return Slot(len(inputs) - 1)

        for spec, written in zip(c.specs, c.slots):
            v = values[written] if written is not None else spec.default
            if spec.is_tensor_list:
                if not isinstance(v, (list, tuple)):
                    raise RuleApplicationError(self.rule, f"argument '{spec.name}' of {c.op} wants a list of "
                                                          f"tensors, got {v!r}", c.written.span)
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
                    raise RuleApplicationError(self.rule, f"argument '{spec.name}' of {c.op} is `{spec.type}`, "
                                                          "got a tensor", c.written.span)
                v = self._member(spec.type, v)
                attrs[spec.name] = infer_args[spec.name] = v
        try:
            outputs = infer_types(self.ops, c.op, infer_args)
        except Exception as e:  # the dialect's own message says what is wrong with the arguments
            raise RuleApplicationError(self.rule, f"{show_expr(c.written)}: cannot infer its type: "
                                                  f"{type(e).__name__}: {e}", c.written.span) from e
        self.nodes.append(_PlannedNode(c.op, inputs, attrs, outputs))
        return Pending(len(self.nodes) - 1)

    def _member(self, type_name: str, v: Any) -> Any:
        """An enum value of the rule's catalogue, re-expressed as the member of the argument's enum type."""
        enum = self._enums.get(type_name)
        if enum is not None and isinstance(v, Enum) and type(v) is not enum and v.name in enum.__members__:
            return enum[v.name]
        return v

    def output(self, ref: Any, i: Any) -> Value | Pending:
        """``t[i]`` on a right side: output ``i`` of a node (planned or in the graph)."""
        if not isinstance(i, int) or isinstance(i, bool):
            raise RuleApplicationError(self.rule, f"output index {i!r} is not an int")
        n = len(self.nodes[ref.index].outputs) if isinstance(ref, Pending) else \
            len(self.graph.node(ref.node).outputs) if isinstance(ref, Value) else None
        if n is None:
            raise RuleApplicationError(self.rule, f"cannot index {ref!r}")
        if not 0 <= i < n:
            raise RuleApplicationError(self.rule, f"output {i} of a node with {n} outputs")
        return Pending(ref.index, i) if isinstance(ref, Pending) else Value(ref.node, i)

    def const(self, value: Any, dtype: Any, span: A.Span) -> Pending:
        if isinstance(value, (Value, Pending)):
            raise RuleApplicationError(self.rule, "const() wants a number or a nested list, got a tensor", span)
        try:
            t = torch.tensor(value, dtype=torch_dtype(dtype) if isinstance(dtype, str) else dtype)
        except Exception as e:
            raise RuleApplicationError(self.rule, f"const({value!r}, {dtype!r}): {e}", span) from e
        self.nodes.append(_PlannedNode("constant", [], {}, (TensorType.of(t),), t))
        return Pending(len(self.nodes) - 1)


_INFER_MEMO: weakref.WeakKeyDictionary[OpRegistry, dict[Any, tuple[TensorType, ...]]] = weakref.WeakKeyDictionary()
_INFER_MEMO_SIZE = 65536


def _freeze(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    hash(v)  # raises TypeError for values that cannot key the memo
    return v


def infer_types(ops: OpRegistry, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]:
    """``ops.infer`` memoised on (op, argument types and values): output types are a function of those alone, and
    inferring through the catalogue (meta tensors) costs far more than a rewrite's own work. Rewriting a large graph
    builds the same few kinds of node again and again."""
    try:
        key = (op, tuple((k, type(v).__name__, _freeze(v)) for k, v in args.items()))
    except TypeError:
        return tuple(ops.infer(op, args))
    memo = _INFER_MEMO.setdefault(ops, {})
    found = memo.get(key)
    if found is None:
        found = tuple(ops.infer(op, args))
        if len(memo) >= _INFER_MEMO_SIZE:
            memo.clear()
        memo[key] = found
    return found


def _same_type(a: TensorType, b: TensorType) -> bool:
    return a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)


def apply_match(graph: Graph, m: Match, ops: OpRegistry) -> tuple[Value, tuple[int, ...]]:
    """Build, check and commit the replacement of ``m``; returns the new value and the created node ids."""
    plan, replace = _plan_match(graph, m, ops)
    created = _commit(graph, plan, [r for _, r in replace], m)
    news = [(i, _resolve(r, created)) for i, r in replace]
    for i, new in news:
        graph.replace_uses(Value(m.root, i), new)
    _remove_dead(graph, m.matched_nodes)
    return news[0][1], tuple(created[i] for i in sorted(created))


def check_applicable(graph: Graph, m: Match, ops: OpRegistry) -> None:
    """Build and type-check the replacement of ``m`` without changing the graph; raises as :func:`apply_match`.
    With symbolic sizes a right side can fail where its guard could not tell (a size an op needs static)."""
    _plan_match(graph, m, ops)


def _plan_match(graph: Graph, m: Match, ops: OpRegistry) -> tuple[_Plan, list[tuple[int, Value | Pending]]]:
    rule = m.rule
    plan = _Plan(graph, ops, rule)
    ev = Evaluator(plan, registry_enums(ops), builder=plan)
    env = dict(m.bindings)
    normal = rule.normal
    try:
        for let in normal.lets:
            env[let.name] = ev.eval(let.value, env)
        result = ev.eval(normal.result, env)
    except GuardError as e:
        raise RuleApplicationError(rule, f"right side: {e}", rule.rhs.span) from e
    results = result if isinstance(result, tuple) else (result,)
    written = rule.rhs.result.items if isinstance(rule.rhs.result, A.TupleExpr) else (rule.rhs.result,)
    # `(a, _) = OP(...)`: output i is replaced by item i when named (`_` outputs are dead, their item is unused)
    names = normal.outputs or ("",)
    root = graph.node(m.root)
    replace = [(i, r) for i, (r, name) in enumerate(zip(results, names)) if name is not None]
    for i, r in replace:
        span = written[i].span if i < len(written) else rule.rhs.span
        if not isinstance(r, (Value, Pending)):
            raise RuleApplicationError(rule, f"the right side gives {r!r}, not a tensor", span)
        new_type, want = plan.tensor_type(r), root.outputs[i]
        if not _same_type(new_type, want):
            what = f"the replacement of output {i}" if len(names) > 1 else "the replacement"
            raise RuleApplicationError(rule, f"{what} has type {new_type}, but the matched {root.op} "
                                             f"(%{m.root}) has type {want}", span)
        if r == Value(m.root, i):
            raise RuleApplicationError(rule, "the right side is the matched root itself; the rule would fire "
                                             "forever", span)
    return plan, replace


def _commit(graph: Graph, plan: _Plan, results: list[Value | Pending], m: Match) -> dict[int, int]:
    # only planned nodes the results depend on are added (a `let` nobody reads creates nothing)
    needed: set[int] = set()
    stack = list(results)
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
    if profile_state.ACTIVE is not None:
        profile_state.ACTIVE.rulesets.setdefault(ruleset.name, ruleset)
        return compiled_matcher(ruleset, ops, profile=True).match(graph, nid)
    mode = matcher_mode()
    if mode == "check":
        return checked_match_at(graph, nid, ruleset, ops)
    if mode == "compiled":
        return compiled_matcher(ruleset, ops).match(graph, nid)
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
    mode = matcher_mode()
    if mode != "interp":
        found = checked_explain(graph, nid, ruleset, ops) if mode == "check" else \
            compiled_matcher(ruleset, ops).explain(graph, nid)
        return [(m.rule.name, m.reason if isinstance(m, Failure) else "matches") for m in found]
    out = []
    for rule in rules:
        m = match_rule(graph, nid, rule, ops)
        out.append((rule.name, m.reason if isinstance(m, Failure) else "matches"))
    return out


def rewrite(graph: Graph, ruleset: RuleSet, ops: OpRegistry, *, budget: int | None = None,
            trace: Callable[[RewriteEvent], None] | None = None,
            where: Callable[[int], bool] | None = None) -> RewriteStats:
    """Apply ``ruleset`` to ``graph`` in place until no rule matches; returns how often each rule fired.

    Converter rule sets visit consumers before producers (reverse topological order) so that a pattern fusing
    several nodes is tried before the rule for its innermost node; lowering rule sets visit in topological order.
    ``budget`` caps the number of applications (default ``100 + 20 * len(graph)``). ``where``, if given, is asked
    about a node (its id) right before a rule may be applied there: rules fire only at nodes it accepts, as the
    graph is at that moment.
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
            if m is None or (where is not None and not where(nid)):
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
        # (scanned in id order, which is cheap; the rare misses are then queued in visiting order, as before)
        missed = {n.id for n in graph.all_nodes() if n.op in by_root and match_at(graph, n.id, ruleset, ops)
                  and (where is None or where(n.id))}
        if not missed:
            return stats
        push([n for n in ordered() if n in missed])
