"""Shapes and data movement: ``trt.shuffle`` (IShuffleLayer), ``trt.concatenation`` (IConcatenationLayer),
``trt.slice`` (ISliceLayer) and ``trt.shape`` (IShapeLayer).

Symbolic sizes in attributes (a reshape to ``[s0, 512]``, a slice's shape) become shape tensors at emission (see
:meth:`~trt_passes.backend.layers.emission.LayerContext.set_reshape` and ``shape_tensor``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from trt_passes.backend.layers.emission import LayerContext
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.semantics import Outputs, has_values, normalize_axis, require_same_dtype
from trt_passes.ir.symbolic import SymDim, is_symbolic

# ---- shuffle -----------------------------------------------------------------------------------------------------


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


def emit_shuffle(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
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


SHUFFLE = Layer(
    "shuffle",
    (tensor_arg("input"), attr("first_transpose", "int[]?", None), attr("reshape", "int[]?", None),
     attr("second_transpose", "int[]?", None)),
    "IShuffleLayer: permute by first_transpose, reshape (0 copies that dim of the transposed input, one -1 "
    "is inferred), permute by second_transpose; `none` skips a step.",
    reference=shuffle, emit=emit_shuffle)

# ---- concatenation -----------------------------------------------------------------------------------------------


def concatenation(inputs: Sequence[torch.Tensor], axis: int) -> Outputs:
    if not inputs:
        raise ValueError("trt.concatenation needs at least one input")
    require_same_dtype("trt.concatenation", *inputs)
    return (torch.cat(list(inputs), dim=normalize_axis("trt.concatenation", axis, inputs[0].dim())),)


def emit_concatenation(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    inputs = list(a["inputs"])
    layer = c.named(c.network.add_concatenation([o.tensor for o in inputs]), name)
    rank = inputs[0].type.rank
    layer.axis = a["axis"] % rank
    return [layer.get_output(0)]


CONCATENATION = Layer(
    "concatenation", (tensor_arg("inputs", "Tensor[]"), attr("axis", "int")),
    "IConcatenationLayer: join `inputs` (one dtype) along `axis`.",
    reference=concatenation, emit=emit_concatenation)

# ---- slice -------------------------------------------------------------------------------------------------------


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


def emit_slice(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    static = {k: [0 if isinstance(d, SymDim) else int(d) for d in a[k]] for k in ("start", "shape", "stride")}
    layer = c.named(c.network.add_slice(a["input"].tensor, *(tuple(static[k]) for k in ("start", "shape", "stride"))),
                    name)
    for index, k in enumerate(("start", "shape", "stride"), start=1):
        if is_symbolic(a[k]):  # a run-time size: the whole list goes in as a shape tensor
            layer.set_input(index, c.shape_tensor(a[k], f"{name}/{k}"))
    return [layer.get_output(0)]


SLICE = Layer(
    "slice", (tensor_arg("input"), attr("start", "int[]"), attr("shape", "int[]"), attr("stride", "int[]")),
    "ISliceLayer (STRICT_BOUNDS): out[i] = input[start + i * stride] per dim; output shape is `shape`.",
    reference=slice, emit=emit_slice)

# ---- shape -------------------------------------------------------------------------------------------------------


def shape(input: torch.Tensor) -> Outputs:
    if not has_values(input):  # type inference: only the result's type matters, and reading a symbolic size as a
        return (torch.empty([input.dim()], dtype=torch.int64, device=input.device),)  # value would pin it
    return (torch.tensor(list(input.shape), dtype=torch.int64, device=input.device),)


def emit_shape(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    return [c.named(c.network.add_shape(a["input"].tensor), name).get_output(0)]


SHAPE = Layer(
    "shape", (tensor_arg("input"),),
    "IShapeLayer: the input's dims as an i64 tensor [rank] (a run-time size as a value, e.g. to wrap negative "
    "indices against a dim of dynamic size).",
    reference=shape, emit=emit_shape)

LAYERS = (SHUFFLE, CONCATENATION, SLICE, SHAPE)
