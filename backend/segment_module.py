"""``SegmentModule``: the ``nn.Module`` that runs one partition, on a TensorRT engine or the reference runtime (which
one, and the warning when ``"auto"`` falls back, is :mod:`~trt_passes.backend.segment_runtime`'s decision, made once
per device).

Body constants are registered as (non-persistent) buffers, so ``.to(device)`` moves them with the module; at call time
the body graph is pointed at the current buffers. The body itself is a structural copy: the caller's IR is never
touched and no tensor is copied at construction (the driver gives it a body whose constants are already the program's
own copies, :mod:`~trt_passes.backend.snapshot`).
"""

from __future__ import annotations

from typing import Any

import torch

from trt_passes.backend.emit import engine_io_names
from trt_passes.backend.engine_runner import EngineRunner
from trt_passes.backend.runtimes import check_runtime
from trt_passes.backend.segment_runtime import run_reference, use_engine
from trt_passes.ir.graph import Graph


class SegmentModule(torch.nn.Module):
    """Runs ``body`` (a segment's graph); ``forward(*inputs)`` returns the segment's outputs as a tuple."""

    def __init__(self, name: str, body: Graph, engine: bytes | None, runtime: str = "auto") -> None:
        super().__init__()
        check_runtime(runtime)
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
        self._uses_engine: dict[torch.device, bool] = {}  # decided per device, once
        self._expects = [self.body.node(n) for n in self.body.graph_inputs()]

    def extra_repr(self) -> str:
        engine = f"{len(self.engine)} bytes" if self.engine is not None else "none"
        return f"name={self.name!r}, runtime={self.runtime!r}, engine={engine}, nodes={len(self.body)}"

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self._check_inputs(inputs)
        device = inputs[0].device if inputs else torch.device("cpu")
        if device not in self._uses_engine:
            self._uses_engine[device] = use_engine(self.name, self.runtime, self.engine is not None, device)
        if self._uses_engine[device]:
            return tuple(self._engine_runner(inputs)(*inputs))
        return tuple(run_reference(self._current_body(), inputs))

    def _check_inputs(self, inputs: tuple[torch.Tensor, ...]) -> None:
        """Refuse inputs of another rank or static size than the segment was built for: an engine refuses them, and
        the reference runtime would compute with sizes folded in at compile time (a wrong answer). Dtypes are not
        checked: ``.double()`` on the module runs the reference runtime in float64."""
        for node, x in zip(self._expects, inputs, strict=True):
            t = node.type
            if not t.admits_shape(x.shape):
                raise ValueError(
                    f"segment {self.name} was compiled for input {node.name!r} {t}; it was given "
                    f"{str(x.dtype).removeprefix('torch.')} of shape {tuple(x.shape)}. A compiled program takes the "
                    "shapes it was compiled for: compile with trt_passes.Input(min_shape=..., opt_shape=..., "
                    "max_shape=...) for a range of sizes")

    def _engine_runner(self, inputs: tuple[torch.Tensor, ...]) -> Any:
        """The engine, deserialised on first use on the inputs' device (deserialising needs the GPU)."""
        if self._runner is None:
            device = inputs[0].device if inputs else None
            self._runner = EngineRunner(self.engine, device, *engine_io_names(self.body))
        return self._runner

    # ---- reference runtime ----------------------------------------------------------------------------------
    def _current_body(self) -> Graph:
        """The body with each constant reading its buffer (which ``.to()`` may have replaced)."""
        for nid, buffer in self._constants.items():
            tensor = getattr(self, buffer)
            if self.body.node(nid).value is not tensor:
                self.body.replace_node(nid, value=tensor)
        return self.body
