"""The reference runtime's table: each ``trt.*`` op's semantics in PyTorch, from its layer definition
(:mod:`trt_passes.backend.layers`, whose ``layer.py`` states the conventions every reference function keeps).

The TensorRT dialect evaluates through this table, and infers types by running it on meta or fake tensors, so one
definition gives semantics and types. The interpreter reaches it through the dialect (``run_graph`` with
``default_ops()``), for constant folding, rule parity tests and segments on machines without a GPU.
"""

from __future__ import annotations

from collections.abc import Callable

from trt_passes.backend.layers import LAYERS
from trt_passes.backend.layers.semantics import Outputs

OPS: dict[str, Callable[..., Outputs]] = {layer.op: layer.reference for layer in LAYERS}
