"""Structural checks of a graph; each problem is reported with the node it concerns."""

from __future__ import annotations

import networkx as nx

from trt_passes.ir.graph import Graph, GraphError, Slot
from trt_passes.ir.types import TensorType


def _slots_in(value: object) -> list[int]:
    if isinstance(value, Slot):
        return [value.index]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _slots_in(v)]
    return []


def verify(g: Graph) -> None:
    """Raise :class:`GraphError` listing every structural problem of ``g`` (and of nested segment bodies)."""
    problems: list[str] = []
    if not nx.is_directed_acyclic_graph(g.nx):
        problems.append("graph has a cycle")
    outputs = [n.id for n in g.all_nodes() if n.op == "output"]
    if len(outputs) != 1:
        problems.append(f"{len(outputs)} output nodes, wants 1")
    indexes = sorted(g.node(i).attrs.get("index", -1) for i in g.graph_inputs())
    if indexes != list(range(len(indexes))):
        problems.append(f"input indexes {indexes} are not 0..{len(indexes) - 1}")
    for node in g.all_nodes():
        where = f"%{node.id} ({node.op})"
        slots = sorted(key for _, _, key in g.nx.in_edges(node.id, keys=True))
        if slots != list(range(len(slots))):
            problems.append(f"{where}: input slots {slots} are not contiguous")
        for src, _, idx in g.nx.in_edges(node.id, data="index"):
            if idx >= len(g.node(src).outputs):
                problems.append(f"{where}: reads output {idx} of %{src}, which has {len(g.node(src).outputs)}")
        if not all(isinstance(t, TensorType) for t in node.outputs):
            problems.append(f"{where}: outputs are not TensorTypes")
        if node.op == "constant":
            if node.value is None:
                problems.append(f"{where}: constant without a value")
            elif TensorType.of(node.value) != node.outputs[0]:
                problems.append(f"{where}: value is {TensorType.of(node.value)}, type says {node.outputs[0]}")
        elif node.op not in ("input", "output", "segment"):
            used = sorted(s for v in node.attrs.values() for s in _slots_in(v))
            if used != slots:
                problems.append(f"{where}: attrs reference slots {used}, edges feed {slots}")
        if node.op == "segment":
            body = node.attrs.get("body")
            if not isinstance(body, Graph):
                problems.append(f"{where}: segment without a body graph")
            else:
                try:
                    verify(body)
                except GraphError as e:
                    problems.append(f"{where}: body: {e}")
    if problems:
        raise GraphError("; ".join(problems))
