"""A tiny stand-in for the TensorRT dialect, so the DSL's tests do not depend on the backend being complete."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

import torch

from trt_passes.ir.ops import ArgSpec, OpSchema, infer_by_meta
from trt_passes.ir.types import TensorType


class ActivationType(Enum):
    RELU = "RELU"
    SIGMOID = "SIGMOID"


class ElementWiseOperation(Enum):
    SUM = "SUM"
    PROD = "PROD"


_SCHEMAS = {
    "trt.activation": OpSchema("trt.activation", (
        ArgSpec("input", "Tensor"), ArgSpec("type", "ActivationType"),
        ArgSpec("alpha", "float", 0.0, True), ArgSpec("beta", "float", 0.0, True)), ("Tensor",)),
    "trt.elementwise": OpSchema("trt.elementwise", (
        ArgSpec("a", "Tensor"), ArgSpec("b", "Tensor"), ArgSpec("op", "ElementWiseOperation")), ("Tensor",)),
}


class FakeTrtDialect:
    name = "trt"

    def schema(self, op: str) -> OpSchema | None:
        return _SCHEMAS.get(op)

    def op_names(self) -> Iterable[str]:
        return tuple(_SCHEMAS)

    def enums(self) -> dict[str, type[Enum]]:
        return {"ActivationType": ActivationType, "ElementWiseOperation": ElementWiseOperation}

    def evaluate(self, op: str, args: dict[str, Any]) -> tuple[torch.Tensor, ...]:
        if op == "trt.activation":
            x = args["input"]
            return (torch.relu(x) if args["type"].name == "RELU" else torch.sigmoid(x),)
        a, b = args["a"], args["b"]
        return (a + b if args["op"].name == "SUM" else a * b,)

    def infer(self, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]:
        return infer_by_meta(self, op, args)
