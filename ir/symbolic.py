"""Symbolic dims: sizes known only at run time, written as integer expressions over named symbols.

A symbolic dim is a :class:`SymDim`, a ``str`` holding a Python integer expression over symbol names: ``"s0"``,
``"2*s1"``, ``"(s1//2)"``, ``"s0*s1"``. The same class marks symbolic values inside op attributes (a ``view``'s size
list ``[SymDim("s0"), 512]``), so a symbolic value is never confused with a string attribute such as a dtype name.
The expressions are what ``torch``'s symbolic shapes print, so they round-trip through :func:`evaluate` on ints (at
run time), on ``torch.SymInt`` s (inside fake tensor mode) and, in the backend, on TensorRT shape tensors.

The text is canonical (:func:`canonical`): an expression is put in sympy's normal form (terms and factors in one
order, constants folded) and printed back in the same syntax, so equal sizes are equal strings: ``SymDim("s0*2") ==
SymDim("2*s0")`` and ``SymDim("s0 + s0") == "2*s0"``.

Each graph that has symbols records their ranges in ``graph.meta["symbols"]``: ``{"s0": SymbolRange(1, 4, 8)}``.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class SymDim(str):
    """A symbolic integer: ``SymDim("2*s0")``. Equal to, and hashed like, its canonical text (:func:`canonical`)."""

    __slots__ = ()

    def __new__(cls, text: str) -> SymDim:
        if type(text) is cls:
            return text  # already canonical
        return super().__new__(cls, canonical(str(text)))

    def __repr__(self) -> str:
        return f"SymDim({str(self)!r})"

    @property
    def symbols(self) -> frozenset[str]:
        return free_symbols(self)


@dataclass(frozen=True)
class SymbolRange:
    """The values a symbol takes: TensorRT's optimisation profile for it (``opt`` is what tactics are tuned for)."""

    min: int
    opt: int
    max: int | None  # None: unbounded (a torch.export Dim without max); TensorRT needs a bound

    def __post_init__(self) -> None:
        if self.min < 0 or self.opt < self.min or (self.max is not None and self.max < self.opt):
            raise ValueError(f"symbol range needs 0 <= min <= opt <= max, got {self.min}, {self.opt}, {self.max}")

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.min <= value and (self.max is None or value <= self.max)

    def __str__(self) -> str:
        return f"{self.min}..{self.opt}..{'inf' if self.max is None else self.max}"


class SymbolicError(ValueError):
    """A symbolic expression the IR cannot handle, or run-time sizes that contradict the graph's types."""


def is_symbolic(value: Any) -> bool:
    """True when ``value`` is, or (in lists) contains, a :class:`SymDim`."""
    if isinstance(value, SymDim):
        return True
    if isinstance(value, (list, tuple)):
        return any(is_symbolic(v) for v in value)
    return False


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.expr:
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise SymbolicError(f"not a symbolic dim expression: {text!r}") from None
    for n in ast.walk(tree):
        ok = (isinstance(n, (ast.Name, ast.BinOp, ast.UnaryOp, ast.Load, ast.USub, ast.Call))
              or type(n) in _BINOPS or (isinstance(n, ast.Constant) and type(n.value) is int))
        if isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name) and n.func.id in ("Max", "Min")):
            ok = False
        if not ok:
            raise SymbolicError(f"symbolic dim {text!r} uses {type(n).__name__}; supported: integers, symbols, "
                                "+ - * // %, Max, Min")
    return tree


@functools.lru_cache(maxsize=8192)
def canonical(text: str) -> str:
    """``text`` in canonical form: parsed, normalised by sympy, printed in the same syntax (see the module
    docstring); an integer expression stays its value (``"3*2"`` is ``"6"``). Text that is not this syntax, and a form
    sympy returns that this syntax cannot print (none is known), are kept as given."""
    # sympy: imported here because it costs ~0.45 s and torch loads it only once something is exported.
    import sympy

    try:
        tree = _parse(text)
    except SymbolicError:
        return text  # not this syntax: the error is for whoever evaluates it (free_symbols, fold)
    symbols: dict[str, Any] = {}

    def to_sympy(n: ast.expr) -> Any:
        if isinstance(n, ast.Constant):
            return sympy.Integer(n.value)
        if isinstance(n, ast.Name):
            return symbols.setdefault(n.id, sympy.Symbol(n.id, integer=True, nonnegative=True))
        if isinstance(n, ast.UnaryOp):
            return -to_sympy(n.operand)
        if isinstance(n, ast.BinOp):
            a, b = to_sympy(n.left), to_sympy(n.right)
            if isinstance(n.op, ast.FloorDiv):
                return sympy.floor(a / b)
            if isinstance(n.op, ast.Mod):
                return sympy.Mod(a, b)
            if isinstance(n.op, ast.Add):
                return a + b
            return a - b if isinstance(n.op, ast.Sub) else a * b
        assert isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        return (sympy.Max if n.func.id == "Max" else sympy.Min)(*(to_sympy(a) for a in n.args))

    try:
        return _SympyPrinter(sympy).text(to_sympy(tree))
    except _Unprintable:
        return text


class _Unprintable(Exception):
    """A sympy form the dim syntax has no spelling for."""


class _SympyPrinter:
    """Prints a sympy integer expression in the dim syntax (+ - * // %, Max, Min), terms and factors in sympy's
    canonical order."""

    def __init__(self, sympy: Any) -> None:
        self.sp = sympy

    def text(self, e: Any) -> str:
        sp = self.sp
        if e.is_Integer:
            return str(int(e))
        if e.is_Symbol:
            return str(e.name)
        if e.is_Add:
            return self._sum(e)
        if e.is_Mul or e.is_Pow:
            return self._product(e)
        if isinstance(e, sp.floor):
            num, den = sp.fraction(sp.together(e.args[0]))
            return f"({self._operand(num)}//{self._operand(den)})"
        if isinstance(e, sp.ceiling):  # ceil(n/d) == -((-n)//d)
            num, den = sp.fraction(sp.together(e.args[0]))
            return f"-((-{self._operand(num)})//{self._operand(den)})"
        if isinstance(e, sp.Mod):
            return f"({self._operand(e.args[0])} % {self._operand(e.args[1])})"
        if isinstance(e, (sp.Max, sp.Min)):
            return f"{type(e).__name__}({', '.join(self.text(a) for a in sorted(e.args, key=sp.default_sort_key))})"
        raise _Unprintable(str(e))

    def _operand(self, e: Any) -> str:
        """``e`` as an operand of * // %: parenthesised unless it is a symbol, a non-negative integer or a call."""
        out = self.text(e)
        if e.is_Symbol or (e.is_Integer and e >= 0) or out.startswith("("):
            return out
        return f"({out})"

    def _sum(self, e: Any) -> str:
        out = ""
        for term in e.as_ordered_terms():
            coeff = term.as_coeff_Mul()[0]
            negative = coeff.is_number and coeff < 0
            body = self.text(-term if negative else term)
            out = (f"-{body}" if negative else body) if not out else f"{out} {'-' if negative else '+'} {body}"
        return out

    def _product(self, e: Any) -> str:
        coeff, rest = e.as_coeff_Mul()
        if not coeff.is_Integer:
            raise _Unprintable(str(e))
        factors: list[str] = []
        for f in rest.as_ordered_factors():
            base, exp = f.as_base_exp()
            if not (exp.is_Integer and exp > 0):
                raise _Unprintable(str(e))
            factors.extend([self._factor(base)] * int(exp))
        if coeff == -1:
            return "-" + "*".join(factors)
        return "*".join(([str(int(coeff))] if coeff != 1 else []) + factors)

    def _factor(self, e: Any) -> str:
        out = self.text(e)
        return f"({out})" if e.is_Add else out


def free_symbols(text: str) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(_parse(text)) if isinstance(n, ast.Name) and n.id not in ("Max", "Min"))


class Arithmetic:
    """How :func:`fold` combines values: Python operators by default, which serve ints and ``torch.SymInt`` s."""

    def symbol(self, name: str) -> Any:
        """The value of a symbol ``env`` does not bind; None: unbound (an error)."""
        return None

    def const(self, value: int) -> Any:
        return value

    def binary(self, op: type, a: Any, b: Any) -> Any:
        return _BINOPS[op](a, b)

    def neg(self, a: Any) -> Any:
        return -a

    def extreme(self, name: str, items: list[Any]) -> Any:
        return max(items) if name == "Max" else min(items)


def fold(text: str, env: Mapping[str, Any], arith: Arithmetic | None = None) -> Any:
    """Evaluate expression ``text`` with symbols from ``env`` and ``arith``'s operations."""
    arith = arith or Arithmetic()

    def go(n: ast.expr) -> Any:
        if isinstance(n, ast.Constant):
            return arith.const(n.value)
        if isinstance(n, ast.Name):
            if n.id in env:
                return env[n.id]
            value = arith.symbol(n.id)
            if value is None:
                raise SymbolicError(f"symbol {n.id} of {text!r} is not bound (bound: {', '.join(sorted(env)) or '-'})")
            return value
        if isinstance(n, ast.UnaryOp):
            return arith.neg(go(n.operand))
        if isinstance(n, ast.BinOp):
            return arith.binary(type(n.op), go(n.left), go(n.right))
        assert isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        return arith.extreme(n.func.id, [go(a) for a in n.args])

    return go(_parse(text))


def evaluate(value: Any, env: Mapping[str, Any]) -> Any:
    """``value`` with every :class:`SymDim` (also inside lists) replaced by its value under ``env``."""
    if isinstance(value, SymDim):
        return fold(value, env)
    if isinstance(value, list):
        return [evaluate(v, env) for v in value]
    if isinstance(value, tuple):
        return tuple(evaluate(v, env) for v in value)
    return value


def bind(shapes: Sequence[Sequence[Any]], sizes: Sequence[Sequence[int]],
         ranges: Mapping[str, SymbolRange] | None = None, labels: Sequence[str] | None = None,
         origins: Mapping[str, str] | None = None) -> dict[str, int]:
    """The symbols' values given run-time ``sizes`` for tensors typed with ``shapes``; every dim is checked.

    Symbols are read off dims that are a bare symbol; compound dims (``2*s0``) are then checked, as are static dims.
    A size outside a symbol's range or contradicting the types raises :class:`SymbolicError` naming the tensor and
    axis as the user knows them: ``labels[i]`` names tensor ``i`` (``"input 0 ('x')"``), ``origins[symbol]`` the
    model input and axis a symbol is the size of (``"input 0 ('x'), axis 0"``), never the symbol alone.
    """
    def label(i: int) -> str:
        return labels[i] if labels is not None and i < len(labels) else f"input {i}"

    env: dict[str, int] = {}
    seen: dict[str, str] = {}
    for i, (shape, size) in enumerate(zip(shapes, sizes)):
        if len(shape) != len(size):
            raise SymbolicError(f"{label(i)}: expected rank {len(shape)} ({_show(shape)}), got shape {tuple(size)}")
        for axis, (d, n) in enumerate(zip(shape, size)):
            if isinstance(d, SymDim) and d.isidentifier():
                if env.setdefault(str(d), int(n)) != int(n):
                    raise SymbolicError(f"{label(i)}, axis {axis} is {n}, but must equal {seen[str(d)]}, which is "
                                        f"{env[str(d)]}")
                seen.setdefault(str(d), f"{label(i)}, axis {axis}")
    for i, (shape, size) in enumerate(zip(shapes, sizes)):
        for axis, (d, n) in enumerate(zip(shape, size)):
            want = fold(d, env) if isinstance(d, SymDim) else d
            if want != int(n):
                raise SymbolicError(f"{label(i)}, axis {axis} must be {want}, got shape {tuple(size)}")
    for name, value in env.items():
        r = (ranges or {}).get(name)
        if r is not None and value not in r:
            where = (origins or {}).get(name, seen[name])
            raise SymbolicError(f"{where} is {value}, outside the range the program was compiled for: "
                                f"{r.min}..{'inf' if r.max is None else r.max}")
    return env


def _show(shape: Sequence[Any]) -> str:
    return f"[{', '.join(str(d) for d in shape)}]"


def dim_at(text: Any, ranges: Mapping[str, SymbolRange], which: str) -> int:
    """A dim's value with every symbol at its ``min``/``opt``/``max``: the profile of a tensor whose dims grow with
    their symbols (true of the sizes models compute: products, sums, floor divisions by positive constants)."""
    if not isinstance(text, SymDim):
        return int(text)
    env = {}
    for s in text.symbols:
        if s not in ranges:
            raise SymbolicError(f"no range for symbol {s} (of dim {text})")
        v = getattr(ranges[s], which)
        if v is None:
            raise SymbolicError(f"symbol {s} has no upper bound; TensorRT's optimisation profile needs one: give "
                                "trt_passes.Input(max_shape=...) or a torch.export Dim with max=")
        env[s] = v
    return int(fold(text, env))
