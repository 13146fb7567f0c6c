"""What every layer's emission shares: the network under construction (:class:`LayerContext`), tensor arguments
(:class:`Operand`), dtype names, and the helper shuffles that pad ranks where TensorRT is stricter than the dialect.

An emitter gets the :class:`LayerContext` of the network being built, the node's arguments (tensor positions hold
:class:`Operand` s, attributes their IR values) and the layer name, and returns the ITensors of the node's outputs in
order. Helper layers are named ``"{layer name}/{purpose}"`` so a profile still points at the node; each family module
says which helper layers its layers add and why (the dialect's semantics are numpy-like where TensorRT is stricter).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from trt_passes.ir.symbolic import Arithmetic, SymDim, fold
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
        dims = [1] * (rank - o.type.rank) + dims_of(o)
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


def axes_mask(axes: Sequence[int], rank: int) -> int:
    """TensorRT's axes bitmask for (possibly negative) ``axes`` of a rank-``rank`` tensor."""
    return sum(1 << (a % rank if rank else 0) for a in set(axes))


def dims_of(o: Operand) -> list[int | SymDim]:
    return list(o.type.shape)


def broadcast_ranks(c: LayerContext, operands: dict[str, Operand], name: str) -> dict[str, Any]:
    """TensorRT wants equal ranks where the dialect broadcasts like numpy: a lower-rank operand is left-padded with
    1s (numpy broadcasting does exactly that)."""
    rank = max(o.type.rank for o in operands.values())
    return {k: c.padded(o, rank, f"{name}/broadcast_{k}") for k, o in operands.items()}


def at_least_2d(c: LayerContext, o: Operand, axis: int, name: str) -> tuple[Any, int]:
    """Some layers (softmax, TopK) want rank >= 2: a rank-0/1 input runs as a ``[1, n]`` view. Returns the tensor
    and the (non-negative) axis in it."""
    shape, rank = dims_of(o), o.type.rank
    if rank >= 2:
        return o.tensor, axis % rank
    return c.reshape(o.tensor, [1, *shape] if rank else [1, 1], f"{name}/to_2d"), 1


def restore_rank(c: LayerContext, out: Any, o: Operand, name: str) -> Any:
    """Undo :func:`at_least_2d` on an output."""
    if o.type.rank >= 2:
        return out
    return c.reshape(out, [int(d) for d in out.shape][1:] if o.type.rank else [], name)
