"""Library ops: ops other libraries register with torch's dispatcher under a namespace of their own. Custom ops
(``torch.library.custom_op("mylib::scale", ...)`` with a ``register_fake``, or ``TORCH_LIBRARY`` in C++) and
torchvision's (``torchvision::roi_align``, ``torchvision::nms``) are such ops.

The IR names them as it names ATen ops, ``NAMESPACE.NAME.OVERLOAD`` (``mylib.scale.default``). Their schemas are read
from torch's registration, they run by calling the op, and their types come from running them on meta tensors (the
op's fake kernel), so nothing here is written per library. :class:`LibraryDialect` is the op registry's fallback: it
answers for every namespace no other dialect claims, so a library loaded after trt_passes is known the moment torch
knows it. No shipped rule converts a library op: they run in PyTorch unless a user's rule converts them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from enum import Enum
from typing import Any

import torch

from trt_passes.ir.aten import call_overload, schema_from_torch
from trt_passes.ir.ops import OpSchema, infer_by_meta
from trt_passes.ir.types import TensorType


def library_overload(op: str) -> torch._ops.OpOverload | None:
    """``"mylib.scale.default"`` -> ``torch.ops.mylib.scale.default``, or None when no library loaded in this process
    registers it (ATen ops are :mod:`trt_passes.ir.aten`'s)."""
    parts = op.split(".")
    if len(parts) != 3 or parts[0] == "aten" or not all(p.isidentifier() for p in parts):
        return None
    namespace = getattr(torch.ops, parts[0], None)
    if not isinstance(namespace, torch._ops._OpNamespace):  # torch.ops.load_library and the like are no namespace
        return None
    try:
        packet = getattr(namespace, parts[1])
    except (AttributeError, RuntimeError):  # torch says "no such op" with either
        return None
    if not isinstance(packet, torch._ops.OpOverloadPacket) or parts[2] not in packet.overloads():
        return None
    overload = getattr(packet, parts[2])
    return overload if isinstance(overload, torch._ops.OpOverload) else None


def qualified_name(op: str) -> str:
    """The name torch gives the op: ``"mylib.scale.default"`` -> ``"mylib::scale"`` (the overload shown only when
    it is not the default one)."""
    namespace, name, overload = [*op.split("."), "", ""][:3]
    return f"{namespace}::{name}" + (f".{overload}" if overload not in ("", "default") else "")


class LibraryDialect:
    """Every op a library registered with torch; see the module docstring."""

    name = "library"

    def __init__(self) -> None:
        # Hits only: a library may register an op later in the process, so a miss is asked again.
        self._schemas: dict[str, OpSchema] = {}

    def schema(self, op: str) -> OpSchema | None:
        if op not in self._schemas:
            overload = library_overload(op)
            if overload is None:
                return None
            self._schemas[op] = schema_from_torch(op, overload._schema)
        return self._schemas[op]

    def op_names(self) -> Iterable[str]:
        return ()  # libraries register ops at any time; nothing to enumerate for suggestions

    def enums(self) -> dict[str, type[Enum]]:
        return {}

    def evaluate(self, op: str, args: dict[str, Any]) -> tuple[torch.Tensor, ...]:
        overload, schema = library_overload(op), self.schema(op)
        if overload is None or schema is None:
            raise KeyError(f"no library loaded in this process registers the op {qualified_name(op)}")
        return call_overload(overload, schema, args)

    def infer(self, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]:
        return infer_by_meta(self, op, args)


@functools.lru_cache(maxsize=1)
def library_dialect() -> LibraryDialect:
    return LibraryDialect()


__all__ = ["LibraryDialect", "library_dialect", "library_overload", "qualified_name"]
