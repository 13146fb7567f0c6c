"""Which ATen an imported graph holds: the two ways a model's high-level ops are lowered.

The ``decompositions`` compile setting picks one (:data:`DECOMPOSITIONS`); the frontend that imports the model
records the one it took in ``graph.meta[DECOMPOSITIONS_TAKEN]``, so the report can say which ran:

* ``"rules"`` (the default): the graph ``torch.export.export`` produces (``aten.linear``, ``aten.conv2d``, in-place
  ops such as ``aten.relu_``), imported without retracing the program. The ``functionalize`` pass makes it
  functional, ``.rw`` rules lower it, and the ``decompose`` pass applies PyTorch's decomposition to each node no rule
  handles. Such a graph also carries, in ``graph.meta[PYTORCH_DECOMPOSITIONS]``, a function of no arguments that
  imports the same model the other way: the driver calls it when ``functionalize`` finds writes it cannot prove
  safe to rewrite, so that program takes the other path as a whole.
* ``"pytorch"``: the frontend first runs ``ExportedProgram.run_decompositions()`` on the whole program, which
  retraces it into core ATen with PyTorch's decomposition table (the path before rules lowered training IR).
"""

from __future__ import annotations

DECOMPOSITIONS = ("rules", "pytorch")
"""The values of the ``decompositions`` setting."""

DECOMPOSITIONS_TAKEN = "decompositions"
"""``graph.meta`` key: the value of :data:`DECOMPOSITIONS` the graph was imported with."""

DECOMPOSITIONS_REASON = "decompositions_reason"
"""``graph.meta`` key: why a graph asked for with ``"rules"`` was imported the ``"pytorch"`` way (its frontend could
not represent ``torch.export``'s graph)."""

PYTORCH_DECOMPOSITIONS = "import_with_pytorch_decompositions"
"""``graph.meta`` key of a graph imported with ``"rules"``: the same model imported with ``"pytorch"`` (a function of
no arguments returning the graph)."""


def check_decompositions(decompositions: object) -> str:
    """``decompositions`` if it is one of :data:`DECOMPOSITIONS`, else a ValueError naming them."""
    if decompositions not in DECOMPOSITIONS:
        raise ValueError(f"decompositions must be one of {', '.join(map(repr, DECOMPOSITIONS))}; "
                         f"got {decompositions!r}")
    return str(decompositions)


__all__ = ["DECOMPOSITIONS", "DECOMPOSITIONS_REASON", "DECOMPOSITIONS_TAKEN", "PYTORCH_DECOMPOSITIONS",
           "check_decompositions"]
