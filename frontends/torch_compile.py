"""``ir="torch_compile"``: ``trt_passes.compile(model, ir="torch_compile")`` returns ``torch.compile(model,
backend=<trt_passes backend>, dynamic=False)``: nothing is compiled until the first call, and a call with new input
shapes recompiles (static shapes: each shape gets its own engines). ``torch.compile(model, backend="trt_passes")``
with TorchDynamo's default ``dynamic`` works too: when TorchDynamo recaptures a graph with symbolic sizes after a
shape changed, the backend compiles that graph once per shape it is called with (:class:`PerShapeGraph`).

Each FX graph TorchDynamo captures (torch-level calls, weights as graph inputs) is brought into the IR here:

1. placeholders that are the model's weights become constants of the graph (TensorRT bakes weights into engines,
   and the converters require constant kernels): a placeholder is a weight when its example value is an
   ``nn.Parameter``, is one of the model's own parameters or buffers, or Dynamo's record says it came from a module's
   ``_parameters``/``_buffers`` (:func:`_dynamo_says_weight`, the one private API used, isolated there);
2. the rest goes through ``torch.export`` (and, with ``decompositions="pytorch"``, ``run_decompositions``) into
   the dynamo frontend's importer: the same ATen every other frontend produces.

Everything TorchDynamo-specific lives here: :func:`dynamo_backend` makes the backend function TorchDynamo calls
per captured graph, given the driver's compiler for one graph (``trt_passes.compile(..., ir="torch_compile")``
passes its compiler through :meth:`TorchCompileFrontend.compile_lazily`; the backend registered as ``"trt_passes"``,
:func:`trt_passes.torch_registrations.dynamo_backend`, builds one from ``torch.compile(..., options={...})``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.fx

from trt_passes.frontends.base import CompileGraph, DynamicDims, Frontend, FrontendError, split_inputs
from trt_passes.frontends.calling import PyTreeProgram
from trt_passes.frontends.dynamo import import_model
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
                    known: set[int] = frozenset(),  # type: ignore[assignment]
                    decompositions: str = "rules") -> tuple[Graph, list[int]]:
    """One Dynamo-captured graph -> (IR graph, positions of its user inputs among the graph's inputs)."""
    fixed, user = constants_for_weights(gm, example_inputs, set(known))
    graph = import_model(fixed, tuple(example_inputs[i] for i in user), decompositions=decompositions)
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


def dynamo_backend(compile_graph: CompileGraph, known_weights: set[int] | None = None,
                   on_report: Callable[[Any], None] | None = None,
                   decompositions: str = "rules") -> Callable[..., CompiledGraph]:
    """A TorchDynamo backend compiling each captured graph with ``compile_graph``; ``known_weights`` are the ids of
    the model's parameters and buffers (they become constants); each compilation's report goes to ``on_report``;
    ``decompositions`` as for :meth:`Frontend.import_model`."""
    known = set(known_weights or ())

    def compile_captured(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> CompiledGraph:
        graph, user = import_captured(gm, list(example_inputs), known, decompositions)
        program, report = compile_graph(graph)
        if on_report is not None:
            on_report(report)
        return CompiledGraph(PyTreeProgram(program, graph.meta), user, report)

    def trt_passes_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any],
                           **kwargs: Any) -> CompiledGraph | PerShapeGraph:
        if kwargs.get("options"):
            raise TypeError("pass compile options to trt_passes.compile(...), not to torch.compile's options=")
        if any(_symbolic(x) for x in example_inputs):
            return PerShapeGraph(gm, compile_captured)
        return compile_captured(gm, example_inputs)

    return trt_passes_backend


def _symbolic(x: Any) -> bool:
    """A size TorchDynamo left symbolic: a SymInt input, or a tensor with a SymInt dim."""
    if isinstance(x, torch.SymInt):
        return True
    return isinstance(x, torch.Tensor) and any(isinstance(d, torch.SymInt) for d in x.shape)


class PerShapeGraph:
    """A graph TorchDynamo captured with symbolic sizes: with ``torch.compile``'s default ``dynamic=None`` it does so
    once an input's shape changes, passing the sizes as SymInt inputs. TensorRT needs each size bounded, and
    TorchDynamo gives no bound, so this compiles the graph once per combination of input shapes and size values it
    is called with (as ``dynamic=False`` would, without TorchDynamo recompiling), each one static."""

    def __init__(self, gm: torch.fx.GraphModule, compile_captured: Callable[..., CompiledGraph]) -> None:
        self.gm = gm
        self.compile_captured = compile_captured
        self.compiled: dict[tuple[Any, ...], CompiledGraph] = {}

    def __call__(self, *args: Any) -> Any:
        key = tuple((tuple(a.shape), a.dtype, a.device) if isinstance(a, torch.Tensor) else a for a in args)
        compiled = self.compiled.get(key)
        if compiled is None:
            compiled = self.compiled[key] = self.compile_captured(self.gm, args)
        return compiled(*args)


class TorchCompileFrontend(Frontend):
    name = "torch_compile"
    compiles_lazily = True  # one program per graph TorchDynamo captures, on first call and for new shapes

    def import_model(self, model: Any, examples: Any, dynamic_dims: DynamicDims | None = None, *,
                     decompositions: str = "rules") -> Graph:
        """The model's single captured graph (``explain`` uses this); graph breaks are an error here."""
        self.refuse_dynamic_dims(dynamic_dims)
        captured: list[tuple[torch.fx.GraphModule, list[Any]]] = []

        def capture(gm: torch.fx.GraphModule, example_inputs: list[Any], **_: Any) -> Callable[..., Any]:
            captured.append((gm, list(example_inputs)))
            return gm.forward

        args, kwargs = split_inputs(examples)
        with torch.no_grad():
            torch.compile(model, backend=capture, dynamic=False)(*args, **kwargs)
        if len(captured) != 1:
            raise FrontendError(f"torch.compile captured {len(captured)} graphs (graph breaks); explain with "
                                "ir='torch_compile' needs exactly one, try ir='dynamo'")
        gm, example_inputs = captured[0]
        return import_captured(gm, example_inputs, weight_ids(model), decompositions)[0]

    def wrap(self, program: torch.fx.GraphModule, graph: Graph) -> PyTreeProgram:
        return PyTreeProgram(program, graph.meta)

    def compile_lazily(self, model: Any, compile_graph: CompileGraph, *, decompositions: str = "rules") -> Any:
        """``torch.compile(model)`` with the trt_passes backend; ``.compile_reports`` gets one report per captured
        graph (and recompilation), as calls compile them."""
        reports: list[Any] = []
        backend = dynamo_backend(compile_graph, weight_ids(model), reports.append, decompositions)
        compiled = torch.compile(model, backend=backend, dynamic=False)
        with contextlib.suppress(AttributeError):  # a callable that refuses attributes still compiles
            compiled.compile_reports = reports
        return compiled
