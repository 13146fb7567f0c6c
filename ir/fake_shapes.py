"""Type inference with symbolic dims: run an op on fake tensors whose sizes are ``torch.SymInt`` s.

Static types infer on meta tensors (:func:`trt_passes.ir.ops.infer_by_meta`); once a dim or an attribute is a
:class:`~trt_passes.ir.symbolic.SymDim`, the op runs under a ``FakeTensorMode`` backed by a ``ShapeEnv`` in which each
IR symbol is a ``torch`` symbol of the same name, so output sizes come back as expressions over the IR's own symbols.

Each symbol gets the range its graph declares (see :func:`known_ranges`; [2, inf) when unknown) with the lower bound
raised to 2, which is the assumption ``torch.export`` traces under too, and a distinct hint (its ``opt`` where known),
so that a guard torch cannot decide from the ranges never equates two symbols. A fresh ``ShapeEnv`` serves each
inference; an op whose meta function pins a symbol to one value is reported as needing a static size.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sympy
import torch
from torch._dispatch.python import enable_python_dispatcher
from torch._subclasses.fake_tensor import FakeTensorMode

from trt_passes.ir.symbolic import SymbolicError, SymbolRange, SymDim, fold, is_symbolic
from trt_passes.ir.types import TensorType, dtype_name, symbols_in, torch_dtype

_known_ranges: contextvars.ContextVar[Mapping[str, SymbolRange]] = contextvars.ContextVar(
    "trt_passes_symbol_ranges", default=None)


@contextlib.contextmanager
def known_ranges(ranges: Mapping[str, SymbolRange] | None) -> Iterator[None]:
    """Infer with these symbols' ranges: a size check such as ``s0 <= 512`` is then decided by the range, not by
    a guess (passes run under their graph's ``meta["symbols"]``, see the scheduler)."""
    token = _known_ranges.set(dict(ranges or {}))
    try:
        yield
    finally:
        _known_ranges.reset(token)


def current_ranges() -> Mapping[str, SymbolRange]:
    """The symbol ranges set by the innermost :func:`known_ranges` (empty outside one)."""
    return _known_ranges.get() or {}


class SymbolSpace:
    """A FakeTensorMode whose ShapeEnv knows a fixed set of IR symbols (none: no ShapeEnv, all sizes static).

    Fake tensors made in it (:meth:`fake`) have ``SymInt`` sizes for the IR's symbolic dims; :meth:`dim` turns a size
    computed from them back into an IR dim, in the IR's symbol names."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.symbols: dict[str, Any] = {}
        self.rename: dict[Any, Any] = {}  # the ShapeEnv's symbol -> the IR's symbol of the same meaning
        if not names:  # a ShapeEnv costs tens of milliseconds to create; static sizes need none
            self.env = None
            self.mode = FakeTensorMode(allow_non_fake_inputs=True)
            return
        # TorchDynamo's modules take seconds to import; only symbolic sizes need them
        from torch._dynamo.source import ConstantSource
        from torch.fx.experimental.symbolic_shapes import DimDynamic, ShapeEnv, constrain_range

        self.env = ShapeEnv()
        self.mode = FakeTensorMode(shape_env=self.env, allow_non_fake_inputs=True)
        ranges = _known_ranges.get() or {}
        hints: set[int] = set()
        for i, name in enumerate(names):
            r = ranges.get(name)
            lo = max(r.min, 2) if r is not None else 2
            hi = max(r.max, lo) if r is not None and r.max is not None else None
            hint = max(lo, r.opt if r is not None else 1009 + 2 * i)
            if hi is not None:
                hint = min(hint, hi)
            while hint in hints and (hi is None or hint < hi):  # distinct hints: no guard may equate two symbols
                hint += 1
            hints.add(hint)
            sym = self.env.create_symbol(hint, ConstantSource(f"trt_passes_{name}"), dynamic_dim=DimDynamic.DYNAMIC)
            self.symbols[name] = self.env.create_symintnode(sym, hint=hint)
            if r is not None:
                constrain_range(self.symbols[name], min=lo, max=hi)
            self.rename[sym] = sympy.Symbol(name, integer=True, positive=True)

    @staticmethod
    def for_values(values: Any) -> SymbolSpace:
        """A space knowing every symbol ``values`` (TensorTypes, attributes, lists of them) use."""
        return SymbolSpace(tuple(sorted(symbols_in(list(values)))))

    def fake(self, t: TensorType) -> torch.Tensor:
        """An empty fake tensor of type ``t`` (call inside ``self.mode``)."""
        return torch.empty(tuple(self.convert(list(t.shape))), dtype=torch_dtype(t.dtype))

    def type_of(self, t: torch.Tensor) -> TensorType:
        """The IR type of a fake tensor of this space."""
        return TensorType(dtype_name(t.dtype), tuple(self.dim(d) for d in t.shape))

    def pinned(self) -> list[str]:
        """The symbols a guard has fixed to one value (an op whose meta function needs the size static)."""
        return sorted(name for name, sym in self.symbols.items() if not isinstance(self.dim(sym), SymDim))

    def symint(self, d: SymDim) -> Any:
        return fold(d, self.symbols)

    def dim(self, d: Any) -> int | SymDim:
        """An output size as an IR dim, in the IR's symbol names."""
        if isinstance(d, int):
            return d
        expr = d.node.expr
        if expr.is_number:
            return int(expr)
        return SymDim(str(expr.xreplace(self.rename)))

    def convert(self, value: Any) -> Any:
        if isinstance(value, SymDim):
            return self.symint(value)
        if isinstance(value, list):
            return [self.convert(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.convert(v) for v in value)
        return value


def needs_symbolic(args: dict[str, Any]) -> bool:
    def check(v: Any) -> bool:
        if isinstance(v, TensorType):
            return not v.is_static
        if isinstance(v, (list, tuple)):
            return any(check(x) for x in v)
        return is_symbolic(v)

    return any(check(v) for v in args.values())


def infer_symbolic(evaluate: Callable[[dict[str, Any]], tuple[torch.Tensor, ...]], args: dict[str, Any]) -> list[Any]:
    """Run ``evaluate`` on fake tensors for ``args`` (TensorTypes in tensor positions) and return the outputs'
    TensorTypes, symbolic sizes in the IR's symbol names."""
    # A fresh space per call: a guard one op adds (a divisibility, a specialisation) must not become a fact the
    # next inference relies on.
    space = SymbolSpace(tuple(sorted(set().union(*(symbols_in(v) for v in args.values())))))

    def to_fake(v: Any) -> Any:
        if isinstance(v, TensorType):
            return space.fake(v)
        if isinstance(v, torch.Tensor):
            return space.mode.from_tensor(v, static_shapes=True)
        if isinstance(v, (list, tuple)):
            return type(v)(to_fake(x) for x in v)
        return space.convert(v)

    # The Python dispatcher routes ops to their SymInt-aware Python meta functions, as torch.export does; some C++
    # meta kernels would read a symbolic size as its hint.
    with space.mode, enable_python_dispatcher():
        fake_args = {k: to_fake(v) for k, v in args.items()}
        outs = evaluate(fake_args)
    pinned = space.pinned()
    if pinned:
        raise SymbolicError(f"needs a static size for {', '.join(pinned)}: its meta function specialised the "
                            "symbolic dim to one value")
    return [space.type_of(o) for o in outs]


_SIZE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
}


def size_arithmetic(op: str, a: int | SymDim, b: int | SymDim) -> int | SymDim:
    """``a op b`` for sizes, symbolic ones included, in the canonical form inference gives (``s0*s1``, not
    ``s1*s0``), so a guard comparing a computed size with a type's dim compares like with like."""
    space = SymbolSpace(tuple(sorted(symbols_in([a, b]))))
    return space.dim(_SIZE_OPS[op](space.convert(a), space.convert(b)))
