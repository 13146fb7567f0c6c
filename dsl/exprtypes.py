"""Static types of guard and right-side expressions, from the types the pattern gives its captures.

A capture's type comes from the schema argument it matches (``int[]``, ``Tensor?``, ``ActivationType`` ...),
refined by its annotation (``x: Tensor[_, _]`` is a tensor of rank 2, ``s: float`` a number). From those, every
sub-expression of a guard or a right side gets a :class:`Ty`, and the operations that could never succeed are
reported where they are written:

* RW210: a comparison of values that can never be equal or ordered (a dtype with a string, a list with an int, a
  tensor with a number, lists of different known lengths, a value that is never none with none);
* RW211: a builtin or extern called with an argument of the wrong type (``len()`` of an int, ``rank()`` of a list);
* RW212: an index out of range of a list whose length the types know (``shape(x)[4]`` for a rank-2 ``x``);
* RW213: an operator applied to values it does not take (``+`` of a list and an int, indexing an int, ``and`` of
  an int), or a guard part that is not true or false;
* RW214: a right-side op constructor (or ``const()``) given an argument of the wrong type for the op's schema (an
  int where ``int[]`` is wanted, a tensor for a ``float``, ``1`` for a ``bool``, ``none`` for a ``str``, a member
  of another enum).

At run time each of these makes the guard fail (so the rule silently never fires) or the rule fail when a model
reaches it. The types are sound but lenient: a value that *may* be right (an optional one, ``value(c)`` of a
constant, a capture the schema types loosely) is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.evaluate import show_expr
from trt_passes.dsl.signature import bind_args
from trt_passes.ir.ops import OpRegistry
from trt_passes.ir.types import TORCH_DTYPES

_NUMBERS = frozenset({"int", "float", "number"})


@dataclass(frozen=True)
class Ty:
    """A static type. ``kind``: ``any int float number scalar bool str dtype none enum tensor list opt``.

    ``number`` is an int or a float; ``scalar`` (ATen's ``Scalar``) also a bool. ``elem`` is a list's item type or
    an ``opt``'s inner type; ``name`` an enum's name. ``lo``/``hi`` bound a list's length or a tensor's rank (None:
    unknown)."""

    kind: str
    elem: Ty | None = None
    name: str = ""
    lo: int | None = None
    hi: int | None = None

    def __str__(self) -> str:
        return describe(self)


ANY, INT, FLOAT, NUMBER, SCALAR = Ty("any"), Ty("int"), Ty("float"), Ty("number"), Ty("scalar")
BOOL, STR, DTYPE, NONE, TENSOR = Ty("bool"), Ty("str"), Ty("dtype"), Ty("none"), Ty("tensor")


def list_of(elem: Ty, lo: int | None = None, hi: int | None = None) -> Ty:
    return Ty("list", elem, lo=lo, hi=hi)


def optional(t: Ty) -> Ty:
    return t if t.kind in ("opt", "any", "none") else Ty("opt", t)


def tensor(lo: int | None = None, hi: int | None = None) -> Ty:
    return Ty("tensor", lo=lo, hi=hi)


def strip(t: Ty) -> Ty:
    """The type without its optionality."""
    return t.elem if t.kind == "opt" and t.elem is not None else t


def describe(t: Ty) -> str:
    """The type in words, as messages say it: ``a list of 2 ints``, ``an int or none``."""
    if t.kind == "opt" and t.elem is not None:
        return f"{describe(t.elem)} or none"
    if t.kind == "list":
        elem = t.elem or ANY
        n = f"{t.lo} " if t.lo is not None and t.lo == t.hi else ""
        return f"a list of {n}{_plural(elem)}"
    if t.kind == "tensor":
        return f"a tensor of rank {t.lo}" if t.lo is not None and t.lo == t.hi else "a tensor"
    if t.kind == "enum":
        return f"an `{t.name}` member"
    return {"any": "a value", "int": "an int", "float": "a float", "number": "a number", "scalar": "a number",
            "bool": "a bool", "str": "a string", "dtype": "a dtype", "none": "none"}[t.kind]


def _plural(t: Ty) -> str:
    if t.kind == "list":
        return "lists"
    if t.kind == "enum":
        return f"`{t.name}` members"
    return {"int": "ints", "float": "floats", "number": "numbers", "scalar": "numbers", "bool": "bools",
            "str": "strings", "dtype": "dtypes", "tensor": "tensors", "none": "nones"}.get(t.kind, "values")


def schema_type(spelled: str, enums: Mapping[str, type[Enum]]) -> Ty:
    """The type of a value matching a schema argument spelled ``spelled`` (``int[]?``, ``Tensor``, ``dtype``)."""
    if spelled in ("Tensor[]", "Tensor?[]"):
        return list_of(TENSOR if spelled == "Tensor[]" else optional(TENSOR))
    if spelled.endswith("?"):
        return optional(schema_type(spelled[:-1], enums))
    m = re.fullmatch(r"(\w+)\[(\d*)\]", spelled)
    if m:
        n = int(m.group(2)) if m.group(2) and m.group(1) != "int" else None  # `int[2]` also takes one int
        return list_of(schema_type(m.group(1), enums), n, n)
    if spelled in enums:
        return Ty("enum", name=spelled)
    return {"Tensor": TENSOR, "int": INT, "float": NUMBER, "bool": BOOL, "Scalar": SCALAR, "str": STR,
            "ScalarType": DTYPE, "dtype": DTYPE}.get(spelled, ANY)


def annotated_type(ann: A.TypeAnn) -> Ty:
    """The type an annotation promises (``x: Tensor{2..4}``, ``s: float``)."""
    if isinstance(ann, A.ScalarAnn):
        base = {"int": INT, "float": NUMBER, "bool": BOOL}.get(ann.name.removesuffix("[]"), ANY)
        return list_of(base) if ann.name.endswith("[]") else base
    if ann.rank_range is not None:
        return tensor(*ann.rank_range)
    if ann.dims is None:
        return TENSOR
    n = len(ann.dims)
    if any(isinstance(d, A.DimEllipsis) for d in ann.dims):
        return tensor(n - 1, None)
    return tensor(n, n)


def comparable(a: Ty, b: Ty) -> bool:
    """Whether a value of type ``a`` can ever equal one of type ``b`` (``==`` is not always false)."""
    if "any" in (a.kind, b.kind):
        return True
    if a.kind == "opt" or b.kind == "opt":
        if "none" in (a.kind, b.kind):
            return True
        return comparable(strip(a), strip(b))
    if a.kind in _NUMBERS | {"scalar"} and b.kind in _NUMBERS | {"scalar"}:
        return True
    if "scalar" in (a.kind, b.kind) and "bool" in (a.kind, b.kind):
        return True
    if a.kind != b.kind:
        return False
    if a.kind == "enum":
        return a.name == b.name
    if a.kind == "list":
        if a.lo is not None and a.lo == a.hi and b.lo is not None and b.lo == b.hi and a.lo != b.lo:
            return False
        return comparable(a.elem or ANY, b.elem or ANY)
    return True


def ordered(t: Ty) -> bool:
    """Whether ``<`` can order values of type ``t``."""
    return strip(t).kind in _NUMBERS | {"scalar", "any"}


def accepts(want: Ty, have: Ty) -> bool:
    """Whether a value of type ``have`` may be passed where ``want`` is wanted (optional values are accepted where
    the plain type is wanted: a rule tests for none itself, and fails to match when it is)."""
    if "any" in (want.kind, have.kind):
        return True
    if want.kind == "opt":
        return have.kind == "none" or accepts(strip(want), strip(have))
    if have.kind == "opt":
        return accepts(want, strip(have))
    if want.kind == "float" or want.kind == "number":
        return have.kind in _NUMBERS | {"scalar"}
    if want.kind == "int":
        return have.kind in ("int", "number", "scalar")
    if want.kind == "scalar":
        return have.kind in _NUMBERS | {"scalar", "bool"}
    if want.kind == "bool":
        return have.kind in ("bool", "scalar")
    if want.kind != have.kind:
        return False
    if want.kind == "enum":
        return want.name == have.name
    if want.kind == "list":
        if want.lo is not None and have.hi is not None and have.hi < want.lo:
            return False
        return accepts(want.elem or ANY, have.elem or ANY)
    return True


def join(types: list[Ty]) -> Ty:
    """One type for the items of a list literal."""
    if not types:
        return ANY
    kinds = {t.kind for t in types}
    if len(kinds) == 1:
        first = types[0]
        if first.kind == "list":
            return list_of(join([t.elem or ANY for t in types]))
        if first.kind == "enum" and any(t.name != first.name for t in types):
            return ANY
        return Ty(first.kind, first.elem, first.name)
    if kinds <= _NUMBERS:
        return NUMBER
    return ANY


@dataclass(frozen=True)
class Param:
    """A builtin's parameter: the types it takes, in words for messages."""

    accepts: Callable[[Ty], bool]
    wants: str


def _is(*kinds: str) -> Callable[[Ty], bool]:
    return lambda t: strip(t).kind in (*kinds, "any")


_TENSOR = Param(_is("tensor"), "a tensor")
_LIST = Param(_is("list", "str"), "a list")
_INT = Param(_is("int", "number", "scalar"), "an int")
_NUM_OR_LIST = Param(_is("int", "float", "number", "scalar", "list"), "a number or a list of numbers")
_VALUE = Param(lambda t: True, "a value")
_TENSOR_OR_DTYPE = Param(_is("tensor", "dtype"), "a tensor or a dtype")


def _shape(args: list[Ty]) -> Ty:
    t = strip(args[0]) if args else ANY
    return list_of(INT, t.lo, t.hi) if t.kind == "tensor" else list_of(INT)


def _min_max(args: list[Ty]) -> Ty:
    items = [strip(a) for a in args]
    if len(items) == 1 and items[0].kind == "list":
        items = [strip(items[0].elem or ANY)]
    return INT if items and all(t.kind == "int" for t in items) else NUMBER


#: builtin name -> (parameters, the result's type from the arguments' types)
_BUILTIN_TYPES: dict[str, tuple[tuple[Param, ...], Callable[[list[Ty]], Ty]]] = {
    "rank": ((_TENSOR,), lambda a: INT),
    "shape": ((_TENSOR,), _shape),
    "dtype": ((_TENSOR,), lambda a: DTYPE),
    "numel": ((_TENSOR,), lambda a: INT),
    "is_const": ((_TENSOR,), lambda a: BOOL),
    "is_static": ((_TENSOR,), lambda a: BOOL),
    "one_use": ((_TENSOR,), lambda a: BOOL),
    "uses": ((_TENSOR,), lambda a: INT),
    "len": ((_LIST,), lambda a: INT),
    "value": ((_TENSOR,), lambda a: ANY),
    "normalize_dim": ((_INT, _INT), lambda a: INT),
    "all_equal": ((_NUM_OR_LIST, _VALUE), lambda a: BOOL),
    "is_float": ((_TENSOR_OR_DTYPE,), lambda a: BOOL),
    "min": ((_NUM_OR_LIST,), _min_max),
    "max": ((_NUM_OR_LIST,), _min_max),
    "prod": ((_NUM_OR_LIST,), lambda a: NUMBER),
    "range": ((_INT,), lambda a: list_of(INT)),
    "broadcast_strides": ((_TENSOR, _TENSOR), _shape),
}

_EXTERN_TYPES = {"int": INT, "float": NUMBER, "bool": BOOL, "str": STR, "Tensor": TENSOR,
                 "int[]": list_of(INT), "float[]": list_of(NUMBER), "bool[]": list_of(BOOL)}


class ExprTyper:
    """Types the guard and the right side of one rule whose names the checker already resolved."""

    def __init__(self, captures: Mapping[str, Ty], ops: OpRegistry, externs: Mapping[str, A.ExternDecl]) -> None:
        self.names: dict[str, Ty] = dict(captures)
        self.ops, self.externs = ops, externs
        self.enums = ops.enums()
        self.diagnostics: list[Diagnostic] = []
        self.in_rhs = False

    def error(self, code: str, message: str, span: A.Span, *notes: str) -> Ty:
        self.diagnostics.append(Diagnostic(code, message, span, tuple(notes)))
        return ANY

    # ---- entry points ----------------------------------------------------------------------------------------
    def guard(self, guard: A.Expr | None) -> None:
        for part in A.guard_conjuncts(guard):
            t = self.infer(part)
            if not _is("bool")(t):
                self.error("RW213", f"the guard part `{_short(part)}` is {describe(t)}, not true or false",
                           part.span, "each part of a guard (split at `and`) must be a condition, e.g. "
                           "`len(dims) > 0`")

    def rhs(self, rhs: A.Rhs) -> None:
        self.in_rhs = True
        for let in rhs.lets:
            self.names[let.name] = self.infer(let.value)
        result = rhs.result
        for item in result.items if isinstance(result, A.TupleExpr) else (result,):
            self.infer(item)

    # ---- inference ---------------------------------------------------------------------------------------------
    def infer(self, e: A.Expr) -> Ty:
        if isinstance(e, A.Literal):
            v = e.value
            if v is None:
                return NONE
            return BOOL if isinstance(v, bool) else INT if isinstance(v, int) else FLOAT if isinstance(v, float) \
                else STR
        if isinstance(e, A.DtypeLit):
            return DTYPE
        if isinstance(e, A.EnumLit):
            return Ty("enum", name=e.parts[0]) if len(e.parts) == 2 and e.parts[0] in self.enums else ANY
        if isinstance(e, A.Name):
            return self.names.get(e.name, ANY)
        if isinstance(e, A.ListExpr):
            n = len(e.items)
            return list_of(join([self.infer(i) for i in e.items]), n, n)
        if isinstance(e, A.UnaryOp):
            return self.unary(e)
        if isinstance(e, A.BinOp):
            return self.binop(e)
        if isinstance(e, A.Index):
            return self.index(e)
        if isinstance(e, A.Call):
            return self.call(e)
        if isinstance(e, A.OpExpr):
            return self.constructor(e)
        if isinstance(e, A.ConstExpr):
            return self.const(e)
        return ANY

    def unary(self, e: A.UnaryOp) -> Ty:
        t = self.infer(e.operand)
        if e.op == "not":
            if not _is("bool")(t):
                return self.error("RW213", f"`not` of {describe(t)} (`{_short(e.operand)}`)", e.span,
                                  "`not` takes a condition")
            return BOOL
        if not _is(*_NUMBERS, "scalar")(t):
            return self.error("RW213", f"cannot negate {describe(t)} (`{_short(e.operand)}`)", e.span)
        return strip(t)

    def binop(self, e: A.BinOp) -> Ty:
        a, b = self.infer(e.left), self.infer(e.right)
        if ANY in (a, b) and e.op not in ("and", "or"):
            return BOOL if e.op in ("==", "!=", "<", "<=", ">", ">=", "in", "not in") else ANY
        if e.op in ("and", "or"):
            for side, t in ((e.left, a), (e.right, b)):
                if not _is("bool")(t):
                    self.error("RW213", f"`{e.op}` of {describe(t)} (`{_short(side)}`)", side.span,
                               f"both sides of `{e.op}` must be conditions")
            return BOOL
        if e.op in ("==", "!="):
            if not comparable(a, b):
                self.error("RW210", f"`{_short(e)}` compares {describe(a)} with {describe(b)}: they are never "
                           "equal", e.span, *_comparison_hints(e, a, b))
            return BOOL
        if e.op in ("<", "<=", ">", ">="):
            for side, t in ((e.left, a), (e.right, b)):
                if not ordered(t):
                    self.error("RW210", f"`{_short(e)}` orders {describe(t)} (`{_short(side)}`); only numbers "
                               "are ordered", side.span, *_comparison_hints(e, a, b))
            return BOOL
        if e.op in ("in", "not in"):
            if strip(b).kind != "list":
                return self.error("RW213", f"`{e.op}` wants a list on its right, got {describe(b)} "
                                  f"(`{_short(e.right)}`)", e.right.span)
            if not comparable(a, strip(b).elem or ANY):
                self.error("RW210", f"`{_short(e)}` looks for {describe(a)} in {describe(b)}: it is never there",
                           e.span, *_comparison_hints(e, a, strip(b).elem or ANY))
            return BOOL
        return self.arithmetic(e, strip(a), strip(b))

    def arithmetic(self, e: A.BinOp, a: Ty, b: Ty) -> Ty:
        numeric = _NUMBERS | {"scalar"}
        if a.kind in numeric and b.kind in numeric:
            if a.kind == b.kind == "int":
                return INT
            return FLOAT if e.op not in ("//", "%") and "float" in (a.kind, b.kind) else NUMBER
        if e.op == "+" and a.kind == b.kind == "list":
            lo = a.lo + b.lo if a.lo is not None and b.lo is not None else None
            hi = a.hi + b.hi if a.hi is not None and b.hi is not None else None
            return list_of(join([a.elem or ANY, b.elem or ANY]), lo, hi)
        if e.op == "*" and {a.kind, b.kind} == {"list", "int"}:
            return list_of((a if a.kind == "list" else b).elem or ANY)
        return self.error("RW213", f"`{e.op}` of {describe(a)} and {describe(b)} (`{_short(e)}`)", e.span,
                          "`+ - * // %` compute with numbers; `+` also joins two lists and `list * int` repeats one")

    def index(self, e: A.Index) -> Ty:
        seq, i = self.infer(e.value), self.infer(e.index)
        if not _is("int", "number", "scalar")(i):
            self.error("RW213", f"an index must be an int, got {describe(i)} (`{_short(e.index)}`)", e.index.span)
        s = strip(seq)
        if s.kind == "tensor" and self.in_rhs:
            return TENSOR  # `t[1]`: output 1 of a node
        if s.kind == "any":
            return ANY
        if s.kind != "list":
            hint = ["index its dims with `shape(x)[i]`, or a constant's value with `value(x)[i]`"] \
                if s.kind == "tensor" else []
            return self.error("RW213", f"cannot index {describe(s)} (`{_short(e.value)}`)", e.value.span, *hint)
        if isinstance(e.index, A.Literal) and type(e.index.value) is int:
            k = e.index.value
            if s.hi is not None and not -s.hi <= k < s.hi:
                n = f"{s.hi}" if s.lo == s.hi else f"at most {s.hi}"
                return self.error("RW212", f"index {k} is out of range: `{_short(e.value)}` has {n} "
                                  f"item{'s' if s.hi != 1 else ''}", e.index.span, *_rank_note(e.value))
        return s.elem or ANY

    def call(self, e: A.Call) -> Ty:
        args = [self.infer(a.value) for a in e.args]
        ext = self.externs.get(e.func)
        if e.func not in _BUILTIN_TYPES and ext is not None:
            for a, t, p in zip(e.args, args, ext.params):
                want = _EXTERN_TYPES.get(p, ANY)
                if not accepts(want, t):
                    self.error("RW211", f"extern `{e.func}` takes {describe(want)} here, got {describe(t)} "
                               f"(`{_short(a.value)}`)", a.value.span,
                               f"declared at {ext.span}: {e.func}({', '.join(ext.params)}) -> {ext.returns}")
            return _EXTERN_TYPES.get(ext.returns, ANY)
        found = _BUILTIN_TYPES.get(e.func)
        if found is None:
            return ANY
        params, result = found
        for k, (a, t) in enumerate(zip(e.args, args)):
            p = params[min(k, len(params) - 1)]
            if not p.accepts(t):
                self.error("RW211", f"`{e.func}()` takes {p.wants}, got {describe(t)} (`{_short(a.value)}`)",
                           a.value.span, *_call_hints(e.func, t))
        return result(args)

    def constructor(self, e: A.OpExpr) -> Ty:
        args = [self.infer(a.value) for a in e.args]
        if not self.ops.has(e.op):
            return TENSOR
        schema = self.ops.schema(e.op)
        bound, problems = bind_args(schema, e.args, e.span, in_pattern=False)
        if problems:
            return TENSOR  # the checker reported them
        types = {id(a): t for a, t in zip(e.args, args)}
        for name, arg in bound.items():
            spec = schema.arg(name)
            assert spec is not None
            want = schema_type(spec.type, self.enums)
            have = types[id(arg)]
            if not accepts(want, have):
                self.error("RW214", f"argument `{name}` of {e.op} is `{spec.type}`, got {describe(have)} "
                           f"(`{_short(arg.value)}`)", arg.value.span,
                           *_argument_hints(want, have, arg.value, self.enums))
        return TENSOR

    def const(self, e: A.ConstExpr) -> Ty:
        value, dtype = self.infer(e.value), self.infer(e.dtype)
        if not _is(*_NUMBERS, "scalar", "bool", "list")(value):
            self.error("RW214", f"const() makes a constant of a number or a (nested) list, got {describe(value)} "
                       f"(`{_short(e.value)}`)", e.value.span)
        if not _is("dtype")(dtype):
            self.error("RW214", f"the second argument of const() is a dtype, got {describe(dtype)} "
                       f"(`{_short(e.dtype)}`)", e.dtype.span, *_dtype_hint(e.dtype))
        return TENSOR


# ---- hints ---------------------------------------------------------------------------------------------------
def _dtype_hint(e: A.Expr) -> list[str]:
    if isinstance(e, A.Literal) and isinstance(e.value, str):
        return [f"a dtype is written without quotes: `{e.value}`" if e.value in _DTYPE_NAMES else
                f"dtypes: {' '.join(sorted(_DTYPE_NAMES))}"]
    return []


def _comparison_hints(e: A.BinOp, a: Ty, b: Ty) -> list[str]:
    kinds = {strip(a).kind, strip(b).kind}
    notes: list[str] = []
    if kinds == {"dtype", "str"}:
        notes += _dtype_hint(e.right if strip(b).kind == "str" else e.left)
    if "tensor" in kinds and kinds & (_NUMBERS | {"scalar", "list"}):
        notes.append("a tensor is not a number: compare one of its properties (`rank(x)`, `shape(x)[0]`) or, for "
                     "a constant, its `value(x)`; to match a constant number, write the number in the pattern")
    if "list" in kinds and kinds & _NUMBERS:
        notes.append("compare an item (`l[0]`) or the length (`len(l)`) with a number, or the list with a list")
    if "none" in kinds:
        notes.append("only an optional value (`Tensor?`, `int?`, ...) can be none")
    return notes


def _call_hints(func: str, t: Ty) -> list[str]:
    if func == "len" and strip(t).kind in _NUMBERS:
        return ["it is already a number; `len()` counts the items of a list (`len(shape(x))` is `rank(x)`)"]
    if strip(t).kind == "list" and func in ("rank", "shape", "dtype", "numel"):
        return ["a list of tensors has no rank; test its items' count with `len()`"]
    return []


def _argument_hints(want: Ty, have: Ty, value: A.Expr, enums: Mapping[str, type[Enum]]) -> list[str]:
    w, h = strip(want), strip(have)
    if w.kind == "list" and h.kind in _NUMBERS:
        return [f"wrap it in a list: `[{_short(value)}]`"]
    if w.kind == "bool" and isinstance(value, A.Literal) and type(value.value) is int:
        return ["bools are `true` and `false`, not numbers"]
    if w.kind == "tensor" and h.kind in _NUMBERS | {"scalar", "list"}:
        return ["a number becomes a tensor with `const(value, dtype(x))`"]
    if w.kind in _NUMBERS | {"scalar"} and h.kind == "tensor":
        return ["a tensor cannot be an attribute; read a constant's number with `value(c)`"]
    if w.kind == "enum" and h.kind == "enum" and w.name in enums:
        return [f"members of `{w.name}`: " + " ".join(enums[w.name].__members__)]
    if h.kind == "none":
        return ["none is only for an optional argument (its type ends in `?`)"]
    return _dtype_hint(value) if w.kind == "dtype" else []


def _rank_note(value: A.Expr) -> list[str]:
    if isinstance(value, A.Call) and value.func == "shape":
        return ["its length is the rank its pattern gives the tensor"]
    return []


_DTYPE_NAMES = frozenset(TORCH_DTYPES)


def _short(e: A.Expr) -> str:
    text = show_expr(e)
    return text if len(text) < 48 else text[:45] + "..."
