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
       "engine": null | {"tensorrt_module": "tensorrt_rtx", "tensorrt_version": "1.7.1.116",
                          "target": {"gpu": name | null, "compute_capability": [major, minor] | null},
                          "sha256": hex of the engine bytes, "bytes": int},
       "reference_weights": true | false}        # false: weights left out, the segment runs on its engine only

  ``target.compute_capability`` null means the engine was built ahead of time without a GPU (TensorRT for RTX) and is
  meant for any GPU that TensorRT module supports.

The real implementation (any device) runs the engine with the backend's ``EngineRunner`` when the meta's runtime and
:func:`tensorrt_runtime_status` allow it and the engine's recorded TensorRT version and target match this process,
else evaluates the body with the reference runtime (``"auto"`` warns once per process with the reason). The fake
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
import warnings
from typing import Any

import torch
import torch.fx

from trt_passes.backend.body_codec import decode_body, encode_body
from trt_passes.backend.registry import default_ops
from trt_passes.ir.graph import Graph
from trt_passes.ir.symbolic import fold
from trt_passes.ir.types import torch_dtype

META_FORMAT = 1
RUNTIMES = ("auto", "tensorrt", "reference")


class ArtifactError(RuntimeError):
    """A saved or serialised engine cannot be used here. ``kind`` is one of ``"corrupt"``, ``"format"``,
    ``"unsafe"``, ``"tensorrt_version"``, ``"device"``; the message says what to do."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# ---- build-time facts ----------------------------------------------------------------------------------------------
def current_target() -> dict[str, Any]:
    """The GPU engines built in this process are for (``compute_capability`` None: no GPU here)."""
    if torch.cuda.is_available():
        index = torch.cuda.current_device()
        return {"gpu": torch.cuda.get_device_name(index),
                "compute_capability": list(torch.cuda.get_device_capability(index))}
    return {"gpu": None, "compute_capability": None}


def current_tensorrt() -> tuple[str, str] | None:
    """``(module, version)`` of the TensorRT this process would use, or None when none imports."""
    try:
        from trt_passes.backend.tensorrt_import import find_tensorrt

        found = find_tensorrt()
    except ImportError:
        return None
    return found.name, found.version


def engine_record(engine: bytes, tensorrt_module: str, tensorrt_version: str,
                  target: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta["engine"]`` entry for an engine built in this process."""
    return {"tensorrt_module": tensorrt_module, "tensorrt_version": tensorrt_version,
            "target": target if target is not None else current_target(),
            "sha256": hashlib.sha256(engine).hexdigest(), "bytes": len(engine)}


def _release(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:3])


def check_engine_compatible(record: dict[str, Any], *, here_tensorrt: tuple[str, str] | None,
                            here_target: dict[str, Any], check_device: bool = True) -> None:
    """Raise :class:`ArtifactError` if an engine described by ``record`` cannot be used in this process.

    Works from the recorded metadata alone: no GPU and no deserialisation are needed. A TensorRT module that is not
    importable here is not an incompatibility (the reference runtime runs the segment)."""
    module, version = record.get("tensorrt_module"), str(record.get("tensorrt_version"))
    if here_tensorrt is not None:
        here_module, here_version = here_tensorrt
        if module != here_module or _release(version) != _release(here_version):
            raise ArtifactError(
                "tensorrt_version",
                f"the engines were built with {module} {version}, but this process has {here_module} {here_version}; "
                "TensorRT engines only load in the TensorRT release that built them. Recompile the model "
                "(trt_passes.compile) with this TensorRT and save it again, or install " f"{module}=={version}.")
    target = record.get("target") or {}
    wanted = target.get("compute_capability")
    if check_device and wanted is not None:
        have = here_target.get("compute_capability")
        if have is None or list(have) != list(wanted):
            built = f"{target.get('gpu') or 'a GPU'} (compute capability {wanted[0]}.{wanted[1]})"
            here = (f"{here_target.get('gpu')} (compute capability {have[0]}.{have[1]})" if have is not None
                    else "no CUDA GPU")
            raise ArtifactError(
                "device",
                f"the engines were built for {built}, but this machine has {here}; engines only run on the GPU they "
                "were built for. Recompile the model on this machine and save it again (or pass check_device=False "
                "to trt_passes.load to run the segments with the reference runtime).")


# ---- meta ----------------------------------------------------------------------------------------------------------
def make_meta(name: str, body: Graph, runtime: str, engine: dict[str, Any] | None,
              reference_weights: bool = True) -> tuple[str, list[torch.Tensor]]:
    """The op's ``meta`` string for a segment, and the weights list to pass with it (empty, and recorded as omitted,
    when ``reference_weights`` is False: the segment then runs only on its engine)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}; got {runtime!r}")
    data, weights = encode_body(body)
    outputs = [[t.dtype, list(t.shape)] for t in (body.type(v) for v in body.outputs())]
    if not reference_weights:
        if engine is None:
            raise ValueError(f"segment {name!r} has no engine, so it needs its weights for the reference runtime")
        weights = []
    meta = {"format": META_FORMAT, "name": name, "runtime": runtime, "outputs": outputs, "body": data,
            "engine": engine, "reference_weights": reference_weights}
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
    return data


# ---- the op --------------------------------------------------------------------------------------------------------
_fallback_warned = False
_runners: dict[tuple[str, str], Any] = {}


def _warn_once(reason: str) -> None:
    global _fallback_warned
    if not _fallback_warned:
        _fallback_warned = True
        warnings.warn(f"trt_passes.execute_engine: running TensorRT segments with the reference runtime (slow, for "
                      f"correctness only) because {reason}", RuntimeWarning, stacklevel=3)


def _engine_usable(record: dict[str, Any] | None, engine: torch.Tensor, device: torch.device) -> tuple[bool, str]:
    if record is None or engine.numel() == 0:
        return False, "the segment has no engine"
    from trt_passes.backend.engine_runner import tensorrt_runtime_status

    ok, reason = tensorrt_runtime_status(device)
    if not ok:
        return False, reason
    try:
        check_engine_compatible(record, here_tensorrt=current_tensorrt(), here_target=current_target())
    except ArtifactError as e:
        return False, str(e)
    return True, ""


def _run_engine(data: dict[str, Any], inputs: list[torch.Tensor], engine: torch.Tensor) -> list[torch.Tensor]:
    from trt_passes.backend.engine_runner import EngineRunner

    device = inputs[0].device if inputs else torch.device("cuda")
    key = (data["engine"]["sha256"], str(device))
    runner = _runners.get(key)
    if runner is None:
        blob = engine.detach().cpu().contiguous().numpy().tobytes()
        if hashlib.sha256(blob).hexdigest() != data["engine"]["sha256"]:
            raise ArtifactError("corrupt", f"segment {data['name']!r}: the engine bytes do not match their recorded "
                                           "checksum; the artifact is corrupted, save it again")
        runner = _runners[key] = EngineRunner(blob, device)
    return list(runner(*inputs))


# Decoded bodies by (meta, weight identities): decoding costs tens of ms for a BERT-sized body, more than running it.
# An entry holds its weights, so their ids cannot be reused while it is cached.
_bodies: collections.OrderedDict[tuple[str, tuple[int, ...]], Graph] = collections.OrderedDict()
_BODY_CACHE_SIZE = 32


def _body(meta: str, data: dict[str, Any], weights: list[torch.Tensor]) -> Graph:
    key = (meta, tuple(id(w) for w in weights))
    body = _bodies.get(key)
    if body is None:
        body = _bodies[key] = decode_body(data["body"], list(weights))
        while len(_bodies) > _BODY_CACHE_SIZE:
            _bodies.popitem(last=False)
    else:
        _bodies.move_to_end(key)
    return body


def _run_reference(meta: str, data: dict[str, Any], inputs: list[torch.Tensor],
                   weights: list[torch.Tensor]) -> list[torch.Tensor]:
    from trt_passes.ir.interpreter import run_graph

    return list(run_graph(_body(meta, data, weights), list(inputs), default_ops()))


def execute_engine(inputs: list[torch.Tensor], engine: torch.Tensor, weights: list[torch.Tensor],
                   meta: str) -> list[torch.Tensor]:
    """Run one TensorRT segment: its engine where it can run, else its body on the reference runtime (the op's
    implementation; :mod:`trt_passes.torch_registrations` declares the op and calls this)."""
    data = parse_meta(meta)
    runtime = data["runtime"]
    device = inputs[0].device if inputs else engine.device
    use_engine, reason = False, "runtime='reference'"
    if runtime == "tensorrt":
        ok, reason = _engine_usable(data["engine"], engine, device)
        if not ok:
            raise RuntimeError(f"segment {data['name']!r}: runtime='tensorrt' but the engine cannot run: {reason}")
        use_engine = True
    elif runtime == "auto":
        use_engine, reason = _engine_usable(data["engine"], engine, device)
        if not use_engine and data.get("reference_weights", True):
            _warn_once(reason)
    if not use_engine and not data.get("reference_weights", True):
        raise RuntimeError(f"segment {data['name']!r} was saved without its weights (reference_weights=False), so "
                           f"only its TensorRT engine can run it, and it cannot run here: {reason}")
    outputs = _run_engine(data, inputs, engine) if use_engine else _run_reference(meta, data, inputs, weights)
    # A custom op's outputs may not alias its arguments (the reference runtime can return an input or a view of one).
    taken = {t.untyped_storage().data_ptr() for t in (*inputs, *weights) if t.numel()}
    return [o.clone() if o.numel() and o.untyped_storage().data_ptr() in taken else o for o in outputs]


def execute_engine_fake(inputs: list[torch.Tensor], engine: torch.Tensor, weights: list[torch.Tensor],
                         meta: str) -> list[torch.Tensor]:
    data = parse_meta(meta)
    device = inputs[0].device if inputs else engine.device
    # Symbolic output sizes are expressions over the symbols of the inputs' dims (SymInts here).
    declared = sorted((n for n in data["body"]["nodes"] if n["op"] == "input"), key=lambda n: n["attrs"]["index"])
    symbols: dict[str, Any] = {}
    for node, tensor in zip(declared, inputs):
        for d, size in zip(node["outputs"][0][1], tensor.shape):
            if isinstance(d, str) and d.isidentifier():
                symbols.setdefault(d, size)
    return [torch.empty(tuple(fold(d, symbols) if isinstance(d, str) else d for d in shape),
                        dtype=torch_dtype(dtype), device=device) for dtype, shape in data["outputs"]]


# ---- programs calling the op ---------------------------------------------------------------------------------------
def engine_op_program(program: torch.fx.GraphModule, reference_weights: bool = True) -> torch.fx.GraphModule:
    """A copy of ``program`` in which every ``SegmentModule`` call is a ``torch.ops.trt_passes.execute_engine`` call
    on buffers (engine bytes, body constants); only attributes the graph reads are kept (no tensor is copied but the
    engine bytes). ``reference_weights=False`` leaves the body constants out (about half the size for
    convolutional models): segments then run only on their engines."""
    from trt_passes.backend.segment_module import SegmentModule

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


__all__ = ["ArtifactError", "check_engine_compatible", "engine_op_program", "execute_engine", "make_meta",
           "parse_meta", "script_program", "segment_calls"]
