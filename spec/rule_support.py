"""Typed ``extern`` helpers the shipped rules declare (the `.rw` guard language has list indexing but no slices).

Each is a pure function of IR types and numbers, declared in the `.rw` file that uses it, e.g.
``extern shape_from(Tensor, int) -> int[] = "trt_passes.spec.rule_support:shape_from"``.
"""

from __future__ import annotations

import math
import struct

from trt_passes.ir.types import TensorType


def shape_from(t: TensorType, start: int) -> list:
    """``shape(t)[start:]``: the dims of ``t`` from ``start`` on (index_put's values cover the dims after the
    indexed ones)."""
    return list(t.shape[start:])


def static_from(t: TensorType, start: int) -> bool:
    """Whether ``shape(t)[start:]`` are all numbers: pooling windows need the spatial dims static while the batch
    dim (and channels) may be run-time sizes."""
    return all(isinstance(d, int) for d in t.shape[start:])


def static_dim(t: TensorType, dim: int) -> bool:
    """Whether dim ``dim`` of ``t`` (negative counting from the end) is a number: a rule computing with that one
    dim works with the others run-time sizes. False for a dim out of range."""
    return -len(t.shape) <= dim < len(t.shape) and isinstance(t.shape[dim], int)


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


def transposition(rank: int, a: int, b: int) -> list:
    """The permutation of a rank-``rank`` tensor that swaps dims ``a`` and ``b`` (negative counting from the end),
    the others staying in place: ``transpose(x, a, b)`` as a ``permute``. ``[]`` when a dim is out of range (rules
    guard ``len(...) == rank``; an extern must not raise)."""
    if rank < 1 or not (-rank <= a < rank and -rank <= b < rank):
        return []
    dims = list(range(rank))
    dims[a % rank], dims[b % rank] = dims[b % rank], dims[a % rank]
    return dims


def inverse_sqrt(n: int) -> float:
    """``1 / sqrt(n)`` for ``n > 0``: attention's default scale for a head size ``n``, computed as PyTorch does
    (in double precision). 0.0 for ``n <= 0`` (rules guard ``n > 0``; an extern must not raise)."""
    return 1.0 / math.sqrt(n) if n > 0 else 0.0


def einsum_matmul(equation: str) -> str:
    """Which batched matrix product a two-operand einsum equation is, if any: ``"nn"`` for ``...ij,...jk->...ik``,
    ``"nt"`` for ``...ij,...kj->...ik`` (the second operand transposed), ``""`` otherwise. Both operands must
    carry the same leading (batch) letters, in the same order in the result; spaces are ignored; no ellipsis,
    no repeated letter within an operand."""
    eq = equation.replace(" ", "")
    if "->" not in eq or "." in eq:
        return ""
    lhs, out = eq.split("->")
    ops = lhs.split(",")
    if len(ops) != 2:
        return ""
    a, b = ops
    if len(a) != len(b) or len(a) < 2 or len(out) != len(a) or any(len(set(s)) != len(s) for s in (a, b, out)):
        return ""
    batch = a[:-2]
    if b[:-2] != batch or out[:-2] != batch:
        return ""
    i, j = a[-2], a[-1]
    if len({*batch, i, j}) != len(a):
        return ""
    if b[-2] == j and b[-1] not in {*batch, i, j} and out[-2:] == i + b[-1]:
        return "nn"
    if b[-1] == j and b[-2] not in {*batch, i, j} and out[-2:] == i + b[-2]:
        return "nt"
    return ""


def infinity() -> float:
    """``float("inf")``, for attention masks (``-infinity()``). A literal such as ``1e999`` evaluates to it too but
    does not survive ``format_rules`` (printed as ``inf``, which parses as a name)."""
    return math.inf


def normalize_dims(dims: list, rank: int) -> list:
    """Each dim of ``dims`` in ``0..rank-1`` (a negative dim counts from the end)."""
    return [d + rank if d < 0 else d for d in dims]


def take(items: list, count: int) -> list:
    """``items[:count]``: constant_pad_nd's pad list without its outermost pairs (the last ones)."""
    return list(items[:count])


def with_dim(shape: list, dim: int, size: int) -> list:
    """``shape`` with dim ``dim`` set to ``size``: the shape of a block of padding along that dim."""
    out = list(shape)
    out[dim] = size
    return out


def next_pad_pair(pad: list) -> list:
    """``[m, before, after]`` for the first pair of a pad list with a nonzero size (pair ``m`` pads dim ``-1 - m``:
    pair 0 the last dim, pair 1 the dim before, ...): the dim a circular-padding rule pads next. ``[-1, 0, 0]`` when
    every size is 0."""
    m = next((k // 2 for k, v in enumerate(pad) if v != 0), -1)
    return [m, pad[2 * m], pad[2 * m + 1]] if m >= 0 and 2 * m + 1 < len(pad) else [-1, 0, 0]


def end_padding(sizes: list) -> list:
    """constant_pad_nd's pad list padding the end of each of the last ``len(sizes)`` dims by ``sizes`` (in dim
    order) and their starts by nothing: ``[0, sizes[-1], 0, sizes[-2], ...]`` (the pad list starts at the last
    dim). A transposed convolution's output padding, given to its zero-inserted input."""
    return [v for size in reversed(sizes) for v in (0, size)]


def inverse(x: float) -> float:
    """``1 / x`` (the guard language has no float division): a p-norm's outer exponent ``1 / p``. 0.0 for ``x == 0``
    (rules guard ``p > 0``; an extern must not raise)."""
    return 1.0 / x if x != 0 else 0.0


def pair_rows(n: int) -> list:
    """The first row of each pair ``i < j`` of ``n`` rows, in pdist's order (row-major over the upper triangle):
    ``[0, 0, ..., 1, ...]``. ``[]`` for ``n < 2``."""
    return [i for i in range(n) for _ in range(i + 1, n)]


def pair_cols(n: int) -> list:
    """The second row of each pair ``i < j`` of ``n`` rows, in pdist's order (see :func:`pair_rows`)."""
    return [j for i in range(n) for j in range(i + 1, n)]


def interleave(first: list, second: list) -> list:
    """``[first[0], second[0], first[1], second[1], ...]`` (lists of one length): repeat's copies as a new dim before
    each dim of the tensor."""
    return [v for pair in zip(first, second, strict=True) for v in pair]


def _to_f32(v: float) -> float:
    """``v`` rounded to the nearest float32 (as C's ``static_cast<float>``)."""
    return struct.unpack("f", struct.pack("f", v))[0]


def same_sampling_scale(scale: float, size_in: int, size_out: int) -> bool:
    """Whether upsampling an axis of ``size_in`` to ``size_out`` by ``scale`` samples where upsampling it to the size
    ``size_out`` does. PyTorch maps an output index back with ``1 / scale`` when given a scale and with
    ``in / out`` when given sizes (``area_pixel_compute_scale``), each rounded to the dtype it computes in (float32
    for float32 and half inputs, float64 for float64), so the two forms agree when both round to the same float32
    and the same float64. (For sizes below 2**24 the float64 quotient rounds to float32 as the exact one does.)"""
    if not (isinstance(size_in, int) and isinstance(size_out, int)) or not scale > 0 or size_out <= 0:
        return False
    return 1.0 / scale == size_in / size_out and _to_f32(1.0 / scale) == _to_f32(size_in / size_out)


def same_sampling_scales(scales: list, x: TensorType, r: TensorType) -> bool:
    """:func:`same_sampling_scale` for each of ``x``'s trailing ``len(scales)`` dims resized to ``r``'s (an
    ``upsample_*.vec`` op's scale factors). False for a length mismatch."""
    n = len(scales)
    if n == 0 or n > len(x.shape) or len(x.shape) != len(r.shape):
        return False
    return all(same_sampling_scale(s, i, o) for s, i, o in zip(scales, x.shape[-n:], r.shape[-n:], strict=True))


def adaptive_windows(size_in: int, size_out: int) -> list:
    """The windows of adaptive pooling an axis of ``size_in`` to ``size_out``, flattened as ``[start_0, end_0,
    start_1, end_1, ...]``: window i is ``[floor(i * in / out), ceil((i + 1) * in / out))``, as PyTorch's
    adaptive pooling computes them (windows overlap or differ in size when ``out`` does not divide ``in``).
    ``[]`` for sizes that are not positive (rules guard them; an extern must not raise)."""
    if size_in <= 0 or size_out <= 0:
        return []
    return [v for i in range(size_out) for v in ((i * size_in) // size_out, -((-(i + 1) * size_in) // size_out))]


def adaptive_window_mask(size_in: int, size_out: int) -> list:
    """Which input positions each adaptive-pooling window (:func:`adaptive_windows`) covers, as an ``[out, in]``
    0/1 matrix flattened row by row (bools): selecting with it and reducing over ``in`` pools every window at
    once, exactly."""
    bounds = adaptive_windows(size_in, size_out)
    return [bounds[2 * i] <= j < bounds[2 * i + 1] for i in range(size_out) for j in range(size_in)]


def adaptive_window_sizes(size_in: int, size_out: int) -> list:
    """How many input positions each adaptive-pooling window (:func:`adaptive_windows`) covers, as floats (the
    divisors of adaptive average pooling)."""
    bounds = adaptive_windows(size_in, size_out)
    return [float(bounds[2 * i + 1] - bounds[2 * i]) for i in range(size_out)]
