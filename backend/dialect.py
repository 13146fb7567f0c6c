"""The TensorRT dialect's catalogue: one op per INetworkDefinition layer (ARCHITECTURE.md's table).

Semantics and types come from one definition: :func:`TrtDialect.evaluate` runs the reference runtime
(:mod:`trt_passes.backend.reference`) and :func:`TrtDialect.infer` runs the same code on meta tensors.

Commutativity: no ``trt.*`` schema is flagged commutative. ``trt.elementwise`` is one schema whose ``op`` attribute
selects SUM/PROD/MAX/MIN (commutative) or SUB/DIV/POW/... (not), and the flag is per schema, so setting it would let
a matcher swap the operands of SUB. Code that wants to canonicalise operand order asks
:data:`trt_passes.backend.enums.COMMUTATIVE_ELEMENTWISE` for the op's member instead.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from enum import Enum
from typing import Any

import torch

from trt_passes.backend import reference
from trt_passes.backend.enums import (
    ENUMS,
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
from trt_passes.ir.ops import ArgSpec, OpSchema, SchemaBindError, infer_by_meta
from trt_passes.ir.types import TensorType


def _t(name: str, type: str = "Tensor") -> ArgSpec:
    return ArgSpec(name, type)


def _a(name: str, type: str, *default: Any) -> ArgSpec:
    """An attribute; pass a default to make it optional."""
    return ArgSpec(name, type, default[0] if default else None, bool(default))


def _op(name: str, args: Iterable[ArgSpec], doc: str, returns: tuple[str, ...] = ("Tensor",)) -> OpSchema:
    return OpSchema(f"trt.{name}", tuple(args), returns, doc=doc)


_SCHEMAS: tuple[OpSchema, ...] = (
    _op("activation", [_t("input"), _a("type", "ActivationType"), _a("alpha", "float", 0.0),
                       _a("beta", "float", 0.0)],
        "IActivationLayer: elementwise activation `type`; alpha/beta parametrise LEAKY_RELU, ELU, SELU, SOFTPLUS, "
        "CLIP (alpha=min, beta=max), HARD_SIGMOID, SCALED_TANH, THRESHOLDED_RELU. Output dtype = input dtype."),
    _op("unary", [_t("input"), _a("op", "UnaryOperation")],
        "IUnaryLayer: elementwise `op`. NOT takes and gives bool; ISINF gives bool; others keep the dtype."),
    _op("elementwise", [_t("a"), _t("b"), _a("op", "ElementWiseOperation")],
        "IElementWiseLayer: `a op b` with numpy broadcasting over any ranks (emission left-pads the lower-rank "
        "input with 1s). Both inputs share one dtype; EQUAL/GREATER/LESS give bool; AND/OR/XOR take bool. "
        "Integer DIV truncates, FLOOR_DIV floors. SUM/PROD/MAX/MIN/AND/OR/XOR/EQUAL are commutative."),
    _op("matrix_multiply", [_t("a"), _t("b"), _a("op_a", "MatrixOperation", MatrixOperation.NONE),
                            _a("op_b", "MatrixOperation", MatrixOperation.NONE)],
        "IMatrixMultiplyLayer: op(a) @ op(b) over the last two dims, batch dims broadcast. TRANSPOSE swaps the "
        "last two dims; VECTOR treats the last dim as a vector that is absent from the result."),
    _op("convolution", [_t("input"), _t("kernel"), _t("bias", "Tensor?"), _a("stride", "int[]"),
                        _a("padding", "int[]"), _a("dilation", "int[]"), _a("groups", "int", 1)],
        "IConvolutionLayer (N-d): input [N, C, *spatial], constant kernel [K, C/groups, *window], optional "
        "constant bias [K]; symmetric padding. Same as torch's convNd."),
    _op("deconvolution", [_t("input"), _t("kernel"), _t("bias", "Tensor?"), _a("stride", "int[]"),
                          _a("padding", "int[]"), _a("dilation", "int[]"), _a("groups", "int", 1),
                          _a("output_padding", "int[]", [])],
        "IDeconvolutionLayer (N-d): transposed convolution, constant kernel [C, K/groups, *window]; "
        "output_padding (default zeros) extends the end of each spatial dim, as torch's conv_transposeNd."),
    _op("pooling", [_t("input"), _a("type", "PoolingType"), _a("window", "int[]"), _a("stride", "int[]"),
                    _a("padding", "int[]"), _a("ceil_mode", "bool", False), _a("exclude_padding", "bool", True)],
        "IPoolingLayer (N-d) over the last len(window) dims; symmetric explicit padding; ceil_mode is "
        "EXPLICIT_ROUND_UP (out = ceil((in + 2p - w) / s) + 1, no PyTorch-style drop of a last window starting in "
        "the padding); AVERAGE with exclude_padding divides by the count of real elements."),
    _op("reduce", [_t("input"), _a("op", "ReduceOperation"), _a("axes", "int[]"), _a("keep_dims", "bool")],
        "IReduceLayer: `op` over `axes` (negative allowed), keeping them as 1s when keep_dims."),
    _op("softmax", [_t("input"), _a("axis", "int")],
        "ISoftMaxLayer: softmax along `axis`."),
    _op("shuffle", [_t("input"), _a("first_transpose", "int[]?", None), _a("reshape", "int[]?", None),
                    _a("second_transpose", "int[]?", None)],
        "IShuffleLayer: permute by first_transpose, reshape (0 copies that dim of the transposed input, one -1 "
        "is inferred), permute by second_transpose; `none` skips a step."),
    _op("concatenation", [_t("inputs", "Tensor[]"), _a("axis", "int")],
        "IConcatenationLayer: join `inputs` (one dtype) along `axis`."),
    _op("slice", [_t("input"), _a("start", "int[]"), _a("shape", "int[]"), _a("stride", "int[]")],
        "ISliceLayer (STRICT_BOUNDS): out[i] = input[start + i * stride] per dim; output shape is `shape`."),
    _op("gather", [_t("data"), _t("indices"), _a("axis", "int"), _a("mode", "GatherMode", GatherMode.DEFAULT)],
        "IGatherLayer: DEFAULT gives data.shape[:axis] + indices.shape + data.shape[axis+1:] (like index_select "
        "with indices of any rank); ELEMENT is torch.gather; ND addresses leading dims. i32/i64 indices in "
        "0..dim-1 (negative indices are not wrapped)."),
    _op("select", [_t("condition"), _t("then_input"), _t("else_input")],
        "ISelectLayer: where(condition, then_input, else_input); bool condition, numpy broadcasting."),
    _op("cast", [_t("input"), _a("to", "dtype")],
        "ICastLayer: convert to dtype `to` (an IR dtype name such as \"f16\"); float to int truncates."),
    _op("normalization", [_t("input"), _t("scale"), _t("bias"), _a("axes", "int[]"), _a("epsilon", "float")],
        "INormalizationLayer: (x - mean) / sqrt(var + epsilon) * scale + bias, mean and biased variance over "
        "`axes`; scale/bias broadcast to the input (layer norm: axes=[-1], scale [D])."),
    _op("identity", [_t("input")],
        "IIdentityLayer: a copy of the input."),
    _op("shape", [_t("input")],
        "IShapeLayer: the input's dims as an i64 tensor [rank] (a run-time size as a value, e.g. to wrap negative "
        "indices against a dim of dynamic size)."),
    _op("topk", [_t("input"), _a("op", "TopKOperation"), _a("k", "int"), _a("axes", "int[]")],
        "ITopKLayer: the k largest (MAX) or smallest (MIN) along the single axis in `axes`, sorted; outputs "
        "values and i32 indices.", returns=("Tensor", "Tensor")),
    _op("resize", [_t("input"), _a("shape", "int[]"), _a("mode", "InterpolationMode"),
                   _a("coordinate_transformation", "ResizeCoordinateTransformation",
                      ResizeCoordinateTransformation.ASYMMETRIC),
                   _a("nearest_rounding", "ResizeRoundMode", ResizeRoundMode.FLOOR)],
        "IResizeLayer to the static output `shape` (same rank; the dims that change are the trailing 1-3 of an "
        "[N, C, *spatial] input). NEAREST with ASYMMETRIC/FLOOR is PyTorch's `nearest`; LINEAR with HALF_PIXEL is "
        "(bi/tri)linear with align_corners=False, with ALIGN_CORNERS align_corners=True. Float input."),
    _op("cumulative", [_t("input"), _a("axis", "int"), _a("op", "CumulativeOperation", CumulativeOperation.SUM),
                       _a("exclusive", "bool", False), _a("reverse", "bool", False)],
        "ICumulativeLayer: running `op` (SUM) along `axis` (negative allowed), inclusive unless `exclusive`, from "
        "the end when `reverse`. Same dtype out; f32/f16/bf16/i32/i64, rank >= 1 (half types accumulate in f32)."),
    _op("scatter", [_t("data"), _t("indices"), _t("updates"), _a("mode", "ScatterMode", ScatterMode.ELEMENT),
                    _a("axis", "int", 0)],
        "IScatterLayer: a copy of `data` with elements (ELEMENT: torch.scatter along `axis`, updates shaped as "
        "indices, same rank as data) or slices (ND: the last index dim addresses the leading data dims, updates "
        "shaped indices.shape[:-1] + data.shape[k:]) overwritten by `updates`. i32/i64 indices in 0..dim-1; "
        "data and updates share one dtype (not bool); duplicate indices give an undefined result."),
)

# Which enum each enum-typed attribute takes, so evaluate can accept a member's name as well as the member.
_ENUM_ARGS: dict[str, type[Enum]] = {
    cls.__name__: cls for cls in (ActivationType, UnaryOperation, ElementWiseOperation, ReduceOperation, PoolingType,
                                  MatrixOperation, GatherMode, TopKOperation, InterpolationMode,
                                  ResizeCoordinateTransformation, ResizeRoundMode, CumulativeOperation,
                                  ScatterMode)
}


class TrtDialect:
    """The ``trt`` dialect: schemas above, evaluation by the reference runtime, types by meta evaluation."""

    name = "trt"

    def __init__(self) -> None:
        self._schemas = {s.name: s for s in _SCHEMAS}

    def schema(self, op: str) -> OpSchema | None:
        return self._schemas.get(op)

    def op_names(self) -> Iterable[str]:
        return tuple(self._schemas)

    def enums(self) -> dict[str, type[Enum]]:
        return dict(ENUMS)

    def evaluate(self, op: str, args: dict[str, Any]) -> tuple[torch.Tensor, ...]:
        schema = self.schema(op)
        if schema is None:
            raise KeyError(f"unknown TensorRT dialect op {op}")
        try:
            kwargs = schema.bind((), args)
        except SchemaBindError as e:
            raise TypeError(str(e)) from None
        for spec in schema.args:
            value = kwargs[spec.name]
            if spec.type in _ENUM_ARGS and value is not None:
                kwargs[spec.name] = as_member(_ENUM_ARGS[spec.type], value)
        return reference.OPS[op](**kwargs)

    def infer(self, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]:
        return infer_by_meta(self, op, args)


@functools.lru_cache(maxsize=1)
def trt_dialect() -> TrtDialect:
    """The process-wide TensorRT dialect (stateless, so one object serves every registry)."""
    return TrtDialect()
