"""The TensorRT dialect's layers, one module per family; :mod:`.layer` says what each layer declares and the
conventions its reference semantics keep, :mod:`.emission` what every layer's emission shares."""

from __future__ import annotations

from trt_passes.backend.layers import (
    activation,
    attention,
    elementwise,
    grid_sample,
    indexing,
    linear,
    normalization,
    pooling,
    reduce,
    resize,
    shape,
)
from trt_passes.backend.layers.layer import Layer

LAYERS: tuple[Layer, ...] = (
    *activation.LAYERS, *elementwise.LAYERS, *linear.LAYERS, *pooling.LAYERS, *reduce.LAYERS, *normalization.LAYERS,
    *shape.LAYERS, *indexing.LAYERS, *resize.LAYERS, *grid_sample.LAYERS,
    *attention.LAYERS,
)

__all__ = ["LAYERS", "Layer"]
