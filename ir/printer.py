"""Readable text form of a graph, one node a line in topological order.

    %3: f32[1, 64, 112, 112] = aten.convolution.default(input=%0, weight=%1, bias=None, stride=[2, 2], ...)
"""

from __future__ import annotations

from typing import Any

import torch

from trt_passes.ir.graph import Graph, Node, Slot
from trt_passes.ir.symbolic import SymDim


def format_attr(g: Graph, node: Node, value: Any) -> str:
    if isinstance(value, Slot):
        return str(g.input(node.id, value.index))
    if isinstance(value, Graph):
        return f"<graph of {len(value)} nodes>"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_attr(g, node, v) for v in value) + "]"
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "")
    if isinstance(value, SymDim):
        return str(value)  # a size expression, printed as in tensor types
    if hasattr(value, "name") and type(value).__module__.startswith("trt_passes"):
        return f"{type(value).__name__}.{value.name}"  # dialect enums
    return repr(value)


def format_node(g: Graph, node: Node, *, provenance: bool = True) -> str:
    types = ", ".join(str(t) for t in node.outputs)
    lhs = f"%{node.id}: {types}" if node.outputs else f"%{node.id}"
    if node.op == "input":
        body = f"input {node.name!r} #{node.attrs['index']}"
    elif node.op == "constant":
        body = f"constant {node.name!r}" if node.name else "constant"
        if node.value is not None and node.value.numel() == 1:
            body += f" = {node.value.item()!r}"
    elif node.op == "output":
        return "return (" + ", ".join(str(v) for v in g.inputs(node.id)) + ")"
    else:
        args = ", ".join(f"{k}={format_attr(g, node, v)}" for k, v in node.attrs.items())
        body = f"{node.op}({args})"
    line = f"{lhs} = {body}"
    if provenance:
        where = node.provenance.describe()
        if where:
            line += f"  # {where}"
    return line


def format_graph(g: Graph, *, provenance: bool = True, indent: str = "  ") -> str:
    ins = [g.node(i) for i in g.graph_inputs()]
    head = "graph(" + ", ".join(f"%{n.id}: {n.type}" for n in ins) + ") {"
    lines = [head]
    for node in g.nodes():
        if node.op == "input":
            continue
        lines.append(indent + format_node(g, node, provenance=provenance))
        if node.op == "segment":
            body = format_graph(node.attrs["body"], provenance=provenance, indent=indent * 2)
            lines.extend(indent + ln for ln in body.splitlines())
    lines.append("}")
    return "\n".join(lines)
