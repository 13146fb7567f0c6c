"""Serialise a segment body :class:`~trt_passes.ir.graph.Graph` to JSON-safe data and back, without pickle.

A body travels inside saved artifacts (the ``meta`` string of ``torch.ops.trt_passes.execute_engine``), so its
encoding must be plain data that loading can never turn into arbitrary objects. Format (``CODEC_VERSION`` 1)::

    {"codec": 1, "next_id": int, "meta": <value>,
     "nodes": [{"id": int, "op": str, "name": str, "attrs": {name: <value>},
                "outputs": [[dtype, [dim, ...]], ...],
                "provenance": {"source", "rule", "location", "ruleset", "replaced": [int]},
                "weight": int | null}],          # constants: index into the weights list
     "edges": [[producer, consumer, slot, output_index], ...]}

``<value>`` is JSON (``null``, bools, ints, strings, lists) plus tagged objects for what JSON cannot say::

    {"$slot": i}                      Slot(i)
    {"$tuple": [...]}                 a tuple (lists stay lists)
    {"$float": "inf"|"-inf"|"nan"}    non-finite floats; finite floats are plain numbers
    {"$enum": "ActivationType", "name": "RELU"}   a member of a TensorRT dialect enum (by name)
    {"$dtype": "f32"} / {"$device": "cpu"} / {"$torch": "contiguous_format"}   torch dtypes, devices, layouts,
                                                                              memory formats
    {"$dict": [[key, <value>], ...]}  a dict (keys: str, int or bool)
    {"$graph": <graph>}               a nested body (its constants share the same weights list)

Constant tensors are not in the JSON: :func:`encode_body` returns them as a list (in first-use order) and each
constant node names its index; :func:`decode_body` takes the list back. Enums are resolved only among the dialect's own
enum classes (:data:`~trt_passes.backend.enums.ENUMS`), torch objects only among an allow-list: decoding never
imports or calls anything named by the data.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from typing import Any

import torch

from trt_passes.backend.enums import ENUMS
from trt_passes.ir.graph import Graph, Node, Provenance, Slot
from trt_passes.ir.symbolic import SymbolRange, SymDim, free_symbols
from trt_passes.ir.types import DTYPE_NAMES, TORCH_DTYPES, TensorType

CODEC_VERSION = 1

_TORCH_OBJECTS: dict[str, Any] = {
    str(obj).replace("torch.", ""): obj for obj in (
        torch.contiguous_format, torch.channels_last, torch.channels_last_3d, torch.preserve_format,
        torch.strided, torch.sparse_coo,
    )
}


class BodyCodecError(ValueError):
    """A body holds something the codec cannot encode, or the data is not a body this codec wrote."""


# ---- encoding ------------------------------------------------------------------------------------------------------
def encode_body(body: Graph) -> tuple[dict[str, Any], list[torch.Tensor]]:
    """``(data, weights)``: JSON-safe data for ``body`` and its constants' tensors (by reference, not copied)."""
    weights: list[torch.Tensor] = []
    return _encode_graph(body, weights), weights


def _encode_graph(g: Graph, weights: list[torch.Tensor]) -> dict[str, Any]:
    nodes = [_encode_node(n, weights) for n in g.all_nodes()]
    edges = sorted([src, dst, key, idx] for src, dst, key, idx in g.nx.edges(keys=True, data="index"))
    return {"codec": CODEC_VERSION, "next_id": g._next_id, "meta": _encode(g.meta, weights, "meta"),
            "nodes": nodes, "edges": edges}


def _encode_node(n: Node, weights: list[torch.Tensor]) -> dict[str, Any]:
    weight = None
    if n.value is not None:
        weight = len(weights)
        weights.append(n.value)
    p = n.provenance
    return {
        "id": n.id, "op": n.op, "name": n.name,
        "attrs": {k: _encode(v, weights, f"%{n.id} {n.op} attribute {k!r}") for k, v in n.attrs.items()},
        "outputs": [[t.dtype, list(t.shape)] for t in n.outputs],
        "provenance": {"source": p.source, "rule": p.rule, "location": p.location, "ruleset": p.ruleset,
                       "replaced": list(p.replaced)},
        "weight": weight,
    }


def _encode(v: Any, weights: list[torch.Tensor], where: str) -> Any:
    if isinstance(v, SymDim):  # before str: a size expression must come back as one, not as a string attribute
        return {"$sym": str(v)}
    if isinstance(v, SymbolRange):
        return {"$range": [v.min, v.opt, v.max]}
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else {"$float": repr(v)}
    if isinstance(v, Slot):
        return {"$slot": v.index}
    if isinstance(v, Enum):
        cls = type(v)
        if ENUMS.get(cls.__name__) is not cls:
            raise BodyCodecError(f"{where}: {v!r} is not a TensorRT dialect enum")
        return {"$enum": cls.__name__, "name": v.name}
    if isinstance(v, tuple):
        return {"$tuple": [_encode(x, weights, where) for x in v]}
    if isinstance(v, list):
        return [_encode(x, weights, where) for x in v]
    if isinstance(v, dict):
        for k in v:
            if not isinstance(k, (str, int, bool)):
                raise BodyCodecError(f"{where}: dict key {k!r} is not a str, int or bool")
        return {"$dict": [[k, _encode(x, weights, where)] for k, x in v.items()]}
    if isinstance(v, torch.dtype):
        return {"$dtype": DTYPE_NAMES[v]} if v in DTYPE_NAMES else _fail(where, v)
    if isinstance(v, torch.device):
        return {"$device": str(v)}
    if isinstance(v, (torch.memory_format, torch.layout)):
        name = str(v).replace("torch.", "")
        return {"$torch": name} if name in _TORCH_OBJECTS else _fail(where, v)
    if isinstance(v, Graph):
        return {"$graph": _encode_graph(v, weights)}
    return _fail(where, v)


def _fail(where: str, v: Any) -> Any:
    raise BodyCodecError(f"{where}: cannot encode {type(v).__name__} {v!r} (not plain data)")


# ---- decoding ------------------------------------------------------------------------------------------------------
def decode_body(data: Any, weights: list[torch.Tensor]) -> Graph:
    """The graph ``data`` describes, its constants reading ``weights`` (by reference)."""
    try:
        return _decode_graph(data, weights)
    except BodyCodecError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise BodyCodecError(f"malformed body data: {type(e).__name__}: {e}") from e


def _decode_graph(data: Any, weights: list[torch.Tensor]) -> Graph:
    if not isinstance(data, dict) or data.get("codec") != CODEC_VERSION:
        found = data.get("codec") if isinstance(data, dict) else type(data).__name__
        raise BodyCodecError(f"not a body of codec version {CODEC_VERSION} (found {found!r})")
    g = Graph()
    for nd in data["nodes"]:
        value = None
        if nd["weight"] is not None:
            index = int(nd["weight"])
            if not 0 <= index < len(weights):
                raise BodyCodecError(f"node %{nd['id']} reads weight {index}, but {len(weights)} were given")
            value = weights[index]
        p = nd["provenance"]
        node = Node(
            id=int(nd["id"]), op=str(nd["op"]),
            attrs={str(k): _decode(v, weights) for k, v in nd["attrs"].items()},
            outputs=tuple(TensorType(str(dt), tuple(shape)) for dt, shape in nd["outputs"]),
            provenance=Provenance(p["source"], p["rule"], p["location"], p["ruleset"],
                                  tuple(int(i) for i in p["replaced"])),
            value=value, name=str(nd["name"]),
        )
        g.nx.add_node(node.id, node=node)
    for src, dst, slot, index in data["edges"]:
        if src not in g.nx or dst not in g.nx:
            raise BodyCodecError(f"edge %{src} -> %{dst} names a node that is not in the body")
        g.nx.add_edge(int(src), int(dst), key=int(slot), index=int(index))
    g.meta = _decode(data["meta"], weights)
    g._next_id = int(data["next_id"])
    return g


def _decode(v: Any, weights: list[torch.Tensor]) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, list):
        return [_decode(x, weights) for x in v]
    if not isinstance(v, dict) or len(v) not in (1, 2):
        raise BodyCodecError(f"unexpected value {v!r}")
    if "$slot" in v:
        return Slot(int(v["$slot"]))
    if "$sym" in v:
        free_symbols(str(v["$sym"]))  # refuses anything but a size expression
        return SymDim(str(v["$sym"]))
    if "$range" in v:
        lo, opt, hi = v["$range"]
        return SymbolRange(int(lo), int(opt), None if hi is None else int(hi))
    if "$tuple" in v:
        return tuple(_decode(x, weights) for x in v["$tuple"])
    if "$float" in v:
        return float(v["$float"])
    if "$enum" in v:
        cls = ENUMS.get(v["$enum"])
        if cls is None or v["name"] not in cls.__members__:
            raise BodyCodecError(f"unknown enum member {v['$enum']}.{v.get('name')}")
        return cls[v["name"]]
    if "$dict" in v:
        return {k: _decode(x, weights) for k, x in v["$dict"]}
    if "$dtype" in v:
        if v["$dtype"] not in TORCH_DTYPES:
            raise BodyCodecError(f"unknown dtype {v['$dtype']!r}")
        return TORCH_DTYPES[v["$dtype"]]
    if "$device" in v:
        return torch.device(str(v["$device"]))
    if "$torch" in v:
        if v["$torch"] not in _TORCH_OBJECTS:
            raise BodyCodecError(f"unknown torch object {v['$torch']!r}")
        return _TORCH_OBJECTS[v["$torch"]]
    if "$graph" in v:
        return _decode_graph(v["$graph"], weights)
    raise BodyCodecError(f"unknown tagged value {v!r}")


# ---- strings -------------------------------------------------------------------------------------------------------
def dumps_body(body: Graph) -> tuple[str, list[torch.Tensor]]:
    """``encode_body`` as a compact JSON string (strict JSON: no NaN/Infinity literals)."""
    data, weights = encode_body(body)
    return json.dumps(data, separators=(",", ":"), allow_nan=False), weights


def loads_body(text: str, weights: list[torch.Tensor]) -> Graph:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BodyCodecError(f"body is not valid JSON: {e}") from e
    return decode_body(data, weights)
