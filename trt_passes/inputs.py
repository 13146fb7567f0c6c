"""Describing a model's inputs: real example tensors, or :class:`Input` specs from which examples are drawn."""

from __future__ import annotations

import difflib
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from trt_passes.ir.symbolic import SymbolRange
from trt_passes.ir.types import DTYPE_NAMES, TORCH_DTYPES


def _dtype_spellings() -> dict[str, torch.dtype]:
    """Every name a dtype the IR has goes by: the IR's (``f16``) and torch's (``float16``, ``half``,
    ``torch.float16``)."""
    names: dict[str, torch.dtype] = dict(TORCH_DTYPES)
    for attr in dir(torch):
        value = getattr(torch, attr, None)
        if isinstance(value, torch.dtype) and value in DTYPE_NAMES:
            names[attr] = value
            names[f"torch.{attr}"] = value
    return names


DTYPE_SPELLINGS = _dtype_spellings()

# Memory formats an example may be drawn in, with the rank each needs (None: any).
FORMATS: dict[torch.memory_format, int | None] = {
    torch.contiguous_format: None, torch.channels_last: 4, torch.channels_last_3d: 5}
FORMAT_NAMES = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last,
                "channels_last_3d": torch.channels_last_3d}


def input_dtype(value: Any) -> torch.dtype:
    """``value`` (a torch dtype, or a name: ``"f16"``, ``"float16"``, ``"half"``, ``"torch.float16"``) as a
    torch dtype; anything else is an error naming the nearest spelling."""
    if isinstance(value, torch.dtype):
        if value not in DTYPE_NAMES:
            raise TypeError(f"Input dtype {value} is not one the compiler takes; use one of "
                            f"{', '.join(str(d) for d in DTYPE_NAMES)}")
        return value
    if isinstance(value, str):
        found = DTYPE_SPELLINGS.get(value.strip())
        if found is not None:
            return found
        close = difflib.get_close_matches(value.strip(), list(DTYPE_SPELLINGS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TypeError(f"Input dtype {value!r} is not a dtype name{hint} (give a torch.dtype such as torch.float16, "
                        f"or a name: {', '.join(TORCH_DTYPES)}, float16, half, int64, ...)")
    raise TypeError(f"Input dtype must be a torch.dtype such as torch.float32 or its name, got {value!r}")


def input_format(value: Any) -> torch.memory_format:
    """``torch.contiguous_format``/``torch.channels_last``/``torch.channels_last_3d`` or their names."""
    if isinstance(value, torch.memory_format) and value in FORMATS:
        return value
    if isinstance(value, str) and value.strip().removeprefix("torch.").removesuffix("_format") in FORMAT_NAMES:
        return FORMAT_NAMES[value.strip().removeprefix("torch.").removesuffix("_format")]
    raise TypeError(f"Input format must be torch.contiguous_format, torch.channels_last or torch.channels_last_3d "
                    f"(or their names), got {value!r}")


@dataclass(frozen=True)
class Input:
    """An input's shape and dtype, with the range example values are drawn from.

    A static input gives ``shape``; a dynamic one gives ``min_shape``, ``opt_shape`` and ``max_shape`` (TensorRT's
    optimisation profile: the engine runs any shape in range and is tuned for ``opt_shape``), and ``shape`` is then
    ``opt_shape``, the shape examples are drawn with.

    As in Torch-TensorRT: ``dtype`` is a torch dtype or its name (``"f16"``, ``"float16"``, ``"half"``);
    ``format`` the memory format examples are drawn in (``torch.contiguous_format`` or ``torch.channels_last``);
    ``name`` the input's name, used when messages speak of it; ``tensor_domain=(low, high)`` the range values are
    drawn from (the same as ``low``/``high``); :meth:`from_tensor` describes a tensor (which is then the example).

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
    format: torch.memory_format = torch.contiguous_format
    name: str | None = None
    tensor_domain: tuple[float, float] | None = None
    torch_tensor: torch.Tensor | None = field(default=None, compare=False, repr=False)
    """The tensor :meth:`from_tensor` described: the example, as it is."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", input_dtype(self.dtype))
        object.__setattr__(self, "format", input_format(self.format))
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"Input name must be a str, got {self.name!r}")
        if self.tensor_domain is not None:
            domain = self.tensor_domain
            if isinstance(domain, (str, bytes)) or not isinstance(domain, Sequence) or len(domain) != 2:
                raise ValueError(f"Input tensor_domain must be (low, high), got {domain!r}")
            object.__setattr__(self, "low", domain[0])
            object.__setattr__(self, "high", domain[1])
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
        rank = FORMATS[self.format]
        if rank is not None and len(self.shape) != rank:
            raise ValueError(f"Input format {self.format} needs rank {rank}, but shape {self.shape} has rank "
                             f"{len(self.shape)}")
        if self.tensor_domain is not None:
            object.__setattr__(self, "tensor_domain", (self.low, self.high))

    @classmethod
    def from_tensor(cls, t: torch.Tensor, disable_memory_format_check: bool = False, name: str | None = None) -> Input:
        """The Input describing ``t`` (shape, dtype, memory format, its values' range); ``t`` is its example.
        A tensor neither contiguous nor channels-last is refused unless ``disable_memory_format_check``."""
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"Input.from_tensor takes a torch.Tensor, not {type(t).__name__}")
        fmt = torch.contiguous_format
        if not (disable_memory_format_check or t.is_contiguous()):
            fmt = next((f for f, rank in FORMATS.items() if rank == t.dim() and t.is_contiguous(memory_format=f)),
                       None)
            if fmt is None:
                raise ValueError(f"Input.from_tensor: the tensor (shape {tuple(t.shape)}, strides {t.stride()}) is "
                                 "neither contiguous nor channels-last; pass t.contiguous(), or "
                                 "disable_memory_format_check=True")
        low, high = -1.0, 1.0
        if t.numel() and t.dtype != torch.bool and not t.is_complex():
            low, high = float(t.min()), float(t.max())
            if not (math.isfinite(low) and math.isfinite(high)):
                low, high = -1.0, 1.0  # examples are the tensor itself; the range only matters for with_shape()
        return cls(tuple(t.shape), t.dtype, low, high, format=fmt, name=name, torch_tensor=t)

    @classmethod
    def from_tensors(cls, ts: Sequence[torch.Tensor], disable_memory_format_check: bool = False) -> list[Input]:
        """:meth:`from_tensor` of each tensor."""
        return [cls.from_tensor(t, disable_memory_format_check) for t in ts]

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
        return Input(tuple(shape), self.dtype, self.low, self.high, format=self.format, name=self.name)

    def example(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """An example tensor: the one :meth:`from_tensor` was given, else values drawn from ``low..high``."""
        assert self.shape is not None  # __post_init__ sets it
        if self.torch_tensor is not None:
            return self.torch_tensor
        if self.dtype.is_floating_point:
            t = torch.rand(self.shape, generator=generator, dtype=torch.float64)
            t = (t * (self.high - self.low) + self.low).to(self.dtype)
        elif self.dtype == torch.bool:
            t = torch.rand(self.shape, generator=generator) < 0.5
        else:
            low, high = int(self.low), max(int(self.high), int(self.low) + 1)
            t = torch.randint(low, high, self.shape, generator=generator, dtype=self.dtype)
        return t.contiguous(memory_format=self.format)

    def example_tensor(self, optimization_profile_field: str | None = None) -> torch.Tensor:
        """An example at ``shape``, or (Torch-TensorRT's spelling) at ``"min_shape"``/``"opt_shape"``/``"max_shape"``
        of a dynamic input."""
        if optimization_profile_field is None:
            return self.example()
        if optimization_profile_field not in ("min_shape", "opt_shape", "max_shape"):
            raise ValueError(f"optimization_profile_field is min_shape, opt_shape or max_shape, not "
                             f"{optimization_profile_field!r}")
        shape = getattr(self, optimization_profile_field)
        if shape is None:
            raise ValueError(f"{optimization_profile_field} is for dynamic inputs; this Input has shape {self.shape}")
        return self.with_shape(shape).example()

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
            if parts[1] not in DTYPE_SPELLINGS:
                raise ValueError(f"bad input dtype {parts[1]!r}; known: {', '.join(TORCH_DTYPES)}")
            dtype = DTYPE_SPELLINGS[parts[1]]
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
