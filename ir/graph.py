"""The shared IR: a dataflow graph of typed tensor values on a ``networkx.MultiDiGraph``.

Schema
------
* A **node** is a :class:`Node` stored under the networkx node key ``id`` (an int, never reused, so ids are stable
  and give a deterministic order). Its ``op`` is fully qualified: an ATen overload (``aten.convolution.default``),
  a TensorRT dialect op (``trt.convolution``), or one of the structural ops below.
* ``attrs`` holds **every argument of the op's schema by name, in schema order, with defaults filled in**. A tensor
  argument is held as a :class:`Slot` marker naming the input slot that feeds it (a ``Tensor[]`` argument is a tuple of
  slots, an absent optional tensor is ``None``), so the full argument list can be rebuilt without guessing.
* ``outputs`` is one :class:`TensorType` per output of the op.
* ``provenance`` says where the node came from: the model's source node and, for nodes a rule created, the rule with
  its ``.rw`` file:line.
* An **edge** ``producer -> consumer`` has key = the consumer's input slot and data ``index`` = the producer's output
  index. Each slot of a node has exactly one edge.

Structural ops
--------------
``input``     a graph input; ``attrs["index"]`` is its position, ``name`` its user-visible name.
``constant``  a tensor known at compile time; ``value`` holds it **by reference** (weights are never copied).
``output``    the single sink; its input slots, in order, are the graph's results.
``segment``   a partition to run elsewhere; ``attrs["body"]`` is a nested :class:`Graph` whose inputs are the
              segment's input slots and whose outputs are the segment's outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import torch

from trt_passes.ir.symbolic import SymDim
from trt_passes.ir.types import TensorType

STRUCTURAL_OPS = frozenset({"input", "constant", "output", "segment"})


@dataclass(frozen=True, order=True)
class Value:
    """Output ``index`` of node ``node``."""

    node: int
    index: int = 0

    def __str__(self) -> str:
        return f"%{self.node}" if self.index == 0 else f"%{self.node}.{self.index}"


@dataclass(frozen=True)
class Slot:
    """Stands, inside ``Node.attrs``, for the tensor arriving at input slot ``index``."""

    index: int


@dataclass(frozen=True)
class Provenance:
    """Where a node came from.

    ``source`` is the model's node (an FX node name) the node descends from; ``rule``/``location``/``ruleset`` name
    the ``.rw`` rule that created it; ``replaced`` lists the ids of the nodes that rule matched.
    """

    source: str | None = None
    rule: str | None = None
    location: str | None = None
    ruleset: str | None = None
    replaced: tuple[int, ...] = ()

    def describe(self) -> str:
        parts = []
        if self.source:
            parts.append(f"from {self.source}")
        if self.rule:
            parts.append(f"by {self.rule}" + (f" @ {self.location}" if self.location else ""))
        return " ".join(parts)


@dataclass
class Node:
    id: int
    op: str
    attrs: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[TensorType, ...] = ()
    provenance: Provenance = field(default_factory=Provenance)
    value: torch.Tensor | None = None
    name: str = ""

    @property
    def type(self) -> TensorType:
        """The type of the single output (an error for multi-output nodes)."""
        if len(self.outputs) != 1:
            raise ValueError(f"node %{self.id} ({self.op}) has {len(self.outputs)} outputs")
        return self.outputs[0]


class GraphError(ValueError):
    """A malformed graph, found by :meth:`Graph.verify` or an API misuse."""


class Graph:
    """A typed dataflow graph. Small API; everything else is a pass."""

    def __init__(self) -> None:
        self.nx: nx.MultiDiGraph = nx.MultiDiGraph()
        self.meta: dict[str, Any] = {}
        self._next_id = 0

    # ---- building -------------------------------------------------------------------------------------------
    def add(
        self,
        op: str,
        inputs: Sequence[Value] = (),
        attrs: dict[str, Any] | None = None,
        outputs: Sequence[TensorType] = (),
        provenance: Provenance | None = None,
        value: torch.Tensor | None = None,
        name: str = "",
    ) -> int:
        nid = self._next_id
        self._next_id += 1
        node = Node(nid, op, dict(attrs or {}), tuple(outputs), provenance or Provenance(), value, name)
        self.nx.add_node(nid, node=node)
        for slot, v in enumerate(inputs):
            self._connect(v, nid, slot)
        return nid

    def add_input(self, name: str, type: TensorType, index: int, source: str | None = None) -> int:
        return self.add("input", attrs={"index": index}, outputs=[type], name=name,
                        provenance=Provenance(source=source or name))

    def add_constant(self, value: torch.Tensor, name: str = "", provenance: Provenance | None = None) -> int:
        return self.add("constant", outputs=[TensorType.of(value)], value=value, name=name,
                        provenance=provenance or Provenance(source=name or None))

    def set_outputs(self, values: Sequence[Value]) -> int:
        if any(n.op == "output" for n in self.all_nodes()):
            raise GraphError("graph already has an output node")
        return self.add("output", inputs=values)

    def _connect(self, v: Value, consumer: int, slot: int) -> None:
        if v.node not in self.nx:
            raise GraphError(f"input {v} of %{consumer} is not in the graph")
        if v.index >= len(self.node(v.node).outputs):
            raise GraphError(f"{v} does not exist: %{v.node} has {len(self.node(v.node).outputs)} outputs")
        self.nx.add_edge(v.node, consumer, key=slot, index=v.index)

    # ---- reading --------------------------------------------------------------------------------------------
    def node(self, nid: int) -> Node:
        try:
            return self.nx.nodes[nid]["node"]
        except KeyError:
            raise GraphError(f"no node %{nid}") from None

    def __contains__(self, nid: int) -> bool:
        return nid in self.nx

    def __len__(self) -> int:
        return self.nx.number_of_nodes()

    def all_nodes(self) -> Iterator[Node]:
        """Nodes in id order (not topological)."""
        for nid in sorted(self.nx.nodes):
            yield self.node(nid)

    def topo_order(self) -> list[int]:
        """Deterministic topological order: among ready nodes, the smallest id first."""
        return list(nx.lexicographical_topological_sort(self.nx, key=lambda n: n))

    def nodes(self) -> Iterator[Node]:
        """Nodes in deterministic topological order."""
        for nid in self.topo_order():
            yield self.node(nid)

    def inputs(self, nid: int) -> list[Value]:
        """The values feeding ``nid``, by slot."""
        edges = sorted(self.nx.in_edges(nid, keys=True, data="index"), key=lambda e: e[2])
        return [Value(src, idx) for src, _, _, idx in edges]

    def input(self, nid: int, slot: int) -> Value:
        for src, _, key, idx in self.nx.in_edges(nid, keys=True, data="index"):
            if key == slot:
                return Value(src, idx)
        raise GraphError(f"%{nid} has no input slot {slot}")

    def arg(self, nid: int, name: str) -> Any:
        """Argument ``name`` of a node with slots resolved to :class:`Value` s."""
        return self.resolve(nid, self.node(nid).attrs[name])

    def resolve(self, nid: int, attr: Any) -> Any:
        if isinstance(attr, Slot):
            return self.input(nid, attr.index)
        if isinstance(attr, (list, tuple)) and any(isinstance(a, Slot) for a in attr):
            return type(attr)(self.resolve(nid, a) for a in attr)
        return attr

    def uses(self, v: Value) -> list[tuple[int, int]]:
        """(consumer, slot) pairs reading ``v``, sorted."""
        return sorted((dst, key) for _, dst, key, idx in self.nx.out_edges(v.node, keys=True, data="index")
                      if idx == v.index)

    def users(self, nid: int) -> list[int]:
        return sorted(set(self.nx.successors(nid)))

    def type(self, v: Value) -> TensorType:
        return self.node(v.node).outputs[v.index]

    def graph_inputs(self) -> list[int]:
        return sorted((n.id for n in self.all_nodes() if n.op == "input"), key=lambda i: self.node(i).attrs["index"])

    def output_node(self) -> int:
        outs = [n.id for n in self.all_nodes() if n.op == "output"]
        if len(outs) != 1:
            raise GraphError(f"graph has {len(outs)} output nodes, wants 1")
        return outs[0]

    def outputs(self) -> list[Value]:
        return self.inputs(self.output_node())

    # ---- editing --------------------------------------------------------------------------------------------
    def set_input(self, nid: int, slot: int, v: Value) -> None:
        for src, _, key in list(self.nx.in_edges(nid, keys=True)):
            if key == slot:
                self.nx.remove_edge(src, nid, key=slot)
        self._connect(v, nid, slot)

    def replace_uses(self, old: Value, new: Value, *, exclude: Iterable[int] = ()) -> int:
        """Point every reader of ``old`` (except nodes in ``exclude``) at ``new``; returns how many were moved."""
        skip = set(exclude)
        moved = 0
        for dst, slot in self.uses(old):
            if dst in skip:
                continue
            self.set_input(dst, slot, new)
            moved += 1
        return moved

    def remove(self, nid: int) -> None:
        if self.users(nid):
            raise GraphError(f"cannot remove %{nid} ({self.node(nid).op}): still used by {self.users(nid)}")
        self.nx.remove_node(nid)

    def replace_node(self, nid: int, **changes: Any) -> Node:
        """Swap a node's data (op, attrs, outputs, provenance, value, name) keeping its id and edges."""
        new = replace(self.node(nid), **changes)
        self.nx.nodes[nid]["node"] = new
        return new

    def copy(self) -> Graph:
        """A structural copy; constants' tensors and nested bodies are shared, never cloned."""
        g = Graph()
        g.nx = nx.MultiDiGraph()
        for nid in self.nx.nodes:
            n = self.node(nid)
            g.nx.add_node(nid, node=replace(n, attrs=dict(n.attrs)))
        g.nx.add_edges_from(self.nx.edges(keys=True, data=True))
        g.meta = dict(self.meta)
        g._next_id = self._next_id
        return g

    def count_ops(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.all_nodes():
            counts[n.op] = counts.get(n.op, 0) + 1
        return counts

    def __str__(self) -> str:
        return format_graph(self)


# ---- the readable text form: one node a line in topological order ------------------------------------------------
#     %3: f32[1, 64, 112, 112] = aten.convolution.default(input=%0, weight=%1, bias=None, stride=[2, 2], ...)
# (here rather than in a module of its own: Graph.__str__ prints with it, and the printer reads Graph and Slot)
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
