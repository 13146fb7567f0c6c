"""Seeing a constant through the ops a frontend wraps it in: data (which ops, which argument carries the value) plus
the one function both matchers use to compare a constant tensor with a number literal of a pattern."""

from __future__ import annotations

import math
from typing import Any

from trt_passes.ir.graph import Graph, Value

#: op -> the argument holding the tensor it broadcasts, copies or casts; values are unchanged by these (up to the
#: rounding of a cast, which the tolerance absorbs)
LOOK_THROUGH: dict[str, str] = {
    "aten.expand.default": "self",
    "aten.broadcast_to.default": "self",
    "aten._to_copy.default": "self",
    "aten.to.dtype": "self",
    "aten.clone.default": "self",
    "aten.lift_fresh_copy.default": "self",
}

#: a float literal equals a constant element within this relative (and, near zero, absolute) tolerance
REL_TOL = 1e-6
ABS_TOL = 1e-12


def constant_behind(graph: Graph, v: Any) -> Any:
    """The tensor of the ``constant`` node ``v`` comes from (through :data:`LOOK_THROUGH` ops), or None."""
    for _ in range(8):  # chains are short; the bound keeps a malformed graph from looping
        if not isinstance(v, Value):
            return None
        node = graph.node(v.node)
        if node.op == "constant":
            return node.value
        arg = LOOK_THROUGH.get(node.op)
        if arg is None:
            return None
        v = graph.resolve(v.node, node.attrs.get(arg))
    return None


def literal_matches_constant(graph: Graph, v: Any, literal: int | float) -> bool:
    t = constant_behind(graph, v)
    if t is None or t.numel() == 0 or t.dtype.is_complex:
        return False
    if t.numel() > 4096:  # a literal stands for a splat; big constants are rarely one and too slow to scan
        flat = t.reshape(-1)
        if not bool((flat == flat[0]).all()):
            return False
        values = [flat[0].item()]
    else:
        values = t.reshape(-1).tolist()
    return all(not isinstance(x, bool) and math.isclose(x, literal, rel_tol=REL_TOL, abs_tol=ABS_TOL) for x in values)
