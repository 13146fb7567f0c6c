"""The ATen dialect: schemas read from the installed torch, evaluation by calling the op, types by meta tensors.

Nothing here is hand-written per op, so the catalogue follows whichever torch is installed. This is also the one
place for what the project asks about ATen op names: the packet of an overload (:func:`qualified_packet`,
:func:`packet_name`), the ops torch has (:func:`op_name_of`, :func:`resolve_overload`), the name of an op the user
gave in any of Torch-TensorRT's spellings (:func:`user_op_name`) and its core set (:func:`core_aten_ops`).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Any

import torch

from trt_passes.ir.ops import ArgSpec, OpSchema, infer_by_meta
from trt_passes.ir.types import TensorType, dtype_name, torch_dtype

_DTYPE_TYPES = ("ScalarType", "ScalarType?")


def _type_string(t: Any) -> str:
    """Spell a schema type as in native_functions.yaml: ``Optional[List[int]]`` -> ``int[]?``."""
    text = str(t).replace("SymInt", "int").replace("SymFloat", "float").replace("number", "Scalar")
    while True:
        new = re.sub(r"Optional\[((?:[^\[\]]|\[\])*)\]", r"\1?", text)
        new = re.sub(r"List\[((?:[^\[\]]|\[\])*)\]", r"\1[]", new)
        if new == text:
            return text
        text = new


def _default(arg: Any) -> tuple[Any, bool]:
    if not arg.has_default_value():
        return None, False
    value = arg.default_value
    if isinstance(value, torch.dtype):
        value = dtype_name(value)
    return value, True


def schema_from_torch(op_name: str, s: Any) -> OpSchema:
    args = []
    for a in s.arguments:
        default, has_default = _default(a)
        mutable = a.alias_info is not None and a.alias_info.is_write
        args.append(ArgSpec(a.name, _type_string(a.real_type), default, has_default, a.kwarg_only, mutable))
    return OpSchema(op_name, tuple(args), tuple(_type_string(r.real_type) for r in s.returns))


def resolve_overload(op_name: str) -> Any | None:
    """``"aten.add.Tensor"`` -> ``torch.ops.aten.add.Tensor`` or None."""
    parts = op_name.split(".")
    if len(parts) != 3 or parts[0] != "aten":
        return None
    packet = getattr(torch.ops.aten, parts[1], None)
    if packet is None or not hasattr(packet, "overloads"):
        return None
    overload = "default" if parts[2] == "default" else parts[2]
    if overload not in packet.overloads():
        return None
    return getattr(packet, overload)


# The IR has no memory layout: once rules drop clones and contiguous copies, a `view` may read a permuted tensor,
# which eager `view` refuses. Executing it as `reshape` gives the same values (a copy only where needed).
_LAYOUT_FREE = {"aten.view.default": "reshape", "aten._unsafe_view.default": "reshape"}


def executable_overload(op_name: str) -> Any | None:
    """The callable that runs IR op ``op_name``: its ATen overload, except views, which run as reshape."""
    if op_name in _LAYOUT_FREE:
        return getattr(torch.ops.aten, _LAYOUT_FREE[op_name]).default
    return resolve_overload(op_name)


def qualified_packet(op: str) -> str:
    """The op without its overload: ``"aten.add.Tensor"`` -> ``"aten.add"`` (how ``torch_executed_ops`` and the
    precision table name every overload at once)."""
    return op.rsplit(".", 1)[0]


def packet_name(op: str) -> str:
    """An ATen op's bare packet name, ``"aten.add.Tensor"`` -> ``"add"`` (for short labels and packet tables);
    other ops unchanged."""
    parts = op.split(".")
    return parts[1] if op.startswith("aten.") and len(parts) > 1 else op


def op_name_of(target: Any) -> str:
    """``torch.ops.aten.add.Tensor`` -> ``"aten.add.Tensor"``."""
    return f"{target.namespace}.{target._schema.name.split('::')[-1]}.{target._overloadname}"


class AtenDialect:
    name = "aten"

    @functools.cache  # noqa: B019 - one dialect object per process, schemas are immutable
    def schema(self, op: str) -> OpSchema | None:
        overload = resolve_overload(op)
        if overload is None:
            return None
        return schema_from_torch(op, overload._schema)

    def op_names(self) -> Iterable[str]:
        return _all_op_names()

    def overloads(self, packet: str) -> list[str]:
        """Fully qualified overloads of ``aten.NAME`` (for hints when a rule omits the overload)."""
        p = getattr(torch.ops.aten, packet, None)
        return [f"aten.{packet}.{o}" for o in p.overloads()] if p is not None else []

    def enums(self) -> dict[str, type[Enum]]:
        return {}

    def evaluate(self, op: str, args: dict[str, Any]) -> tuple[torch.Tensor, ...]:
        overload = executable_overload(op)
        schema = self.schema(op)
        if overload is None or schema is None:
            raise KeyError(f"unknown ATen op {op}")
        return call_overload(overload, schema, args)

    def infer(self, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]:
        return infer_by_meta(self, op, args)


def call_overload(overload: Any, schema: OpSchema, args: dict[str, Any]) -> tuple[torch.Tensor, ...]:
    """Call a torch op with the IR's arguments by name (dtype names turned back into dtypes, schema defaults for
    arguments not given); its tensor results, flattened."""
    positional, keywords = [], {}
    for spec in schema.args:
        value = args[spec.name] if spec.name in args else spec.default
        if spec.type in _DTYPE_TYPES and isinstance(value, str):
            value = torch_dtype(value)
        if spec.kwarg_only:
            keywords[spec.name] = value
        else:
            positional.append(value)
    return flatten_outputs(overload(*positional, **keywords))


def wrapped_scalar(value: bool | int | float, others: Iterable[torch.Tensor]) -> torch.Tensor:
    """A Python scalar passed where an op takes a Tensor, as the 0-d tensor eager computes with.

    Eager wraps the scalar as a "wrapped number", which never wins type promotion against a tensor of the same
    category; a 0-d tensor of ``result_type(other, scalar)`` reproduces that. ``other`` is the first of ``others``
    (the op's other tensor arguments, real or fake) that is not bool (conditions such as ``where``'s take no part in
    promotion)."""
    others = list(others)
    ref = next((t for t in others if t.dtype != torch.bool), others[0] if others else None)
    if ref is None:
        return torch.tensor(value)
    dtype = torch.result_type(torch.empty((), dtype=ref.dtype), value)
    return torch.tensor(value, dtype=dtype, device="cpu" if ref.device.type == "meta" else ref.device)


def flatten_outputs(result: Any) -> tuple[torch.Tensor, ...]:
    if isinstance(result, torch.Tensor):
        return (result,)
    out: list[torch.Tensor] = []
    for r in result:
        out.extend(flatten_outputs(r))
    return tuple(out)


def _packets() -> Iterator[tuple[str, Any, list[str]]]:
    """Every ``torch.ops.aten`` packet torch has: (name, packet, its overload names)."""
    for name in dir(torch.ops.aten):
        try:
            packet = getattr(torch.ops.aten, name)
            overloads = packet.overloads()
        except (AttributeError, RuntimeError, TypeError):  # module attributes that are no op packet
            continue
        yield name, packet, overloads


@functools.lru_cache(maxsize=1)
def _all_op_names() -> tuple[str, ...]:
    return tuple(sorted(f"aten.{name}.{o}" for name, _, overloads in _packets() for o in overloads))


@functools.lru_cache(maxsize=1)
def _all_packet_names() -> tuple[str, ...]:
    return tuple(sorted({qualified_packet(op) for op in _all_op_names()}))


def _is_packet(name: str) -> bool:
    try:
        return bool(getattr(torch.ops.aten, name).overloads())
    except (AttributeError, RuntimeError, TypeError):
        return False


def user_op_name(op: Any) -> str:
    """An ATen op as the user names it, in any spelling Torch-TensorRT accepts, as this project names it:
    ``torch.ops.aten.relu.default``, ``"torch.ops.aten.relu.default"`` and ``"aten.relu.default"`` give
    ``"aten.relu.default"``; ``torch.ops.aten.relu`` and ``"aten.relu"`` give ``"aten.relu"`` (every overload). An op
    torch does not have is a ``ValueError`` with the nearest names; anything else a ``TypeError``."""
    if isinstance(op, torch._ops.OpOverload):
        text = op_name_of(op)
    elif isinstance(op, torch._ops.OpOverloadPacket):
        text = op._qualified_op_name.replace("::", ".")
    elif isinstance(op, str):
        text = op.strip().removeprefix("torch.ops.")
    else:
        raise TypeError(f"{op!r} ({type(op).__name__}) is not an op: name ATen ops as torch.ops.aten.relu.default, "
                        "torch.ops.aten.relu or the strings 'aten.relu.default', 'aten.relu'")
    parts = text.split(".")
    if parts[0] == "aten" and len(parts) == 3 and resolve_overload(text) is not None:
        return text
    if parts[0] == "aten" and len(parts) == 2 and _is_packet(parts[1]):
        return text
    wanted = text if text.startswith("aten.") else f"aten.{text}"
    names = _all_op_names() if len(wanted.split(".")) == 3 else _all_packet_names()
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"{op!r} is not an ATen op of this torch{hint} (spell ops as 'aten.relu' or 'aten.relu.default')")


def core_aten_ops() -> list[str]:
    """Every ``aten.NAME.OVERLOAD`` of the installed torch tagged ``torch.Tag.core``, sorted."""
    found: set[str] = set()
    for _, packet, overloads in _packets():
        for overload in overloads:
            try:
                op = getattr(packet, overload)
            except (AttributeError, RuntimeError):
                continue
            if torch.Tag.core in getattr(op, "tags", ()):
                found.add(str(op))
    return sorted(found)


@functools.lru_cache(maxsize=1)
def aten_dialect() -> AtenDialect:
    return AtenDialect()
