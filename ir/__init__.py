"""The shared IR (see :mod:`trt_passes.ir.graph` for its schema)."""

from trt_passes.ir.graph import (
    STRUCTURAL_OPS,
    Graph,
    GraphError,
    Node,
    Provenance,
    Slot,
    Value,
    format_graph,
    format_node,
)
from trt_passes.ir.symbolic import SymbolRange, SymDim
from trt_passes.ir.types import FLOAT_DTYPES, TensorType, dtype_name, torch_dtype
from trt_passes.ir.verify import verify

__all__ = [
    "FLOAT_DTYPES", "STRUCTURAL_OPS", "Graph", "GraphError", "Node", "Provenance", "Slot", "SymDim", "SymbolRange",
    "TensorType", "Value",
    "dtype_name", "format_graph", "format_node", "torch_dtype", "verify",
]
