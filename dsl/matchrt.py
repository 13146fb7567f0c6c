"""What generated matcher code calls at run time: the failure record, lazy value printing, literal helpers.

Kept apart from the code generator so a matcher loaded from the disk cache needs only this module, not the
generator. Every name here is injected into the namespace the generated source is executed in.
"""

from __future__ import annotations

from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl.builtins import GuardError
from trt_passes.dsl.constants import literal_matches_constant
from trt_passes.dsl.evaluate import Evaluator, binop, index_value, negate, resolve_enum, truth_value, values_equal
from trt_passes.dsl.externs import lookup
from trt_passes.dsl.matcher import Failure, GraphContext, Match, _scalar_ok, _show
from trt_passes.ir.graph import Slot, Value


class Shown:
    """A value printed the way the interpreter prints it, but only when a failure reason is formatted."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __format__(self, spec: str) -> str:
        return _show(self.v)

    def __str__(self) -> str:
        return _show(self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shown) and values_equal(self.v, other.v)

    __hash__ = None  # type: ignore[assignment]


class Fail:
    """A rule did not match: the failed condition as template + arguments (formatted by :class:`Failure`)."""

    __slots__ = ("args", "template")

    def __init__(self, template: str, args: tuple[Any, ...]) -> None:
        self.template, self.args = template, args


def fail(template: str, *args: Any) -> Fail:
    return Fail(template, args)


def same_binding(prev: Any, actual: Any) -> bool:
    """The interpreter's rule for a capture used twice: tensors by identity of the value, the rest by equality."""
    if isinstance(prev, Value) or isinstance(actual, Value):
        return bool(prev == actual)
    return values_equal(prev, actual)


def resolve_arg(g: Any, nid: int, ins: list[Value], attr: Any) -> Any:
    """``g.resolve(nid, attr)`` given the node's inputs already read (``g.inputs(nid)``, by slot)."""
    cls = attr.__class__
    if cls is Slot:
        i = attr.index
        return ins[i] if i < len(ins) else g.resolve(nid, attr)
    if (cls is tuple or cls is list) and any(a.__class__ is Slot for a in attr):
        return g.resolve(nid, attr)
    return attr


_PLAIN = (int, float, str)


def equal_literal(actual: Any, want: Any) -> bool:
    if actual is want:
        return True
    if type(actual) is type(want) and type(actual) in _PLAIN:  # the common case, without the general rules
        return bool(actual == want)
    return values_equal(actual, want) or (actual is None and want is None)


def enum_literal(enums: dict[str, Any], text: str) -> Any:
    try:
        return resolve_enum(A.EnumLit(tuple(text.split(".")), A.NO_SPAN), enums)
    except GuardError:
        return text


def resolve_enum_text(enums: dict[str, Any], text: str) -> Any:
    return resolve_enum(A.EnumLit(tuple(text.split(".")), A.NO_SPAN), enums)


RUNTIME: dict[str, Any] = {
    "Value": Value, "Match": Match, "Failure": Failure, "GraphContext": GraphContext, "Evaluator": Evaluator,
    "GuardError": GuardError, "Shown": Shown, "Fail": Fail, "fail": fail, "same_binding": same_binding,
    "equal_literal": equal_literal, "truth_value": truth_value, "negate": negate, "index_value": index_value,
    "binop": binop, "lookup_builtin": lookup, "resolve_arg": resolve_arg, "resolve_enum_text": resolve_enum_text,
    "literal_matches_constant": literal_matches_constant, "scalar_ok": _scalar_ok, "values_equal": values_equal,
}
