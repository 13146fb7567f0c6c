"""Describing a model's inputs: real example tensors, or :class:`Input` specs from which examples are drawn."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from trt_passes.ir.symbolic import SymbolRange
from trt_passes.ir.types import TORCH_DTYPES


@dataclass(frozen=True)
class Input:
    """An input's shape and dtype, with the range example values are drawn from.

    A static input gives ``shape``; a dynamic one gives ``min_shape``, ``opt_shape`` and ``max_shape`` (TensorRT's
    optimisation profile: the engine runs any shape in range and is tuned for ``opt_shape``), and ``shape`` is then
    ``opt_shape``, the shape examples are drawn with.

    >>> Input((1, 3, 224, 224)).example().shape
    torch.Size([1, 3, 224, 224])
    >>> Input(min_shape=(1, 3, 64, 64), opt_shape=(4, 3, 64, 64), max_shape=(8, 3, 64, 64)).dynamic_axes
    (0,)
    """

    shape: tuple[int, ...] | None = None
    dtype: torch.dtype = torch.float32
    low: float = -1.0
    high: float = 1.0
    min_shape: tuple[int, ...] | None = None
    opt_shape: tuple[int, ...] | None = None
    max_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.dtype, torch.dtype):
            raise TypeError(f"Input dtype must be a torch.dtype such as torch.float32, got {self.dtype!r}")
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"Input {name} must be a finite number, got {value!r}")
        if self.low > self.high:
            raise ValueError(f"Input value range {self.low}..{self.high} is empty: low must not exceed high")
        for name in ("shape", "min_shape", "opt_shape", "max_shape"):
            dims = getattr(self, name)
            if dims is None:
                continue
            try:
                if isinstance(dims, (str, bytes)) or any(isinstance(d, bool) for d in dims):
                    raise TypeError
                dims = tuple(operator.index(d) for d in dims)  # ints, numpy ints, torch.Size
            except TypeError:
                raise TypeError(f"Input {name} must be a tuple of ints, got {dims!r}") from None
            object.__setattr__(self, name, dims)
            if any(d < 0 for d in dims):
                raise ValueError(f"Input {name} {tuple(dims)} has a negative dim; sizes are 0 or more")
        ranged = [s for s in (self.min_shape, self.opt_shape, self.max_shape) if s is not None]
        if ranged and len(ranged) != 3:
            raise ValueError("a dynamic Input needs all of min_shape, opt_shape and max_shape")
        if ranged:
            lo, opt, hi = (tuple(int(d) for d in s) for s in ranged)
            if not len(lo) == len(opt) == len(hi):
                raise ValueError(f"min_shape {lo}, opt_shape {opt} and max_shape {hi} must have the same rank")
            bad = [i for i in range(len(lo)) if not 0 <= lo[i] <= opt[i] <= hi[i]]
            if bad:
                raise ValueError(f"dims {bad} need 0 <= min <= opt <= max; got min_shape {lo}, opt_shape {opt}, "
                                 f"max_shape {hi}")
            if self.shape is not None and tuple(self.shape) != opt:
                raise ValueError(f"shape {tuple(self.shape)} differs from opt_shape {opt}; give one of them")
            object.__setattr__(self, "min_shape", lo)
            object.__setattr__(self, "opt_shape", opt)
            object.__setattr__(self, "max_shape", hi)
            object.__setattr__(self, "shape", opt)
        elif self.shape is None:
            raise ValueError("Input needs a shape, or min_shape, opt_shape and max_shape")
        else:
            object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    @property
    def dynamic_axes(self) -> tuple[int, ...]:
        """The axes whose size may vary (min != max)."""
        if self.min_shape is None or self.max_shape is None:
            return ()
        return tuple(i for i, (a, b) in enumerate(zip(self.min_shape, self.max_shape)) if a != b)

    def dim_ranges(self) -> dict[int, SymbolRange]:
        """Each dynamic axis with its (min, opt, max) range."""
        if self.min_shape is None or self.opt_shape is None or self.max_shape is None:
            return {}
        return {axis: SymbolRange(self.min_shape[axis], self.opt_shape[axis], self.max_shape[axis])
                for axis in self.dynamic_axes}

    def with_shape(self, shape: tuple[int, ...]) -> Input:
        """The same input at another shape in its range (tests and benchmarks draw examples at several sizes)."""
        if self.min_shape is not None and self.max_shape is not None:
            if len(shape) != len(self.min_shape) or any(
                    not lo <= d <= hi for d, lo, hi in zip(shape, self.min_shape, self.max_shape)):
                raise ValueError(f"shape {shape} is outside [{self.min_shape}, {self.max_shape}]")
        return Input(tuple(shape), self.dtype, self.low, self.high)

    def example(self, generator: torch.Generator | None = None) -> torch.Tensor:
        assert self.shape is not None  # __post_init__ sets it
        if self.dtype.is_floating_point:
            t = torch.rand(self.shape, generator=generator, dtype=torch.float64)
            return (t * (self.high - self.low) + self.low).to(self.dtype)
        if self.dtype == torch.bool:
            return torch.rand(self.shape, generator=generator) < 0.5
        low, high = int(self.low), max(int(self.high), int(self.low) + 1)
        return torch.randint(low, high, self.shape, generator=generator, dtype=self.dtype)

    @staticmethod
    def parse(text: str) -> Input:
        """``1x3x224x224``, ``2x16:i64``, ``2x16:i64:0..1000`` (the CLI's --input syntax).

        A dynamic dim is ``MIN..OPT..MAX`` or ``MIN..MAX`` (opt = max): ``1..4..8x3x224x224``.
        """
        parts = text.split(":")
        lo, opt, hi = [], [], []
        for d in parts[0].lower().split("x"):
            try:
                nums = [int(n) for n in d.split("..")]
            except ValueError:
                nums = []
            if len(nums) not in (1, 2, 3):
                raise ValueError(f"bad input shape {parts[0]!r}: expected dims joined by 'x', like 1x3x224x224, "
                                 "a dynamic dim as MIN..OPT..MAX or MIN..MAX") from None
            lo.append(nums[0])
            hi.append(nums[-1])
            opt.append(nums[1] if len(nums) == 3 else nums[-1])
        dtype = torch.float32
        if len(parts) > 1 and parts[1]:
            if parts[1] not in TORCH_DTYPES:
                raise ValueError(f"bad input dtype {parts[1]!r}; known: {', '.join(TORCH_DTYPES)}")
            dtype = TORCH_DTYPES[parts[1]]
        low, high = (-1.0, 1.0) if dtype.is_floating_point else (0.0, 2.0)
        if len(parts) > 2:
            try:
                lo_text, hi_text = parts[2].split("..")
                low, high = float(lo_text), float(hi_text)
            except ValueError:
                raise ValueError(f"bad value range {parts[2]!r}: expected LOW..HIGH") from None
        if len(parts) > 3:
            raise ValueError(f"bad input {text!r}: expected SHAPE[:DTYPE[:LOW..HIGH]]")
        if low > high:
            raise ValueError(f"bad value range {parts[2]!r}: LOW must not exceed HIGH")
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"bad value range {parts[2]!r}: LOW and HIGH must be finite numbers")
        if any(d < 0 for d in lo):
            raise ValueError(f"bad input shape {parts[0]!r}: a dim is negative; sizes are 0 or more")
        if lo == hi:
            return Input(tuple(opt), dtype, low, high)
        return Input(None, dtype, low, high, tuple(lo), tuple(opt), tuple(hi))


def example_inputs(inputs: Sequence[torch.Tensor | Input] | None, seed: int = 0) -> tuple[torch.Tensor, ...]:
    if inputs is None:
        raise ValueError("inputs=[...] is required: example tensors or trt_passes.Input(shape, dtype) specs")
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i, x in enumerate(inputs):
        if isinstance(x, torch.Tensor):
            out.append(x)
        elif isinstance(x, Input):
            out.append(x.example(gen))
        else:
            raise TypeError(f"inputs[{i}] is a {type(x).__name__}; expected a torch.Tensor or trt_passes.Input")
    return tuple(out)


def dynamic_dims(inputs: Sequence[torch.Tensor | Input] | None) -> tuple[dict[int, SymbolRange], ...]:
    """Per input, its dynamic axes with their ranges (empty for tensors and static Inputs): the plain data a
    frontend that takes dynamic inputs turns into symbolic sizes."""
    return tuple(x.dim_ranges() if isinstance(x, Input) else {} for x in inputs or ())
