"""``SegmentModule``: the ``nn.Module`` that runs one partition, on a TensorRT engine or the reference runtime.

Runtimes:

* ``"reference"`` evaluates the segment's body graph with :func:`trt_passes.ir.interpreter.run_graph` through the
  ATen and TensorRT dialects (the TensorRT dialect's reference semantics), so a compiled program runs anywhere.
* ``"tensorrt"`` deserialises the engine with the backend's ``EngineRunner`` and runs it; errors if it cannot.
* ``"auto"`` uses TensorRT when ``tensorrt_runtime_status(device)`` says it can run there, else the reference runtime,
  warning once per process (not once per segment or call) with the reason.

Body constants are registered as (non-persistent) buffers, so ``.to(device)`` moves them with the module; at call time
the body graph is pointed at the current buffers. The body itself is a structural copy: the caller's IR is never
touched and no tensor is copied at construction.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from trt_passes.backend.registry import default_ops
from trt_passes.ir.graph import Graph
from trt_passes.ir.interpreter import run_graph

RUNTIMES = ("auto", "tensorrt", "reference")

_fallback_warned = False


def _tensorrt_status(device: torch.device) -> tuple[bool, str]:
    """Whether engines can run on ``device``, and why not."""
    try:
        from trt_passes.backend.engine_runner import tensorrt_runtime_status
    except ImportError as e:  # a broken TensorRT install must not stop the reference runtime
        return False, f"the engine runtime cannot be imported ({e})"
    ok, reason = tensorrt_runtime_status(device)
    return bool(ok), reason


def _warn_fallback_once(reason: str) -> None:
    global _fallback_warned
    if _fallback_warned:
        return
    _fallback_warned = True
    warnings.warn(f"trt_passes: running TensorRT segments with the reference runtime (slow, for correctness only) "
                  f"because {reason}", RuntimeWarning, stacklevel=3)


class SegmentModule(torch.nn.Module):
    """Runs ``body`` (a segment's graph); ``forward(*inputs)`` returns the segment's outputs as a tuple."""

    def __init__(self, name: str, body: Graph, engine: bytes | None, runtime: str = "auto") -> None:
        super().__init__()
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}; got {runtime!r}")
        self.name = name
        self.runtime = runtime
        self.engine = engine
        self.body = body.copy()
        self._constants: dict[int, str] = {}
        for node in self.body.all_nodes():
            if node.op == "constant" and node.value is not None:
                buffer = f"const_{node.id}"
                self.register_buffer(buffer, node.value, persistent=False)
                self._constants[node.id] = buffer
        self._runner: Any = None
        self._chosen: dict[torch.device, str] = {}  # "auto" decides per device, once

    def extra_repr(self) -> str:
        engine = f"{len(self.engine)} bytes" if self.engine is not None else "none"
        return f"name={self.name!r}, runtime={self.runtime!r}, engine={engine}, nodes={len(self.body)}"

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self._select(inputs) == "tensorrt":
            return tuple(self._engine_runner(inputs)(*inputs))
        return tuple(run_graph(self._current_body(), list(inputs), default_ops()))

    # ---- runtime choice -------------------------------------------------------------------------------------
    def _select(self, inputs: tuple[torch.Tensor, ...]) -> str:
        if self.runtime != "auto":
            return self.runtime
        device = inputs[0].device if inputs else torch.device("cpu")
        if device in self._chosen:
            return self._chosen[device]
        if self.engine is None:
            ok, reason = False, f"segment {self.name!r} has no engine"
        else:
            ok, reason = _tensorrt_status(device)
        if not ok:
            _warn_fallback_once(reason)
        self._chosen[device] = "tensorrt" if ok else "reference"
        return self._chosen[device]

    def _engine_runner(self, inputs: tuple[torch.Tensor, ...]) -> Any:
        """The engine, deserialised on first use on the inputs' device (deserialising needs the GPU)."""
        if self._runner is None:
            if self.engine is None:
                raise RuntimeError(f"segment {self.name!r}: runtime='tensorrt' but the segment has no engine")
            from trt_passes.backend.engine_runner import EngineRunner

            device = inputs[0].device if inputs and inputs[0].is_cuda else None
            self._runner = EngineRunner(self.engine, device)
        return self._runner

    # ---- reference runtime ----------------------------------------------------------------------------------
    def _current_body(self) -> Graph:
        """The body with each constant reading its buffer (which ``.to()`` may have replaced)."""
        for nid, buffer in self._constants.items():
            tensor = getattr(self, buffer)
            if self.body.node(nid).value is not tensor:
                self.body.replace_node(nid, value=tensor)
        return self.body
