"""The reference runtime: what each ``trt.*`` op computes, written in PyTorch from TensorRT's documentation.

This is the single definition of the TensorRT dialect's semantics: the interpreter runs it (constant folding, rule
parity tests, segments on machines without a GPU) and type inference runs it on meta tensors, so every function
here must work on ``device="meta"`` too (no data-dependent Python control flow, no ``.item()``).

Conventions shared by all ops:

* Attributes hold ints/floats/bools/lists as stored in the IR; enum attributes hold members of
  :mod:`trt_passes.backend.enums` (or their names).
* Axes may be negative (normalised against the input's rank); emission turns them into TensorRT's bitmasks.
* Half-precision inputs of accumulating ops (reductions, pooling averages, softmax, normalization) are accumulated
  in f32 and rounded back, as TensorRT does; the output dtype always follows TensorRT's strongly typed rules.
* Malformed arguments raise ``ValueError``/``TypeError`` naming the op: TensorRT would reject the layer too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from trt_passes.backend.enums import (
    COMPARISONS,
    LOGICAL,
    ActivationType,
    CumulativeOperation,
    ElementWiseOperation,
    GatherMode,
    InterpolationMode,
    MatrixOperation,
    PoolingType,
    ReduceOperation,
    ResizeCoordinateTransformation,
    ResizeRoundMode,
    ScatterMode,
    TopKOperation,
    UnaryOperation,
    as_member,
)
from trt_passes.ir.types import torch_dtype

Outputs = tuple[torch.Tensor, ...]

_HALF = (torch.float16, torch.bfloat16)

MAX_TOPK_K = 3840  # ITopKLayer's documented limit


def _has_values(t: torch.Tensor) -> bool:
    """False for meta and fake tensors (type inference): their values cannot be checked."""
    from torch._subclasses.fake_tensor import is_fake

    return not t.is_meta and not is_fake(t)


def _acc(x: torch.Tensor) -> torch.Tensor:
    """Widen half types for accumulation (TensorRT accumulates f16/bf16 in f32)."""
    return x.float() if x.dtype in _HALF else x


def _axis(op: str, axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"{op}: axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def _axes(op: str, axes: Sequence[int], rank: int) -> list[int]:
    out = sorted({_axis(op, a, rank) for a in axes})
    if len(out) != len(axes):
        raise ValueError(f"{op}: repeated axes {list(axes)}")
    return out


def _floating(op: str, t: torch.Tensor) -> None:
    if not t.is_floating_point():
        raise TypeError(f"{op} takes floating-point input in TensorRT, got {t.dtype}")


def _same_dtype(op: str, *tensors: torch.Tensor) -> None:
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        # The network is strongly typed: TensorRT inserts no casts, so neither does the reference.
        raise TypeError(f"{op}: inputs must share one dtype, got {', '.join(str(t.dtype) for t in tensors)}")


# ---- activation / unary ----------------------------------------------------------------------------------------

def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


# Formulas from TensorRT's Activation operator page; THRESHOLDED_RELU follows NvInfer.h's ``x > alpha ? x : 0``
# (the ONNX operator it exists for) where the operator page writes ``max(0, x - alpha)``.
_ACTIVATIONS: dict[ActivationType, Callable[[torch.Tensor, float, float], torch.Tensor]] = {
    ActivationType.RELU: lambda x, a, b: torch.relu(x),
    ActivationType.SIGMOID: lambda x, a, b: torch.sigmoid(x),
    ActivationType.TANH: lambda x, a, b: torch.tanh(x),
    ActivationType.LEAKY_RELU: lambda x, a, b: torch.where(x >= 0, x, a * x),
    ActivationType.ELU: lambda x, a, b: torch.where(x >= 0, x, a * torch.expm1(x)),
    ActivationType.SELU: lambda x, a, b: b * torch.where(x >= 0, x, a * torch.expm1(x)),
    ActivationType.SOFTSIGN: lambda x, a, b: x / (1 + x.abs()),
    ActivationType.SOFTPLUS: lambda x, a, b: a * torch.log1p(torch.exp(b * x)),
    ActivationType.CLIP: lambda x, a, b: torch.clamp(x, min=a, max=b),
    ActivationType.HARD_SIGMOID: lambda x, a, b: torch.clamp(a * x + b, min=0.0, max=1.0),
    ActivationType.SCALED_TANH: lambda x, a, b: a * torch.tanh(b * x),
    ActivationType.THRESHOLDED_RELU: lambda x, a, b: torch.where(x > a, x, torch.zeros_like(x)),
    ActivationType.GELU_ERF: lambda x, a, b: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0))),
    ActivationType.GELU_TANH: lambda x, a, b: _gelu_tanh(x),
}


def activation(input: torch.Tensor, type: Any, alpha: float = 0.0, beta: float = 0.0) -> Outputs:
    kind = as_member(ActivationType, type)
    if kind is not ActivationType.RELU:  # TensorRT's Activation takes integers for RELU only
        _floating(f"trt.activation {kind.name}", input)
    out = _ACTIVATIONS[kind](input, float(alpha), float(beta))
    return (out.to(input.dtype),)


_UNARY: dict[UnaryOperation, Callable[[torch.Tensor], torch.Tensor]] = {
    UnaryOperation.EXP: torch.exp,
    UnaryOperation.LOG: torch.log,
    UnaryOperation.SQRT: torch.sqrt,
    UnaryOperation.RECIP: torch.reciprocal,
    UnaryOperation.ABS: torch.abs,
    UnaryOperation.NEG: torch.neg,
    UnaryOperation.SIN: torch.sin,
    UnaryOperation.COS: torch.cos,
    UnaryOperation.TAN: torch.tan,
    UnaryOperation.SINH: torch.sinh,
    UnaryOperation.COSH: torch.cosh,
    UnaryOperation.ASIN: torch.asin,
    UnaryOperation.ACOS: torch.acos,
    UnaryOperation.ATAN: torch.atan,
    UnaryOperation.ASINH: torch.asinh,
    UnaryOperation.ACOSH: torch.acosh,
    UnaryOperation.ATANH: torch.atanh,
    UnaryOperation.CEIL: torch.ceil,
    UnaryOperation.FLOOR: torch.floor,
    UnaryOperation.ERF: torch.erf,
    UnaryOperation.NOT: torch.logical_not,
    UnaryOperation.SIGN: torch.sign,
    UnaryOperation.ROUND: torch.round,  # half to even, as TensorRT's kROUND
    UnaryOperation.ISINF: torch.isinf,
}


def unary(input: torch.Tensor, op: Any) -> Outputs:
    kind = as_member(UnaryOperation, op)
    if kind is UnaryOperation.NOT and input.dtype != torch.bool:
        raise TypeError(f"trt.unary NOT takes bool, got {input.dtype}")
    out = _UNARY[kind](input)
    if kind not in (UnaryOperation.NOT, UnaryOperation.ISINF):
        out = out.to(input.dtype)
    return (out,)


# ---- elementwise / select / cast / identity ---------------------------------------------------------------------

def _div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Integer division truncates toward zero (C semantics, as TensorRT's kDIV); floats divide exactly.
    return torch.div(a, b, rounding_mode="trunc") if not a.is_floating_point() else a / b


def _floor_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.div(a, b, rounding_mode="floor")


_ELEMENTWISE: dict[ElementWiseOperation, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    ElementWiseOperation.SUM: torch.add,
    ElementWiseOperation.PROD: torch.mul,
    ElementWiseOperation.MAX: torch.maximum,
    ElementWiseOperation.MIN: torch.minimum,
    ElementWiseOperation.SUB: torch.sub,
    ElementWiseOperation.DIV: _div,
    ElementWiseOperation.POW: torch.pow,
    ElementWiseOperation.FLOOR_DIV: _floor_div,
    ElementWiseOperation.AND: torch.logical_and,
    ElementWiseOperation.OR: torch.logical_or,
    ElementWiseOperation.XOR: torch.logical_xor,
    ElementWiseOperation.EQUAL: torch.eq,
    ElementWiseOperation.GREATER: torch.gt,
    ElementWiseOperation.LESS: torch.lt,
}


def elementwise(a: torch.Tensor, b: torch.Tensor, op: Any) -> Outputs:
    """Numpy broadcasting over any ranks (emission left-pads the lower rank with 1s, as numpy does)."""
    kind = as_member(ElementWiseOperation, op)
    _same_dtype("trt.elementwise", a, b)
    if kind in LOGICAL and a.dtype != torch.bool:
        raise TypeError(f"trt.elementwise {kind.name} takes bool, got {a.dtype}")
    if kind not in LOGICAL and a.dtype == torch.bool and kind is not ElementWiseOperation.EQUAL:
        raise TypeError(f"trt.elementwise {kind.name} does not take bool")
    torch.broadcast_shapes(a.shape, b.shape)  # a clear error before any arithmetic
    out = _ELEMENTWISE[kind](a, b)
    return (out if kind in COMPARISONS or kind in LOGICAL else out.to(a.dtype),)


def select(condition: torch.Tensor, then_input: torch.Tensor, else_input: torch.Tensor) -> Outputs:
    if condition.dtype != torch.bool:
        raise TypeError(f"trt.select condition must be bool, got {condition.dtype}")
    _same_dtype("trt.select", then_input, else_input)
    return (torch.where(condition, then_input, else_input),)


def cast(input: torch.Tensor, to: Any) -> Outputs:
    target = torch_dtype(to) if isinstance(to, str) else to
    return (input.to(target),)


def identity(input: torch.Tensor) -> Outputs:
    return (input.clone(),)


def shape(input: torch.Tensor) -> Outputs:
    if not _has_values(input):  # type inference: only the result's type matters, and reading a symbolic size as a
        return (torch.empty([input.dim()], dtype=torch.int64, device=input.device),)  # value would pin it
    return (torch.tensor(list(input.shape), dtype=torch.int64, device=input.device),)


# ---- matrix multiply ---------------------------------------------------------------------------------------------

def matrix_multiply(a: torch.Tensor, b: torch.Tensor, op_a: Any = MatrixOperation.NONE,
                    op_b: Any = MatrixOperation.NONE) -> Outputs:
    """``op(a) @ op(b)`` with batch dims broadcast. VECTOR treats the last dim as a vector (a: row, b: column),
    and that vector dim is absent from the result; TRANSPOSE swaps the last two dims."""
    _same_dtype("trt.matrix_multiply", a, b)
    oa, ob = as_member(MatrixOperation, op_a), as_member(MatrixOperation, op_b)
    for name, t, o in (("a", a, oa), ("b", b, ob)):
        if t.dim() < (1 if o is MatrixOperation.VECTOR else 2):
            raise ValueError(f"trt.matrix_multiply: {name} of rank {t.dim()} cannot be used with {o.name}")
    x = a.unsqueeze(-2) if oa is MatrixOperation.VECTOR else a.transpose(-1, -2) if oa is MatrixOperation.TRANSPOSE \
        else a
    y = b.unsqueeze(-1) if ob is MatrixOperation.VECTOR else b.transpose(-1, -2) if ob is MatrixOperation.TRANSPOSE \
        else b
    if x.shape[-1] != y.shape[-2]:
        raise ValueError(f"trt.matrix_multiply: inner dims differ ({tuple(a.shape)} {oa.name}, "
                         f"{tuple(b.shape)} {ob.name})")
    out = torch.matmul(_acc(x), _acc(y)).to(a.dtype)
    if ob is MatrixOperation.VECTOR:
        out = out.squeeze(-1)
    if oa is MatrixOperation.VECTOR:
        out = out.squeeze(-1 if ob is MatrixOperation.VECTOR else -2)
    return (out,)


# ---- convolution / deconvolution ---------------------------------------------------------------------------------

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_DECONV = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _spatial(op: str, input: torch.Tensor, kernel: torch.Tensor, lists: dict[str, Sequence[int]]) -> int:
    n = kernel.dim() - 2
    if n not in _CONV or input.dim() != n + 2:
        raise ValueError(f"{op}: input {tuple(input.shape)} and kernel {tuple(kernel.shape)} are not an "
                         f"[N, C, *spatial] / [K, C, *window] pair with 1 to 3 spatial dims")
    for name, value in lists.items():
        if len(value) != n:
            raise ValueError(f"{op}: {name}={list(value)} needs {n} entries")
    return n


def convolution(input: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None, stride: Sequence[int],
                padding: Sequence[int], dilation: Sequence[int], groups: int = 1) -> Outputs:
    """Cross-correlation of ``input [N, C, *spatial]`` with ``kernel [K, C/groups, *window]``; symmetric padding."""
    _same_dtype("trt.convolution", input, kernel, *([bias] if bias is not None else []))
    n = _spatial("trt.convolution", input, kernel, {"stride": stride, "padding": padding, "dilation": dilation})
    out = _CONV[n](_acc(input), _acc(kernel), None if bias is None else _acc(bias), list(stride), list(padding),
                   list(dilation), groups)
    return (out.to(input.dtype),)


def deconvolution(input: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None, stride: Sequence[int],
                  padding: Sequence[int], dilation: Sequence[int], groups: int = 1,
                  output_padding: Sequence[int] = ()) -> Outputs:
    """Transposed convolution, kernel ``[C, K/groups, *window]``. ``output_padding`` adds that many rows at the end
    of each spatial dim (emission expresses it as TensorRT's post-padding ``padding - output_padding``)."""
    _same_dtype("trt.deconvolution", input, kernel, *([bias] if bias is not None else []))
    out_pad = list(output_padding) or [0] * (kernel.dim() - 2)
    n = _spatial("trt.deconvolution", input, kernel, {"stride": stride, "padding": padding, "dilation": dilation,
                                                      "output_padding": out_pad})
    out = _DECONV[n](_acc(input), _acc(kernel), None if bias is None else _acc(bias), list(stride), list(padding),
                     out_pad, groups, list(dilation))
    return (out.to(input.dtype),)


# ---- pooling -----------------------------------------------------------------------------------------------------

_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def pooling_output_size(size: int, window: int, stride: int, padding: int, ceil_mode: bool) -> int:
    """TensorRT's EXPLICIT_ROUND_DOWN / EXPLICIT_ROUND_UP: ``floor|ceil((size + 2p - window) / stride) + 1``.

    Unlike PyTorch's ceil_mode there is no rule dropping a last window that starts in the right padding: a
    converter must guard for the cases where the two differ."""
    span = size + 2 * padding - window
    if span < 0:
        raise ValueError(f"trt.pooling: window {window} exceeds padded size {size + 2 * padding}")
    return (-(-span // stride) if ceil_mode else span // stride) + 1


def pooling(input: torch.Tensor, type: Any, window: Sequence[int], stride: Sequence[int], padding: Sequence[int],
            ceil_mode: bool = False, exclude_padding: bool = True) -> Outputs:
    """Max or average pooling over the last ``len(window)`` dims; leading dims are independent.

    Padding is symmetric and explicit. MAX treats padding as -inf. AVERAGE divides by the number of input elements
    in the window when ``exclude_padding``, else also counts the explicit padding; the extra rows ceil mode
    appends beyond the padding are never counted (as in PyTorch, and so a window never divides by zero)."""
    kind = as_member(PoolingType, type)
    _floating("trt.pooling", input)
    n = len(window)
    if n not in _MAX_POOL or input.dim() < n + 1 or len(stride) != n or len(padding) != n:
        raise ValueError(f"trt.pooling: window={list(window)}, stride={list(stride)}, padding={list(padding)} "
                         f"do not fit input {tuple(input.shape)}")
    lead, spatial = input.shape[:-n], list(input.shape[-n:])
    out_sizes = [pooling_output_size(s, w, st, p, ceil_mode)
                 for s, w, st, p in zip(spatial, window, stride, padding)]
    # Rows after the padding that ceil mode reaches, per dim (F.pad wants the last dim first).
    extra = [max(0, (o - 1) * st + w - (s + 2 * p))
             for o, st, w, s, p in zip(out_sizes, stride, window, spatial, padding)]
    if kind is PoolingType.AVERAGE and exclude_padding and any(p + e >= w or p >= w for p, e, w in
                                                              zip(padding, extra, window)):
        # A window holding padding only would divide by zero; TensorRT rejects such exclusive-count pooling.
        raise ValueError(f"trt.pooling: with exclude_padding every window must hold an input element; padding "
                         f"{list(padding)} (+ {extra} from ceil mode) reaches a whole window {list(window)}")
    pads: list[int] = []
    for p, e in reversed(list(zip(padding, extra))):
        pads += [p, p + e]
    x = _acc(input).reshape([1, -1, *spatial])
    if kind is PoolingType.MAX:
        padded = F.pad(x, pads, value=-math.inf)
        out = _MAX_POOL[n](padded, list(window), list(stride))
    else:
        padded = F.pad(x, pads, value=0.0)
        sums = _AVG_POOL[n](padded, list(window), list(stride)) * math.prod(window)
        # Which positions count toward the divisor: real elements, plus explicit padding unless excluded.
        ones = torch.ones([1, 1, *spatial], dtype=x.dtype, device=x.device)
        if exclude_padding:
            mask = F.pad(ones, pads, value=0.0)
        else:
            mask = F.pad(F.pad(ones, [q for p in reversed(padding) for q in (p, p)], value=1.0),
                         [q for e in reversed(extra) for q in (0, e)], value=0.0)
        counts = _AVG_POOL[n](mask, list(window), list(stride)) * math.prod(window)
        out = sums / counts
    return (out.reshape([*lead, *out.shape[-n:]]).to(input.dtype),)


# ---- reductions, softmax, normalization, topk -----------------------------------------------------------------------

def reduce(input: torch.Tensor, op: Any, axes: Sequence[int], keep_dims: bool) -> Outputs:
    kind = as_member(ReduceOperation, op)
    dims = _axes("trt.reduce", axes, input.dim())
    if not dims:
        raise ValueError("trt.reduce needs at least one axis")
    x = _acc(input)
    if kind is ReduceOperation.SUM:
        out = x.sum(dim=dims, keepdim=keep_dims)
    elif kind is ReduceOperation.AVG:
        out = x.mean(dim=dims, keepdim=keep_dims)
    elif kind is ReduceOperation.MAX:
        out = x.amax(dim=dims, keepdim=keep_dims)
    elif kind is ReduceOperation.MIN:
        out = x.amin(dim=dims, keepdim=keep_dims)
    else:  # PROD: torch reduces one dim at a time; go from the last so earlier indices stay valid
        out = x
        for d in reversed(dims):
            out = out.prod(dim=d, keepdim=keep_dims)
    return (out.to(input.dtype),)


def softmax(input: torch.Tensor, axis: int) -> Outputs:
    _floating("trt.softmax", input)
    return (torch.softmax(_acc(input), dim=_axis("trt.softmax", axis, input.dim())).to(input.dtype),)


def normalization(input: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, axes: Sequence[int],
                  epsilon: float) -> Outputs:
    """``(x - mean) / sqrt(var + epsilon) * scale + bias`` with mean and (biased) variance over ``axes``;
    ``scale`` and ``bias`` broadcast against the input (numpy rules) and may not grow it."""
    _same_dtype("trt.normalization", input, scale, bias)
    _floating("trt.normalization", input)
    dims = _axes("trt.normalization", axes, input.dim())
    for name, t in (("scale", scale), ("bias", bias)):
        if torch.broadcast_shapes(t.shape, input.shape) != input.shape:
            raise ValueError(f"trt.normalization: {name} {tuple(t.shape)} does not broadcast to {tuple(input.shape)}")
    x = _acc(input)
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    out = (x - mean) * torch.rsqrt(var + float(epsilon)) * _acc(scale) + _acc(bias)
    return (out.to(input.dtype),)


def topk(input: torch.Tensor, op: Any, k: int, axes: Sequence[int]) -> Outputs:
    """The ``k`` largest (MAX) or smallest (MIN) along the one axis in ``axes``, sorted; indices are i32 (TensorRT's
    default indices type)."""
    kind = as_member(TopKOperation, op)
    dims = _axes("trt.topk", axes, input.dim())
    if len(dims) != 1:
        raise ValueError(f"trt.topk reduces exactly one axis, got {list(axes)}")
    if k > MAX_TOPK_K:
        raise ValueError(f"trt.topk: k={k} exceeds TensorRT's limit of {MAX_TOPK_K}")
    if not 0 < k <= input.shape[dims[0]]:
        raise ValueError(f"trt.topk: k={k} is not in 1..{input.shape[dims[0]]}")
    values, indices = torch.topk(input, k, dim=dims[0], largest=kind is TopKOperation.MAX, sorted=True)
    return values, indices.to(torch.int32)


# ---- data movement -----------------------------------------------------------------------------------------------

def _check_perm(name: str, perm: Sequence[int], rank: int) -> None:
    if sorted(perm) != list(range(rank)):
        raise ValueError(f"trt.shuffle: {name} {list(perm)} is not a permutation of {rank} dims")


def shuffle(input: torch.Tensor, first_transpose: Sequence[int] | None = None,
            reshape: Sequence[int] | None = None, second_transpose: Sequence[int] | None = None) -> Outputs:
    """Transpose, reshape, transpose. In ``reshape`` a 0 copies the (transposed) input's dim at that position and
    one -1 is inferred."""
    x = input
    if first_transpose is not None:
        _check_perm("first_transpose", first_transpose, x.dim())
        x = x.permute(*first_transpose)
    if reshape is not None:
        dims = []
        for i, d in enumerate(reshape):
            if d == 0:
                if i >= x.dim():
                    raise ValueError(f"trt.shuffle: reshape {list(reshape)} copies dim {i} of a rank-{x.dim()} input")
                dims.append(x.shape[i])
            else:
                dims.append(d)
        x = x.reshape(dims)
    if second_transpose is not None:
        _check_perm("second_transpose", second_transpose, x.dim())
        x = x.permute(*second_transpose)
    return (x.clone(),)


def concatenation(inputs: Sequence[torch.Tensor], axis: int) -> Outputs:
    if not inputs:
        raise ValueError("trt.concatenation needs at least one input")
    _same_dtype("trt.concatenation", *inputs)
    return (torch.cat(list(inputs), dim=_axis("trt.concatenation", axis, inputs[0].dim())),)


def slice(input: torch.Tensor, start: Sequence[int], shape: Sequence[int], stride: Sequence[int]) -> Outputs:
    """``out[i...] = input[start + i * stride ...]`` per dim (strides may be negative); every read must be in
    bounds (TensorRT's default STRICT_BOUNDS)."""
    if not len(start) == len(shape) == len(stride) == input.dim():
        raise ValueError(f"trt.slice: start/shape/stride must each have {input.dim()} entries")
    x = input
    for d, (s, n, st) in enumerate(zip(start, shape, stride)):
        size = input.shape[d]
        if n < 0 or (n > 0 and not (0 <= s < size and 0 <= s + (n - 1) * st < size)):
            raise ValueError(f"trt.slice: dim {d} of size {size}: start {s}, shape {n}, stride {st} is out of bounds")
        idx = torch.arange(n, device=x.device, dtype=torch.int64) * st + s
        x = x.index_select(d, idx)
    return (x,)


def gather(data: torch.Tensor, indices: torch.Tensor, axis: int, mode: Any = GatherMode.DEFAULT) -> Outputs:
    """DEFAULT: ``data.shape[:axis] + indices.shape + data.shape[axis+1:]``; ELEMENT: ``torch.gather`` semantics;
    ND (no elementwise dims): the last index dim addresses the leading data dims.

    Every index must be in ``0 <= i < dim`` (TensorRT's Gather operator: negative indices are not wrapped), so a
    converter normalises negative constant indices itself; out-of-range indices raise here on real tensors."""
    kind = as_member(GatherMode, mode)
    if indices.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"trt.gather indices must be i32 or i64, got {indices.dtype}")
    idx = indices.to(torch.int64)
    if kind is GatherMode.ND:
        q = indices.shape[-1] if indices.dim() else 0
        if not 1 <= q <= data.dim():
            raise ValueError(f"trt.gather ND: index depth {q} does not fit data of rank {data.dim()}")
        if _has_values(idx):  # (a size read into a tensor would pin a symbolic dim: only with real values)
            sizes = torch.tensor(list(data.shape[:q]), dtype=torch.int64, device=idx.device)
            if bool(((idx < 0) | (idx >= sizes)).any()):
                raise IndexError(f"trt.gather ND: an index is outside the data's leading dims {tuple(data.shape[:q])}")
        linear = idx[..., 0]
        for i in range(1, q):  # row-major position over the leading q dims, by Horner's rule
            linear = linear * data.shape[i] + idx[..., i]
        flat = data.reshape([-1, *data.shape[q:]])
        return (flat.index_select(0, linear.reshape(-1)).reshape([*indices.shape[:-1], *data.shape[q:]]),)
    ax = _axis("trt.gather", axis, data.dim())
    if _has_values(idx) and bool(((idx < 0) | (idx >= data.shape[ax])).any()):
        raise IndexError(f"trt.gather: an index is outside 0..{data.shape[ax] - 1} (negative ones are not wrapped)")
    if kind is GatherMode.ELEMENT:
        return (torch.gather(data, ax, idx),)
    out = data.index_select(ax, idx.reshape(-1))
    return (out.reshape([*data.shape[:ax], *indices.shape, *data.shape[ax + 1:]]),)


# ---- resize ------------------------------------------------------------------------------------------------------

_LINEAR_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


def resize(input: torch.Tensor, shape: Sequence[int], mode: Any,
           coordinate_transformation: Any = ResizeCoordinateTransformation.ASYMMETRIC,
           nearest_rounding: Any = ResizeRoundMode.FLOOR) -> Outputs:
    """Resize an ``[N, C, *spatial]`` input (1-3 spatial dims; N and C kept) to ``shape``.

    The combinations PyTorch has: NEAREST + ASYMMETRIC + FLOOR reads ``in[floor(out_i * in / out)]`` (PyTorch's
    ``nearest`` for an output size); LINEAR + HALF_PIXEL samples at ``(out_i + 0.5) * in / out - 0.5`` clamped to
    the edges (``align_corners=False``); LINEAR + ALIGN_CORNERS at ``out_i * (in - 1) / (out - 1)``. Other
    combinations raise (no converter emits them)."""
    kind = as_member(InterpolationMode, mode)
    coords = as_member(ResizeCoordinateTransformation, coordinate_transformation)
    rounding = as_member(ResizeRoundMode, nearest_rounding)
    _floating("trt.resize", input)
    n = input.dim() - 2
    if len(shape) != input.dim() or n not in _LINEAR_MODES or list(shape[:2]) != list(input.shape[:2]):
        raise ValueError(f"trt.resize: shape {list(shape)} does not resize the 1-3 spatial dims of an [N, C, ...] "
                         f"input {tuple(input.shape)}")
    if any(d <= 0 for d in shape):  # no int(): a symbolic size must stay symbolic
        raise ValueError(f"trt.resize: output shape {list(shape)} must be positive")
    size = [int(d) for d in shape[2:]]
    if kind is InterpolationMode.NEAREST:
        if coords is not ResizeCoordinateTransformation.ASYMMETRIC or rounding is not ResizeRoundMode.FLOOR:
            raise ValueError(f"trt.resize: NEAREST is defined here with ASYMMETRIC/FLOOR only, got "
                             f"{coords.name}/{rounding.name}")
        out = F.interpolate(input, size=size, mode="nearest")
    else:
        if coords is ResizeCoordinateTransformation.ASYMMETRIC:
            raise ValueError("trt.resize: LINEAR is defined here with HALF_PIXEL or ALIGN_CORNERS only")
        out = F.interpolate(_acc(input), size=size, mode=_LINEAR_MODES[n],
                            align_corners=coords is ResizeCoordinateTransformation.ALIGN_CORNERS)
    return (out.to(input.dtype),)


# ---- cumulative --------------------------------------------------------------------------------------------------

def cumulative(input: torch.Tensor, axis: int, op: Any = CumulativeOperation.SUM, exclusive: bool = False,
               reverse: bool = False) -> Outputs:
    """Running sum along ``axis``: ``out[i] = sum(in[j] for j <= i)`` (``j < i`` when exclusive; ``j >= i`` /
    ``j > i`` when reverse). The dtype is kept (integers wrap as in TensorRT: no promotion)."""
    as_member(CumulativeOperation, op)
    if input.dtype == torch.bool or input.dtype in (torch.int8, torch.uint8):
        raise TypeError(f"trt.cumulative takes float, i32 or i64 tensors, got {input.dtype}")
    if input.dim() < 1:
        raise ValueError("trt.cumulative needs an input of rank >= 1")
    ax = _axis("trt.cumulative", axis, input.dim())
    x = input.flip(ax) if reverse else input
    out = torch.cumsum(_acc(x), dim=ax, dtype=_acc(x).dtype)
    if exclusive:
        out = out - _acc(x)
    if reverse:
        out = out.flip(ax)
    return (out.to(input.dtype),)


# ---- scatter -----------------------------------------------------------------------------------------------------

# TensorRT's scatter takes f32/f16/bf16/i32/i64/i8; f64 passes here like everywhere in the reference (float64
# references in tests), and emission rejects it anyway.
_SCATTER_REFUSED = (torch.bool, torch.uint8)


def _check_scatter_bounds(idx: torch.Tensor, sizes: Sequence[int], what: str) -> None:
    """Indices must lie in ``0..size-1`` (per index column for ND); checked on real tensors only (meta has no
    values). Out-of-range writes are undefined in TensorRT, so the reference refuses them."""
    if not _has_values(idx) or idx.numel() == 0:
        return
    bound = torch.tensor(list(sizes), dtype=torch.int64, device=idx.device)
    if bool(((idx < 0) | (idx >= bound)).any()):
        raise IndexError(f"trt.scatter: an index is outside {what} (negative ones are not wrapped)")


def _scatter_nd(data: torch.Tensor, idx: torch.Tensor, updates: torch.Tensor) -> torch.Tensor:
    k = idx.shape[-1] if idx.dim() else 0
    if idx.dim() < 1 or not 1 <= k <= data.dim():
        raise ValueError(f"trt.scatter ND: indices {tuple(idx.shape)} do not address data of rank {data.dim()}")
    want = (*idx.shape[:-1], *data.shape[k:])
    if tuple(updates.shape) != want:
        raise ValueError(f"trt.scatter ND: updates {tuple(updates.shape)} must have shape {want}")
    _check_scatter_bounds(idx, data.shape[:k], f"the leading data dims {tuple(data.shape[:k])}")
    return data.index_put(tuple(idx.unbind(-1)), updates)


def _scatter_element(data: torch.Tensor, idx: torch.Tensor, updates: torch.Tensor, axis: int) -> torch.Tensor:
    ax = _axis("trt.scatter", axis, data.dim())
    if idx.dim() != data.dim() or tuple(updates.shape) != tuple(idx.shape):
        raise ValueError(f"trt.scatter ELEMENT: indices {tuple(idx.shape)} must have data's rank {data.dim()} and "
                         f"updates {tuple(updates.shape)} the indices' shape")
    if any(i > d for a, (i, d) in enumerate(zip(idx.shape, data.shape)) if a != ax):
        raise ValueError(f"trt.scatter ELEMENT: indices {tuple(idx.shape)} exceed data {tuple(data.shape)} "
                         f"outside axis {ax}")
    _check_scatter_bounds(idx, [data.shape[ax]], f"0..{data.shape[ax] - 1} along axis {ax}")
    return data.scatter(ax, idx, updates)


def scatter(data: torch.Tensor, indices: torch.Tensor, updates: torch.Tensor, mode: Any = ScatterMode.ELEMENT,
            axis: int = 0) -> Outputs:
    """A copy of ``data`` with positions overwritten by ``updates``. ELEMENT is ``torch.scatter`` along ``axis``
    (``out[..., indices[i, j, ...], ...] = updates[i, j, ...]`` with the index replacing coordinate ``axis``); ND
    reads the last index dim as a tuple addressing the leading ``k`` data dims and writes a whole trailing slice.

    With duplicate indices TensorRT's result is undefined; this gives PyTorch's CPU result (one of the writes), so
    converters must only be trusted, and tested, on unique indices."""
    kind = as_member(ScatterMode, mode)
    if data.dtype in _SCATTER_REFUSED:
        raise TypeError(f"trt.scatter takes f32/f16/bf16/i32/i64/i8 data, got {data.dtype}")
    _same_dtype("trt.scatter", data, updates)
    if indices.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"trt.scatter indices must be i32 or i64, got {indices.dtype}")
    idx = indices.to(torch.int64)
    if kind is ScatterMode.ND:
        return (_scatter_nd(data, idx, updates),)
    return (_scatter_element(data, idx, updates, axis),)


OPS: dict[str, Callable[..., Outputs]] = {
    "trt.activation": activation,
    "trt.unary": unary,
    "trt.elementwise": elementwise,
    "trt.matrix_multiply": matrix_multiply,
    "trt.convolution": convolution,
    "trt.deconvolution": deconvolution,
    "trt.pooling": pooling,
    "trt.reduce": reduce,
    "trt.softmax": softmax,
    "trt.shuffle": shuffle,
    "trt.concatenation": concatenation,
    "trt.slice": slice,
    "trt.gather": gather,
    "trt.select": select,
    "trt.cast": cast,
    "trt.normalization": normalization,
    "trt.identity": identity,
    "trt.shape": shape,
    "trt.topk": topk,
    "trt.resize": resize,
    "trt.cumulative": cumulative,
    "trt.scatter": scatter,
}
