"""The TensorRT dialect's enums, named exactly as TensorRT's (``trt.ActivationType.RELU`` <-> ``ActivationType.RELU``).

They are the dialect's own so that rules can be written, checked and run on the reference runtime without TensorRT
installed; emission maps a member to TensorRT's by name (:func:`to_tensorrt`). A member's value is its name, so the
IR prints and compares by name too.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class ActivationType(Enum):
    RELU = "RELU"
    SIGMOID = "SIGMOID"
    TANH = "TANH"
    LEAKY_RELU = "LEAKY_RELU"
    ELU = "ELU"
    SELU = "SELU"
    SOFTSIGN = "SOFTSIGN"
    SOFTPLUS = "SOFTPLUS"
    CLIP = "CLIP"
    HARD_SIGMOID = "HARD_SIGMOID"
    SCALED_TANH = "SCALED_TANH"
    THRESHOLDED_RELU = "THRESHOLDED_RELU"
    GELU_ERF = "GELU_ERF"
    GELU_TANH = "GELU_TANH"


class UnaryOperation(Enum):
    EXP = "EXP"
    LOG = "LOG"
    SQRT = "SQRT"
    RECIP = "RECIP"
    ABS = "ABS"
    NEG = "NEG"
    SIN = "SIN"
    COS = "COS"
    TAN = "TAN"
    SINH = "SINH"
    COSH = "COSH"
    ASIN = "ASIN"
    ACOS = "ACOS"
    ATAN = "ATAN"
    ASINH = "ASINH"
    ACOSH = "ACOSH"
    ATANH = "ATANH"
    CEIL = "CEIL"
    FLOOR = "FLOOR"
    ERF = "ERF"
    NOT = "NOT"
    SIGN = "SIGN"
    ROUND = "ROUND"
    ISINF = "ISINF"
    ISNAN = "ISNAN"


class ElementWiseOperation(Enum):
    SUM = "SUM"
    PROD = "PROD"
    MAX = "MAX"
    MIN = "MIN"
    SUB = "SUB"
    DIV = "DIV"
    POW = "POW"
    FLOOR_DIV = "FLOOR_DIV"
    AND = "AND"
    OR = "OR"
    XOR = "XOR"
    EQUAL = "EQUAL"
    GREATER = "GREATER"
    LESS = "LESS"


class ReduceOperation(Enum):
    SUM = "SUM"
    PROD = "PROD"
    MAX = "MAX"
    MIN = "MIN"
    AVG = "AVG"


class PoolingType(Enum):
    MAX = "MAX"
    AVERAGE = "AVERAGE"


class MatrixOperation(Enum):
    NONE = "NONE"
    TRANSPOSE = "TRANSPOSE"
    VECTOR = "VECTOR"


class GatherMode(Enum):
    DEFAULT = "DEFAULT"
    ELEMENT = "ELEMENT"
    ND = "ND"


class TopKOperation(Enum):
    MAX = "MAX"
    MIN = "MIN"


class CumulativeOperation(Enum):
    SUM = "SUM"


class ScatterMode(Enum):
    ELEMENT = "ELEMENT"
    ND = "ND"


class InterpolationMode(Enum):
    NEAREST = "NEAREST"
    LINEAR = "LINEAR"
    CUBIC = "CUBIC"


class SampleMode(Enum):
    FILL = "FILL"
    CLAMP = "CLAMP"
    REFLECT = "REFLECT"


class ResizeCoordinateTransformation(Enum):
    ALIGN_CORNERS = "ALIGN_CORNERS"
    ASYMMETRIC = "ASYMMETRIC"
    HALF_PIXEL = "HALF_PIXEL"


class ResizeSelector(Enum):
    FORMULA = "FORMULA"
    UPPER = "UPPER"


class ResizeRoundMode(Enum):
    HALF_UP = "HALF_UP"
    HALF_DOWN = "HALF_DOWN"
    FLOOR = "FLOOR"
    CEIL = "CEIL"


ENUMS: dict[str, type[Enum]] = {
    e.__name__: e
    for e in (ActivationType, UnaryOperation, ElementWiseOperation, ReduceOperation, PoolingType, MatrixOperation,
              GatherMode, TopKOperation, InterpolationMode, ResizeCoordinateTransformation, ResizeSelector,
              ResizeRoundMode, CumulativeOperation, ScatterMode, SampleMode)
}

# Elementwise operations whose operands may be swapped. The op is one schema with an ``op`` attribute, so the
# schema itself cannot be flagged commutative (SUB and DIV are not); a pass that canonicalises operand order asks here.
COMMUTATIVE_ELEMENTWISE = frozenset({
    ElementWiseOperation.SUM, ElementWiseOperation.PROD, ElementWiseOperation.MAX, ElementWiseOperation.MIN,
    ElementWiseOperation.AND, ElementWiseOperation.OR, ElementWiseOperation.XOR, ElementWiseOperation.EQUAL,
})

# Comparisons produce bool; the logical operations take and produce bool.
COMPARISONS = frozenset({ElementWiseOperation.EQUAL, ElementWiseOperation.GREATER, ElementWiseOperation.LESS})
LOGICAL = frozenset({ElementWiseOperation.AND, ElementWiseOperation.OR, ElementWiseOperation.XOR})


def as_member(enum: type[Enum], value: Any) -> Enum:
    """Accept a member, or its name (as a rule or a serialised graph may spell it), and return the member."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        name = value.split(".")[-1]
        if name in enum.__members__:
            return enum[name]
    raise ValueError(f"{value!r} is not a {enum.__name__}; members: {', '.join(enum.__members__)}")


def to_tensorrt(trt: Any, member: Enum) -> Any:
    """The TensorRT module's member of the same name (``ActivationType.RELU`` -> ``trt.ActivationType.RELU``)."""
    return getattr(getattr(trt, type(member).__name__), member.name)
