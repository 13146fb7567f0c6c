"""Evaluation of guard and right-side expressions over a match's bindings.

Values are Python values: numbers, bools, strings (dtype names), ``None``, lists, enum members, and tensors as the
IR values they are bound to. Op constructors and ``const()`` are delegated to a :class:`NodeBuilder` (the rewriter's);
in a guard there is none, and the checker already rejected them there.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Protocol

from trt_passes.dsl import ast as A
from trt_passes.dsl.builtins import EvalContext, GuardError
from trt_passes.dsl.externs import lookup
from trt_passes.dsl.normal_form import Construct
from trt_passes.ir.fake_shapes import current_ranges, size_arithmetic
from trt_passes.ir.ops import OpRegistry, dtype_arg
from trt_passes.ir.symbolic import SymbolicError, SymDim, dim_at


class NodeBuilder(Protocol):
    def op(self, construct: Construct, values: Sequence[Any]) -> Any: ...

    def const(self, value: Any, dtype: Any, span: A.Span) -> Any: ...

    def output(self, node: Any, index: Any) -> Any: ...


def normalize(v: Any) -> Any:
    """Tuples and lists compare equal in the language; nested too."""
    if isinstance(v, (list, tuple)):
        return [normalize(x) for x in v]
    return v


_ENUM_CACHE: weakref.WeakKeyDictionary[OpRegistry, dict[str, type[Enum]]] = weakref.WeakKeyDictionary()


def registry_enums(ops: OpRegistry) -> dict[str, type[Enum]]:
    """``ops.enums()``, cached per registry: matching asks for it at every attempt and dialect enums are static."""
    enums = _ENUM_CACHE.get(ops)
    if enums is None:
        enums = _ENUM_CACHE[ops] = ops.enums()
    return enums


def resolve_enum(lit: A.EnumLit, enums: Mapping[str, type[Enum]]) -> Enum:
    if len(lit.parts) != 2 or lit.parts[0] not in enums or lit.parts[1] not in enums[lit.parts[0]].__members__:
        raise GuardError(f"unknown enum literal {lit.text}")
    return enums[lit.parts[0]][lit.parts[1]]


def values_equal(a: Any, b: Any) -> bool:
    """Equality of the language: bools are not numbers, lists equal tuples, enums compare by class and member name
    (so a rule's ``ActivationType.RELU`` equals any dialect's member of that name)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    a, b = dtype_arg(a), dtype_arg(b)  # a torch.dtype attribute equals its IR name (`f16`)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, Enum) and isinstance(b, Enum):
        return type(a).__name__ == type(b).__name__ and a.name == b.name
    if isinstance(a, Enum) or isinstance(b, Enum):
        return False
    try:
        return bool(a == b)
    except Exception:  # tensors or other exotic values: not equal to a literal
        return False


class Evaluator:
    def __init__(self, ctx: EvalContext, enums: Mapping[str, type[Enum]], builder: NodeBuilder | None = None) -> None:
        self.ctx, self.enums, self.builder = ctx, enums, builder

    def eval(self, e: A.Expr, env: Mapping[str, Any]) -> Any:
        method = getattr(self, "_" + type(e).__name__)
        return method(e, env)

    def truth(self, e: A.Expr, env: Mapping[str, Any]) -> bool:
        v = self.eval(e, env)
        return v if isinstance(v, bool) else truth_value(v, show_expr(e))

    def _Literal(self, e: A.Literal, env: Mapping[str, Any]) -> Any:
        return e.value

    def _DtypeLit(self, e: A.DtypeLit, env: Mapping[str, Any]) -> Any:
        return e.name

    def _EnumLit(self, e: A.EnumLit, env: Mapping[str, Any]) -> Any:
        return resolve_enum(e, self.enums)

    def _Name(self, e: A.Name, env: Mapping[str, Any]) -> Any:
        if e.name not in env:
            raise GuardError(f"unbound name {e.name}")
        return env[e.name]

    def _ListExpr(self, e: A.ListExpr, env: Mapping[str, Any]) -> Any:
        return [self.eval(i, env) for i in e.items]

    def _UnaryOp(self, e: A.UnaryOp, env: Mapping[str, Any]) -> Any:
        if e.op == "not":
            return not self.truth(e.operand, env)
        return negate(self.eval(e.operand, env))

    def _BinOp(self, e: A.BinOp, env: Mapping[str, Any]) -> Any:
        if e.op == "and":
            return self.truth(e.left, env) and self.truth(e.right, env)
        if e.op == "or":
            return self.truth(e.left, env) or self.truth(e.right, env)
        a, b = self.eval(e.left, env), self.eval(e.right, env)
        return binop(e.op, a, b)

    def _Index(self, e: A.Index, env: Mapping[str, Any]) -> Any:
        seq, i = self.eval(e.value, env), self.eval(e.index, env)
        if self.builder is not None and not isinstance(seq, (list, tuple)):
            return self.builder.output(seq, i)  # `t[1]` on a right side: output 1 of a node
        return index_value(seq, i)

    def _TupleExpr(self, e: A.TupleExpr, env: Mapping[str, Any]) -> Any:
        return tuple(self.eval(i, env) for i in e.items)

    def _Call(self, e: A.Call, env: Mapping[str, Any]) -> Any:
        b = lookup(e.func)
        if b is None:
            raise GuardError(f"unknown builtin {e.func}")
        args = [self.eval(a.value, env) for a in e.args]
        return b.fn(self.ctx, *args)

    def _OpExpr(self, e: A.OpExpr, env: Mapping[str, Any]) -> Any:
        if self.builder is None:
            raise GuardError(f"op constructor {e.op} outside a right side")
        # right sides are evaluated in their normal form, where every constructor is a bound Construct
        raise GuardError(f"op constructor {e.op} is not bound to its schema (evaluate the rule's normal form)")

    def _Construct(self, e: Construct, env: Mapping[str, Any]) -> Any:
        if self.builder is None:
            raise GuardError(f"op constructor {e.op} outside a right side")
        return self.builder.op(e, [self.eval(a, env) for a in e.args])

    def _ConstExpr(self, e: A.ConstExpr, env: Mapping[str, Any]) -> Any:
        if self.builder is None:
            raise GuardError("const() outside a right side")
        return self.builder.const(self.eval(e.value, env), self.eval(e.dtype, env), e.span)


# The operations below are shared by the evaluator and the compiled guards, so both fail with the same messages.
def truth_value(v: Any, text: str) -> bool:
    if not isinstance(v, bool):
        raise GuardError(f"`{text}` is {v!r}, not true or false")
    return v


def negate(v: Any) -> Any:
    if not _is_number(v):
        raise GuardError(f"cannot negate {v!r}")
    return -v


def index_value(seq: Any, i: Any) -> Any:
    if not isinstance(seq, (list, tuple)) or not isinstance(i, int) or isinstance(i, bool):
        raise GuardError(f"cannot index {seq!r} with {i!r}")
    if not -len(seq) <= i < len(seq):
        raise GuardError(f"index {i} out of range for a list of {len(seq)}")
    return seq[i]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def binop(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return values_equal(a, b)
    if op == "!=":
        return not values_equal(a, b)
    if op in ("in", "not in"):
        if not isinstance(b, (list, tuple)):
            raise GuardError(f"`in` wants a list on the right, got {b!r}")
        found = any(values_equal(a, x) for x in b)
        return found if op == "in" else not found
    if op == "+" and isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) + list(b)
    if op == "*":
        if isinstance(a, (list, tuple)) and isinstance(b, int) and not isinstance(b, bool):
            return list(a) * b
        if isinstance(b, (list, tuple)) and isinstance(a, int) and not isinstance(a, bool):
            return list(b) * a
    if op in ("<", "<=", ">", ">=") and (isinstance(a, SymDim) or isinstance(b, SymDim)):
        return _compare_sizes(op, a, b)
    if op in ("+", "-", "*", "//", "%") and (isinstance(a, SymDim) or isinstance(b, SymDim)):
        return _size_arithmetic(op, a, b)
    if not (_is_number(a) and _is_number(b)):
        raise GuardError(f"`{op}` of {a!r} and {b!r}")
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("//", "%"):
        if b == 0:
            raise GuardError(f"`{op}` by zero")
        return a // b if op == "//" else a % b
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _size_arithmetic(op: str, a: Any, b: Any) -> Any:
    """Arithmetic with a symbolic dim gives a symbolic dim (``shape(x)[0] * shape(x)[1]`` is ``s0*s1``)."""
    for v in (a, b):
        if not isinstance(v, SymDim) and not (isinstance(v, int) and not isinstance(v, bool)):
            raise GuardError(f"`{op}` of {a!r} and {b!r}")
    if op in ("//", "%") and b == 0:
        raise GuardError(f"`{op}` by zero")
    return size_arithmetic(op, a, b)


def _compare_sizes(op: str, a: Any, b: Any) -> bool:
    """An ordering with a symbolic dim, decided when it holds (or fails) for every size in the symbols' ranges
    (those of the graph being rewritten); otherwise the rule cannot know and does not match."""
    ranges = current_ranges()

    def bounds(v: Any) -> tuple[float, float]:
        if _is_number(v):
            return v, v
        if not isinstance(v, SymDim):
            raise GuardError(f"`{op}` of {a!r} and {b!r}")
        try:
            hi = dim_at(v, ranges, "max")
        except SymbolicError:
            hi = math.inf  # no upper bound (or unknown): only the lower one can decide
        try:
            return dim_at(v, ranges, "min"), hi
        except SymbolicError:
            raise GuardError(f"`{op}` of {a} and {b}: the range of {v} is unknown") from None

    (alo, ahi), (blo, bhi) = bounds(a), bounds(b)
    always = {"<": ahi < blo, "<=": ahi <= blo, ">": alo > bhi, ">=": alo >= bhi}[op]
    never = {"<": alo >= bhi, "<=": alo > bhi, ">": ahi <= blo, ">=": ahi < blo}[op]
    if always or never:
        return always
    raise GuardError(f"`{a} {op} {b}` depends on the run-time size (range {alo}..{ahi} vs {blo}..{bhi}); the rule "
                     "needs it static")


# ---- printing (failure reasons quote the guard part that failed) -------------------------------------------------
_PREC = {"or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4, "not in": 4,
         "+": 5, "-": 5, "*": 6, "//": 6, "%": 6}


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _number(v: int | float) -> str:
    """A number as source text: an infinite float as the literal `1e999` it reads back from (`inf` is a name)."""
    if isinstance(v, float) and math.isinf(v):
        return "1e999" if v > 0 else "-1e999"
    return repr(v)


def show_expr(e: Any, prec: int = 0) -> str:
    """Print an expression back as source text (normalised spacing)."""
    if isinstance(e, A.Literal):
        v = e.value
        if isinstance(v, (int, float)) and not isinstance(v, bool) and (v < 0 or str(v).startswith("-")) and prec > 7:
            return f"({_number(v)})"  # `(-1)[0]`: without parentheses `-1[0]` reads as `-(1[0])`
        return "none" if v is None else ("true" if v is True else "false" if v is False else
                                         (_quote(v) if isinstance(v, str) else _number(v)))
    if isinstance(e, A.DtypeLit):
        return e.name
    if isinstance(e, A.EnumLit):
        return e.text
    if isinstance(e, A.Name):
        return e.name
    if isinstance(e, A.ListExpr):
        return "[" + ", ".join(show_expr(i) for i in e.items) + "]"
    if isinstance(e, A.UnaryOp):
        inner = show_expr(e.operand, 7 if e.op == "-" else 3)
        text = f"not {inner}" if e.op == "not" else f"-{inner}"
        return f"({text})" if prec > (3 if e.op == "not" else 7) else text
    if isinstance(e, A.BinOp):
        p = _PREC[e.op]
        left = p + 1 if p == 4 else p  # comparisons do not chain: `(a == b) == c` keeps its parentheses
        text = f"{show_expr(e.left, left)} {e.op} {show_expr(e.right, p + 1)}"
        return f"({text})" if prec > p else text
    if isinstance(e, A.Index):
        return f"{show_expr(e.value, 8)}[{show_expr(e.index)}]"
    if isinstance(e, (A.Call, A.OpExpr)):
        name = e.func if isinstance(e, A.Call) else e.op
        args = ", ".join((f"{a.keyword}=" if a.keyword else "") + show_expr(a.value) for a in e.args)
        return f"{name}({args})"
    if isinstance(e, Construct):
        return show_expr(e.written, prec)
    if isinstance(e, A.ConstExpr):
        return f"const({show_expr(e.value)}, {show_expr(e.dtype)})"
    if isinstance(e, A.TupleExpr):
        return "(" + ", ".join(show_expr(i) for i in e.items) + ")"
    return str(e)
