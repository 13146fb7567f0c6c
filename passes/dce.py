"""Dead-code elimination: remove every node none of whose outputs is used (graph inputs and the output stay)."""

from __future__ import annotations

from trt_passes.ir import Graph
from trt_passes.passes.context import PassContext


def eliminate_dead_code(g: Graph) -> int:
    removed = 0
    for nid in reversed(g.topo_order()):
        node = g.node(nid)
        if node.op == "segment":
            removed += eliminate_dead_code(node.attrs["body"])
        if node.op in ("input", "output") or g.users(nid):
            continue
        g.remove(nid)
        removed += 1
    return removed


def run(ctx: PassContext, params: dict[str, str]) -> str:
    return f"{eliminate_dead_code(ctx.graph)} nodes removed"
