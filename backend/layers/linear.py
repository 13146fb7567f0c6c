"""Contractions: ``trt.matrix_multiply`` (IMatrixMultiplyLayer), ``trt.convolution`` (IConvolutionLayer) and
``trt.deconvolution`` (IDeconvolutionLayer).

Helper layers:

* ``trt.matrix_multiply``: TensorRT wants equal ranks, so the operand with fewer batch dims is left-padded with 1s
  (a VECTOR operand counts one dim more, as the matrix it stands for).
* ``trt.convolution`` / ``trt.deconvolution``: TensorRT convolves 2 or 3 spatial dims, so 1-d runs as 2-d over
  ``[N, C, 1, L]`` with a height-1 kernel, and is reshaped back.

All three are inner products: in an engine built with TF32 allowed, their float32 operands (not a bias) are read as
TF32, and the reference rounds them the same way (:mod:`~trt_passes.backend.layers.numerics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from trt_passes.backend.enums import MatrixOperation, as_member, to_tensorrt
from trt_passes.backend.layers.emission import EmissionError, LayerContext, dims_of
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.numerics import tf32_operands
from trt_passes.backend.layers.semantics import Outputs, require_same_dtype, widen_half

# ---- matrix multiply ---------------------------------------------------------------------------------------------


def matrix_multiply(a: torch.Tensor, b: torch.Tensor, op_a: Any = MatrixOperation.NONE,
                    op_b: Any = MatrixOperation.NONE) -> Outputs:
    """``op(a) @ op(b)`` with batch dims broadcast. VECTOR treats the last dim as a vector (a: row, b: column),
    and that vector dim is absent from the result; TRANSPOSE swaps the last two dims."""
    require_same_dtype("trt.matrix_multiply", a, b)
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
    x, y = tf32_operands(x, y)  # the engine may read float32 operands as TF32 (see numerics.py)
    out = torch.matmul(widen_half(x), widen_half(y)).to(a.dtype)
    if ob is MatrixOperation.VECTOR:
        out = out.squeeze(-1)
    if oa is MatrixOperation.VECTOR:
        out = out.squeeze(-1 if ob is MatrixOperation.VECTOR else -2)
    return (out,)


def emit_matrix_multiply(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    ops = {k: as_member(MatrixOperation, a[f"op_{k}"]) for k in ("a", "b")}
    # TensorRT wants equal ranks once a VECTOR operand is counted as the matrix it stands for.
    eff = {k: a[k].type.rank + (ops[k] is MatrixOperation.VECTOR) for k in ("a", "b")}
    target = max(eff.values())
    t = {k: c.padded(a[k], a[k].type.rank + target - eff[k], f"{name}/broadcast_{k}") for k in ("a", "b")}
    layer = c.network.add_matrix_multiply(t["a"], to_tensorrt(c.trt, ops["a"]), t["b"], to_tensorrt(c.trt, ops["b"]))
    return [c.named(layer, name).get_output(0)]


MATRIX_MULTIPLY = Layer(
    "matrix_multiply",
    (tensor_arg("a"), tensor_arg("b"), attr("op_a", "MatrixOperation", MatrixOperation.NONE),
     attr("op_b", "MatrixOperation", MatrixOperation.NONE)),
    "IMatrixMultiplyLayer: op(a) @ op(b) over the last two dims, batch dims broadcast. TRANSPOSE swaps the "
    "last two dims; VECTOR treats the last dim as a vector that is absent from the result.",
    reference=matrix_multiply, emit=emit_matrix_multiply)

# ---- convolution / deconvolution: reference ----------------------------------------------------------------------

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
    require_same_dtype("trt.convolution", input, kernel, *([bias] if bias is not None else []))
    n = _spatial("trt.convolution", input, kernel, {"stride": stride, "padding": padding, "dilation": dilation})
    x, k = tf32_operands(input, kernel)  # the bias is added to the f32 accumulator, never rounded
    out = _CONV[n](widen_half(x), widen_half(k), None if bias is None else widen_half(bias), list(stride),
                   list(padding), list(dilation), groups)
    return (out.to(input.dtype),)


def deconvolution(input: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None, stride: Sequence[int],
                  padding: Sequence[int], dilation: Sequence[int], groups: int = 1,
                  output_padding: Sequence[int] = ()) -> Outputs:
    """Transposed convolution, kernel ``[C, K/groups, *window]``. ``output_padding`` adds that many rows at the end
    of each spatial dim (emission expresses it as TensorRT's post-padding ``padding - output_padding``)."""
    require_same_dtype("trt.deconvolution", input, kernel, *([bias] if bias is not None else []))
    out_pad = list(output_padding) or [0] * (kernel.dim() - 2)
    n = _spatial("trt.deconvolution", input, kernel, {"stride": stride, "padding": padding, "dilation": dilation,
                                                      "output_padding": out_pad})
    x, k = tf32_operands(input, kernel)
    out = _DECONV[n](widen_half(x), widen_half(k), None if bias is None else widen_half(bias), list(stride),
                     list(padding), out_pad, groups, list(dilation))
    return (out.to(input.dtype),)


# ---- convolution / deconvolution: emission -----------------------------------------------------------------------

def _const_operand(a: dict[str, Any], arg: str, name: str) -> torch.Tensor:
    o = a[arg]
    if o.value is None:
        raise EmissionError(f"{name}: {arg} must be a constant (TensorRT takes it as Weights)")
    return o.value


def _as_2d(c: LayerContext, a: dict[str, Any], kernel: torch.Tensor, name: str) -> tuple[Any, torch.Tensor, dict]:
    """TensorRT convolves 2 or 3 spatial dims: a 1-d (de)convolution runs as 2-d over ``[N, C, 1, L]`` with a
    height-1 kernel. Returns the input tensor, kernel and per-dim attributes to use."""
    lists = {k: list(a[k]) for k in ("stride", "padding", "dilation")}
    if "output_padding" in a:
        lists["output_padding"] = list(a["output_padding"]) or [0] * (kernel.dim() - 2)
    if kernel.dim() != 3:
        return a["input"].tensor, kernel, lists
    n, ch, length = dims_of(a["input"])
    x = c.reshape(a["input"].tensor, [n, ch, 1, length], f"{name}/to_2d")
    fill = {"stride": 1, "padding": 0, "dilation": 1, "output_padding": 0}
    return x, kernel.unsqueeze(2), {k: [fill[k], *v] for k, v in lists.items()}


def _back_to_1d(c: LayerContext, out: Any, spatial: int, name: str) -> Any:
    if spatial != 1:
        return out
    n, k, _, length = list(out.shape)
    return c.reshape(out, [n, k, length], f"{name}/from_2d")


def emit_convolution(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    kernel = _const_operand(a, "kernel", name)
    bias = _const_operand(a, "bias", name) if a["bias"] is not None else None
    x, k2, at = _as_2d(c, a, kernel, name)
    layer = c.network.add_convolution_nd(x, int(kernel.shape[0]), tuple(k2.shape[2:]), c.weights(k2),
                                         None if bias is None else c.weights(bias))
    c.named(layer, name)
    layer.stride_nd = tuple(at["stride"])
    layer.padding_nd = tuple(at["padding"])
    layer.dilation_nd = tuple(at["dilation"])
    layer.num_groups = int(a["groups"])
    return [_back_to_1d(c, layer.get_output(0), kernel.dim() - 2, name)]


def emit_deconvolution(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    kernel = _const_operand(a, "kernel", name)
    bias = _const_operand(a, "bias", name) if a["bias"] is not None else None
    groups = int(a["groups"])
    x, k2, at = _as_2d(c, a, kernel, name)
    # torch crops `padding` at both ends and gives back `output_padding` at the end: TensorRT's post-padding.
    post = [p - q for p, q in zip(at["padding"], at["output_padding"])]
    if any(p < 0 for p in post):
        raise EmissionError(f"{name}: output_padding {list(a['output_padding'])} > padding {list(a['padding'])} "
                            "needs negative post-padding, which TensorRT rejects")
    layer = c.network.add_deconvolution_nd(x, int(kernel.shape[1]) * groups, tuple(k2.shape[2:]), c.weights(k2),
                                           None if bias is None else c.weights(bias))
    c.named(layer, name)
    layer.stride_nd = tuple(at["stride"])
    layer.pre_padding = tuple(at["padding"])
    layer.post_padding = tuple(post)
    layer.dilation_nd = tuple(at["dilation"])
    layer.num_groups = groups
    return [_back_to_1d(c, layer.get_output(0), kernel.dim() - 2, name)]


CONVOLUTION = Layer(
    "convolution",
    (tensor_arg("input"), tensor_arg("kernel"), tensor_arg("bias", "Tensor?"), attr("stride", "int[]"),
     attr("padding", "int[]"), attr("dilation", "int[]"), attr("groups", "int", 1)),
    "IConvolutionLayer (N-d): input [N, C, *spatial], constant kernel [K, C/groups, *window], optional "
    "constant bias [K]; symmetric padding. Same as torch's convNd.",
    reference=convolution, emit=emit_convolution)

DECONVOLUTION = Layer(
    "deconvolution",
    (tensor_arg("input"), tensor_arg("kernel"), tensor_arg("bias", "Tensor?"), attr("stride", "int[]"),
     attr("padding", "int[]"), attr("dilation", "int[]"), attr("groups", "int", 1),
     attr("output_padding", "int[]", [])),
    "IDeconvolutionLayer (N-d): transposed convolution, constant kernel [C, K/groups, *window]; "
    "output_padding (default zeros) extends the end of each spatial dim, as torch's conv_transposeNd.",
    reference=deconvolution, emit=emit_deconvolution)

LAYERS = (MATRIX_MULTIPLY, CONVOLUTION, DECONVOLUTION)
