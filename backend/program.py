"""Turn a (partitioned) IR graph into a runnable ``torch.fx.GraphModule``.

* ``input``    -> placeholders, in input-index order, named as in the graph;
* ``constant`` -> a buffer holding the constant's own tensor (no copy here, even for ``nn.Parameter`` s: the driver
  hands over a graph whose constants are already the program's copies, :mod:`~trt_passes.backend.snapshot`) and
  ``get_attr``;
* ATen nodes  -> ``call_function(torch.ops.aten...)`` with the schema arguments rebuilt from ``attrs``; library ops
  (custom ops, torchvision's) the same way, calling ``torch.ops.NAMESPACE...``;
* ``segment``  -> ``call_module`` on its :class:`~trt_passes.backend.segment_module.SegmentModule`;
* multi-output producers are read through ``operator.getitem`` (the IR has none, FX needs them);
* ``output``   -> one flat tuple of the graph's outputs (a frontend restores the model's structure).

The program takes and returns flat tensors only, so the backend never needs to know which frontend made the graph.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.fx

from trt_passes.ir.aten import aten_dialect, executable_overload
from trt_passes.ir.graph import Graph, GraphError, Node, Slot, Value
from trt_passes.ir.library_ops import library_dialect, library_overload
from trt_passes.ir.ops import ArgSpec
from trt_passes.ir.symbolic import Arithmetic, SymDim, fold
from trt_passes.ir.types import torch_dtype

_DTYPE_TYPES = ("ScalarType", "ScalarType?")


def build_program(graph: Graph, segments: Mapping[int, torch.nn.Module] | None = None) -> torch.fx.GraphModule:
    """A GraphModule computing ``graph``; ``segments`` maps each ``segment`` node id to the module that runs it."""
    return _Builder(graph, dict(segments or {})).build()


def _identifier(text: str, fallback: str) -> str:
    name = re.sub(r"\W", "_", text).strip("_")
    if not name:
        name = fallback
    return name if not name[0].isdigit() else f"_{name}"


class _Builder:
    def __init__(self, graph: Graph, segments: dict[int, torch.nn.Module]) -> None:
        self.g = graph
        self.segments = segments
        self.fx = torch.fx.Graph()
        self.attrs: dict[str, Any] = {}
        # (node id) -> the FX node computing it; for multi-output nodes the FX node yields a tuple.
        self.produced: dict[int, torch.fx.Node] = {}
        self.items: dict[Value, torch.fx.Node] = {}
        self.multi: set[int] = set()
        self.sizes: dict[str, torch.fx.Node] = {}

    def build(self) -> torch.fx.GraphModule:
        for nid in self.g.graph_inputs():
            node = self.g.node(nid)
            self._record(node, self.fx.placeholder(_identifier(node.name, f"input_{node.attrs['index']}")))
        for node in self.g.nodes():
            if node.op == "input":
                continue
            if node.op == "constant":
                self._constant(node)
            elif node.op == "output":
                self.fx.output(tuple(self._value(v) for v in self.g.inputs(node.id)))
            elif node.op == "segment":
                self._segment(node)
            elif node.op.startswith("aten.") or library_overload(node.op) is not None:
                self._torch_op(node)
            else:
                raise GraphError(f"%{node.id} ({node.op}) {node.provenance.describe()}: only torch ops (ATen's, "
                                 "libraries') and segments can run outside a segment")
        self.fx.lint()
        gm = torch.fx.GraphModule(self.attrs, self.fx, class_name="TrtPassesProgram")
        # GraphModule installs nn.Parameter attributes as parameters; a compiled program has no trainable state, so
        # every constant becomes a buffer (the same tensor object as the graph's constant, never copied here).
        for target, value in self.attrs.items():
            if isinstance(value, torch.nn.Parameter):
                delattr(gm, target)
                gm.register_buffer(target, value)
        return gm

    # ---- values ---------------------------------------------------------------------------------------------
    def _record(self, node: Node, fx_node: torch.fx.Node, multi: bool = False) -> None:
        fx_node.meta["ir_node"] = node.id
        if node.provenance.source:
            fx_node.meta["ir_source"] = node.provenance.source
        self.produced[node.id] = fx_node
        if multi:
            self.multi.add(node.id)

    def _value(self, v: Value) -> torch.fx.Node:
        """The FX node carrying ``v``; getitems are made on first use, right before their first reader."""
        if v.node not in self.multi:
            return self.produced[v.node]
        if v not in self.items:
            self.items[v] = self.fx.call_function(operator.getitem, (self.produced[v.node], v.index))
        return self.items[v]

    def _size(self, d: SymDim) -> torch.fx.Node:
        """A run-time size: ``aten.sym_size`` of the graph input that has the symbol as a dim, and Python
        arithmetic on those, as ``torch.export`` writes them (so the program exports again with the same dims)."""
        if d not in self.sizes:
            self.sizes[d] = fold(d, {}, _FxArithmetic(self))
        return self.sizes[d]

    def symbol(self, name: str) -> torch.fx.Node | None:
        """The size ``name`` read off the first value that has it as a dim: a graph input, or (for a data-dependent
        size such as nonzero's row count) the output of the node that made it."""
        for nid in [*self.g.graph_inputs(), *self.produced]:
            for index, t in enumerate(self.g.node(nid).outputs):
                for axis, dim in enumerate(t.shape):
                    if isinstance(dim, SymDim) and dim == name:
                        source = self._value(Value(nid, index))
                        return self.fx.call_function(torch.ops.aten.sym_size.int, (source, axis))
        return None

    def _unique(self, base: str) -> str:
        """``base`` or ``base_k``: a name no other attribute has, nor any attribute of a GraphModule (a constant
        folded from torch.export's node ``to`` must not shadow ``Module.to``)."""
        name, k = base, 1
        while name in self.attrs or hasattr(torch.fx.GraphModule, name):
            name, k = f"{base}_{k}", k + 1
        return name

    # ---- nodes ----------------------------------------------------------------------------------------------
    def _constant(self, node: Node) -> None:
        if node.value is None:
            raise GraphError(f"%{node.id}: constant without a value")
        target = self._unique(_identifier(node.name, f"const_{node.id}"))
        self.attrs[target] = node.value
        self._record(node, self.fx.get_attr(target))

    def _segment(self, node: Node) -> None:
        module = self.segments.get(node.id)
        if module is None:
            raise GraphError(f"%{node.id}: no module given for this segment (have {sorted(self.segments)})")
        name = getattr(module, "name", "") or f"segment_{node.id}"
        target = self._unique(_identifier(name, f"segment_{node.id}"))
        self.attrs[target] = module
        args = tuple(self._value(v) for v in self.g.inputs(node.id))
        # A SegmentModule always returns a tuple, so even one output is read through getitem.
        self._record(node, self.fx.call_module(target, args), multi=True)

    def _torch_op(self, node: Node) -> None:
        if node.op.startswith("aten."):
            overload, schema = executable_overload(node.op), aten_dialect().schema(node.op)
        else:
            overload, schema = library_overload(node.op), library_dialect().schema(node.op)
        if overload is None or schema is None:
            raise GraphError(f"%{node.id}: unknown op {node.op}")
        inputs = self.g.inputs(node.id)
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for spec in schema.args:
            value = self._arg(spec, node.attrs[spec.name] if spec.name in node.attrs else spec.default, inputs)
            if spec.kwarg_only:
                kwargs[spec.name] = value
            else:
                args.append(value)
        multi = len(schema.returns) > 1 or any(r.endswith("[]") for r in schema.returns)
        if multi and len(schema.returns) > 1 and any(r != "Tensor" for r in schema.returns):
            raise GraphError(f"%{node.id}: {node.op} returns {schema.returns}; mixed tensor/list returns are not "
                             "supported")
        self._record(node, self.fx.call_function(overload, tuple(args), kwargs), multi=multi)

    def _arg(self, spec: ArgSpec, value: Any, inputs: list[Value]) -> Any:
        if isinstance(value, Slot):
            return self._value(inputs[value.index])
        if isinstance(value, SymDim):
            return self._size(value)
        if isinstance(value, (list, tuple)):
            return [self._arg(spec, v, inputs) for v in value]
        if spec.type in _DTYPE_TYPES and isinstance(value, str):
            return torch_dtype(value)
        return value


class _FxArithmetic(Arithmetic):
    """Size expressions as FX nodes calling Python's operators on SymInts."""

    def __init__(self, builder: _Builder) -> None:
        self.b = builder

    def symbol(self, name: str) -> Any:
        return self.b.symbol(name)

    def binary(self, op: type, a: Any, b: Any) -> Any:
        return self.b.fx.call_function(_FX_OPS[op], (a, b))

    def neg(self, a: Any) -> Any:
        return self.b.fx.call_function(operator.neg, (a,))

    def extreme(self, name: str, items: list[Any]) -> Any:
        out = items[0]
        for x in items[1:]:
            out = self.b.fx.call_function(torch.sym_max if name == "Max" else torch.sym_min, (out, x))
        return out


_FX_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
           ast.Mod: operator.mod}
