"""Emission: a segment body in the TensorRT dialect -> a strongly typed TensorRT network -> a serialised engine.

The body holds only ``input``, ``constant``, ``output`` and ``trt.*`` nodes. Every layer is named
``"{rule}:{source}#{node id}"`` from the node's provenance, and after each node's layer is added every output ITensor's
shape and dtype is held against the IR's :class:`TensorType`: TensorRT's own shape inference is the check that a
rule's (or the reference runtime's) idea of the op agrees with TensorRT's, and a mismatch is reported against the rule
that made the node, before any engine is built.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from trt_passes.backend.layers import LAYERS
from trt_passes.backend.layers.emission import EmissionError, Emitter, LayerContext, Operand, ir_dtype, trt_dtype
from trt_passes.backend.layers.numerics import Numerics
from trt_passes.backend.tensorrt_import import find_tensorrt
from trt_passes.backend.trt_logger import tensorrt_logger
from trt_passes.ir.graph import Graph, Node, Slot, Value
from trt_passes.ir.symbolic import SymbolicError, SymDim, dim_at
from trt_passes.ir.types import TensorType

__all__ = [
    "BuildProgress", "BuildSettings", "EmissionError", "EmissionTypeError", "EngineArtifact", "check_emission",
    "emit_engine", "engine_io_names", "layer_name", "network_input_names", "set_numerics_flags", "watch_builds",
]

log = logging.getLogger("trt_passes.backend")

EMITTERS: dict[str, Emitter] = {layer.op: layer.emit for layer in LAYERS}


class BuildProgress(Protocol):
    """Receives TensorRT's builder progress (``IProgressMonitor``): phases nest; steps count up to ``steps``."""

    def phase_start(self, phase: str, parent: str | None, steps: int) -> None: ...

    def step_complete(self, phase: str, step: int) -> None: ...

    def phase_finish(self, phase: str) -> None: ...


_build_progress: contextvars.ContextVar[BuildProgress | None] = contextvars.ContextVar("trt_passes_build_progress",
                                                                                      default=None)


@contextlib.contextmanager
def watch_builds(sink: BuildProgress | None) -> Iterator[None]:
    """Report the progress of every engine :func:`emit_engine` builds in this context to ``sink``."""
    token = _build_progress.set(sink)
    try:
        yield
    finally:
        _build_progress.reset(token)


def _progress_monitor(trt: Any, sink: BuildProgress) -> Any:
    """A TensorRT ``IProgressMonitor`` forwarding to ``sink``; None when this TensorRT has no progress monitor.
    A failing sink never fails the build (TensorRT calls the monitor from its own threads)."""
    base = getattr(trt, "IProgressMonitor", None)
    if base is None:
        return None

    class Monitor(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            base.__init__(self)

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            try:
                sink.phase_start(phase_name, parent_phase, int(num_steps))
            except Exception:  # progress display only
                log.debug("build progress sink failed", exc_info=True)

        def step_complete(self, phase_name: str, step: int) -> bool:
            try:
                sink.step_complete(phase_name, int(step))
            except Exception:
                log.debug("build progress sink failed", exc_info=True)
            return True

        def phase_finish(self, phase_name: str) -> None:
            try:
                sink.phase_finish(phase_name)
            except Exception:
                log.debug("build progress sink failed", exc_info=True)

    return Monitor()


@dataclass(frozen=True)
class BuildSettings:
    """Builder-config knobs; None leaves TensorRT's default."""

    workspace_size: int | None = None
    optimization_level: int | None = None


@dataclass(frozen=True)
class EngineArtifact:
    engine: bytes
    layer_names: list[str]
    num_layers: int
    build_seconds: float
    tensorrt_module: str
    tensorrt_version: str
    input_names: list[str]
    output_names: list[str]


class EmissionTypeError(EmissionError):
    """TensorRT inferred a different shape or dtype for a node's output than the IR records."""

    def __init__(self, node: Node, index: int, ir_type: TensorType, trt_type: str) -> None:
        p = node.provenance
        where = f"rule {p.rule} at {p.location or '?'}" if p.rule else "no rule (hand-built node)"
        super().__init__(
            f"%{node.id} {node.op} ({where}; from {p.source or '?'}): output {index} is {ir_type} in the IR "
            f"but TensorRT infers {trt_type}")
        self.node_id = node.id
        self.op = node.op
        self.rule = p.rule
        self.location = p.location
        self.ir_type = ir_type
        self.trt_type = trt_type


def layer_name(node: Node) -> str:
    """``"{rule}:{source}#{node id}"``; a node without a rule uses its op, without a source ``?``."""
    p = node.provenance
    return f"{p.rule or node.op}:{p.source or '?'}#{node.id}"


def _describe(node: Node) -> str:
    return f"%{node.id} {node.op} {node.provenance.describe()}".rstrip()


def _trt_type(trt: Any, tensor: Any) -> str:
    return f"{ir_dtype(trt, tensor.dtype)}[{', '.join(str(d) for d in tensor.shape)}]"


def _check_types(trt: Any, node: Node, tensors: list[Any]) -> None:
    if len(tensors) != len(node.outputs):
        raise EmissionError(f"{_describe(node)}: TensorRT made {len(tensors)} outputs, the IR has {len(node.outputs)}")
    for i, (tensor, ir_type) in enumerate(zip(tensors, node.outputs)):
        shape = tuple(tensor.shape)  # raises "Could not get tensor shape." when TensorRT rejected the layer
        # TensorRT says -1 for a size it knows only at run time; every size it does know must be the IR's.
        same = len(shape) == ir_type.rank and all(t == -1 or t == d for t, d in zip(shape, ir_type.shape))
        if not same or ir_dtype(trt, tensor.dtype) != ir_type.dtype:
            raise EmissionTypeError(node, i, ir_type, _trt_type(trt, tensor))


def network_input_names(inputs: Sequence[tuple[str, int]]) -> list[str]:
    """The names emission gives the network inputs of graph inputs ``(name, index)`` (in input order): the name
    made identifier-safe (``input{index}`` if nothing is left), made unique by appending ``_``."""
    names: list[str] = []
    for raw, index in inputs:
        name = re.sub(r"[^A-Za-z0-9_.]", "_", raw) or f"input{index}"
        while name in names:
            name += "_"
        names.append(name)
    return names


def _input_names(body: Graph) -> dict[int, str]:
    ids = body.graph_inputs()
    named = network_input_names([(body.node(nid).name, body.node(nid).attrs["index"]) for nid in ids])
    return dict(zip(ids, named))


def engine_io_names(body: Graph) -> tuple[list[str], list[str]]:
    """The engine's input names (the body's inputs, in order) and output names (``output{i}``), as emission gives
    them: what the engine runner binds by."""
    return list(_input_names(body).values()), [output_name(i) for i in range(len(body.outputs()))]


def output_name(index: int) -> str:
    return f"output{index}"


class _Emitter:
    def __init__(self, trt: Any, network: Any, logger: Any) -> None:
        self.trt = trt
        self.ctx = LayerContext(trt, network)
        self.logger = logger
        self.operands: dict[Value, Operand] = {}

    def fail(self, node: Node, message: str, cause: BaseException | None = None) -> EmissionError:
        errors = self.logger.take_errors()
        detail = f" (TensorRT: {' | '.join(errors)})" if errors else ""
        err = EmissionError(f"{_describe(node)}: {message}{detail}")
        err.__cause__ = cause
        return err

    def add_input(self, node: Node, name: str) -> None:
        t = node.type
        try:
            dtype = trt_dtype(self.trt, t.dtype)
        except EmissionError as e:
            raise EmissionError(f"input {name}: {e}") from e
        tensor = self.ctx.network.add_input(name, dtype, tuple(-1 if isinstance(d, SymDim) else int(d)
                                                               for d in t.shape))
        for axis, d in enumerate(t.shape):
            if isinstance(d, SymDim) and d.isidentifier():
                self.ctx.symbol_sources.setdefault(str(d), (tensor, axis))
        self.operands[Value(node.id)] = Operand(t, None, lambda: tensor, tensor)

    def add_constant(self, node: Node) -> None:
        value = node.value
        if value is None:
            raise EmissionError(f"{_describe(node)} has no value")
        name = layer_name(node)
        self.operands[Value(node.id)] = Operand(node.type, value, lambda: self.ctx.constant(value, name))

    def add_layer(self, body: Graph, node: Node) -> None:
        emitter = EMITTERS.get(node.op)
        if emitter is None:
            raise EmissionError(f"{_describe(node)}: a segment body may hold only input, constant, output and trt.* "
                                f"nodes; {node.op} was left unconverted")
        inputs = body.inputs(node.id)

        def operand(a: Any) -> Any:
            if isinstance(a, Slot):
                return self.operands[inputs[a.index]]
            if isinstance(a, (list, tuple)) and any(isinstance(x, Slot) for x in a):
                return [operand(x) for x in a]
            return a

        args = {k: operand(v) for k, v in node.attrs.items()}
        self.logger.take_errors()
        try:
            tensors = emitter(self.ctx, args, layer_name(node))
            _check_types(self.trt, node, tensors)
        except EmissionTypeError:
            raise
        except EmissionError as e:
            raise self.fail(node, str(e), e) from e
        except (RuntimeError, TypeError, ValueError, AttributeError) as e:  # TensorRT's API raises these
            raise self.fail(node, f"TensorRT rejected the layer: {e}", e) from e
        for i, tensor in enumerate(tensors):
            self.operands[Value(node.id, i)] = Operand(node.outputs[i], None, lambda t=tensor: t, tensor)

    def mark_outputs(self, values: list[Value], input_tensors: set[int]) -> list[str]:
        names = []
        marked: set[int] = set()
        for i, v in enumerate(values):
            tensor = self.operands[v].tensor
            # A network input (or an already marked tensor) cannot be marked again: copy it first.
            if id(tensor) in marked or id(tensor) in input_tensors:
                tensor = self.ctx.named(self.ctx.network.add_identity(tensor), f"output:copy#{i}").get_output(0)
            tensor.name = output_name(i)
            self.ctx.network.mark_output(tensor)
            marked.add(id(tensor))
            names.append(tensor.name)
        return names


def _network_flags(trt: Any) -> int:
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    return 0 if flag is None else 1 << int(flag)


@dataclass
class _Network:
    builder: Any
    network: Any
    emitter: _Emitter
    input_names: list[str]
    output_names: list[str]


def _define_network(body: Graph) -> _Network:
    found = find_tensorrt()
    trt = found.module
    logger = tensorrt_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt))
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if flag is not None and not network.get_flag(flag):
        raise EmissionError(f"{found.name} {found.version} did not create a strongly typed network")
    em = _Emitter(trt, network, logger)
    input_names = _input_names(body)
    for nid, name in input_names.items():
        em.add_input(body.node(nid), name)
    input_tensors = {id(em.operands[Value(nid)].tensor) for nid in input_names}
    for node in body.nodes():
        if node.op in ("input", "output"):
            continue
        if node.op == "constant":
            em.add_constant(node)
        else:
            em.add_layer(body, node)
    output_names = em.mark_outputs(body.outputs(), input_tensors)
    return _Network(builder, network, em, list(input_names.values()), output_names)


def check_emission(body: Graph) -> list[str]:
    """Define ``body``'s network without building it: every layer is added and type-checked against the IR, in
    milliseconds. Returns the layer names; raises as :func:`emit_engine` does."""
    return network_layer_names(_define_network(body).network)


def emit_engine(body: Graph, settings: BuildSettings | None = None) -> EngineArtifact:
    """Build a serialised engine for ``body`` with the first TensorRT module that imports (see
    :mod:`trt_passes.backend.tensorrt_import`). Raises :class:`EmissionError` naming the node for anything
    TensorRT cannot express, :class:`EmissionTypeError` when TensorRT's types disagree with the IR's."""
    settings = settings or BuildSettings()
    found = find_tensorrt()
    trt = found.module
    logger = tensorrt_logger(trt)
    net = _define_network(body)
    builder, network = net.builder, net.network

    config = builder.create_builder_config()
    set_numerics_flags(trt, config, Numerics.from_meta(body.meta))
    if settings.workspace_size is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(settings.workspace_size))
    if settings.optimization_level is not None:
        config.builder_optimization_level = int(settings.optimization_level)
    sink = _build_progress.get()
    monitor = _progress_monitor(trt, sink) if sink is not None else None
    if monitor is not None and hasattr(config, "progress_monitor"):
        config.progress_monitor = monitor  # kept referenced by `monitor` until the build returns
    profile = _optimization_profile(builder, body, net.input_names)
    if profile is not None:
        config.add_optimization_profile(profile)
    logger.take_errors()
    start = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    seconds = time.perf_counter() - start
    del monitor
    if serialized is None:
        errors = logger.take_errors()
        raise EmissionError(f"{found.name} {found.version} failed to build the engine"
                            + (f": {' | '.join(errors)}" if errors else ""))
    engine = bytes(memoryview(serialized))
    num_layers = network.num_layers
    artifact = EngineArtifact(engine, network_layer_names(network), num_layers, seconds, found.name, found.version,
                              net.input_names, net.output_names)
    del net  # the Weights' host buffers may go now that the engine is built
    return artifact


def set_numerics_flags(trt: Any, config: Any, numerics: Numerics) -> None:
    """The builder flags that change numbers, set explicitly from the body's record either way (a fresh config has
    TF32 set, so leaving it alone would let float32 contractions use TF32 whatever the body says)."""
    if numerics.tf32:
        config.set_flag(trt.BuilderFlag.TF32)
    else:
        config.clear_flag(trt.BuilderFlag.TF32)


def profile_shapes(body: Graph) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] | None:
    """(min, opt, max) shape of each input of a body with symbolic dims, from the symbols' ranges in
    ``body.meta["symbols"]``; None for a static body."""
    types = [body.node(nid).type for nid in body.graph_inputs()]
    if all(t.is_static for t in types):
        return None
    ranges = body.meta.get("symbols", {})
    try:
        return [tuple(tuple(dim_at(d, ranges, which) for d in t.shape) for which in ("min", "opt", "max"))
                for t in types]  # type: ignore[misc]
    except SymbolicError as e:
        raise EmissionError(f"cannot make TensorRT's optimisation profile: {e}") from e


def _optimization_profile(builder: Any, body: Graph, names: list[str]) -> Any:
    shapes = profile_shapes(body)
    if shapes is None:
        return None
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in zip(names, shapes):
        profile.set_shape(name, lo, opt, hi)
    return profile


def network_layer_names(network: Any) -> list[str]:
    return [network.get_layer(i).name for i in range(network.num_layers)]
