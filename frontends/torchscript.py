"""``ir="torchscript"`` (or ``"ts"``): a ``torch.jit.ScriptModule`` in (an ``nn.Module`` is scripted, or traced from
``inputs`` when scripting fails, with a warning), a ``torch.jit.ScriptModule`` out.

Reading TorchScript: the ScriptModule is run once on the example inputs under a dispatch-mode recorder
(:class:`_AtenRecorder`), which records every ATen op the TorchScript interpreter dispatches (its weights become graph
constants); that ATen graph then goes through ``torch.export`` (and, with ``decompositions="pytorch"``,
``run_decompositions``) into the dynamo frontend's importer, so TorchScript models reach the IR the same way as every
other frontend. Control flow is specialised to the example inputs, as tracing always does.

The result is the compiled program with every TensorRT segment a call to ``torch.ops.trt_passes.execute_engine``
(see :mod:`trt_passes.backend.engine_op`), scripted: ``torch.jit.save`` / ``torch.jit.load`` round-trip it in any
process that has imported ``trt_passes``. It takes the tensor inputs positionally: inputs the model takes nested
(a tuple of tensors) or by keyword come flattened, in call order.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.fx
import torch.utils._pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from trt_passes.backend.engine_op import engine_op_program, script_program
from trt_passes.frontends.base import DynamicDims, Frontend, FrontendError, eval_mode, split_inputs
from trt_passes.frontends.calling import program_structure, register_program, structured_outputs
from trt_passes.frontends.dynamo import import_model
from trt_passes.ir.graph import Graph


def to_script_module(model: Any, inputs: Any) -> torch.jit.ScriptModule:
    """``model`` as a ScriptModule: as given, scripted, or traced from ``inputs`` when scripting fails."""
    if isinstance(model, torch.jit.ScriptModule):
        return model
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"ir='torchscript' takes a torch.jit.ScriptModule or an nn.Module, not {type(model).__name__}")
    with eval_mode(model), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.* deprecation notices
        try:
            return torch.jit.script(model)
        except Exception as e:  # scripting fails with many exception types (NotSupportedError, RuntimeError...)
            reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        args, kwargs = split_inputs(inputs)
        if kwargs:
            raise FrontendError("ir='torchscript' traces with positional inputs only; pass inputs as a list")
        with torch.no_grad():
            traced = torch.jit.trace(model, args, strict=False, check_trace=False)
    warnings.warn(f"ir='torchscript': torch.jit.script could not script {type(model).__name__} ({reason}); traced it "
                  "from the example inputs instead (control flow is fixed to those inputs)", UserWarning,
                  stacklevel=4)
    return traced


class _AtenRecorder(TorchDispatchMode):
    """Records every ATen op dispatched while it is active into an FX graph.

    Tensors it has not seen produced (the ScriptModule's weights, constants) become graph attributes; non-tensor
    results (sizes, ``.item()``) are baked in, as tracing always does. It keeps every tensor it saw alive so ids
    stay unique while recording.

    Why not ``make_fx``: TorchScript passes "wrapped number" tensors (``prim::NumToTensor``) to Python as plain
    numbers, which ``make_fx``'s constant tracking cannot take (``aten::_local_scalar_dense() Expected a value of type
    'Tensor' ... found type 'int'`` on traced ``transformers`` models, torch 2.14); here such a call is the number
    itself. ``TorchDispatchMode`` is the documented extension point for Python dispatch (its module is underscored
    but it is the public interface described in PyTorch's docs)."""

    def __init__(self, inputs: Sequence[torch.Tensor]) -> None:
        super().__init__()
        self.graph = torch.fx.Graph()
        self.env: dict[int, torch.fx.Node] = {}
        self.keep: list[torch.Tensor] = []
        self.constants: dict[str, torch.Tensor] = {}
        for i, t in enumerate(inputs):
            self.env[id(t)] = self.graph.placeholder(f"input_{i}")
            self.keep.append(t)

    def node_of(self, x: Any) -> Any:
        if not isinstance(x, torch.Tensor):
            return x
        if id(x) not in self.env:
            name = f"_constant_{len(self.constants)}"
            self.constants[name] = x
            self.keep.append(x)
            self.env[id(x)] = self.graph.get_attr(name)
        return self.env[id(x)]

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.ops.aten._local_scalar_dense.default and not isinstance(args[0], torch.Tensor):
            return args[0]  # a wrapped number arrives as the number
        out = func(*args, **kwargs)
        tensors = [o for o in pytree.tree_leaves(out) if isinstance(o, torch.Tensor)]
        if not tensors:
            return out  # sizes, scalars: baked into the graph where they are used
        node_args, node_kwargs = pytree.tree_map(self.node_of, (tuple(args), dict(kwargs)))
        # A view was valid for the strides this run happened to produce; re-tracing (export's fake tensors) may
        # lay tensors out differently, where reshape (a view when possible) still holds.
        target = torch.ops.aten.reshape.default if func is torch.ops.aten.view.default else func
        node = self.graph.call_function(target, node_args, node_kwargs)
        if isinstance(out, torch.Tensor):
            self.env[id(out)] = node
            self.keep.append(out)
        else:
            for i, o in enumerate(out):
                if isinstance(o, torch.Tensor):
                    self.env[id(o)] = self.graph.call_function(operator.getitem, (node, i))
                    self.keep.append(o)
        return out


def capture_aten(script: torch.jit.ScriptModule, inputs: Any) -> torch.fx.GraphModule:
    """The ATen ops ``script`` runs on ``inputs`` (nested as it takes them), as an FX graph taking their tensor
    leaves in order (weights are constants of the graph)."""
    args, kwargs = split_inputs(inputs)
    recorder = _AtenRecorder(tensor_leaves(inputs))
    with eval_mode(script), torch.no_grad(), recorder:
        out = script(*args, **kwargs)
    recorder.graph.output(pytree.tree_map(recorder.node_of, out))
    return torch.fx.GraphModule(recorder.constants, recorder.graph, class_name="TorchScriptAten")


def tensor_leaves(inputs: Any) -> tuple[torch.Tensor, ...]:
    """The tensors of the example inputs, flattened in call order: what the compiled ScriptModule takes."""
    args, kwargs = split_inputs(inputs)
    leaves = pytree.tree_leaves((args, kwargs))
    if not all(isinstance(x, torch.Tensor) or x is None for x in leaves):
        raise FrontendError("ir='torchscript' takes tensor inputs only (nested in tuples, lists and dicts as the "
                            "model takes them)")
    return tuple(x for x in leaves if isinstance(x, torch.Tensor))


class TorchScriptFrontend(Frontend):
    name = "torchscript"

    def import_model(self, model: Any, examples: Any, dynamic_dims: DynamicDims | None = None, *,
                     decompositions: str = "rules") -> Graph:
        self.refuse_dynamic_dims(dynamic_dims)
        script = to_script_module(model, examples)
        graph = import_model(capture_aten(script, examples), tensor_leaves(examples), decompositions=decompositions)
        graph.meta["frontend"] = "torchscript"
        return graph

    def wrap(self, program: torch.fx.GraphModule, graph: Graph) -> torch.jit.ScriptModule:
        structure = program_structure(graph.meta)
        ops = engine_op_program(program)
        structured_outputs(ops, structure)
        script = script_program(ops)
        register_program(script, program, structure)
        return script
