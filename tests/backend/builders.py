"""Test helpers: run a ``trt.*`` op through the dialect, and build small TensorRT-dialect IR graphs."""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from trt_passes.backend.dialect import trt_dialect
from trt_passes.ir.graph import Graph, Provenance, Slot, Value
from trt_passes.ir.types import TensorType

DIALECT = trt_dialect()


def _types(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return TensorType.of(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
        return [TensorType.of(v) for v in value]
    return value


def run(name: str, /, **args: Any) -> tuple[torch.Tensor, ...]:
    """Evaluate op ``name`` with the reference runtime and check that meta inference predicts the result's types."""
    outs = DIALECT.evaluate(name, args)
    inferred = DIALECT.infer(name, {k: _types(v) for k, v in args.items()})
    assert inferred == tuple(TensorType.of(o) for o in outs), f"{name}: meta inference {inferred} disagrees with " \
        f"the real result {[TensorType.of(o) for o in outs]}"
    return outs


@st.composite
def tensors(draw: st.DrawFn, shape: tuple[int, ...], dtype: torch.dtype = torch.float64, lo: float = -3.0,
            hi: float = 3.0) -> torch.Tensor:
    """A random tensor from a drawn seed; never all zeros (an all-zero input hides most wrong formulas)."""
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    if dtype == torch.bool:
        t = torch.rand(shape, generator=g) < 0.5
        if t.numel():
            t.view(-1)[0] = True
        return t
    if not dtype.is_floating_point:
        t = torch.randint(int(lo), int(hi) + 1, shape, generator=g, dtype=dtype)
        if t.numel() and not t.any() and (lo or hi):  # only a [0, 0] range must give zeros
            t.view(-1)[0] = int(hi) or int(lo)
        return t
    t = (torch.rand(shape, generator=g, dtype=torch.float64) * (hi - lo) + lo).to(dtype)
    if t.numel() and not t.any():
        t.view(-1)[0] = hi
    return t


def shapes(min_dims: int = 1, max_dims: int = 4, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy:
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


class TrtGraph:
    """Builds a TensorRT-dialect graph the way the rewriter does: every schema argument in ``attrs``, output types
    from the dialect's inference (unless a test plants others)."""

    def __init__(self) -> None:
        self.g = Graph()
        self._inputs = 0

    def input(self, name: str, dtype: str, shape: tuple[int, ...]) -> Value:
        nid = self.g.add_input(name, TensorType(dtype, shape), self._inputs)
        self._inputs += 1
        return Value(nid)

    def const(self, value: torch.Tensor, name: str = "w") -> Value:
        return Value(self.g.add_constant(value, name))

    def op(self, name: str, /, *tensors: Any, rule: str = "test_rule", location: str = "spec/test.rw:1",
           source: str = "node", outputs: list[TensorType] | None = None, **attrs: Any) -> Value:
        schema = DIALECT.schema(name)
        assert schema is not None
        inputs: list[Value] = []
        full: dict[str, Any] = {}
        types: dict[str, Any] = {}
        remaining = list(tensors)
        for spec in schema.args:
            if spec.is_tensor_list:
                values = remaining.pop(0)
                full[spec.name] = tuple(Slot(len(inputs) + i) for i in range(len(values)))
                types[spec.name] = [self.g.type(v) for v in values]
                inputs.extend(values)
            elif spec.is_tensor:
                v = remaining.pop(0) if remaining else None
                if v is None:
                    full[spec.name] = types[spec.name] = None
                else:
                    full[spec.name] = Slot(len(inputs))
                    types[spec.name] = self.g.type(v)
                    inputs.append(v)
            else:
                full[spec.name] = attrs.pop(spec.name, spec.default)
        assert not attrs and not remaining, (attrs, remaining)
        if outputs is None:
            outputs = list(DIALECT.infer(name, {k: types.get(k, v) for k, v in full.items()}))
        nid = self.g.add(name, inputs, full, outputs, Provenance(source=source, rule=rule, location=location))
        return Value(nid)

    def outputs(self, *values: Value) -> Graph:
        self.g.set_outputs(list(values))
        return self.g
