"""Matching a rule's left side and guard at one node: an interpreter over the AST.

The interface is :func:`match_rule` (one rule at one node) returning a :class:`Match` or a :class:`Failure`; a
compiled decision tree can later replace the body without changing it. A failure records the *first* condition that
failed with the value seen (``argument 'self': rank 3, rule wants 4``) as a template and arguments, formatted only
when someone asks (explanations are rare, matching attempts are many).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import torch

from trt_passes.dsl import ast as A
from trt_passes.dsl.builtins import GuardError
from trt_passes.dsl.constants import literal_matches_constant
from trt_passes.dsl.evaluate import Evaluator, registry_enums, resolve_enum, show_expr, values_equal
from trt_passes.dsl.rules import Rule
from trt_passes.dsl.signature import bind_args
from trt_passes.ir.graph import Graph, Value
from trt_passes.ir.ops import ArgSpec, OpRegistry
from trt_passes.ir.types import TensorType


@dataclass(frozen=True)
class Match:
    """``bindings``: capture name -> IR value (tensor captures are :class:`Value` s); ``matched_nodes``: the op nodes
    the pattern covered, root first."""

    rule: Rule
    root: int
    bindings: dict[str, Any]
    matched_nodes: tuple[int, ...]


@dataclass(frozen=True)
class Failure:
    rule: Rule
    root: int
    template: str
    args: tuple[Any, ...] = ()

    @property
    def reason(self) -> str:
        return self.template.format(*self.args)

    def __str__(self) -> str:
        return f"{self.rule.name}: {self.reason}"


class GraphContext:
    """Answers the builtins' questions about values of ``graph``."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def tensor_type(self, x: Any) -> TensorType:
        if not isinstance(x, Value):
            raise GuardError(f"{x!r} is not a tensor")
        return self.graph.type(x)

    def constant_value(self, x: Any) -> torch.Tensor | None:
        if not isinstance(x, Value):
            return None
        node = self.graph.node(x.node)
        return node.value if node.op == "constant" else None

    def use_count(self, x: Any) -> int:
        if not isinstance(x, Value):
            raise GuardError(f"{x!r} is not a tensor")
        return len(self.graph.uses(x))


class _NoMatch(Exception):
    def __init__(self, template: str, *args: Any) -> None:
        super().__init__(template)
        self.template, self.args_ = template, args


class _State:
    def __init__(self, graph: Graph, ops: OpRegistry) -> None:
        self.graph, self.ops = graph, ops
        self.bindings: dict[str, Any] = {}
        self.dims: dict[str, Any] = {}
        self.matched: list[int] = []


def match_rule(graph: Graph, nid: int, rule: Rule, ops: OpRegistry) -> Match | Failure:
    """Match ``rule`` with its root at node ``nid``: the pattern, then the guard."""
    node = graph.node(nid)
    try:
        if node.op != rule.pattern.op:
            raise _NoMatch("root is {}, rule wants {}", node.op, rule.pattern.op)
        _check_outputs(graph, nid, node, rule.pattern.outputs)
    except _NoMatch as e:
        return Failure(rule, nid, e.template, e.args_)
    first: Failure | None = None
    for pattern in rule.variants(ops):  # as written first; a failure reports the as-written attempt
        st = _State(graph, ops)
        for i, name in enumerate(pattern.outputs or ()):  # `(values, indices) = OP(...)` names the root's outputs
            if name is not None:
                st.bindings[name] = Value(nid, i)
        try:
            _match_op(st, pattern, nid)
            if rule.exclusive:
                _check_contained(st)
            if rule.guard is not None:
                _check_guard(st, rule.guard)
        except _NoMatch as e:
            # the as-written failure, unless a later variant got as far as the guard (the more telling reason)
            if first is None or (not first.template.startswith("guard") and e.template.startswith("guard")):
                first = Failure(rule, nid, e.template, e.args_)
            continue
        return Match(rule, nid, st.bindings, tuple(st.matched))
    assert first is not None
    return first


def _check_outputs(graph: Graph, nid: int, node: Any, outputs: tuple[str | None, ...] | None) -> None:
    """Outputs the rule does not replace must be unused: output 0 and named outputs of a multi-output pattern are
    replaced, everything else must be dead. An op returning ``Tensor[]`` has as many outputs as its node says."""
    if outputs is not None and len(outputs) > len(node.outputs):
        raise _NoMatch("the root has {} outputs; the rule names {}", len(node.outputs), len(outputs))
    for i in range(1, len(node.outputs)):
        if outputs is not None and i < len(outputs) and outputs[i] is not None:
            continue
        if graph.uses(Value(nid, i)):
            if outputs is None:
                raise _NoMatch("output {} of the root is used; the rule replaces output 0 only", i)
            raise _NoMatch("output {} of the root is used; the rule does not replace it", i)


def _check_contained(st: _State) -> None:
    """``exclusive`` rules: no matched node but the root is read by a node outside the match (the rewrite would
    otherwise keep it alive, duplicating its work)."""
    inside = set(st.matched)
    for n in st.matched[1:]:
        for user in st.graph.users(n):
            if user not in inside:
                raise _NoMatch("matched {} %{} is also read by %{}, outside the match", st.graph.node(n).op, n, user)


def _check_guard(st: _State, guard: A.Expr) -> None:
    ev = Evaluator(GraphContext(st.graph), registry_enums(st.ops))
    # report the first conjunct that fails, so an explanation names the condition, not the whole guard
    for c in A.guard_conjuncts(guard):
        try:
            ok = ev.truth(c, st.bindings)
        except GuardError as err:
            raise _NoMatch("guard `{}` cannot be evaluated: {}", show_expr(c), str(err)) from None
        if not ok:
            raise _NoMatch("guard `{}` is false", show_expr(c))


def _match_op(st: _State, p: A.POp, nid: int) -> None:
    g = st.graph
    node = g.node(nid)
    schema = st.ops.schema(p.op)
    bound, _ = bind_args(schema, p.args, p.span)
    if p.binder is not None:
        _bind(st, p.binder, Value(nid, 0), "`" + p.binder + " @`")
    st.matched.append(nid)
    for spec in schema.args:
        where = f"argument '{spec.name}'" if nid == st.matched[0] else f"{p.op} argument '{spec.name}'"
        actual = g.resolve(nid, node.attrs.get(spec.name, spec.default))
        arg = bound.get(spec.name)
        if arg is None:
            if not values_equal(actual, spec.default) and not (actual is None and spec.default is None):
                raise _NoMatch("{}: {}, rule wants the default {}", where, _show(actual), _show(spec.default))
            continue
        _match(st, arg.value, actual, spec, where)


def _match(st: _State, p: A.Pattern, actual: Any, spec: ArgSpec, where: str) -> None:
    if isinstance(p, A.PWildcard):
        return
    if isinstance(p, A.POp):
        if not isinstance(actual, Value):
            raise _NoMatch("{}: {}, rule wants the result of {}", where, _show(actual), p.op)
        producer = st.graph.node(actual.node)
        if producer.op != p.op:
            raise _NoMatch("{}: produced by {}, rule wants {}", where, producer.op, p.op)
        if actual.index != 0:
            raise _NoMatch("{}: reads output {} of {}, rule wants output 0", where, actual.index, p.op)
        _match_op(st, p, actual.node)
        return
    if isinstance(p, A.PList):
        if not isinstance(actual, (list, tuple)):
            raise _NoMatch("{}: {}, rule wants a list of {}", where, _show(actual), len(p.items))
        if len(actual) != len(p.items):
            raise _NoMatch("{}: a list of {}, rule wants {}", where, len(actual), len(p.items))
        for i, (item, a) in enumerate(zip(p.items, actual)):
            _match(st, item, a, spec, f"{where}[{i}]")
        return
    if isinstance(p, A.PLiteral) and _is_tensor_literal(p, spec):
        want = p.value.value  # type: ignore[union-attr]
        if not literal_matches_constant(st.graph, actual, want):
            raise _NoMatch("{}: {}, rule wants a constant {}", where, _show(actual), _show(want))
        return
    if isinstance(p, A.PLiteral):
        want = _literal_value(st, p.value)
        if not values_equal(actual, want) and not (actual is None and want is None):
            raise _NoMatch("{}: {}, rule wants {}", where, _show(actual), _show(want))
        return
    assert isinstance(p, A.PCapture)
    if p.type is not None:
        _check_type(st, p.type, actual, where)
    _bind(st, p.name, actual, where)


def _is_tensor_literal(p: A.PLiteral, spec: ArgSpec) -> bool:
    """A number in a tensor position matches a constant whose every element is that number (within tolerance)."""
    v = p.value
    return spec.is_tensor and not spec.is_tensor_list and isinstance(v, A.Literal) \
        and isinstance(v.value, (int, float)) and not isinstance(v.value, bool)


def _bind(st: _State, name: str, actual: Any, where: str) -> None:
    if name in st.bindings:
        prev = st.bindings[name]
        same = prev == actual if isinstance(prev, Value) or isinstance(actual, Value) else values_equal(prev, actual)
        if not same:
            raise _NoMatch("{}: {} is already {}, here {}", where, name, _show(prev), _show(actual))
        return
    st.bindings[name] = actual


def _literal_value(st: _State, lit: A.Literal | A.DtypeLit | A.EnumLit) -> Any:
    if isinstance(lit, A.Literal):
        return lit.value
    if isinstance(lit, A.DtypeLit):
        return lit.name
    try:
        return resolve_enum(lit, registry_enums(st.ops))
    except GuardError:
        return lit.text


def _check_type(st: _State, ann: A.TypeAnn, actual: Any, where: str) -> None:
    if isinstance(ann, A.ScalarAnn):
        if not _scalar_ok(ann.name, actual):
            raise _NoMatch("{}: {}, rule wants {}", where, _show(actual), ann.name)
        return
    if not isinstance(actual, Value):
        raise _NoMatch("{}: {}, rule wants a tensor", where, _show(actual))
    t = st.graph.type(actual)
    if ann.dtypes is not None and t.dtype not in ann.dtypes:
        raise _NoMatch("{}: dtype {}, rule wants {}", where, t.dtype, "|".join(ann.dtypes))
    if ann.dtype_var is not None:
        key = "<" + ann.dtype_var  # dtype variables share the dims table under a key no dim name can have
        prev = st.dims.get(key)
        if prev is None:
            st.dims[key] = t.dtype
        elif prev != t.dtype:
            raise _NoMatch("{}: dtype {}, but {} is {} elsewhere", where, t.dtype, ann.dtype_var, prev)
    if ann.rank_range is not None and not ann.rank_range[0] <= t.rank <= ann.rank_range[1]:
        lo, hi = ann.rank_range
        raise _NoMatch("{}: rank {}, rule wants {}", where, t.rank, str(lo) if lo == hi else f"{lo}..{hi}")
    if ann.dims is None:
        return
    dims = ann.dims
    ell = next((i for i, d in enumerate(dims) if isinstance(d, A.DimEllipsis)), None)
    if ell is None:
        if t.rank != len(dims):
            raise _NoMatch("{}: rank {}, rule wants {}", where, t.rank, len(dims))
        pairs = list(zip(dims, t.shape))
        positions = list(range(t.rank))
    else:
        front, back = dims[:ell], dims[ell + 1:]
        if t.rank < len(front) + len(back):
            raise _NoMatch("{}: rank {}, rule wants at least {}", where, t.rank, len(front) + len(back))
        tail = t.shape[t.rank - len(back):] if back else ()
        pairs = list(zip(front, t.shape[:len(front)])) + list(zip(back, tail))
        positions = list(range(len(front))) + list(range(t.rank - len(back), t.rank))
    for (d, actual_dim), pos in zip(pairs, positions):
        if isinstance(d, A.DimInt) and actual_dim != d.value:
            raise _NoMatch("{}: dim {} is {}, rule wants {}", where, pos, actual_dim, d.value)
        if isinstance(d, A.DimName):
            prev = st.dims.get(d.name)
            if prev is None:
                st.dims[d.name] = actual_dim
            elif prev != actual_dim:
                raise _NoMatch("{}: dim {} is {}, but {} is {} elsewhere", where, pos, actual_dim, d.name, prev)


def _scalar_ok(name: str, v: Any) -> bool:
    base = name.rstrip("[]")
    if name.endswith("[]"):
        return isinstance(v, (list, tuple)) and all(_scalar_ok(base, x) for x in v)
    if base == "bool":
        return isinstance(v, bool)
    if base == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if base == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return False


def _show(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Enum):
        return f"{type(v).__name__}.{v.name}"
    if isinstance(v, Value):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return repr(v) if isinstance(v, str) else str(v)
