"""Constant folding: evaluate every pure ATen node whose inputs are all constants and put the result in its place.

Creation ops (``arange``, ``full``) and arithmetic on weights (batch-norm folding left by lowering) become
constants, so converters only see what depends on the model's inputs. Random and uninitialised-memory ops are never
folded, and a fold may not grow constants past ``max(inputs' elements, FOLD_LIMIT)`` (an ``expand`` of a weight must
not become a huge constant).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from trt_passes.ir import Graph, Node, Provenance, TensorType, Value
from trt_passes.ir.aten import packet_name
from trt_passes.ir.interpreter import node_args
from trt_passes.ir.symbolic import is_symbolic
from trt_passes.passes.context import PassContext

FOLD_LIMIT = 1 << 16
# Packets whose results are random or uninitialised memory: folding would freeze one draw or garbage.
UNFOLDABLE = frozenset({
    "rand", "rand_like", "randn", "randn_like", "randint", "randint_like", "randperm", "bernoulli", "normal",
    "uniform", "dropout", "native_dropout", "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided",
    "multinomial", "exponential", "geometric", "cauchy", "log_normal", "poisson",
})


def _foldable(ctx: PassContext, g: Graph, node: Node) -> bool:
    if not node.op.startswith("aten.") or packet_name(node.op) in UNFOLDABLE:
        return False
    if ctx.ops.schema(node.op).is_mutating:
        return False
    inputs = g.inputs(node.id)
    if not all(g.node(v.node).op == "constant" for v in inputs):
        return False
    if not all(t.is_static for t in node.outputs) or is_symbolic(list(node.attrs.values())):
        return False  # depends on a size known only at run time
    in_size = sum(g.type(v).numel() for v in inputs)
    return sum(t.numel() for t in node.outputs) <= max(in_size, FOLD_LIMIT)


def fold_constants(ctx: PassContext) -> int:
    g = ctx.graph
    folded = 0
    for nid in g.topo_order():
        node = g.node(nid)
        if not _foldable(ctx, g, node):
            continue
        env = {v: g.node(v.node).value for v in g.inputs(nid)}
        outs = ctx.ops.evaluate(node.op, node_args(g, node, env))
        for i, t in enumerate(outs):
            if TensorType.of(t) != node.outputs[i]:
                raise AssertionError(f"folding %{nid} {node.op} gave {TensorType.of(t)}, IR says {node.outputs[i]}")
            if g.uses(Value(nid, i)):
                c = g.add_constant(t, name=node.provenance.source or "",
                                   provenance=Provenance(source=node.provenance.source, rule="fold_constants",
                                                         replaced=(nid,)))
                g.replace_uses(Value(nid, i), Value(c))
        g.remove(nid)
        folded += 1
    return folded


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Evaluate on one intra-op thread (as it was, afterwards). Folding is a few hundred small ops and a few weight
    products, all memory-bound: extra threads gain little, and after each parallel op OpenMP's workers keep spinning
    on the cores the rest of the compiler needs (measured on 2 cores: the second fold_constants of mobilenet_v2
    29 ms on one thread, 246 ms on two)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run(ctx: PassContext, params: dict[str, str]) -> str:
    # Weights arrive as parameters that require grad; folding is inference, so record no autograd graph.
    with torch.no_grad(), one_thread():
        return f"{fold_constants(ctx)} ops folded into constants"
