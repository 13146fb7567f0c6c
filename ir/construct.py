"""Adding a fully formed op node to a graph from named arguments: attrs in schema order with defaults filled, tensor
arguments as :class:`Slot` markers, output types from the catalogue. The DSL's domain sampler builds left sides
with it; tests build graphs with it."""

from __future__ import annotations

from typing import Any

from trt_passes.ir.graph import Graph, Provenance, Slot, Value
from trt_passes.ir.ops import OpRegistry, SchemaBindError


def add_op(graph: Graph, ops: OpRegistry, op: str, args: dict[str, Any] | None = None,
           provenance: Provenance | None = None) -> int:
    """``add_op(g, ops, "aten.add.Tensor", {"self": Value(x), "other": Value(y)})``; unknown names are an error."""
    schema = ops.schema(op)
    try:
        bound = schema.bind((), args or {})
    except SchemaBindError as e:
        raise TypeError(str(e)) from None
    inputs: list[Value] = []
    attrs: dict[str, Any] = {}
    infer_args: dict[str, Any] = {}
    for spec in schema.args:
        v = bound[spec.name]
        if spec.is_tensor_list and isinstance(v, (list, tuple)):
            slots: list[Slot | None] = []
            for x in v:  # `Tensor?[]` items may be absent
                slots.append(None if x is None else Slot(len(inputs)))
                if x is not None:
                    inputs.append(x)
            attrs[spec.name] = tuple(slots)
            infer_args[spec.name] = [None if x is None else graph.type(x) for x in v]
        elif spec.is_tensor and isinstance(v, Value):
            attrs[spec.name] = Slot(len(inputs))
            inputs.append(v)
            infer_args[spec.name] = graph.type(v)
        else:
            attrs[spec.name] = infer_args[spec.name] = v
    outputs = ops.infer(op, infer_args)
    return graph.add(op, inputs, attrs, outputs, provenance=provenance)
