"""trt-passes: a PyTorch-to-TensorRT compiler whose lowerings and converters are ``.rw`` rewrite rules.

>>> import trt_passes
>>> compiled = trt_passes.compile(model, inputs=[torch.randn(1, 3, 224, 224)])  # doctest: +SKIP
"""

from trt_passes.api import compile, explain
from trt_passes.inputs import Input
from trt_passes.passes.report import CompileReport
from trt_passes.passes.settings import CompileSettings

__all__ = ["CompileReport", "CompileSettings", "Input", "compile", "explain"]
__version__ = "0.1.0"
