"""The TensorRT dialect's catalogue: one op per INetworkDefinition layer (ARCHITECTURE.md's table), assembled from
the layer definitions (:mod:`trt_passes.backend.layers`).

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
from trt_passes.backend.enums import ENUMS, as_member
from trt_passes.backend.layers import LAYERS
from trt_passes.ir.ops import OpSchema, SchemaBindError, infer_by_meta
from trt_passes.ir.types import TensorType


class TrtDialect:
    """The ``trt`` dialect: the layers' schemas, evaluation by the reference runtime, types by meta evaluation."""

    name = "trt"

    def __init__(self) -> None:
        self._schemas: dict[str, OpSchema] = {layer.op: layer.schema for layer in LAYERS}

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
        for spec in schema.args:  # an enum attribute may be given by its member's name
            value = kwargs[spec.name]
            if spec.type in ENUMS and value is not None:
                kwargs[spec.name] = as_member(ENUMS[spec.type], value)
        return reference.OPS[op](**kwargs)

    def infer(self, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]:
        return infer_by_meta(self, op, args)


@functools.lru_cache(maxsize=1)
def trt_dialect() -> TrtDialect:
    """The process-wide TensorRT dialect (stateless, so one object serves every registry)."""
    return TrtDialect()
