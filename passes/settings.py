"""Compile settings: defined once here, validated once here, used everywhere.

Names follow Torch-TensorRT where the concept is theirs (``min_block_size``, ``torch_executed_ops``,
``require_full_compilation``, ``workspace_size``, ``optimization_level``, ``disable_tf32``). An unknown option is an
error with a suggestion, never silently dropped.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from trt_passes.backend.runtimes import RUNTIMES
from trt_passes.ir.aten import qualified_packet, user_op_name
from trt_passes.ir.decompositions import check_decompositions
from trt_passes.ir.types import torch_dtype

# What enabled_precisions accepts: torch dtypes or the IR's names for them.
PRECISIONS = {name: torch_dtype(name) for name in ("f32", "f16", "bf16")}


@dataclass(frozen=True)
class CompileSettings:
    min_block_size: int = 5
    """Smallest number of ops a TensorRT segment may have; smaller segments stay in PyTorch."""
    torch_executed_ops: tuple[str, ...] = ()
    """ATen ops forced to run in PyTorch: ``torch.ops.aten.relu.default``, ``torch.ops.aten.relu`` or the strings
    ``"aten.relu.default"``, ``"aten.relu"`` (every overload), as Torch-TensorRT takes them; stored as strings."""
    require_full_compilation: bool = False
    """Fail, listing the ops and reasons, unless the whole model converts to one TensorRT segment; that segment is
    kept whatever ``min_block_size`` says (as Torch-TensorRT does)."""
    runtime: str = "auto"
    """``"tensorrt"`` runs engines; ``"reference"`` runs segments through the reference runtime; ``"auto"`` picks."""
    rules: tuple[Path, ...] = ()
    """Extra ``.rw`` files or folders loaded with the shipped rules."""
    workspace_size: int | None = None
    """TensorRT builder workspace limit in bytes (TensorRT's default when None)."""
    optimization_level: int | None = None
    """TensorRT builder optimisation level 0-5 (TensorRT's default when None)."""
    pipeline: str = "default"
    """Name of a ``.pipeline`` file in ``spec/pipelines`` or a path to one."""
    build_engines: bool = True
    """Build TensorRT engines (``explain`` turns this off: it only needs the decisions)."""
    rewrite_budget: int = 100_000
    """Most rule applications one rule set may make on one graph before the rewriter gives up."""
    cache_dir: Path | None = None
    """Directory of the engine cache: a segment built before (same body, weights, build settings and TensorRT) is
    read from it instead of rebuilt. None: no cache."""
    engine_cache_size: int = 5 << 30
    """Most bytes the engine cache keeps (Torch-TensorRT's name and default, 5 GiB): beyond it the least recently
    used engines are deleted."""
    enabled_precisions: tuple[str, ...] = ("f32",)
    """Precisions TensorRT segments may compute in: a collection of ``torch.float32``/``torch.float16``/
    ``torch.bfloat16`` or ``"f32"``/``"f16"``/``"bf16"`` (normalised to a tuple of these names, ``"f32"`` first and
    always present: the default ``("f32",)`` changes nothing). With ``f16`` or ``bf16`` (one of them; both is an
    error, since nothing would say which to use), the ``reduce_precision`` pass makes the model's float32 compute
    run in that dtype, except the numerically sensitive ops listed in ``spec/precision/policy.ops`` (softmax,
    accumulating reductions, normalisations, exp/log/pow), which stay float32. The model's inputs and outputs keep
    their dtypes (the casts are inside the compiled program), so it is called as before. Integer and bool tensors
    and tensors that were not float32 are never changed."""
    truncate_double: bool = False
    """Run float64 compute in float32 (the ``truncate_double`` pass; Torch-TensorRT's option of the same name).
    TensorRT has no float64 tensors, so without it every op reading or making one stays in PyTorch. With it,
    float64 weights are cast to float32 when compiling, float64 inputs where they enter, and float64 outputs back
    to float64: the program is called as before and answers with float32's precision."""
    disable_tf32: bool = False
    """Clear TensorRT's TF32 builder flag, so float32 convolutions, deconvolutions and matrix products compute in full
    float32. By default (as in Torch-TensorRT) TF32 stays allowed: on GPUs with TF32 tensor cores those layers read
    their float32 inputs rounded to a 10-bit mantissa (relative error up to about 1e-3), and the reference runtime
    computes the same rounding (``backend/layers/numerics.py``). The flag is set explicitly either way."""
    decompositions: str = "rules"
    """How the model's high-level ATen ops (``aten.linear``, ``aten.conv2d``, ``aten.layer_norm``, ...) are lowered.
    ``"rules"``: the frontend hands over the graph ``torch.export.export`` produces, without retracing it; ``.rw``
    lowering rules lower it, and the ``decompose`` pass applies PyTorch's own decomposition to each node no rule
    handles (``explain`` lists those). A program writing tensors in place in a way the ``functionalize`` pass cannot
    prove safe to rewrite takes the ``"pytorch"`` path as a whole, and the report says why. ``"pytorch"``: the
    frontend first runs ``ExportedProgram.run_decompositions()`` on the whole program (PyTorch's core-ATen
    decomposition table), the path before rules lowered ``torch.export``'s graph; it exists to compare the two
    (``bisect``, ``benchmarks/decompositions.py``)."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Every option is checked here, with a message naming it and what it takes (never an error from deep inside).
        _check_int("min_block_size", self.min_block_size, "a positive int", low=1)
        _check_bool("require_full_compilation", self.require_full_compilation)
        if not isinstance(self.runtime, str) or self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}; got {self.runtime!r}")
        _check_int("optimization_level", self.optimization_level, "0..5 (an int) or None", low=0, high=5,
                   optional=True)
        _check_int("workspace_size", self.workspace_size, "positive bytes (an int, e.g. 1 << 30 for 1 GiB) or None",
                   low=1, optional=True)
        _check_bool("build_engines", self.build_engines)
        _check_bool("disable_tf32", self.disable_tf32)
        _check_bool("truncate_double", self.truncate_double)
        _check_int("rewrite_budget", self.rewrite_budget, "a positive int", low=1)
        _check_int("engine_cache_size", self.engine_cache_size, "positive bytes (an int, e.g. 5 << 30)", low=1)
        object.__setattr__(self, "torch_executed_ops", normalize_torch_executed_ops(self.torch_executed_ops))
        rules = (self.rules,) if isinstance(self.rules, (str, os.PathLike)) else self.rules
        if isinstance(rules, (bytes, Mapping)) or not isinstance(rules, Iterable):
            raise TypeError(f"rules takes a path or a list of paths to .rw files or folders, not {rules!r}")
        object.__setattr__(self, "rules", tuple(_path("rules", r) for r in rules))
        if not isinstance(self.pipeline, (str, os.PathLike)):
            raise TypeError(f"pipeline takes a pipeline name or a path to a .pipeline file, not {self.pipeline!r}")
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", _path("cache_dir", self.cache_dir))
        object.__setattr__(self, "enabled_precisions", normalize_precisions(self.enabled_precisions))
        check_decompositions(self.decompositions)

    @classmethod
    def option_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name != "extra"]

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CompileSettings:
        """Build settings from keyword options; unknown names raise with a suggestion and the valid names."""
        valid = cls.option_names()
        for name in options:
            if name not in valid:
                close = difflib.get_close_matches(name, valid, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise TypeError(f"unknown compile option {name!r}.{hint} Valid options: {', '.join(valid)}")
        return cls(**dict(options))

    @property
    def reduced_precision(self) -> str | None:
        """The IR dtype float32 compute runs in (``"f16"`` or ``"bf16"``), or None when it stays float32."""
        low = [p for p in self.enabled_precisions if p != "f32"]
        return low[0] if low else None

    def executes_in_torch(self, op: str) -> bool:
        """True when ``op`` (``aten.relu.default``) is named by ``torch_executed_ops`` with or without overload."""
        return op in self.torch_executed_ops or qualified_packet(op) in self.torch_executed_ops


def _check_int(name: str, value: Any, takes: str, low: int, high: int | None = None, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool):  # True is an int to Python, never a size here
        raise TypeError(f"{name} must be {takes}, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be {takes}, got {value!r}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


def _path(name: str, value: Any) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} takes a path (str or pathlib.Path), not {type(value).__name__} {value!r}")
    return Path(value)


def normalize_torch_executed_ops(value: Any) -> tuple[str, ...]:
    """The ops given in any spelling Torch-TensorRT accepts (``torch.ops.aten.relu.default``,
    ``torch.ops.aten.relu``, ``"torch.ops.aten.relu.default"``, ``"aten.relu.default"``, ``"aten.relu"``) as
    ``aten.NAME.OVERLOAD`` or ``aten.NAME`` strings; an op torch does not have is an error naming the nearest."""
    if isinstance(value, (str, torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        raise TypeError(f"torch_executed_ops takes a list of ops, not one op: use [{value!r}]")
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"torch_executed_ops takes a list of ops, not {type(value).__name__} {value!r}")
    names = []
    for op in value:
        try:
            names.append(user_op_name(op))
        except (TypeError, ValueError) as e:
            raise type(e)(f"torch_executed_ops: {e}") from None
    return tuple(names)


def normalize_precisions(value: Any) -> tuple[str, ...]:
    """``{torch.float16}`` or ``["f32", "f16"]`` -> ``("f32", "f16")``; a clear error for anything else."""
    names = {dtype: name for name, dtype in PRECISIONS.items()}
    items = (value,) if isinstance(value, (str, torch.dtype)) else value  # one dtype given bare is one dtype
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"enabled_precisions takes a collection of dtypes, e.g. {{torch.float16}}; got {value!r}")\
            from None
    if not items:
        raise ValueError("enabled_precisions is empty; give at least one of f32, f16, bf16 (default: f32 only)")
    chosen = set()
    for item in items:
        name = names.get(item) if isinstance(item, torch.dtype) else item
        if name not in PRECISIONS:
            raise ValueError(f"enabled_precisions: {item!r} is not a precision; use torch.float32, torch.float16, "
                             f"torch.bfloat16 or {', '.join(repr(p) for p in PRECISIONS)}")
        chosen.add(name)
    if {"f16", "bf16"} <= chosen:
        raise ValueError("enabled_precisions has both f16 and bf16; choose one: float32 compute runs in that dtype")
    # f32 is always enabled: numerically sensitive ops and the model's inputs and outputs stay in it.
    return ("f32", *(p for p in PRECISIONS if p in chosen and p != "f32"))
