"""Test domains: draw one example from a rule's ``domain { ... }`` and build the rule's LEFT side (the first variant of
its normal form) as a standalone graph.

Property tests run that graph eagerly before and after :func:`~trt_passes.dsl.rewriter.rewrite` and compare. The
draw is driven either by a Hypothesis ``data`` object (so failures shrink) or by a ``random.Random``. Tensor values are
generated from one drawn seed (drawing every element through Hypothesis would be slow and shrink poorly).

Sampling rules: one domain block per example; a named dim (``N=1..4``) is drawn once and reused wherever ``N`` is
written; tensor captures listing the same dtype set share ONE drawn dtype (so rules that require equal dtypes can be
exercised); values are uniform in ``in LO..HI`` (default -2..2 for floats, -5..5 for ints) and never all zero;
``const`` captures become ``constant`` nodes, other tensor captures graph inputs in order of first appearance.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch

from trt_passes.dsl import ast as A
from trt_passes.dsl.evaluate import Evaluator
from trt_passes.dsl.normal_form import MCapture, MConst, MDefault, MList, MLiteral, MOp, MPattern, MWild
from trt_passes.dsl.rules import Rule
from trt_passes.ir.construct import add_op
from trt_passes.ir.graph import Graph, Provenance, Value
from trt_passes.ir.ops import ArgSpec, OpRegistry
from trt_passes.ir.types import FLOAT_DTYPES, TensorType, torch_dtype


class DomainError(ValueError):
    """The rule's domain cannot produce an example (no domain, a capture without an entry, `_` on a tensor...)."""


class _Draw:
    """Integers and choices from Hypothesis ``data`` or a ``random.Random``."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def int(self, lo: int, hi: int) -> int:
        if isinstance(self.source, random.Random):
            return self.source.randint(lo, hi)
        from hypothesis import strategies as st  # optional: hypothesis is a test dependency, not the engine's

        return self.source.draw(st.integers(lo, hi))

    def choice(self, items: Sequence[Any]) -> Any:
        return items[self.int(0, len(items) - 1)]


def draw_example(rule: Rule, ops: OpRegistry, source: Any) -> tuple[Graph, list[torch.Tensor]]:
    """One example of ``rule``'s left side: ``(graph, input_tensors)``; the graph's output is the root's output 0."""
    if not rule.domains:
        raise DomainError(f"rule {rule.name} ({rule.location}) has no domain"
                          + (f"; untested: {rule.untested_reason}" if rule.untested_reason else ""))
    draw = _Draw(source)
    return _Instantiator(rule, ops, draw, draw.choice(rule.domains)).build()


class _Instantiator:
    def __init__(self, rule: Rule, ops: OpRegistry, draw: _Draw, domain: A.Domain) -> None:
        self.rule, self.ops, self.draw, self.domain = rule, ops, draw, domain
        self.graph = Graph()
        self.env: dict[str, Any] = {}
        self.inputs: list[torch.Tensor] = []
        self.dims: dict[str, int] = {}
        self.dtypes: dict[tuple[str, ...], str] = {}
        self.prov = Provenance(source=f"domain:{rule.name}")
        self._draw_dims_and_dtypes()

    def _draw_dims_and_dtypes(self) -> None:
        # named dims and shared dtypes are drawn up front, in entry order, so every use agrees
        for e in self.domain.entries:
            if isinstance(e, A.DomainTensor):
                key = tuple(sorted(e.dtypes))
                if key not in self.dtypes:
                    self.dtypes[key] = self.draw.choice(e.dtypes)
                for d in e.dims:
                    if isinstance(d, A.DRange) and d.name is not None and d.name not in self.dims:
                        self.dims[d.name] = self.draw.int(d.lo, d.hi)

    def build(self) -> tuple[Graph, list[torch.Tensor]]:
        # examples exercise the pattern as written with its first alternatives (the others are tried as variants)
        root = self.op(self.rule.normal.variants[0])
        outs = self.rule.normal.outputs
        # a multi-output pattern's example exposes every output the rule replaces, so all are compared
        self.graph.set_outputs([root] if outs is None else
                               [Value(root.node, i) for i, name in enumerate(outs) if name is not None])
        return self.graph, self.inputs

    def fail(self, message: str) -> DomainError:
        return DomainError(f"rule {self.rule.name} ({self.rule.location}): {message}")

    # ---- the pattern, as a graph ----------------------------------------------------------------------------------
    def op(self, p: MOp) -> Value:
        values: dict[str, Any] = {a.spec.name: self.sub(a) for a in p.args}
        for a in p.args:  # `_` in attribute positions: filled once siblings are known
            if values[a.spec.name] is _FILL:
                values[a.spec.name] = _filler(a.spec, values)
        nid = add_op(self.graph, self.ops, p.op, values, provenance=self.prov)
        if p.binder is not None:
            self.env[p.binder] = Value(nid)
        return Value(nid)

    def sub(self, p: MPattern) -> Any:
        spec = p.spec
        assert spec is not None
        if isinstance(p, MDefault):
            return p.value
        if isinstance(p, MWild):
            if spec.is_tensor or spec.is_tensor_list:
                raise self.fail(f"`_` for tensor argument '{spec.name}' cannot be instantiated; capture it and "
                                "give it a domain entry")
            return spec.default if spec.has_default else _FILL
        if isinstance(p, MOp):
            return self.op(p)
        if isinstance(p, MConst):  # a 0-d constant, as frontends make them
            v = p.value
            t = torch.tensor(v, dtype=torch.float32 if isinstance(v, float) else torch.int64)
            return Value(self.graph.add_constant(t, repr(v), provenance=Provenance(source=repr(v))))
        if isinstance(p, MLiteral):
            return p.value
        if isinstance(p, MList):
            return [self.sub(i) for i in p.items]
        assert isinstance(p, MCapture), p
        if p.name not in self.env:
            self.env[p.name] = self.capture(p.name)
        return self.env[p.name]

    def capture(self, name: str) -> Any:
        entry = self.domain.entry(name)
        if entry is None:
            raise self.fail(f"the domain gives no value for `{name}`")
        if isinstance(entry, A.DomainValues):
            return Evaluator(_NoTensors(), self.ops.enums()).eval(self.draw.choice(entry.values), {})
        if entry.or_none and self.draw.int(0, 1) == 0:
            return None
        t = self.tensor(entry)
        if entry.const:
            return Value(self.graph.add_constant(t, name, provenance=Provenance(source=name)))
        self.inputs.append(t)
        return Value(self.graph.add_input(name, TensorType.of(t), len(self.inputs) - 1))

    def tensor(self, e: A.DomainTensor) -> torch.Tensor:
        shape = []
        for d in e.dims:
            if isinstance(d, A.DimInt):
                shape.append(d.value)
            elif isinstance(d, A.DimName):
                shape.append(self.dims[d.name])
            elif d.name is not None:
                shape.append(self.dims[d.name])
            else:
                shape.append(self.draw.int(d.lo, d.hi))
        dtype = self.dtypes[tuple(sorted(e.dtypes))]
        return random_tensor(tuple(shape), dtype, e.value_range, self.draw.int(0, 2**31 - 1))


_FILL = object()


def _filler(spec: ArgSpec, values: dict[str, Any]) -> Any:
    """A value for `_` in an attribute without a default: zeros of the argument's type (a list as long as the
    longest sibling list, e.g. convolution's output_padding next to its stride)."""
    base = spec.type.rstrip("?")
    if base.endswith("[]"):
        n = max((len(v) for v in values.values() if isinstance(v, list) and v is not _FILL), default=0)
        return [0] * n
    if spec.is_optional:
        return None
    return {"int": 0, "float": 0.0, "bool": False, "Scalar": 0}.get(base)


def random_tensor(shape: tuple[int, ...], dtype: str, value_range: tuple[float, float] | None,
                  seed: int) -> torch.Tensor:
    """Uniform values in ``value_range`` from ``seed``; never all zero (a zero tensor hides most bugs)."""
    gen = torch.Generator().manual_seed(seed)
    if dtype == "bool":
        t = torch.rand(shape, generator=gen, dtype=torch.float64) < 0.5
        if t.numel() and not t.any():
            t.view(-1)[0] = True
        return t
    if dtype in FLOAT_DTYPES:
        lo, hi = value_range if value_range is not None else (-2.0, 2.0)
        t = torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo
    else:
        lo, hi = value_range if value_range is not None else ((0, 10) if dtype == "u8" else (-5, 5))
        t = torch.randint(int(lo), int(hi) + 1, shape, generator=gen, dtype=torch.int64).to(torch.float64)
    t = t.to(torch_dtype(dtype))
    if t.numel() and not t.bool().any():
        nonzero = hi if hi != 0 else lo
        t.view(-1)[0] = nonzero if nonzero != 0 else 1
    return t


class _NoTensors:
    """Context for evaluating domain literals: they mention no tensors."""

    def tensor_type(self, x: Any) -> TensorType:
        raise DomainError("domain values cannot refer to tensors")

    def constant_value(self, x: Any) -> torch.Tensor | None:
        return None

    def use_count(self, x: Any) -> int:
        raise DomainError("domain values cannot refer to tensors")


def widen_to_f64(graph: Graph, inputs: Sequence[torch.Tensor], ops: OpRegistry) -> tuple[Graph, list[torch.Tensor]]:
    """A copy of an example graph computing in float64: floating inputs and constants are widened and every op's
    output types re-inferred. Property tests use it as the reference the rewritten graph is compared against."""
    g = graph.copy()
    for nid in g.topo_order():
        n = g.node(nid)
        if n.op == "input" and n.outputs[0].dtype in FLOAT_DTYPES:
            g.replace_node(nid, outputs=(TensorType("f64", n.outputs[0].shape),))
        elif n.op == "constant" and n.value is not None and n.outputs[0].dtype in FLOAT_DTYPES:
            v = n.value.double()
            g.replace_node(nid, value=v, outputs=(TensorType.of(v),))
        elif n.op not in ("input", "constant", "output", "segment"):
            args = {k: g.resolve(nid, a) for k, a in n.attrs.items()}
            typed = {k: _types_of(g, v) for k, v in args.items()}
            g.replace_node(nid, outputs=tuple(ops.infer(n.op, typed)))
    return g, [t.double() if t.is_floating_point() else t for t in inputs]


def _types_of(g: Graph, v: Any) -> Any:
    if isinstance(v, Value):
        return g.type(v)
    if isinstance(v, (list, tuple)) and any(isinstance(x, Value) for x in v):
        return [_types_of(g, x) for x in v]
    return v
