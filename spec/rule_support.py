"""Typed ``extern`` helpers the shipped rules declare (the `.rw` guard language has list indexing but no slices).

Each is a pure function of IR types and numbers, declared in the `.rw` file that uses it, e.g.
``extern shape_from(Tensor, int) -> int[] = "trt_passes.spec.rule_support:shape_from"``.
"""

from __future__ import annotations

import math

from trt_passes.ir.types import TensorType


def shape_from(t: TensorType, start: int) -> list:
    """``shape(t)[start:]``: the dims of ``t`` from ``start`` on (index_put's values cover the dims after the
    indexed ones)."""
    return list(t.shape[start:])


def shape_until(t: TensorType, stop: int) -> list:
    """``shape(t)[:stop]``: the dims of ``t`` before ``stop``."""
    return list(t.shape[:stop])


def dim_to_front(rank: int, dim: int) -> list:
    """The permutation that moves ``dim`` of a rank-``rank`` tensor to the front, the others keeping their order."""
    return block_to_front(rank, dim, 1)


def front_to_dim(rank: int, dim: int) -> list:
    """The inverse of :func:`dim_to_front`: the front dim goes back to position ``dim``."""
    return [*range(1, dim + 1), 0, *range(dim + 1, rank)]


def block_to_front(rank: int, start: int, length: int) -> list:
    """The permutation that moves dims ``start .. start+length-1`` to the front, the others keeping their order
    (index_put's values have the index tensors' dims where the indexed dim was)."""
    block = list(range(start, start + length))
    return block + [d for d in range(rank) if d not in block]


def is_power_of_two(x: float) -> bool:
    """``|x| == 2 ** k`` for an integer ``k``: dividing by ``x`` is exact (unless the quotient underflows), so
    floor division needs no correction of a rounded quotient."""
    return math.isfinite(x) and x != 0 and math.frexp(abs(x))[0] == 0.5
