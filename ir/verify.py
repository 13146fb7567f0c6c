"""Structural checks of a graph; each problem is reported with the node it concerns."""

from __future__ import annotations

import networkx as nx
import torch

from trt_passes.ir.graph import Graph, GraphError, Node, Slot
from trt_passes.ir.types import DTYPE_NAMES, TensorType


def _slots_in(value: object) -> list[int]:
    if isinstance(value, Slot):
        return [value.index]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _slots_in(v)]
    return []


def verify(g: Graph) -> None:
    """Raise :class:`GraphError` listing every structural problem of ``g`` (and of nested segment bodies).

    It runs after every pass, so it reads networkx's adjacency directly and builds messages only for problems."""
    problems: list[str] = []
    if not nx.is_directed_acyclic_graph(g.nx):
        problems.append("graph has a cycle")
    nodes: dict[int, Node] = dict(g.nx.nodes(data="node"))
    outputs = [nid for nid, n in nodes.items() if n.op == "output"]
    if len(outputs) != 1:
        problems.append(f"{len(outputs)} output nodes, wants 1")
    indexes = sorted(n.attrs.get("index", -1) for n in nodes.values() if n.op == "input")
    if indexes != list(range(len(indexes))):
        problems.append(f"input indexes {indexes} are not 0..{len(indexes) - 1}")
    pred = g.nx.pred
    for nid in sorted(nodes):
        node = nodes[nid]
        slots: list[int] = []
        for src, keyed in pred[nid].items():
            produced = len(nodes[src].outputs)
            for key, data in keyed.items():
                slots.append(key)
                if data["index"] >= produced:
                    problems.append(f"{_where(node)}: reads output {data['index']} of %{src}, which has {produced}")
        slots.sort()
        if slots != list(range(len(slots))):
            problems.append(f"{_where(node)}: input slots {slots} are not contiguous")
        if not all(isinstance(t, TensorType) for t in node.outputs):
            problems.append(f"{_where(node)}: outputs are not TensorTypes")
        if node.op == "constant":
            value = node.value
            if value is None:
                problems.append(f"{_where(node)}: constant without a value")
            elif not _has_type(value, node.outputs[0]):
                problems.append(f"{_where(node)}: value is {TensorType.of(value)}, type says {node.outputs[0]}")
        elif node.op not in ("input", "output", "segment"):
            used = sorted(s for v in node.attrs.values() for s in _slots_in(v))
            if used != slots:
                problems.append(f"{_where(node)}: attrs reference slots {used}, edges feed {slots}")
        if node.op == "segment":
            body = node.attrs.get("body")
            if not isinstance(body, Graph):
                problems.append(f"{_where(node)}: segment without a body graph")
            else:
                try:
                    verify(body)
                except GraphError as e:
                    problems.append(f"{_where(node)}: body: {e}")
    if problems:
        raise GraphError("; ".join(problems))


def _where(node: Node) -> str:
    return f"%{node.id} ({node.op})"


def _has_type(value: torch.Tensor, t: TensorType) -> bool:
    """``TensorType.of(value) == t``, without building the type for the (common) static case."""
    if t.is_static:
        return DTYPE_NAMES.get(value.dtype) == t.dtype and tuple(value.shape) == t.shape
    return TensorType.of(value) == t
