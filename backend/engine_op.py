"""``torch.ops.trt_passes.execute_engine``: a TensorRT segment as one registered PyTorch operator.

Schema::

    trt_passes::execute_engine(Tensor[] inputs, Tensor engine, Tensor[] weights, str meta) -> Tensor[]

* ``inputs``  the segment's inputs, in the body's input order (the engine's input order).
* ``engine``  the serialised engine as a 1-D ``uint8`` tensor (empty when no engine was built, e.g. ``explain``).
* ``weights`` the body's constant tensors, in the order the body's JSON names them (the reference runtime reads them;
  the engine has its own copy). Buffers of the calling module, so ``.to(device)`` moves them.
* ``meta``    a JSON string (:data:`META_FORMAT` 1)::

      {"format": 1, "name": "trt_0", "runtime": "auto" | "tensorrt" | "reference",
       "outputs": [[dtype, [dims]], ...],          # what the fake (meta) implementation returns
       "body": <body_codec data>,                   # the segment body (TensorRT dialect), for the reference runtime
       "engine": null | <engine record>,           # what it was built with and for: backend/engine_record.py
       "reference_weights": true | false,        # false: weights left out, the segment runs on its engine only
       "weights_sha256": hex}                     # of the weights list (engine_record.tensors_digest); optional

A saved program may be loaded without :func:`trt_passes.load`'s checks (a bare ``torch.export.load``), so the op
checks what it can itself: the meta's fields and types when it is first parsed; the engine's bytes against the
record's SHA-256 the first time an engine tensor is seen, whether or not the engine then runs; the weights against
``weights_sha256`` before the reference runtime first uses them. A mismatch is an
:class:`~trt_passes.backend.engine_record.ArtifactError` ``"corrupt"`` naming the segment.

The real implementation (any device) runs the engine with the backend's ``EngineRunner`` or evaluates the body with
the reference runtime, as :func:`trt_passes.backend.segment_runtime.use_engine` decides from the meta's runtime, this
process's TensorRT runtime status and the engine's record (``"auto"`` warns once per process with the reason). The fake
implementation builds empty tensors of the recorded output types, which is all ``torch.export`` (export, re-export,
``torch.export.load``) and ``torch.compile`` need.

:func:`engine_op_program` turns a compiled program (a GraphModule whose segments are ``SegmentModule`` s) into one
whose segments are calls to this op on buffers: the form that ``torch.export``, ``torch.jit.script`` and saving use.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import threading
import warnings
import weakref
from typing import Any

import torch
import torch.fx

from trt_passes.backend.body_codec import BodyCodecError, decode_body, encode_body
from trt_passes.backend.emit import network_input_names, output_name
from trt_passes.backend.engine_record import (
    ArtifactError,
    current_tensorrt,
    engine_record,
    tensors_digest,
    valid_record,
)
from trt_passes.backend.engine_runner import EngineRunner
from trt_passes.backend.runtimes import RUNTIMES, check_runtime
from trt_passes.backend.segment_module import SegmentModule
from trt_passes.backend.segment_runtime import run_reference, use_engine
from trt_passes.ir.graph import Graph
from trt_passes.ir.symbolic import fold
from trt_passes.ir.types import torch_dtype

META_FORMAT = 1


# ---- meta ----------------------------------------------------------------------------------------------------------
def make_meta(name: str, body: Graph, runtime: str, engine: dict[str, Any] | None,
              reference_weights: bool = True) -> tuple[str, list[torch.Tensor]]:
    """The op's ``meta`` string for a segment, and the weights list to pass with it (empty, and recorded as omitted,
    when ``reference_weights`` is False: the segment then runs only on its engine)."""
    check_runtime(runtime)
    data, weights = encode_body(body)
    outputs = [[t.dtype, list(t.shape)] for t in (body.type(v) for v in body.outputs())]
    if not reference_weights:
        if engine is None:
            raise ValueError(f"segment {name!r} has no engine, so it needs its weights for the reference runtime")
        weights = []
    meta = {"format": META_FORMAT, "name": name, "runtime": runtime, "outputs": outputs, "body": data,
            "engine": engine, "reference_weights": reference_weights, "weights_sha256": tensors_digest(weights)}
    return json.dumps(meta, separators=(",", ":"), allow_nan=False), weights


@functools.lru_cache(maxsize=256)
def parse_meta(meta: str) -> dict[str, Any]:
    """The decoded meta (cached per string: the op parses each segment's meta once per process)."""
    try:
        data = json.loads(meta)
    except json.JSONDecodeError as e:
        raise ArtifactError("corrupt", f"execute_engine: the meta string is not valid JSON ({e}); the artifact is "
                                       "corrupted, save it again") from e
    if not isinstance(data, dict) or "format" not in data:
        raise ArtifactError("corrupt", "execute_engine: the meta string is not an execute_engine meta record")
    if data["format"] != META_FORMAT:
        raise ArtifactError("format", f"execute_engine meta format {data['format']!r} is not {META_FORMAT}; "
                                      "upgrade trt_passes or recompile the model")
    problem = _meta_problem(data)
    if problem:
        raise ArtifactError("corrupt", f"execute_engine (segment {data.get('name')!r}): the meta record's {problem}; "
                                       "the artifact is corrupted or was altered, save it again")
    return data


def _meta_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with a meta record's fields (the body itself is checked by its codec when decoded)."""
    required = {"format", "name", "runtime", "outputs", "body", "engine", "reference_weights"}
    if not required <= set(data) <= required | {"weights_sha256"}:
        return f"fields are {sorted(data)}"
    if type(data["name"]) is not str:
        return "'name' is not a string"
    if data["runtime"] not in RUNTIMES:
        return f"'runtime' is not one of {', '.join(RUNTIMES)}"
    outputs = data["outputs"]
    if not (isinstance(outputs, list) and all(
            isinstance(o, list) and len(o) == 2 and type(o[0]) is str and isinstance(o[1], list)
            and all(type(d) in (int, str) for d in o[1]) for o in outputs)):
        return "'outputs' is not a list of [dtype, [dims]]"
    if not isinstance(data["body"], dict):
        return "'body' is not a body"
    if data["engine"] is not None and not valid_record(data["engine"]):
        return "'engine' is not an engine record"
    if type(data["reference_weights"]) is not bool:
        return "'reference_weights' is not true or false"
    digest = data.get("weights_sha256")
    if digest is not None and not (type(digest) is str and len(digest) == 64):
        return "'weights_sha256' is not a SHA-256"
    return None


# ---- the op --------------------------------------------------------------------------------------------------------
# The op may run in several threads at once (one loaded model served by a thread pool): its caches take this lock.
_lock = threading.Lock()
_runners: dict[tuple[str, str], Any] = {}
# Engine tensors whose bytes were checked: id -> (a weak reference to the tensor, its version counter, the hash).
_checked_engines: dict[int, tuple[weakref.ref[torch.Tensor], int, str]] = {}


def _engine_bytes(engine: torch.Tensor) -> bytes:
    return engine.detach().cpu().contiguous().numpy().tobytes()


def _check_engine(data: dict[str, Any], engine: torch.Tensor) -> None:
    """The engine tensor holds the bytes its record describes (checked once per tensor, on whatever device)."""
    record = data["engine"]
    if record is None:
        if engine.numel():
            raise ArtifactError("corrupt", f"segment {data['name']!r}: an engine without a record; the artifact is "
                                           "corrupted or was altered, save it again")
        return
    with _lock:
        seen = _checked_engines.get(id(engine))
        if seen is not None and seen[0]() is engine and seen[1] == engine._version and seen[2] == record["sha256"]:
            return
    blob = _engine_bytes(engine)
    if len(blob) != record["bytes"] or hashlib.sha256(blob).hexdigest() != record["sha256"]:
        raise ArtifactError("corrupt", f"segment {data['name']!r}: the engine's bytes do not match the hash recorded "
                                       "when it was built; the artifact is corrupted or was altered, save it again")
    with _lock:
        for key in [k for k, (ref, _, _) in _checked_engines.items() if ref() is None]:
            del _checked_engines[key]
        _checked_engines[id(engine)] = (weakref.ref(engine), engine._version, record["sha256"])


def _run_engine(data: dict[str, Any], inputs: list[torch.Tensor], engine: torch.Tensor) -> list[torch.Tensor]:
    device = inputs[0].device if inputs else torch.device("cuda")
    key = (data["engine"]["sha256"], str(device))
    with _lock:
        runner = _runners.get(key)
    if runner is None:
        runner = EngineRunner(_engine_bytes(engine), device, *_engine_io_names(data))  # checked by _check_engine
        with _lock:
            runner = _runners.setdefault(key, runner)
    return list(runner(*inputs))


def _engine_io_names(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The engine's I/O names from the body's JSON (no weights needed: a segment saved without them has them too)."""
    declared = sorted((n for n in data["body"]["nodes"] if n["op"] == "input"), key=lambda n: n["attrs"]["index"])
    inputs = network_input_names([(str(n["name"]), int(n["attrs"]["index"])) for n in declared])
    return inputs, [output_name(i) for i in range(len(data["outputs"]))]


# Decoded bodies by (meta, weight identities): decoding costs tens of ms for a BERT-sized body, more than running it.
# An entry holds its weights, so their ids cannot be reused while it is cached.
_bodies: collections.OrderedDict[tuple[str, tuple[int, ...]], Graph] = collections.OrderedDict()
_BODY_CACHE_SIZE = 32


def _body(meta: str, data: dict[str, Any], weights: list[torch.Tensor]) -> Graph:
    key = (meta, tuple(id(w) for w in weights))
    with _lock:
        body = _bodies.get(key)
        if body is not None:
            _bodies.move_to_end(key)
            return body
    expected = data.get("weights_sha256")
    if expected is not None and tensors_digest(weights) != expected:
        raise ArtifactError("corrupt", f"segment {data['name']!r}: its weights do not match the hash recorded when "
                                       "it was saved; the artifact is corrupted or was altered, save it again")
    try:
        body = decode_body(data["body"], list(weights))
    except BodyCodecError as e:
        raise ArtifactError("corrupt", f"segment {data['name']!r}: its body cannot be read ({e}); the artifact is "
                                       "corrupted or was altered, save it again") from e
    with _lock:
        _bodies[key] = body
        while len(_bodies) > _BODY_CACHE_SIZE:
            _bodies.popitem(last=False)
    return body


def execute_engine(inputs: list[torch.Tensor], engine: torch.Tensor, weights: list[torch.Tensor],
                   meta: str) -> list[torch.Tensor]:
    """Run one TensorRT segment: its engine where it can run, else its body on the reference runtime (the op's
    implementation; :mod:`trt_passes.torch_registrations` declares the op and calls this)."""
    data = parse_meta(meta)
    device = inputs[0].device if inputs else engine.device
    record = data["engine"]
    _check_engine(data, engine)
    if use_engine(data["name"], data["runtime"], record is not None and engine.numel() > 0, device, record,
                  reference_possible=data.get("reference_weights", True)):
        outputs = _run_engine(data, inputs, engine)
    else:
        outputs = run_reference(_body(meta, data, weights), inputs)
    # A custom op's outputs may not alias its arguments (the reference runtime can return an input or a view of one).
    taken = {t.untyped_storage().data_ptr() for t in (*inputs, *weights) if t.numel()}
    return [o.clone() if o.numel() and o.untyped_storage().data_ptr() in taken else o for o in outputs]


def execute_engine_fake(inputs: list[torch.Tensor], engine: torch.Tensor, weights: list[torch.Tensor],
                         meta: str) -> list[torch.Tensor]:
    data = parse_meta(meta)
    device = inputs[0].device if inputs else engine.device
    # Symbolic output sizes are expressions over the symbols of the inputs' dims (SymInts here).
    try:
        declared = sorted((n for n in data["body"]["nodes"] if n["op"] == "input"), key=lambda n: n["attrs"]["index"])
        symbols: dict[str, Any] = {}
        for node, tensor in zip(declared, inputs):
            for d, size in zip(node["outputs"][0][1], tensor.shape):
                if isinstance(d, str) and d.isidentifier():
                    symbols.setdefault(d, size)
        return [torch.empty(tuple(fold(d, symbols) if isinstance(d, str) else d for d in shape),
                            dtype=torch_dtype(dtype), device=device) for dtype, shape in data["outputs"]]
    except (KeyError, TypeError, IndexError, ValueError) as e:
        raise ArtifactError("corrupt", f"segment {data['name']!r}: its recorded types cannot be read "
                                       f"({type(e).__name__}: {e}); the artifact is corrupted or was altered, save it "
                                       "again") from e


# ---- programs calling the op ---------------------------------------------------------------------------------------
def engine_op_program(program: torch.fx.GraphModule, reference_weights: bool = True) -> torch.fx.GraphModule:
    """A copy of ``program`` in which every ``SegmentModule`` call is a ``torch.ops.trt_passes.execute_engine`` call
    on buffers (engine bytes, body constants); only attributes the graph reads are kept (no tensor is copied but the
    engine bytes). ``reference_weights=False`` leaves the body constants out (about half the size for
    convolutional models): segments then run only on their engines."""
    graph = torch.fx.Graph()
    env: dict[torch.fx.Node, torch.fx.Node] = {}
    attrs: dict[str, Any] = {}

    def unique(base: str) -> str:
        name, k = base, 1
        while name in attrs:
            name, k = f"{base}_{k}", k + 1
        return name

    for node in program.graph.nodes:
        if node.op == "call_module" and isinstance(program.get_submodule(node.target), SegmentModule):
            seg = program.get_submodule(node.target)
            env[node] = _segment_call(graph, seg, [env[a] for a in node.args], node.target, attrs, unique,
                                      reference_weights)
            env[node].meta.update({k: v for k, v in node.meta.items() if k.startswith("ir_")})
            continue
        new = graph.node_copy(node, lambda n: env[n])
        env[node] = new
        if node.op == "get_attr":
            attrs[node.target] = _fetch(program, node.target)
        elif node.op == "call_module":
            attrs[node.target] = program.get_submodule(node.target)
    graph.eliminate_dead_code()
    used = {n.target for n in graph.nodes if n.op in ("get_attr", "call_module")}
    gm = torch.fx.GraphModule({k: v for k, v in attrs.items() if k in used}, graph,
                              class_name="TrtPassesEngineProgram")
    for target, value in list(gm.named_parameters()):
        delattr(gm, target)
        gm.register_buffer(target, value.detach())
    return gm


def _fetch(module: torch.nn.Module, target: str) -> Any:
    obj: Any = module
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _segment_call(graph: torch.fx.Graph, seg: Any, args: list[torch.fx.Node], target: str, attrs: dict[str, Any],
                  unique: Any, reference_weights: bool = True) -> torch.fx.Node:
    body = seg._current_body()  # the body reading the module's current buffers (after any .to())
    info = getattr(seg, "engine_info", None)
    record = None
    if seg.engine is not None:
        if info:
            record = engine_record(seg.engine, info["tensorrt_module"], info["tensorrt_version"], info.get("target"))
        else:  # built outside compile(): by this process's TensorRT
            module, version = current_tensorrt() or ("unknown", "unknown")
            record = engine_record(seg.engine, module, version)
    meta, weights = make_meta(seg.name, body, seg.runtime, record, reference_weights)
    base = target.replace(".", "_")
    engine_name = unique(f"{base}_engine")
    attrs[engine_name] = (torch.frombuffer(bytearray(seg.engine), dtype=torch.uint8) if seg.engine
                          else torch.zeros(0, dtype=torch.uint8))
    weight_nodes = []
    for i, w in enumerate(weights):
        name = unique(f"{base}_w{i}")
        attrs[name] = w.detach() if isinstance(w, torch.nn.Parameter) else w
        weight_nodes.append(graph.get_attr(name))
    # The overload packet, not `.default`: TorchScript resolves `torch.ops.NS.NAME(...)` only.
    return graph.call_function(torch.ops.trt_passes.execute_engine,
                               (list(args), graph.get_attr(engine_name), weight_nodes, meta))


def script_program(gm: torch.fx.GraphModule) -> torch.jit.ScriptModule:
    """``torch.jit.script`` of an op program (in place: ATen overloads become their packets, which is how
    TorchScript spells ATen calls; it picks the overload from the same arguments)."""
    for node in gm.graph.nodes:
        if node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload):
            node.target = node.target.overloadpacket
    gm.recompile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit deprecation notice
        warnings.filterwarnings("ignore", message=".*instance-level annotations.*")  # GraphModule's own attributes
        return torch.jit.script(gm)


def segment_calls(gm: torch.fx.GraphModule) -> list[torch.fx.Node]:
    """The ``execute_engine`` calls of a program (for tests and reports)."""
    return [n for n in gm.graph.nodes
            if n.op == "call_function" and n.target in (torch.ops.trt_passes.execute_engine.default,
                                                         torch.ops.trt_passes.execute_engine)]


__all__ = ["engine_op_program", "execute_engine", "make_meta", "parse_meta", "script_program", "segment_calls"]
