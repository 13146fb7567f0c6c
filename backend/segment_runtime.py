"""Where a TensorRT segment runs: on its engine or, through the reference runtime, on its body. One decision for the
two forms a segment takes: the :class:`~trt_passes.backend.segment_module.SegmentModule` of a compiled program and the
``execute_engine`` op of a saved one (:mod:`trt_passes.backend.engine_op`).

Runtimes (:data:`~trt_passes.backend.runtimes.RUNTIMES`):

* ``"reference"`` evaluates the segment's body graph with :func:`trt_passes.ir.interpreter.run_graph` through the
  ATen and TensorRT dialects (the TensorRT dialect's reference semantics), so a compiled program runs anywhere; it
  computes as the engine was built to (``body.meta["numerics"]``: TF32 for float32 contractions unless
  ``disable_tf32``; :mod:`~trt_passes.backend.layers.numerics`).
* ``"tensorrt"`` runs the engine, and is an error naming the segment and the reason where the engine cannot run.
* ``"auto"`` runs the engine where it can run (TensorRT's runtime status on the inputs' device, and for an engine
  described by a record, one loaded from an artifact, the TensorRT release and GPU it was built for), else the
  reference runtime, warning once per process (not once per segment or call) with the reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch

from trt_passes.backend.engine_record import ArtifactError, check_engine_compatible, current_target, current_tensorrt
from trt_passes.backend.engine_runner import tensorrt_runtime_status
from trt_passes.backend.layers.numerics import Numerics, engine_numerics
from trt_passes.backend.registry import default_ops
from trt_passes.backend.runtimes import check_runtime
from trt_passes.ir.graph import Graph
from trt_passes.ir.interpreter import run_graph

_fallback_warned = False


def engine_status(name: str, has_engine: bool, device: torch.device,
                  record: dict[str, Any] | None = None) -> tuple[bool, str]:
    """Whether segment ``name``'s engine can run on ``device``, and why not. ``record`` (see
    :mod:`~trt_passes.backend.engine_record`) describes an engine built elsewhere; None: built in this process."""
    if not has_engine:
        return False, f"segment {name!r} has no engine"
    ok, reason = tensorrt_runtime_status(device)
    if not ok:
        return False, reason
    if record is not None:
        try:
            check_engine_compatible(record, here_tensorrt=current_tensorrt(), here_target=current_target())
        except ArtifactError as e:
            return False, str(e)
    return True, reason


def use_engine(name: str, runtime: str, has_engine: bool, device: torch.device,
               record: dict[str, Any] | None = None, *, reference_possible: bool = True) -> bool:
    """True: segment ``name`` runs its engine; False: its body runs on the reference runtime. Raises when
    ``runtime="tensorrt"`` and the engine cannot run, or when it cannot and the reference runtime is not possible
    either (``reference_possible=False``: a segment saved without its weights)."""
    check_runtime(runtime)
    if runtime == "reference":
        ok, reason = False, "runtime='reference'"
    else:
        ok, reason = engine_status(name, has_engine, device, record)
        if runtime == "tensorrt" and not ok:
            cause = "the segment has no engine" if not has_engine else f"the engine cannot run: {reason}"
            raise RuntimeError(f"segment {name!r}: runtime='tensorrt' but {cause}")
    if not ok and not reference_possible:
        raise RuntimeError(f"segment {name!r} was saved without its weights (reference_weights=False), so only its "
                           f"TensorRT engine can run it, and it cannot run here: {reason}")
    if not ok and runtime == "auto":
        _warn_fallback_once(reason)
    return ok


def _warn_fallback_once(reason: str) -> None:
    global _fallback_warned
    if _fallback_warned:
        return
    _fallback_warned = True
    warnings.warn(f"trt_passes: running TensorRT segments with the reference runtime (slow, for correctness only) "
                  f"because {reason}", RuntimeWarning, stacklevel=4)


def run_reference(body: Graph, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The segment's outputs computed from its body on the reference runtime, with its engine's numerics."""
    with engine_numerics(Numerics.from_meta(body.meta)):
        return list(run_graph(body, list(inputs), default_ops()))
