"""The CUDA boundary of the TensorRT runtime path: where engines run, the GPU's compute capability, the stream.

Everything the runtime path asks of CUDA goes through :data:`GPU` (read at call time), so one object answers it:
:class:`CudaDevices` asks ``torch.cuda``. Tests of the runtime path, on machines without a GPU, replace it together with
the ``tensorrt`` module (``tests/backend/fake_tensorrt.py``): that is the whole of what they fake.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch


class CudaDevices:
    """CUDA devices through ``torch.cuda``."""

    device_type = "cuda"

    def available(self) -> bool:
        return torch.cuda.is_available()

    def current_index(self) -> int:
        return torch.cuda.current_device()

    def capability(self, index: int) -> tuple[int, int]:
        major, minor = torch.cuda.get_device_capability(index)
        return int(major), int(minor)

    def name(self, index: int) -> str:
        return torch.cuda.get_device_name(index)

    def normalize(self, device: torch.device | str) -> torch.device:
        """``cuda`` as ``cuda:N`` (the current device), so devices compare by what they are."""
        device = torch.device(device)
        if device.type == self.device_type and device.index is None and self.available():
            return torch.device(self.device_type, self.current_index())
        return device

    def index_of(self, device: torch.device) -> int:
        return device.index if device.index is not None else self.current_index()

    def stream_handle(self, device: torch.device) -> int:
        """The current torch stream on ``device`` as the ``cudaStream_t`` TensorRT's ``execute_async_v3`` takes."""
        return int(torch.cuda.current_stream(device).cuda_stream)

    def on(self, device: torch.device) -> Any:
        """A context in which ``device`` is the current device (TensorRT creates its objects on it)."""
        return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


GPU: CudaDevices = CudaDevices()
