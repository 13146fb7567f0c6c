"""Op catalogues: what each op of a dialect takes, how to run it and how to infer its types.

A *dialect* (ATen, the TensorRT dialect) answers four questions about its ops, and an :class:`OpRegistry` dispatches
to the dialect named by an op's first dotted component (``aten.relu.default`` -> ``aten``). The DSL checks rules
against schemas, the rewriter infers the types of the nodes it creates, the interpreter runs nodes, all through this
one interface, so none of them knows which dialects exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import torch

from trt_passes.ir.fake_shapes import infer_symbolic, needs_symbolic
from trt_passes.ir.types import TensorType, dtype_name, torch_dtype


@dataclass(frozen=True)
class ArgSpec:
    """One argument of an op's schema.

    ``type`` is a schema type string with ``SymInt`` spelled ``int``: ``Tensor``, ``Tensor?``, ``Tensor[]``,
    ``Tensor?[]``, ``int``, ``int[]``, ``int?``, ``float``, ``bool``, ``Scalar``, ``ScalarType?``, ``str``, or, in
    the TensorRT dialect, an enum name such as ``ActivationType`` and ``dtype``.
    """

    name: str
    type: str
    default: Any = None
    has_default: bool = False
    kwarg_only: bool = False
    mutable: bool = False

    @property
    def is_tensor(self) -> bool:
        return self.type.startswith("Tensor")

    @property
    def is_tensor_list(self) -> bool:
        return self.type in ("Tensor[]", "Tensor?[]")

    @property
    def is_optional(self) -> bool:
        return self.type.endswith("?")


@dataclass(frozen=True)
class OpSchema:
    """An op's signature: ``OpSchema("aten.relu.default", (ArgSpec("self", "Tensor"),), ("Tensor",))``."""

    name: str
    args: tuple[ArgSpec, ...]
    returns: tuple[str, ...]
    doc: str = ""
    commutative: bool = False

    def arg(self, name: str) -> ArgSpec | None:
        for a in self.args:
            if a.name == name:
                return a
        return None

    def bind(self, positional: Sequence[Any] = (), keywords: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every argument by name, in schema order: ``positional`` fill the non-keyword-only arguments in order,
        then ``keywords``, then defaults. Too many positionals, an unknown or repeated name, or a missing argument
        without a default is a :class:`SchemaBindError` naming the op and its signature (callers re-raise it as
        their own error, with their own location)."""
        keywords = keywords or {}
        positional_specs = [a for a in self.args if not a.kwarg_only]
        if len(positional) > len(positional_specs):
            raise SchemaBindError(f"{self.name} takes {len(positional_specs)} positional arguments, got "
                                  f"{len(positional)}; signature: {self.signature()}")
        given: dict[str, Any] = {a.name: v for a, v in zip(positional_specs, positional)}
        unknown = sorted(name for name in keywords if self.arg(name) is None)
        if unknown:
            raise SchemaBindError(f"{self.name}: unknown arguments {unknown}; signature: {self.signature()}")
        twice = sorted(name for name in keywords if name in given)
        if twice:
            raise SchemaBindError(f"{self.name}: arguments {twice} given both by position and by name")
        given.update(keywords)
        bound: dict[str, Any] = {}
        for a in self.args:
            if a.name in given:
                bound[a.name] = given[a.name]
            elif a.has_default:
                bound[a.name] = a.default
            else:
                raise SchemaBindError(f"{self.name}: missing argument {a.name!r} (it has no default); "
                                      f"signature: {self.signature()}")
        return bound

    @property
    def is_mutating(self) -> bool:
        return any(a.mutable for a in self.args)

    def signature(self) -> str:
        parts = []
        for a in self.args:
            s = f"{a.type} {a.name}"
            if a.has_default:
                s += f"={a.default!r}"
            parts.append(("*, " if a.kwarg_only and not any(p.startswith("*") for p in parts) else "") + s)
        return f"{self.name}({', '.join(parts)}) -> ({', '.join(self.returns)})"


class Dialect(Protocol):
    """What a dialect provides. ``args`` below map every schema argument name to its value, with tensors in the
    tensor positions (real tensors for ``evaluate``, :class:`TensorType` s for ``infer``)."""

    name: str

    def schema(self, op: str) -> OpSchema | None: ...

    def op_names(self) -> Iterable[str]: ...

    def enums(self) -> dict[str, type[Enum]]: ...

    def evaluate(self, op: str, args: dict[str, Any]) -> tuple[torch.Tensor, ...]: ...

    def infer(self, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]: ...


class SchemaBindError(TypeError):
    """Arguments that do not fit an op's schema (see :meth:`OpSchema.bind`)."""


class UnknownOpError(KeyError):
    def __init__(self, op: str, suggestions: Sequence[str]) -> None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown op {op!r}{hint}")
        self.op = op
        self.suggestions = list(suggestions)

    def __str__(self) -> str:
        return str(self.args[0])


def _map_tensors(value: Any, fn: Any) -> Any:
    if isinstance(value, (TensorType, torch.Tensor)):
        return fn(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_map_tensors(v, fn) for v in value)
    return value


def infer_by_meta(dialect: Dialect, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]:
    """Infer output types by running ``op`` on meta tensors: one definition gives semantics and types.

    With symbolic dims (in tensor types or attributes) the op runs on fake tensors with symbolic sizes instead
    (:mod:`trt_passes.ir.fake_shapes`), so the same definition infers symbolic shapes.
    """
    if needs_symbolic(args):
        return tuple(infer_symbolic(lambda fake: dialect.evaluate(op, fake), args))

    def to_meta(t: TensorType | torch.Tensor) -> torch.Tensor:
        if isinstance(t, torch.Tensor):
            return t
        return torch.empty(tuple(int(d) for d in t.shape), dtype=torch_dtype(t.dtype), device="meta")

    outs = dialect.evaluate(op, {k: _map_tensors(v, to_meta) for k, v in args.items()})
    return tuple(TensorType.of(o) for o in outs)


class OpRegistry:
    """Dispatches op questions to dialects by prefix: ``OpRegistry([aten_dialect(), trt_dialect()])``.

    ``fallback`` answers for ops whose prefix names no dialect (the library ops of
    :mod:`trt_passes.ir.library_ops`: any namespace a library registered with torch)."""

    def __init__(self, dialects: Iterable[Dialect], fallback: Dialect | None = None) -> None:
        self.dialects: dict[str, Dialect] = {d.name: d for d in dialects}
        self.fallback = fallback

    def _find(self, op: str) -> Dialect | None:
        prefix = op.split(".", 1)[0]
        return self.dialects[prefix] if prefix in self.dialects else self.fallback

    def dialect(self, op: str) -> Dialect:
        found = self._find(op)
        if found is None:
            raise UnknownOpError(op, [])
        return found

    def schema(self, op: str) -> OpSchema:
        s = self.dialect(op).schema(op)
        if s is None:
            raise UnknownOpError(op, self.suggest(op))
        return s

    def has(self, op: str) -> bool:
        found = self._find(op)
        return found is not None and found.schema(op) is not None

    def is_fallback_op(self, op: str) -> bool:
        """Whether ``op`` is known through the fallback dialect (a library op), not a named dialect."""
        return op.split(".", 1)[0] not in self.dialects and self.has(op)

    def suggest(self, op: str, n: int = 3) -> list[str]:
        prefix = op.split(".", 1)[0]
        names = list(self.dialects[prefix].op_names()) if prefix in self.dialects else [
            name for d in self.dialects.values() for name in d.op_names()]
        return difflib.get_close_matches(op, names, n=n, cutoff=0.6)

    def enums(self) -> dict[str, type[Enum]]:
        out: dict[str, type[Enum]] = {}
        for d in self.dialects.values():
            out.update(d.enums())
        return out

    def evaluate(self, op: str, args: dict[str, Any]) -> tuple[torch.Tensor, ...]:
        return self.dialect(op).evaluate(op, args)

    def infer(self, op: str, args: dict[str, Any]) -> tuple[TensorType, ...]:
        return self.dialect(op).infer(op, args)


def dtype_arg(value: Any) -> Any:
    """Normalise a dtype-valued argument to the IR's dtype name (``torch.float16`` -> ``"f16"``)."""
    return dtype_name(value) if isinstance(value, torch.dtype) else value
