"""What a compiled program takes, recorded on it when it is built, so it can be saved without example inputs.

The runtime program's placeholders are the IR graph's inputs: the model's tensor leaves, flattened in call order.
:class:`ProgramInputs` keeps their names and types (dims ints or symbols), the symbols' ranges and the model's
``forward`` signature; :func:`trt_passes.save` re-exports the program from it (``retrace=False``, or no inputs
given) and checks inputs that are given against it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx

from trt_passes.inputs import Input
from trt_passes.ir import Graph
from trt_passes.ir.symbolic import SymbolicError, SymbolRange, SymDim, dim_at, fold
from trt_passes.ir.types import TensorType, torch_dtype

META_KEY = "trt_passes_inputs"
"""The key of :class:`ProgramInputs` in a runtime program's ``GraphModule.meta``."""


@dataclass(frozen=True)
class ProgramInputs:
    names: tuple[str, ...]
    types: tuple[TensorType, ...]
    symbols: Mapping[str, SymbolRange] = field(default_factory=dict)
    signature: inspect.Signature | None = None
    """The model's ``forward`` signature (binds inputs given at save the way the model was called)."""

    @staticmethod
    def of(graph: Graph) -> ProgramInputs:
        nodes = [graph.node(n) for n in graph.graph_inputs()]
        return ProgramInputs(tuple(n.name for n in nodes), tuple(n.type for n in nodes),
                             dict(graph.meta.get("symbols", {})), graph.meta.get("call_signature"))

    def describe(self) -> str:
        """``x: f32[s0, 8], mask: f32[s0, 8]``."""
        return ", ".join(f"{n}: {t}" for n, t in zip(self.names, self.types))

    def specs(self) -> list[Input]:
        """One :class:`Input` per tensor input: its shape, or the min/opt/max its symbols' ranges give."""
        specs = []
        for name, t in zip(self.names, self.types):
            dtype = torch_dtype(t.dtype)
            if t.is_static:
                specs.append(Input(tuple(int(d) for d in t.shape), dtype, name=name))
                continue
            lo, opt, hi = (tuple(dim_at(d, self.symbols, which) for d in t.shape) for which in ("min", "opt", "max"))
            specs.append(Input(dtype=dtype, min_shape=lo, opt_shape=opt, max_shape=hi, name=name))
        return specs

    def export_dynamic_shapes(self) -> tuple[dict[int, Any] | None, ...] | None:
        """``torch.export``'s ``dynamic_shapes`` for the program's inputs: one ``Dim`` per symbol, with its range,
        shared by every dim it sizes (a dim that is an expression of symbols is that expression of their Dims)."""
        dims: dict[str, Any] = {}
        for name in sorted({s for t in self.types for d in t.shape if isinstance(d, SymDim) for s in d.symbols}):
            r = self.symbols.get(name)
            if r is None:
                raise SymbolicError(f"input size {name} has no range; save with inputs=[...] describing it")
            dims[name] = torch.export.Dim(name, min=r.min, max=r.max) if r.max is not None else torch.export.Dim(
                name, min=r.min)
        if not dims:
            return None
        out: list[dict[int, Any] | None] = []
        for name, t in zip(self.names, self.types):
            axes = {}
            for axis, d in enumerate(t.shape):
                if isinstance(d, SymDim):
                    try:
                        axes[axis] = fold(d, dims)
                    except (TypeError, SymbolicError) as e:
                        raise SymbolicError(f"input {name!r} axis {axis} has size {d}, which torch.export cannot "
                                            f"express ({e}); save with inputs=[...]") from None
            out.append(axes or None)
        return tuple(out)

    def check(self, tensors: Sequence[torch.Tensor]) -> None:
        """Inputs given at save must be the program's: as many tensors, each of its dtype, rank and static sizes."""
        if len(tensors) != len(self.types):
            raise ValueError(f"the compiled program takes {len(self.types)} tensors ({self.describe()}); the inputs "
                             f"given have {len(tensors)}")
        for i, (name, t, x) in enumerate(zip(self.names, self.types, tensors)):
            if x.dtype != torch_dtype(t.dtype) or not t.admits_shape(x.shape):
                raise ValueError(f"input {i} ({name!r}) of the compiled program is {t}; the input given for it is "
                                 f"{str(x.dtype).removeprefix('torch.')} of shape {tuple(x.shape)}")


def record_program_inputs(program: torch.fx.GraphModule, graph: Graph) -> None:
    program.meta[META_KEY] = ProgramInputs.of(graph)


def program_inputs(program: torch.fx.GraphModule) -> ProgramInputs | None:
    found = getattr(program, "meta", {}).get(META_KEY)
    return found if isinstance(found, ProgramInputs) else None


__all__ = ["META_KEY", "ProgramInputs", "program_inputs", "record_program_inputs"]
