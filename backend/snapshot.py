"""The compiled program's own copy of its constants, taken at compile time.

A TensorRT engine copies the weights it is built with; a later in-place update of the model's parameters does not
reach it. The reference runtime reads a segment's constants from its body, and the program's PyTorch part reads its
constants as buffers: without a copy both would be the model's own tensors, and an in-place update would change the
program's output on the reference runtime but not on TensorRT. :func:`snapshot_constants` gives the program builder
a graph whose constants (in segment bodies too) are copies, so every runtime computes with the weights the engines
were built from, and a saved program stores those.

Each tensor is copied once however many constant nodes hold it (a weight shared by two layers, or by a segment body
and the graph around it, stays one tensor). The cost is one copy of the constants that are the model's own tensors;
constants computed while compiling (folded batch norms, casts to half precision) are new tensors that only the
compile held, so their copies replace them once the compile's graph is gone (README, *Numerics*, has the numbers).
"""

from __future__ import annotations

import torch

from trt_passes.ir.graph import Graph


def snapshot_constants(graph: Graph) -> Graph:
    """A structural copy of ``graph`` whose constants, and those of its segments' bodies, hold copies (detached, same
    dtype, device and strides) of their tensors taken now. ``graph`` itself is not changed."""
    return _snapshot(graph, {})


def _snapshot(graph: Graph, copies: dict[int, tuple[torch.Tensor, torch.Tensor]]) -> Graph:
    out = graph.copy()
    for node in list(out.all_nodes()):
        if node.op == "constant" and node.value is not None:
            out.replace_node(node.id, value=_copy(node.value, copies))
        elif node.op == "segment":
            out.replace_node(node.id, attrs={**node.attrs, "body": _snapshot(node.attrs["body"], copies)})
    return out


def _copy(t: torch.Tensor, copies: dict[int, tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    # Keyed by identity; the original is kept in the entry so its id cannot be reused while the snapshot is taken.
    entry = copies.get(id(t))
    if entry is None:
        entry = copies[id(t)] = (t, t.detach().clone())
    return entry[1]
