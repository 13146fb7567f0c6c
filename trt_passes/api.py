"""The public entry points: :func:`compile` and :func:`explain`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trt_passes.compiler import compile_model, explain_model
from trt_passes.model_inputs import ModelCall, resolve_call
from trt_passes.passes.report import CompileReport
from trt_passes.passes.settings import CompileSettings


def compile(model: Any, ir: str = "default", inputs: Sequence[Any] | None = None, *, arg_inputs: Any = None,
            kwarg_inputs: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """Compile ``model`` for TensorRT; unsupported parts stay in PyTorch.

    ``inputs`` (or ``arg_inputs``, Torch-TensorRT's other name for it) are the positional inputs and
    ``kwarg_inputs`` a dict of keyword inputs: example tensors or :class:`trt_passes.Input` specs, or tuples, lists
    and dicts of them, nested as the model takes them (one tensor alone is one input; a dict as ``inputs`` is keyword
    inputs). The compiled model is called as the model is, positionally or by keyword. Options (all keyword):
    ``min_block_size=5``, ``torch_executed_ops=()``, ``require_full_compilation=False``, ``runtime="auto"``
    (``"tensorrt"`` | ``"reference"``), ``rules=()`` (extra ``.rw`` files or folders), ``workspace_size=None``,
    ``optimization_level=None``, ``pipeline="default"``, ``cache_dir=None`` (engine cache directory),
    ``engine_cache_size=5 << 30`` (bytes the engine cache keeps),
    ``enabled_precisions={torch.float32}`` (add ``torch.float16`` or ``torch.bfloat16`` to run float32 compute in
    that dtype, numerically sensitive ops staying float32; see :class:`~trt_passes.passes.settings.CompileSettings`),
    ``truncate_double=False`` (True: float64 weights, inputs and compute run in float32, outputs cast back to
    float64; TensorRT has no float64), ``disable_tf32=False``,
    ``decompositions="rules"`` (lower ``torch.export``'s own graph with the ``.rw`` rules, PyTorch's decomposition
    applied only to the nodes no rule handles, which ``explain`` lists) or ``"pytorch"`` (first run
    ``ExportedProgram.run_decompositions()`` on the whole program, the way before rules lowered ``torch.export``'s
    graph; to compare the two, e.g. with :func:`trt_passes.bisect`); also accepted as ``options={...}``. An unknown
    option is an error.

    ``ir``: ``"dynamo"`` (default; returns an ``nn.Module``), ``"fx"`` (returns a ``torch.fx.GraphModule``),
    ``"torchscript"``/``"ts"`` (returns a ``torch.jit.ScriptModule``), ``"torch_compile"`` (returns
    ``torch.compile(model, backend=...)``; compiles on the first call and on new shapes). Save with
    :func:`trt_passes.save`.

    >>> import torch, trt_passes
    >>> m = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()).eval()
    >>> compiled = trt_passes.compile(m, inputs=[torch.randn(2, 4)], min_block_size=1, runtime="reference")
    >>> print(compiled.compile_report)   # passes, segments, fallbacks, rules fired
    """
    settings = CompileSettings.from_options(_merge_options(options))
    return compile_model(model, ir, _call(model, inputs, arg_inputs, kwarg_inputs), settings)


def _call(model: Any, inputs: Any, arg_inputs: Any, kwarg_inputs: Mapping[str, Any] | None) -> ModelCall | None:
    """The model's call from the input arguments; None when none is given (a lazy frontend needs none)."""
    if inputs is None and arg_inputs is None and kwarg_inputs is None:
        return None
    return resolve_call(model, inputs, arg_inputs, kwarg_inputs)


def _merge_options(options: dict[str, Any]) -> dict[str, Any]:
    """Accept ``options={...}`` (torch.compile's spelling) as well as keyword options; a name given both ways is an
    error."""
    merged = {k: v for k, v in options.items() if k != "options"}
    extra = options.get("options")
    if extra is None:
        return merged
    if not isinstance(extra, dict):
        raise TypeError(f"options= takes a dict of compile options, not {type(extra).__name__}")
    both = sorted(set(extra) & set(merged))
    if both:
        raise TypeError(f"compile options given both as keywords and in options=: {', '.join(both)}")
    return {**merged, **extra}


def explain(model: Any, ir: str = "default", inputs: Sequence[Any] | None = None, *, arg_inputs: Any = None,
            kwarg_inputs: Mapping[str, Any] | None = None, **options: Any) -> CompileReport:
    """Run the pipeline without building engines and return what it decided (``print`` it, or read
    ``.passes``, ``.partitions``, ``.fallbacks``, ``.rule_fires``). Inputs and options as for :func:`compile`."""
    settings = CompileSettings.from_options(_merge_options(options))
    return explain_model(model, ir, _call(model, inputs, arg_inputs, kwarg_inputs), settings)
