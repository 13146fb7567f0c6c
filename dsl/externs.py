"""``extern`` functions: typed Python escape hatches a `.rw` file declares and its guards call.

``extern is_pow2(int) -> bool = "package.module:function"`` is checked at load: the target must import, take that
many positional arguments, and agree with any annotations it has. Calls check the result's type. A ``Tensor``
parameter receives the tensor's IR type (:class:`~trt_passes.ir.TensorType`: dtype and shape), not a graph value,
so an extern cannot reach into the graph.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl.builtins import BUILTINS, Builtin, EvalContext, GuardError
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.ir.types import TensorType

TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int, "float": (int, float), "bool": bool, "str": str, "Tensor": TensorType,
    "int[]": (list, tuple), "float[]": (list, tuple), "bool[]": (list, tuple),
}
_ANNOTATIONS = {"int": {"int"}, "float": {"float"}, "bool": {"bool"}, "str": {"str"}, "Tensor": {"TensorType"},
                "int[]": {"list", "list[int]", "tuple"}, "float[]": {"list", "list[float]", "tuple"},
                "bool[]": {"list", "list[bool]", "tuple"}}

#: every extern loaded so far, by name (rules of several libraries share one process)
EXTERNS: dict[str, Builtin] = {}
_TARGETS: dict[str, str] = {}


def lookup(name: str) -> Builtin | None:
    return BUILTINS.get(name) or EXTERNS.get(name)


def _ok(v: Any, t: str) -> bool:
    return isinstance(v, TYPES[t]) and not (t in ("int", "float") and isinstance(v, bool))


def _wrap(decl: A.ExternDecl, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(ctx: EvalContext, *args: Any) -> Any:
        real = [ctx.tensor_type(a) if t == "Tensor" else a for a, t in zip(args, decl.params)]
        for a, t in zip(real, decl.params):
            if not _ok(a, t):
                raise GuardError(f"extern {decl.name}: argument {a!r} is not {t}")
        result = fn(*real)
        if not _ok(result, decl.returns):
            raise GuardError(f"extern {decl.name} returned {result!r}, declared -> {decl.returns}")
        return result

    return call


def declare(decls: list[A.ExternDecl]) -> list[Diagnostic]:
    """Import, check and register ``decls``; every problem is an RW110 diagnostic."""
    out: list[Diagnostic] = []
    for d in decls:
        def bad(msg: str, *notes: str, d: A.ExternDecl = d) -> None:
            out.append(Diagnostic("RW110", f"extern `{d.name}`: {msg}", d.span, tuple(notes)))

        unknown = [t for t in (*d.params, d.returns) if t not in TYPES]
        if unknown:
            bad(f"unknown type `{unknown[0]}`", f"types: {', '.join(TYPES)}")
            continue
        if d.name in BUILTINS:
            bad("has the name of a builtin")
            continue
        if _TARGETS.get(d.name, d.target) != d.target:
            bad(f"already declared as {_TARGETS[d.name]}")
            continue
        module, _, attr = d.target.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError) as e:
            bad(f"cannot import {d.target}: {e}", 'write the target as "package.module:function"')
            continue
        if not callable(fn):
            bad(f"{d.target} is not callable")
            continue
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        if sig is not None:
            params = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            required = [p for p in params if p.default is p.empty]
            varargs = any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values())
            if not (len(required) <= len(d.params) and (varargs or len(d.params) <= len(params))):
                bad(f"{d.target} takes {len(params)} positional arguments, declared {len(d.params)}",
                    f"python signature: {d.target.partition(':')[2]}{sig}")
                continue
            for p, t in zip(params, d.params):
                ann = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", None)
                if p.annotation is not p.empty and ann is not None and ann not in _ANNOTATIONS[t]:
                    bad(f"parameter `{p.name}` is annotated {ann}, declared {t}")
        _TARGETS[d.name] = d.target
        EXTERNS[d.name] = Builtin(d.name, _wrap(d, fn), len(d.params), len(d.params),
                                  f"{d.name}({', '.join(d.params)}) -> {d.returns}: extern {d.target}")
    return out
