"""Matching a rule's left side and guard at one node: an interpreter over the rule's normal form.

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

from trt_passes.dsl.builtins import GuardError
from trt_passes.dsl.constants import literal_matches_constant
from trt_passes.dsl.evaluate import Evaluator, registry_enums, values_equal
from trt_passes.dsl.normal_form import (
    Conjunct,
    DimIs,
    DimVar,
    DtypeIn,
    DtypeVar,
    IsScalar,
    IsTensor,
    MCapture,
    MConst,
    MDefault,
    MList,
    MLiteral,
    MOp,
    MPattern,
    MWild,
    RankIn,
    RankIs,
    TypeCheck,
)
from trt_passes.dsl.rules import Rule
from trt_passes.ir.graph import Graph, Value
from trt_passes.ir.ops import OpRegistry
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
    """Match ``rule`` with its root at node ``nid``: the pattern (each variant of the normal form), then the guard."""
    node = graph.node(nid)
    normal = rule.normal
    try:
        if node.op != normal.root_op:
            raise _NoMatch("root is {}, rule wants {}", node.op, normal.root_op)
        _check_outputs(graph, nid, node, normal.outputs)
    except _NoMatch as e:
        return Failure(rule, nid, e.template, e.args_)
    first: Failure | None = None
    for variant in normal.variants:  # as written first; a failure reports the as-written attempt
        st = _State(graph, ops)
        for i, name in enumerate(normal.outputs or ()):  # `(values, indices) = OP(...)` names the root's outputs
            if name is not None:
                st.bindings[name] = Value(nid, i)
        try:
            _match_op(st, variant, nid)
            if normal.exclusive:
                _check_contained(st)
            _check_guard(st, normal.guard)
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


def _check_guard(st: _State, guard: tuple[Conjunct, ...]) -> None:
    if not guard:
        return
    ev = Evaluator(GraphContext(st.graph), registry_enums(st.ops))
    # report the first conjunct that fails, so an explanation names the condition, not the whole guard
    for c in guard:
        try:
            ok = ev.truth(c.expr, st.bindings)
        except GuardError as err:
            raise _NoMatch("guard `{}` cannot be evaluated: {}", c.text, str(err)) from None
        if not ok:
            raise _NoMatch("guard `{}` is false", c.text)


def _match_op(st: _State, p: MOp, nid: int) -> None:
    g = st.graph
    attrs = g.node(nid).attrs
    if p.binder is not None:
        _bind(st, p.binder, p.binder_first, Value(nid, 0), "`" + p.binder + " @`")
    st.matched.append(nid)
    for a in p.args:
        spec = a.spec
        _match(st, a, g.resolve(nid, attrs.get(spec.name, spec.default)))


def _match(st: _State, p: MPattern, actual: Any) -> None:
    where = p.where
    if isinstance(p, MWild):
        return
    if isinstance(p, MDefault):
        if not values_equal(actual, p.value) and not (actual is None and p.value is None):
            raise _NoMatch("{}: {}, rule wants the default {}", where, _show(actual), _show(p.value))
        return
    if isinstance(p, MCapture):
        if p.checks:
            _check_type(st, p, actual)
        _bind(st, p.name, p.first, actual, where)
        return
    if isinstance(p, MOp):
        if not isinstance(actual, Value):
            raise _NoMatch("{}: {}, rule wants the result of {}", where, _show(actual), p.op)
        producer = st.graph.node(actual.node)
        if producer.op != p.op:
            raise _NoMatch("{}: produced by {}, rule wants {}", where, producer.op, p.op)
        if actual.index != 0:
            raise _NoMatch("{}: reads output {} of {}, rule wants output 0", where, actual.index, p.op)
        _match_op(st, p, actual.node)
        return
    if isinstance(p, MList):
        if not isinstance(actual, (list, tuple)):
            raise _NoMatch("{}: {}, rule wants a list of {}", where, _show(actual), len(p.items))
        if len(actual) != len(p.items):
            raise _NoMatch("{}: a list of {}, rule wants {}", where, len(actual), len(p.items))
        for item, a in zip(p.items, actual):
            _match(st, item, a)
        return
    if isinstance(p, MConst):
        if not literal_matches_constant(st.graph, actual, p.value):
            raise _NoMatch("{}: {}, rule wants a constant {}", where, _show(actual), _show(p.value))
        return
    assert isinstance(p, MLiteral), p
    if not values_equal(actual, p.value) and not (actual is None and p.value is None):
        raise _NoMatch("{}: {}, rule wants {}", where, _show(actual), _show(p.value))


def _bind(st: _State, name: str, first: bool, actual: Any, where: str) -> None:
    if first:
        st.bindings[name] = actual
        return
    prev = st.bindings[name]
    same = prev == actual if isinstance(prev, Value) or isinstance(actual, Value) else values_equal(prev, actual)
    if not same:
        raise _NoMatch("{}: {} is already {}, here {}", where, name, _show(prev), _show(actual))


def _check_type(st: _State, p: MCapture, actual: Any) -> None:
    where = p.where
    t: TensorType | None = None
    for c in p.checks:
        if isinstance(c, IsScalar):
            if not _scalar_ok(c.type, actual):
                raise _NoMatch("{}: {}, rule wants {}", where, _show(actual), c.type)
        elif isinstance(c, IsTensor):
            if not isinstance(actual, Value):
                raise _NoMatch("{}: {}, rule wants a tensor", where, _show(actual))
            t = st.graph.type(actual)
        else:
            assert t is not None, "tensor checks follow IsTensor"
            _check_tensor(st, c, t, where)


def _check_tensor(st: _State, c: TypeCheck, t: TensorType, where: str) -> None:
    if isinstance(c, DtypeIn):
        if t.dtype not in c.dtypes:
            raise _NoMatch("{}: dtype {}, rule wants {}", where, t.dtype, "|".join(c.dtypes))
    elif isinstance(c, DtypeVar):
        key = "<" + c.var  # dtype variables share the dims table under a key no dim name can have
        if c.first:
            st.dims[key] = t.dtype
        elif st.dims[key] != t.dtype:
            raise _NoMatch("{}: dtype {}, but {} is {} elsewhere", where, t.dtype, c.var, st.dims[key])
    elif isinstance(c, RankIn):
        if not c.lo <= t.rank <= c.hi:
            want = str(c.lo) if c.lo == c.hi else f"{c.lo}..{c.hi}"
            raise _NoMatch("{}: rank {}, rule wants {}", where, t.rank, want)
    elif isinstance(c, RankIs):
        if c.at_least and t.rank < c.rank:
            raise _NoMatch("{}: rank {}, rule wants at least {}", where, t.rank, c.rank)
        if not c.at_least and t.rank != c.rank:
            raise _NoMatch("{}: rank {}, rule wants {}", where, t.rank, c.rank)
    elif isinstance(c, DimIs):
        if t.shape[c.index] != c.value:
            raise _NoMatch("{}: dim {} is {}, rule wants {}", where, _dim_position(c.index, t), t.shape[c.index],
                           c.value)
    else:
        assert isinstance(c, DimVar), c
        dim = t.shape[c.index]
        if c.first:
            st.dims[c.name] = dim
        elif st.dims[c.name] != dim:
            raise _NoMatch("{}: dim {} is {}, but {} is {} elsewhere", where, _dim_position(c.index, t), dim, c.name,
                           st.dims[c.name])


def _dim_position(index: int, t: TensorType) -> int:
    return index if index >= 0 else t.rank + index


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
