"""Run an IR graph eagerly, node by node, through an :class:`OpRegistry`.

This is how the project evaluates graphs that are not (yet) engines: constant folding, parity checks of rules and of
whole programs, and bisection all call :func:`run_graph`. Segment nodes run their body graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from trt_passes.ir.graph import Graph, Node, Slot, Value
from trt_passes.ir.ops import OpRegistry
from trt_passes.ir.symbolic import SymDim, bind, evaluate, is_symbolic


class NodeExecutionError(RuntimeError):
    """Running one node failed; names the node, its op and where it came from."""


def node_args(g: Graph, node: Node, env: dict[Value, torch.Tensor],
              symbols: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The node's schema arguments with every slot replaced by the tensor that feeds it and every symbolic size
    (:class:`~trt_passes.ir.symbolic.SymDim`) by its value under ``symbols``."""
    inputs = g.inputs(node.id)

    def fill(a: Any) -> Any:
        if isinstance(a, Slot):
            return env[inputs[a.index]]
        if isinstance(a, (list, tuple)) and any(isinstance(x, Slot) for x in a):
            return [fill(x) for x in a]
        if symbols is not None and is_symbolic(a):
            return evaluate(a, symbols)
        return a

    return {k: fill(v) for k, v in node.attrs.items()}


def bind_symbols(g: Graph, inputs: Sequence[torch.Tensor]) -> dict[str, int] | None:
    """The values of ``g``'s symbols given its run-time inputs (None for a static graph); sizes that contradict the
    graph's input types, or fall outside the compiled ranges, raise a SymbolicError naming the model's input and
    axis (:func:`input_labels`, :func:`symbol_origins`)."""
    types = [g.node(n).type for n in g.graph_inputs()]
    if all(t.is_static for t in types):
        return None
    return bind([t.shape for t in types], [tuple(x.shape) for x in inputs], g.meta.get("symbols"),
                input_labels(g), symbol_origins(g))


def input_labels(g: Graph) -> list[str]:
    """How messages name each input of ``g``: ``"input 0 ('x')"`` for a model's graph; a segment body says it in
    ``meta["input_labels"]`` for the inputs that are the model's (the others are ``"segment input i"``)."""
    given = g.meta.get("input_labels")
    if given is None:
        return [f"input {i} ({g.node(n).name!r})" for i, n in enumerate(g.graph_inputs())]
    return [label or f"segment input {i}" for i, label in enumerate(given)]


def symbol_origins(g: Graph) -> dict[str, str]:
    """Each symbol of ``g``'s inputs as the model input and axis it is the size of (``"input 0 ('x'), axis 0"``):
    ``meta["symbol_origins"]`` (a segment body's, from the model's graph), else the first input with it as a dim."""
    found = dict(g.meta.get("symbol_origins", {}))
    for label, nid in zip(input_labels(g), g.graph_inputs()):
        for axis, d in enumerate(g.node(nid).type.shape):
            if isinstance(d, SymDim) and d.isidentifier():
                found.setdefault(str(d), f"{label}, axis {axis}")
    return found


def _bind_new(symbols: dict[str, int] | None, node: Node, outs: tuple[torch.Tensor, ...]) -> dict[str, int]:
    """``symbols`` plus the data-dependent ones (``nonzero``'s row count) that ``node``'s outputs are first to have."""
    symbols = dict(symbols or {})
    for t, out in zip(node.outputs, outs):
        for d, n in zip(t.shape, out.shape):
            if isinstance(d, SymDim) and d.isidentifier() and str(d) not in symbols:
                symbols[str(d)] = int(n)
    return symbols


def run_graph(
    g: Graph,
    inputs: Sequence[torch.Tensor],
    ops: OpRegistry,
    *,
    after_node: Callable[[Node, tuple[torch.Tensor, ...]], None] | None = None,
) -> list[torch.Tensor]:
    """Evaluate ``g`` on ``inputs`` (one tensor per graph input, in order) and return its outputs.

    Runs without autograd: graphs here are inference programs, and weights arrive as parameters.
    """
    with torch.no_grad():
        return _run(g, inputs, ops, after_node)


def _run(
    g: Graph,
    inputs: Sequence[torch.Tensor],
    ops: OpRegistry,
    after_node: Callable[[Node, tuple[torch.Tensor, ...]], None] | None,
) -> list[torch.Tensor]:
    env: dict[Value, torch.Tensor] = {}
    graph_inputs = g.graph_inputs()
    if len(inputs) != len(graph_inputs):
        raise ValueError(f"graph takes {len(graph_inputs)} inputs, got {len(inputs)}")
    for nid, t in zip(graph_inputs, inputs):
        env[Value(nid)] = t
    symbols = bind_symbols(g, inputs)
    for node in g.nodes():
        if node.op in ("input", "output"):
            continue
        if node.op == "constant":
            assert node.value is not None
            outs: tuple[torch.Tensor, ...] = (node.value,)
        elif node.op == "segment":
            outs = tuple(_run(node.attrs["body"], [env[v] for v in g.inputs(node.id)], ops, None))
        else:
            try:
                outs = ops.evaluate(node.op, node_args(g, node, env, symbols))
            except Exception as e:  # re-raised with the node named, the cause chained
                where = node.provenance.describe()
                raise NodeExecutionError(f"%{node.id} {node.op} {where}: {type(e).__name__}: {e}") from e
        for i, t in enumerate(outs):
            env[Value(node.id, i)] = t
        if symbols is not None or any(not t.is_static for t in node.outputs):
            symbols = _bind_new(symbols, node, outs)
        if after_node is not None:
            after_node(node, outs)
    return [env[v] for v in g.outputs()]
