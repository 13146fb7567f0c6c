"""``ir="torch_compile"``: ``trt_passes.compile(model, ir="torch_compile")`` returns ``torch.compile(model,
backend=<trt_passes backend>, dynamic=False)``: nothing is compiled until the first call, and a call with new input
shapes recompiles (static shapes: each shape gets its own engines).

Each FX graph TorchDynamo captures (torch-level calls, weights as graph inputs) is brought into the IR here:

1. placeholders that are the model's weights become constants of the graph (TensorRT bakes weights into engines,
   and the converters require constant kernels): a placeholder is a weight when its example value is an
   ``nn.Parameter``, is one of the model's own parameters or buffers, or Dynamo's record says it came from a module's
   ``_parameters``/``_buffers`` (:func:`_dynamo_says_weight`, the one private API used, isolated there);
2. the rest goes through ``torch.export`` and the default core-ATen decompositions into the dynamo frontend's
   importer: the same ATen every other frontend produces.

The backend (:func:`trt_passes.torch_registrations.dynamo_backend`, registered as ``"trt_passes"``) then runs the normal
pipeline and returns the program; it takes compile options as ``torch.compile(..., options={...})``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.fx

from trt_passes.frontends.calling import PyTreeProgram
from trt_passes.frontends.dynamo import FrontendError, _split_inputs, export_model, import_exported_program
from trt_passes.ir.graph import Graph


def _dynamo_says_weight(node: torch.fx.Node) -> bool:
    """Whether TorchDynamo recorded ``node`` as reading a module parameter or buffer.

    Private API: ``node.meta["grapharg"]`` (a ``torch._dynamo.variables.builder.GraphArg``) and its ``source``; its
    ``name`` is a property on recent torch and a method on older releases. Only consulted for tensors that are neither
    ``nn.Parameter`` s nor known to belong to the model (buffers when the backend is used by name)."""
    source = getattr(node.meta.get("grapharg"), "source", None)
    if source is None:
        return False
    name = source.name() if callable(getattr(source, "name", None)) else getattr(source, "name", "")
    return isinstance(name, str) and ("._parameters[" in name or "._buffers[" in name)


def weight_ids(model: Any) -> set[int]:
    if not isinstance(model, torch.nn.Module):
        return set()
    return {id(t) for t in (*model.parameters(), *model.buffers())}


def constants_for_weights(gm: torch.fx.GraphModule, example_inputs: Sequence[Any],
                          known: set[int]) -> tuple[torch.fx.GraphModule, list[int]]:
    """``gm`` with weight placeholders turned into buffers, and the positions of the remaining (user) inputs."""
    graph = torch.fx.Graph()
    env: dict[torch.fx.Node, torch.fx.Node] = {}
    root: dict[str, Any] = {}
    user: list[int] = []
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(example_inputs):
        raise FrontendError(f"the captured graph has {len(placeholders)} inputs but {len(example_inputs)} examples")
    examples = dict(zip(placeholders, example_inputs))
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            x = examples[node]
            if isinstance(x, torch.Tensor) and (isinstance(x, torch.nn.Parameter) or id(x) in known
                                                or _dynamo_says_weight(node)):
                target = f"_weight_{len(root)}"
                root[target] = x.detach()
                env[node] = graph.get_attr(target)
            else:
                user.append(placeholders.index(node))
                env[node] = graph.node_copy(node, lambda n: env[n])
            continue
        env[node] = graph.node_copy(node, lambda n: env[n])
        if node.op in ("get_attr", "call_module"):
            obj: Any = gm
            for part in str(node.target).split("."):
                obj = getattr(obj, part)
            root[str(node.target)] = obj
    return torch.fx.GraphModule(root, graph), user


def import_captured(gm: torch.fx.GraphModule, example_inputs: Sequence[Any],
                    known: set[int] = frozenset()) -> tuple[Graph, list[int]]:  # type: ignore[assignment]
    """One Dynamo-captured graph -> (IR graph, positions of its user inputs among the graph's inputs)."""
    fixed, user = constants_for_weights(gm, example_inputs, set(known))
    graph = import_exported_program(export_model(fixed, tuple(example_inputs[i] for i in user)))
    graph.meta["frontend"] = "torch_compile"
    return graph, user


class CompiledGraph:
    """What the backend returns for one captured graph: called with all of the graph's inputs (weights included),
    runs the compiled program on the user inputs."""

    def __init__(self, program: PyTreeProgram, user: list[int], report: Any = None) -> None:
        self.program = program
        self.user = user
        self.compile_report = report

    def __call__(self, *args: Any) -> Any:
        return self.program(*(args[i] for i in self.user))


class TorchCompileFrontend:
    name = "torch_compile"

    def import_model(self, model: Any, inputs: Any) -> Graph:
        """The model's single captured graph (``explain`` uses this); graph breaks are an error here."""
        captured: list[tuple[torch.fx.GraphModule, list[Any]]] = []

        def capture(gm: torch.fx.GraphModule, example_inputs: list[Any], **_: Any) -> Callable[..., Any]:
            captured.append((gm, list(example_inputs)))
            return gm.forward

        args, kwargs = _split_inputs(inputs)
        with torch.no_grad():
            torch.compile(model, backend=capture, dynamic=False)(*args, **kwargs)
        if len(captured) != 1:
            raise FrontendError(f"torch.compile captured {len(captured)} graphs (graph breaks); explain with "
                                "ir='torch_compile' needs exactly one, try ir='dynamo'")
        gm, examples = captured[0]
        return import_captured(gm, examples, weight_ids(model))[0]

    def wrap(self, program_gm: torch.fx.GraphModule, graph: Graph) -> PyTreeProgram:
        return PyTreeProgram(program_gm, graph.meta)

    def compile(self, model: Any, backend: Callable[..., Any]) -> Any:
        return torch.compile(model, backend=backend, dynamic=False)
