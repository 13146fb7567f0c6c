"""Run a serialised TensorRT engine on GPU tensors.

Written from TensorRT's Python API documentation: ``Runtime.deserialize_cuda_engine``; the engine's I/O tensors by
name (``num_io_tensors``, ``get_tensor_name``/``mode``/``dtype``/``shape``, ``get_tensor_profile_shape``); and per
call ``IExecutionContext.set_input_shape``, ``set_tensor_address`` and ``execute_async_v3`` on the current torch
stream. Inputs and outputs are bound by name, never by position: TensorRT does not promise that an engine lists its
tensors in the order the network added them. Everything asked of CUDA goes through :mod:`~trt_passes.backend.gpu`.

On the GPU-less machines the project is developed on it runs only against the test double of TensorRT's runtime API
(``tests/backend/fake_tensorrt.py``); ``scripts/gpu_check.sh`` runs it on a real GPU. :func:`tensorrt_runtime_status`
says whether engines can run on a device, and callers fall back to the reference runtime when they cannot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from trt_passes.backend import gpu
from trt_passes.backend.layers.emission import ir_dtype
from trt_passes.backend.tensorrt_import import TensorRTNotAvailableError, find_tensorrt
from trt_passes.backend.trt_logger import tensorrt_logger
from trt_passes.ir.types import TORCH_DTYPES

# TensorRT for RTX 1.7 runs on these compute capabilities and on 12.0 and newer (no Hopper, 9.x).
RTX_CAPABILITIES = frozenset({(8, 0), (8, 6), (8, 9)})
RTX_MIN_NEW_MAJOR = 12


class EngineLoadError(RuntimeError):
    """The engine cannot be deserialised (no usable GPU or runtime, or TensorRT refused it)."""


def _rtx_supports(capability: tuple[int, int]) -> bool:
    return capability in RTX_CAPABILITIES or capability[0] >= RTX_MIN_NEW_MAJOR


def tensorrt_runtime_status(device: torch.device | str) -> tuple[bool, str]:
    """Whether engines can run on ``device``, and why not (or what will run them)."""
    device = torch.device(device)
    cuda = gpu.GPU
    if device.type != cuda.device_type:
        return False, f"TensorRT engines run on CUDA devices, not {device}"
    if not cuda.available():
        return False, "CUDA is not available (no GPU or no driver)"
    try:
        found = find_tensorrt()
    except TensorRTNotAvailableError as e:
        return False, str(e)
    index = cuda.index_of(device)
    capability = cuda.capability(index)
    name = f"{cuda.name(index)} (compute capability {capability[0]}.{capability[1]})"
    if found.name == "tensorrt_rtx" and not _rtx_supports(capability):
        return False, (f"TensorRT-RTX {found.version} does not support {name}; it supports 8.0, 8.6, 8.9 and 12.0+ "
                       "(install NVIDIA's `tensorrt` for other GPUs)")
    return True, f"{found.name} {found.version} on {name}"


@dataclass(frozen=True)
class TensorIO:
    """One engine I/O tensor as the engine describes it: shape with -1 for run-time sizes; for an input with such
    sizes, the (min, opt, max) shapes of optimisation profile 0."""

    name: str
    is_input: bool
    dtype: torch.dtype
    shape: tuple[int, ...]
    profile: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None


def _torch_dtype(trt: Any, name: str, dt: Any) -> torch.dtype:
    ir = ir_dtype(trt, dt)
    if ir not in TORCH_DTYPES:
        raise EngineLoadError(f"engine tensor {name!r} has TensorRT type {dt}, which has no torch dtype here")
    return TORCH_DTYPES[ir]


class EngineRunner:
    """Deserialises an engine once; each call runs it on the current torch stream of its device.

    ``runner(*inputs)`` takes one tensor per name of ``input_names`` (the segment's input slots, as emission named
    the network inputs) and returns one per name of ``output_names``. Without names, the engine's own order is used
    (for engines built outside trt_passes)."""

    def __init__(self, engine_bytes: bytes, device: torch.device | str | None = None,
                 input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None) -> None:
        cuda = gpu.GPU
        self.device = cuda.normalize(device if device is not None else cuda.device_type)
        ok, reason = tensorrt_runtime_status(self.device)
        if not ok:
            raise EngineLoadError(f"cannot deserialise a TensorRT engine here: {reason}")
        found = find_tensorrt()
        trt = found.module
        self._trt = trt
        self._logger = tensorrt_logger(trt)
        self._logger.take_errors()
        with cuda.on(self.device):
            self._runtime = trt.Runtime(self._logger)
            self.engine = self._runtime.deserialize_cuda_engine(engine_bytes)
            if self.engine is None:
                errors = self._logger.take_errors()
                raise EngineLoadError(f"{found.name} {found.version} could not deserialise the engine"
                                      + (f": {' | '.join(errors)}" if errors else ""))
            self.context = self.engine.create_execution_context()
            if self.context is None:
                raise EngineLoadError("TensorRT could not create an execution context: "
                                      + " | ".join(self._logger.take_errors()))
        self.io = {io.name: io for io in self._describe_io()}
        self.input_names = self._bind("input", True, input_names)
        self.output_names = self._bind("output", False, output_names)

    def _describe_io(self) -> list[TensorIO]:
        trt, engine = self._trt, self.engine
        out = []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            shape = tuple(int(d) for d in engine.get_tensor_shape(name))
            profile = None
            if is_input and any(d < 0 for d in shape):
                lo, opt, hi = engine.get_tensor_profile_shape(name, 0)
                profile = (tuple(lo), tuple(opt), tuple(hi))
            out.append(TensorIO(name, is_input, _torch_dtype(trt, name, engine.get_tensor_dtype(name)), shape,
                                profile))
        return out

    def _bind(self, kind: str, is_input: bool, names: Sequence[str] | None) -> list[str]:
        have = [io.name for io in self.io.values() if io.is_input is is_input]
        if names is None:
            return have
        if sorted(names) != sorted(have):
            raise EngineLoadError(f"the engine's {kind}s are {have}, the segment's are {list(names)}: the engine was "
                                  "not built from this segment")
        return list(names)

    def describe(self) -> dict[str, Any]:
        """Each I/O tensor's shape (-1: a run-time size) and dtype, by name (for error messages and explain)."""
        return {io.name: (io.shape, io.dtype) for io in self.io.values()}

    def __call__(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        if len(inputs) != len(self.input_names):
            raise ValueError(f"engine takes {len(self.input_names)} inputs ({', '.join(self.input_names)}), "
                             f"got {len(inputs)}")
        cuda = gpu.GPU
        # Contiguous copies are allocated on the current stream, the one the engine runs on, so the caching
        # allocator cannot hand their memory to anyone else before the engine has read it.
        keep: list[torch.Tensor] = []
        for name, t in zip(self.input_names, inputs):
            io = self.io[name]
            if cuda.normalize(t.device) != self.device:
                raise ValueError(f"input {name} is on {t.device}, the engine runs on {self.device}")
            if t.dtype != io.dtype:
                raise TypeError(f"input {name} is {t.dtype}, the engine wants {io.dtype}")
            self._check_shape(io, tuple(t.shape))
            t = t.contiguous()
            keep.append(t)
            if not self.context.set_input_shape(name, tuple(t.shape)):
                raise ValueError(f"TensorRT refused shape {tuple(t.shape)} for input {name}: "
                                 + " | ".join(self._logger.take_errors()))
            self.context.set_tensor_address(name, t.data_ptr())
        outputs = []
        for name in self.output_names:
            shape = tuple(int(d) for d in self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):  # partitioning keeps data-dependent sizes out of segments
                raise RuntimeError(f"output {name} has shape {shape} after all input shapes were set: a "
                                   "data-dependent size, which needs an output allocator this runner does not have")
            out = torch.empty(shape, dtype=self.io[name].dtype, device=self.device)
            self.context.set_tensor_address(name, out.data_ptr())
            outputs.append(out)
        if not self.context.execute_async_v3(cuda.stream_handle(self.device)):
            raise RuntimeError("TensorRT execute_async_v3 failed: " + " | ".join(self._logger.take_errors()))
        del keep
        return outputs

    @staticmethod
    def _check_shape(io: TensorIO, shape: tuple[int, ...]) -> None:
        """A clear error before TensorRT's for a shape the engine was not built for."""
        fits = len(shape) == len(io.shape) and all(want < 0 or want == got for want, got in zip(io.shape, shape))
        if fits and io.profile is not None:
            lo, _, hi = io.profile
            fits = all(a <= d <= b for a, d, b in zip(lo, shape, hi))
        if not fits:
            allowed = (f"{io.profile[0]} to {io.profile[2]}" if io.profile is not None else str(io.shape))
            raise ValueError(f"input {io.name} has shape {shape}; the engine takes {allowed} (its optimisation "
                             "profile: compile with a wider Input(min_shape=..., max_shape=...))")
