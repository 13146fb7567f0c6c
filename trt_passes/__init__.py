"""trt-passes: a PyTorch-to-TensorRT compiler whose lowerings and converters are ``.rw`` rewrite rules.

>>> import trt_passes
>>> compiled = trt_passes.compile(model, inputs=[torch.randn(1, 3, 224, 224)])  # doctest: +SKIP
"""

from trt_passes.api import compile, explain
from trt_passes.bisection import BisectResult, bisect
from trt_passes.inputs import Input
from trt_passes.passes.report import CompileReport
from trt_passes.passes.settings import CompileSettings
from trt_passes.serialize import ArtifactError, load, save  # also registers torch.ops.trt_passes.execute_engine

__all__ = ["ArtifactError", "BisectResult", "CompileReport", "CompileSettings", "Input", "bisect", "compile",
           "explain", "load", "save"]
__version__ = "0.1.0"


def _register_dynamo_backend_if_loaded() -> None:
    import sys

    if "torch._dynamo" in sys.modules:
        from trt_passes.compiler import register_dynamo_backend

        register_dynamo_backend()


_register_dynamo_backend_if_loaded()


def _debug_logging_if_asked() -> None:
    """``TRT_PASSES_DEBUG=1`` turns on debug logging for the library as for the CLI (see passes/observe.py)."""
    from trt_passes.passes.observe import configure_debug_logging, debug_enabled

    if debug_enabled():
        configure_debug_logging()


_debug_logging_if_asked()
