"""Tensor types of the IR: a dtype name and a shape whose dims are ints or symbols.

Dtypes are short names (``f32``, ``f16``, ``bf16``, ``f64``, ``i64``, ``i32``, ``i8``, ``u8``, ``bool``) so that
the IR prints compactly and the ``.rw`` language can name them directly. A symbolic dim is a
:class:`~trt_passes.ir.symbolic.SymDim` (a string such as ``"s0"`` or ``"2*s0"``): its value is only known at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from trt_passes.ir.symbolic import SymDim, free_symbols

Dim = int | SymDim

TORCH_DTYPES: dict[str, torch.dtype] = {
    "f64": torch.float64,
    "f32": torch.float32,
    "f16": torch.float16,
    "bf16": torch.bfloat16,
    "i64": torch.int64,
    "i32": torch.int32,
    "i16": torch.int16,
    "i8": torch.int8,
    "u8": torch.uint8,
    "bool": torch.bool,
}
DTYPE_NAMES: dict[torch.dtype, str] = {v: k for k, v in TORCH_DTYPES.items()}
FLOAT_DTYPES = frozenset({"f64", "f32", "f16", "bf16"})
INT_DTYPES = frozenset({"i64", "i32", "i16", "i8", "u8"})


def dtype_name(dtype: torch.dtype) -> str:
    """The IR name of a torch dtype; an error names dtypes the IR has no name for."""
    try:
        return DTYPE_NAMES[dtype]
    except KeyError:
        raise TypeError(f"the IR has no dtype for {dtype}; known: {sorted(TORCH_DTYPES)}") from None


def torch_dtype(name: str) -> torch.dtype:
    try:
        return TORCH_DTYPES[name]
    except KeyError:
        raise TypeError(f"unknown dtype {name!r}; known: {sorted(TORCH_DTYPES)}") from None


@dataclass(frozen=True)
class TensorType:
    """The type of one tensor value: ``TensorType("f32", (1, 3, 224, 224))``."""

    dtype: str
    shape: tuple[Dim, ...]

    def __post_init__(self) -> None:
        if self.dtype not in TORCH_DTYPES:
            raise TypeError(f"unknown dtype {self.dtype!r}")
        object.__setattr__(self, "shape", tuple(d if isinstance(d, (int, SymDim)) else SymDim(d)
                                                if isinstance(d, str) else int(d) for d in self.shape))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    def admits_shape(self, shape: Sequence[int]) -> bool:
        """A tensor of ``shape`` fits: the same rank, and each static dim equal (symbolic dims take any size)."""
        return len(shape) == self.rank and all(not isinstance(d, int) or d == n for d, n in zip(self.shape, shape))

    def numel(self) -> int:
        if not self.is_static:
            raise ValueError(f"{self} has symbolic dims")
        n = 1
        for d in self.shape:
            n *= int(d)
        return n

    @staticmethod
    def of(t: torch.Tensor) -> TensorType:
        """The type of a real or fake tensor; symbolic sizes become their printed names."""
        dims: list[Dim] = []
        for d in t.shape:
            dims.append(d if isinstance(d, int) else _sym_name(d))
        return TensorType(dtype_name(t.dtype), tuple(dims))

    def __str__(self) -> str:
        return f"{self.dtype}[{', '.join(str(d) for d in self.shape)}]"


def _sym_name(d: object) -> Dim:
    node = getattr(d, "node", None)
    if node is not None and hasattr(node, "maybe_as_int") and node.maybe_as_int() is not None:
        return int(node.maybe_as_int())
    return SymDim(str(d))


def symbols_in(value: Any) -> set[str]:
    """The symbol names used by ``value`` (SymDims, TensorTypes, lists of them)."""
    if isinstance(value, SymDim):
        return set(free_symbols(value))
    if isinstance(value, TensorType):
        return {s for d in value.shape if isinstance(d, SymDim) for s in free_symbols(d)}
    if isinstance(value, (list, tuple)):
        return set().union(*(symbols_in(v) for v in value)) if value else set()
    return set()
