"""Run a serialised TensorRT engine on CUDA tensors.

Written from TensorRT's Python API documentation (``Runtime.deserialize_cuda_engine``,
``IExecutionContext.set_tensor_address`` / ``execute_async_v3``). It cannot run on the GPU-less machines the project
is developed on; :func:`tensorrt_runtime_status` says whether it can run here, and callers (the segment module) fall
back to the reference runtime when it cannot.
"""

from __future__ import annotations

from typing import Any

import torch

from trt_passes.backend.layers.emission import ir_dtype
from trt_passes.backend.tensorrt_import import TensorRTNotAvailableError, find_tensorrt
from trt_passes.backend.trt_logger import tensorrt_logger
from trt_passes.ir.types import torch_dtype

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
    if device.type != "cuda":
        return False, f"TensorRT engines run on CUDA devices, not {device}"
    if not torch.cuda.is_available():
        return False, "CUDA is not available (no GPU or no driver)"
    try:
        found = find_tensorrt()
    except TensorRTNotAvailableError as e:
        return False, str(e)
    index = device.index if device.index is not None else torch.cuda.current_device()
    capability = torch.cuda.get_device_capability(index)
    gpu = f"{torch.cuda.get_device_name(index)} (compute capability {capability[0]}.{capability[1]})"
    if found.name == "tensorrt_rtx" and not _rtx_supports(capability):
        return False, (f"TensorRT-RTX {found.version} does not support {gpu}; it supports 8.0, 8.6, 8.9 and 12.0+ "
                       "(install NVIDIA's `tensorrt` for other GPUs)")
    return True, f"{found.name} {found.version} on {gpu}"


class EngineRunner:
    """Deserialises an engine once; each call runs it on the current torch CUDA stream.

    ``runner(*inputs)`` takes one CUDA tensor per engine input, in the engine's input order (the order emission
    added them, i.e. the segment's input slots), and returns the outputs in the order they were marked."""

    def __init__(self, engine_bytes: bytes, device: torch.device | str | None = None) -> None:
        self.device = torch.device(device if device is not None else "cuda")
        if self.device.type == "cuda" and self.device.index is None and torch.cuda.is_available():
            self.device = torch.device("cuda", torch.cuda.current_device())
        ok, reason = tensorrt_runtime_status(self.device)
        if not ok:
            raise EngineLoadError(f"cannot deserialise a TensorRT engine here: {reason}")
        found = find_tensorrt()
        trt = found.module
        self._trt = trt
        logger = tensorrt_logger(trt)
        logger.take_errors()
        with torch.cuda.device(self.device):
            self._runtime = trt.Runtime(logger)
            self.engine = self._runtime.deserialize_cuda_engine(engine_bytes)
            if self.engine is None:
                errors = logger.take_errors()
                raise EngineLoadError(f"{found.name} {found.version} could not deserialise the engine"
                                      + (f": {' | '.join(errors)}" if errors else ""))
            self.context = self.engine.create_execution_context()
            if self.context is None:
                raise EngineLoadError("TensorRT could not create an execution context: "
                                      + " | ".join(logger.take_errors()))
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_names = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.output_names = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self._dtypes = {n: torch_dtype(ir_dtype(trt, self.engine.get_tensor_dtype(n))) for n in names}

    def __call__(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        if len(inputs) != len(self.input_names):
            raise ValueError(f"engine takes {len(self.input_names)} inputs ({', '.join(self.input_names)}), "
                             f"got {len(inputs)}")
        # Contiguous copies are allocated on the current stream, the one the engine runs on, so the caching
        # allocator cannot hand their memory to anyone else before the engine has read it.
        keep: list[torch.Tensor] = []
        for name, t in zip(self.input_names, inputs):
            if t.device != self.device:
                raise ValueError(f"input {name} is on {t.device}, the engine runs on {self.device}")
            if t.dtype != self._dtypes[name]:
                raise TypeError(f"input {name} is {t.dtype}, the engine wants {self._dtypes[name]}")
            t = t.contiguous()
            keep.append(t)
            if not self.context.set_input_shape(name, tuple(t.shape)):
                raise ValueError(f"input {name} has shape {tuple(t.shape)}, the engine wants "
                                 f"{tuple(self.engine.get_tensor_shape(name))}")
            self.context.set_tensor_address(name, t.data_ptr())
        outputs = []
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            out = torch.empty(shape, dtype=self._dtypes[name], device=self.device)
            self.context.set_tensor_address(name, out.data_ptr())
            outputs.append(out)
        stream = torch.cuda.current_stream(self.device)
        if not self.context.execute_async_v3(stream.cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed: "
                               + " | ".join(tensorrt_logger(self._trt).take_errors()))
        del keep
        return outputs

    def describe(self) -> dict[str, Any]:
        """Input and output names with the engine's shapes and dtypes (for error messages and explain)."""
        return {n: (tuple(self.engine.get_tensor_shape(n)), self._dtypes[n])
                for n in self.input_names + self.output_names}
