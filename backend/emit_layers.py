"""One INetworkDefinition layer (plus, where TensorRT needs it, small helper shuffles) per ``trt.*`` op.

Each emitter gets the :class:`LayerContext` of the network being built, the node's arguments (tensor positions hold
:class:`Operand` s, attributes their IR values) and the layer name, and returns the ITensors of the node's outputs in
order. Helper layers are named ``"{layer name}/{purpose}"`` so a profile still points at the node.

Helper layers that belong to an op's emission (the dialect's semantics are numpy-like where TensorRT is stricter):

* ``trt.elementwise`` / ``trt.select``: TensorRT wants equal ranks, so a lower-rank input is left-padded with 1s by a
  shuffle (numpy broadcasting does exactly that).
* ``trt.matrix_multiply``: likewise for batch dims (a VECTOR operand counts one dim more).
* ``trt.normalization``: scale and bias are left-padded to the input's rank.
* ``trt.pooling``: TensorRT pools only inputs of rank >= 4 with 2 or 3 spatial dims; other inputs are reshaped to
  ``[1, prod(leading dims), *spatial]`` (1-d pooling as 2-d with a height-1 window) and back.
* ``trt.softmax`` / ``trt.topk``: TensorRT wants rank >= 2, so rank 0/1 inputs run as ``[1, n]``.
* ``trt.convolution`` / ``trt.deconvolution``: 1-d runs as 2-d over ``[N, C, 1, L]`` with a height-1 kernel.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from trt_passes.backend.enums import (
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
    to_tensorrt,
)
from trt_passes.ir.symbolic import Arithmetic, SymDim, fold, is_symbolic
from trt_passes.ir.types import TensorType

IR_TO_TRT_DTYPE = {"f32": "float32", "f16": "float16", "bf16": "bfloat16", "i64": "int64", "i32": "int32",
                   "i8": "int8", "u8": "uint8", "bool": "bool"}


class EmissionError(RuntimeError):
    """A segment body cannot be expressed as a TensorRT network; the message names the node and its rule."""


def trt_dtype(trt: Any, dtype: str) -> Any:
    if dtype not in IR_TO_TRT_DTYPE:
        raise EmissionError(f"TensorRT has no {dtype} tensors (supported: {', '.join(IR_TO_TRT_DTYPE)})")
    return getattr(trt, IR_TO_TRT_DTYPE[dtype])


def ir_dtype(trt: Any, dt: Any) -> str:
    for name, attr in IR_TO_TRT_DTYPE.items():
        if getattr(trt, attr) == dt:
            return name
    return str(dt)


@dataclass
class Operand:
    """A tensor argument: its IR type, its value when it is a compile-time constant, and a way to get its ITensor
    (constants become ``add_constant`` layers only when a layer wants them as tensors, not as Weights)."""

    type: TensorType
    value: torch.Tensor | None
    make: Callable[[], Any]
    _tensor: Any = field(default=None, repr=False)

    @property
    def tensor(self) -> Any:
        if self._tensor is None:
            self._tensor = self.make()
        return self._tensor


class LayerContext:
    """The network under construction and what must outlive it."""

    def __init__(self, trt: Any, network: Any) -> None:
        self.trt = trt
        self.network = network
        # Host buffers behind every Weights: TensorRT keeps raw pointers until the engine is built.
        self.keep_alive: list[torch.Tensor] = []
        self.layer_names: list[str] = []
        self._names: set[str] = set()
        # symbol -> (network input, axis) whose run-time size it is; and the shape tensors made from them so far
        self.symbol_sources: dict[str, tuple[Any, int]] = {}
        self._dim_tensors: dict[str, Any] = {}

    def dim_tensor(self, d: int | SymDim, name: str) -> Any:
        """A 1-element int64 shape tensor holding ``d``: a constant, or arithmetic on the network inputs' sizes."""
        key = str(d)
        if key not in self._dim_tensors:
            if isinstance(d, SymDim) and d.isidentifier():
                if key not in self.symbol_sources:
                    raise EmissionError(f"{name}: a size needs symbol {d}, which no input of this segment has as a "
                                        "dim")
                tensor, axis = self.symbol_sources[key]
                shape = self.named(self.network.add_shape(tensor), f"{name}/shape_of_{key}").get_output(0)
                layer = self.named(self.network.add_slice(shape, (axis,), (1,), (1,)), f"{name}/{key}")
                self._dim_tensors[key] = layer.get_output(0)
            elif isinstance(d, SymDim):
                self._dim_tensors[key] = fold(d, {}, _ShapeArithmetic(self, name))
            else:
                self._dim_tensors[key] = self.constant(torch.tensor([int(d)], dtype=torch.int64), f"{name}/dim")
        return self._dim_tensors[key]

    def shape_tensor(self, dims: Sequence[int | SymDim], name: str) -> Any:
        """A shape tensor (int64 ``[len(dims)]``) for ``dims``, some of them symbolic."""
        parts = [self.dim_tensor(d, name) for d in dims]
        if not parts:
            return self.constant(torch.zeros([0], dtype=torch.int64), f"{name}/shape")
        if len(parts) == 1:
            return parts[0]
        layer = self.named(self.network.add_concatenation(parts), f"{name}/shape")
        layer.axis = 0
        return layer.get_output(0)

    def named(self, layer: Any, name: str) -> Any:
        if layer is None:
            raise EmissionError(f"TensorRT refused to create layer {name}")
        if name in self._names:  # TensorRT wants unique names; helper layers may repeat a purpose (two PRODs)
            k = 2
            while f"{name}~{k}" in self._names:
                k += 1
            name = f"{name}~{k}"
        self._names.add(name)
        layer.name = name
        self.layer_names.append(name)
        return layer

    def weights(self, value: torch.Tensor) -> Any:
        host = value.detach().to("cpu").contiguous()
        dtype = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.int64: "i64",
                 torch.int32: "i32", torch.int8: "i8", torch.uint8: "u8", torch.bool: "bool"}.get(host.dtype)
        if dtype is None:
            raise EmissionError(f"TensorRT has no weights of dtype {host.dtype}")
        self.keep_alive.append(host)
        return self.trt.Weights(trt_dtype(self.trt, dtype), host.data_ptr(), host.numel())

    def constant(self, value: torch.Tensor, name: str) -> Any:
        layer = self.named(self.network.add_constant(tuple(value.shape), self.weights(value)), name)
        return layer.get_output(0)

    def reshape(self, tensor: Any, dims: Sequence[int | SymDim], name: str) -> Any:
        layer = self.named(self.network.add_shuffle(tensor), name)
        self.set_reshape(layer, dims, name)
        return layer.get_output(0)

    def set_reshape(self, layer: Any, dims: Sequence[int | SymDim], name: str,
                    source: Sequence[int | SymDim] | None = None) -> None:
        """Static dims go in ``reshape_dims``. A symbolic dim that the reshaped tensor (``source``: its IR shape
        after the first transpose) has at the same position is TensorRT's 0 ("copy that dim"), and one further
        symbolic dim is its -1 (inferred from the element count), so the usual reshapes of a dynamic batch or
        sequence stay static; otherwise the dims go in a shape tensor, where 0 means 0."""
        if not any(isinstance(d, SymDim) for d in dims):
            layer.reshape_dims = tuple(int(d) for d in dims)
            return
        if source is not None and 0 not in dims and -1 not in dims:
            kept = [isinstance(d, SymDim) and i < len(source) and source[i] == d for i, d in enumerate(dims)]
            others = [i for i, d in enumerate(dims) if isinstance(d, SymDim) and not kept[i]]
            if len(others) <= 1:  # one more symbolic dim is TensorRT's -1, inferred from the element count
                layer.reshape_dims = tuple(0 if kept[i] else -1 if i in others else int(d) for i, d in enumerate(dims))
                return
        layer.set_input(1, self.shape_tensor(dims, name))
        layer.zero_is_placeholder = False

    def padded(self, o: Operand, rank: int, name: str) -> Any:
        """``o`` left-padded with 1s to ``rank``. A constant is emitted already padded (its weights reshaped, not
        copied) instead of through a shuffle: one layer fewer per broadcast bias or scale."""
        if o.type.rank >= rank:
            return o.tensor
        dims = [1] * (rank - o.type.rank) + _shape(o)
        if o.value is not None:
            return self.constant(o.value.reshape(dims), name)
        return self.reshape(o.tensor, dims, name)


class _ShapeArithmetic(Arithmetic):
    """Size expressions as TensorRT shape-tensor layers (int64 ``[1]`` tensors)."""

    def __init__(self, c: LayerContext, name: str) -> None:
        self.c, self.name = c, name

    def symbol(self, s: str) -> Any:
        return self.c.dim_tensor(SymDim(s), self.name)

    def const(self, value: int) -> Any:
        return self.c.constant(torch.tensor([value], dtype=torch.int64), f"{self.name}/{value}")

    def _op(self, op: Any, a: Any, b: Any) -> Any:
        layer = self.c.named(self.c.network.add_elementwise(a, b, op), f"{self.name}/{op.name.lower()}")
        return layer.get_output(0)

    def binary(self, op: type, a: Any, b: Any) -> Any:
        E = self.c.trt.ElementWiseOperation
        if op is ast.Mod:  # a % b == a - (a // b) * b for the positive sizes shapes hold
            return self._op(E.SUB, a, self._op(E.PROD, self._op(E.FLOOR_DIV, a, b), b))
        return self._op({ast.Add: E.SUM, ast.Sub: E.SUB, ast.Mult: E.PROD, ast.FloorDiv: E.FLOOR_DIV}[op], a, b)

    def neg(self, a: Any) -> Any:
        return self._op(self.c.trt.ElementWiseOperation.SUB, self.const(0), a)

    def extreme(self, name: str, items: list[Any]) -> Any:
        E = self.c.trt.ElementWiseOperation
        out = items[0]
        for x in items[1:]:
            out = self._op(E.MAX if name == "Max" else E.MIN, out, x)
        return out


Emitter = Callable[[LayerContext, dict[str, Any], str], list[Any]]


def _mask(axes: Sequence[int], rank: int) -> int:
    return sum(1 << (a % rank if rank else 0) for a in set(axes))


def _shape(o: Operand) -> list[int | SymDim]:
    return list(o.type.shape)


def activation(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    layer = c.named(c.network.add_activation(a["input"].tensor, to_tensorrt(c.trt, as_member(ActivationType,
                                                                                              a["type"]))), name)
    layer.alpha = float(a["alpha"])
    layer.beta = float(a["beta"])
    return [layer.get_output(0)]


def unary(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    op = to_tensorrt(c.trt, as_member(UnaryOperation, a["op"]))
    return [c.named(c.network.add_unary(a["input"].tensor, op), name).get_output(0)]


def _broadcast_ranks(c: LayerContext, operands: dict[str, Operand], name: str) -> dict[str, Any]:
    rank = max(o.type.rank for o in operands.values())
    return {k: c.padded(o, rank, f"{name}/broadcast_{k}") for k, o in operands.items()}


def elementwise(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    t = _broadcast_ranks(c, {"a": a["a"], "b": a["b"]}, name)
    op = to_tensorrt(c.trt, as_member(ElementWiseOperation, a["op"]))
    return [c.named(c.network.add_elementwise(t["a"], t["b"], op), name).get_output(0)]


def select(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    t = _broadcast_ranks(c, {k: a[k] for k in ("condition", "then_input", "else_input")}, name)
    layer = c.network.add_select(t["condition"], t["then_input"], t["else_input"])
    return [c.named(layer, name).get_output(0)]


def matrix_multiply(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    ops = {k: as_member(MatrixOperation, a[f"op_{k}"]) for k in ("a", "b")}
    # TensorRT wants equal ranks once a VECTOR operand is counted as the matrix it stands for.
    eff = {k: a[k].type.rank + (ops[k] is MatrixOperation.VECTOR) for k in ("a", "b")}
    target = max(eff.values())
    t = {k: c.padded(a[k], a[k].type.rank + target - eff[k], f"{name}/broadcast_{k}") for k in ("a", "b")}
    layer = c.network.add_matrix_multiply(t["a"], to_tensorrt(c.trt, ops["a"]), t["b"], to_tensorrt(c.trt, ops["b"]))
    return [c.named(layer, name).get_output(0)]


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
    n, ch, length = _shape(a["input"])
    x = c.reshape(a["input"].tensor, [n, ch, 1, length], f"{name}/to_2d")
    fill = {"stride": 1, "padding": 0, "dilation": 1, "output_padding": 0}
    return x, kernel.unsqueeze(2), {k: [fill[k], *v] for k, v in lists.items()}


def _back_to_1d(c: LayerContext, out: Any, spatial: int, name: str) -> Any:
    if spatial != 1:
        return out
    n, k, _, length = list(out.shape)
    return c.reshape(out, [n, k, length], f"{name}/from_2d")


def convolution(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
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


def deconvolution(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
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


def pooling(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    shape = _shape(a["input"])
    window, stride, padding = list(a["window"]), list(a["stride"]), list(a["padding"])
    n = len(window)
    lead, spatial = shape[:-n], shape[-n:]
    x = a["input"].tensor
    if n == 1:  # TensorRT pools 2 or 3 spatial dims: pool [1, L] with a [1, w] window
        spatial, window, stride, padding = [1, *spatial], [1, *window], [1, *stride], [0, *padding]
    reshaped = n == 1 or len(lead) != 2
    if reshaped:
        x = c.reshape(x, [1, math.prod(lead), *spatial], f"{name}/to_nc")
    layer = c.network.add_pooling_nd(x, to_tensorrt(c.trt, as_member(PoolingType, a["type"])), tuple(window))
    c.named(layer, name)
    layer.stride_nd = tuple(stride)
    layer.padding_nd = tuple(padding)
    layer.padding_mode = (c.trt.PaddingMode.EXPLICIT_ROUND_UP if a["ceil_mode"]
                          else c.trt.PaddingMode.EXPLICIT_ROUND_DOWN)
    layer.average_count_excludes_padding = bool(a["exclude_padding"])
    out = layer.get_output(0)
    if reshaped:
        out_spatial = list(out.shape)[-n:]
        out = c.reshape(out, [*lead, *out_spatial], f"{name}/from_nc")
    return [out]


def reduce(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    op = to_tensorrt(c.trt, as_member(ReduceOperation, a["op"]))
    layer = c.network.add_reduce(a["input"].tensor, op, _mask(a["axes"], a["input"].type.rank), bool(a["keep_dims"]))
    return [c.named(layer, name).get_output(0)]


def _at_least_2d(c: LayerContext, o: Operand, axis: int, name: str) -> tuple[Any, int]:
    """Softmax and TopK want rank >= 2: a rank-0/1 input runs as a ``[1, n]`` view. Returns the tensor and the
    (non-negative) axis in it."""
    shape, rank = _shape(o), o.type.rank
    if rank >= 2:
        return o.tensor, axis % rank
    return c.reshape(o.tensor, [1, *shape] if rank else [1, 1], f"{name}/to_2d"), 1


def _restore(c: LayerContext, out: Any, o: Operand, name: str) -> Any:
    if o.type.rank >= 2:
        return out
    return c.reshape(out, [int(d) for d in out.shape][1:] if o.type.rank else [], name)


def softmax(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    x, axis = _at_least_2d(c, a["input"], a["axis"], name)
    layer = c.named(c.network.add_softmax(x), name)
    layer.axes = 1 << axis
    return [_restore(c, layer.get_output(0), a["input"], f"{name}/from_2d")]


def shuffle(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    layer = c.named(c.network.add_shuffle(a["input"].tensor), name)
    if a["first_transpose"] is not None:
        layer.first_transpose = tuple(a["first_transpose"])
    if a["reshape"] is not None:  # static: 0 copies, -1 infers (TensorRT's zero_is_placeholder); see set_reshape
        shape = list(a["input"].type.shape)
        perm = a["first_transpose"]
        c.set_reshape(layer, a["reshape"], name, [shape[i] for i in perm] if perm is not None else shape)
    if a["second_transpose"] is not None:
        layer.second_transpose = tuple(a["second_transpose"])
    return [layer.get_output(0)]


def concatenation(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    inputs = list(a["inputs"])
    layer = c.named(c.network.add_concatenation([o.tensor for o in inputs]), name)
    rank = inputs[0].type.rank
    layer.axis = a["axis"] % rank
    return [layer.get_output(0)]


def slice(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    static = {k: [0 if isinstance(d, SymDim) else int(d) for d in a[k]] for k in ("start", "shape", "stride")}
    layer = c.named(c.network.add_slice(a["input"].tensor, *(tuple(static[k]) for k in ("start", "shape", "stride"))),
                    name)
    for index, k in enumerate(("start", "shape", "stride"), start=1):
        if is_symbolic(a[k]):  # a run-time size: the whole list goes in as a shape tensor
            layer.set_input(index, c.shape_tensor(a[k], f"{name}/{k}"))
    return [layer.get_output(0)]


def gather(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    data = a["data"]
    layer = c.named(c.network.add_gather(data.tensor, a["indices"].tensor, a["axis"] % data.type.rank), name)
    layer.mode = to_tensorrt(c.trt, as_member(GatherMode, a["mode"]))
    return [layer.get_output(0)]


def cast(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    return [c.named(c.network.add_cast(a["input"].tensor, trt_dtype(c.trt, a["to"])), name).get_output(0)]


def normalization(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    rank = a["input"].type.rank
    scale = c.padded(a["scale"], rank, f"{name}/broadcast_scale")
    bias = c.padded(a["bias"], rank, f"{name}/broadcast_bias")
    layer = c.named(c.network.add_normalization(a["input"].tensor, scale, bias, _mask(a["axes"], rank)), name)
    layer.epsilon = float(a["epsilon"])
    return [layer.get_output(0)]


def identity(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    return [c.named(c.network.add_identity(a["input"].tensor), name).get_output(0)]


def shape(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    return [c.named(c.network.add_shape(a["input"].tensor), name).get_output(0)]


def topk(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    op = to_tensorrt(c.trt, as_member(TopKOperation, a["op"]))
    x, axis = _at_least_2d(c, a["input"], a["axes"][0] if a["axes"] else 0, name)
    layer = c.named(c.network.add_topk(x, op, int(a["k"]), 1 << axis), name)
    return [_restore(c, layer.get_output(i), a["input"], f"{name}/from_2d_{i}") for i in range(2)]


def resize(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    layer = c.named(c.network.add_resize(a["input"].tensor), name)
    if is_symbolic(a["shape"]):
        layer.set_input(1, c.shape_tensor(a["shape"], name))
    else:
        layer.shape = tuple(int(d) for d in a["shape"])
    layer.resize_mode = to_tensorrt(c.trt, as_member(InterpolationMode, a["mode"]))
    layer.coordinate_transformation = to_tensorrt(
        c.trt, as_member(ResizeCoordinateTransformation, a["coordinate_transformation"]))
    layer.nearest_rounding = to_tensorrt(c.trt, as_member(ResizeRoundMode, a["nearest_rounding"]))
    return [layer.get_output(0)]


def cumulative(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    rank = a["input"].type.rank
    axis = c.constant(torch.tensor(a["axis"] % rank, dtype=torch.int32), f"{name}/axis")
    op = to_tensorrt(c.trt, as_member(CumulativeOperation, a["op"]))
    layer = c.network.add_cumulative(a["input"].tensor, axis, op, bool(a["exclusive"]), bool(a["reverse"]))
    return [c.named(layer, name).get_output(0)]


def scatter(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    mode = as_member(ScatterMode, a["mode"])
    data = a["data"]
    layer = c.named(c.network.add_scatter(data.tensor, a["indices"].tensor, a["updates"].tensor,
                                          to_tensorrt(c.trt, mode)), name)
    if mode is ScatterMode.ELEMENT:  # ND ignores the axis
        layer.axis = a["axis"] % data.type.rank
    return [layer.get_output(0)]


EMITTERS: dict[str, Emitter] = {
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
