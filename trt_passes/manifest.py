"""The manifest of a saved program (``extra/trt_passes.json`` in the archive): written by :func:`build_manifest`,
checked field by field by :func:`validate_manifest`, and compared with what the archive holds by
:func:`check_entries`. Format 3::

    {"trt_passes_format": 3, "trt_passes_version": str, "output_format": "exported_program" | "torchscript",
     "torch_version": str, "tensorrt": {"module": str, "version": str} | null,
     "engines": [{"segment": str, "bytes": int, "sha256": hex, "entry": archive entry holding the engine,
                  "target": {"gpu": str | null, "compute_capability": [int, int] | null},
                  "tensorrt_module": str, "tensorrt_version": str}],
     "reference_weights": bool,             # false: saved with reference_weights=False (engines only)
     "library_ops": {op: module | null},    # custom ops the program calls ("mylib.scale.default") and the module
                                            # that registered each when saving (a hint for the error, never imported)
     "entries": {name: {"bytes": int, "sha256": hex}}}   # every other entry of the archive

Format 2 had no ``library_ops`` (it is read as none). Format 1 had no ``entries`` (nothing tied the weights and
engines to what was saved): such files are refused with a request to save the model again. Before PyTorch reads a
program, :func:`check_library_ops` refuses one calling a custom op no library loaded in this process registers,
naming the op and what to import.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

import torch
import torch.fx

from trt_passes import __version__
from trt_passes.backend.engine_op import parse_meta, segment_calls
from trt_passes.backend.engine_record import ArtifactError, check_engine_compatible, current_target, current_tensorrt
from trt_passes.ir.library_ops import library_overload, qualified_name

FORMAT_VERSION = 3
_FIRST_WITH_HASHES = 2
MANIFEST = "trt_passes.json"
OUTPUT_FORMATS = ("exported_program", "torchscript")
_HEX = re.compile(r"[0-9a-f]{64}\Z")
_KEYS_2 = {"trt_passes_format", "trt_passes_version", "output_format", "torch_version", "tensorrt", "engines",
           "reference_weights", "entries"}
_KEYS = {2: _KEYS_2, 3: _KEYS_2 | {"library_ops"}}
_OP_NAME = re.compile(r"[A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*\Z")
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\Z")
_ENGINE_KEYS = {"segment", "bytes", "sha256", "entry", "target", "tensorrt_module", "tensorrt_version"}


# ---- writing -------------------------------------------------------------------------------------------------------
def build_manifest(op_program: torch.fx.GraphModule, output_format: str, digests: Mapping[str, tuple[int, str]],
                   library_ops: Mapping[str, str | None]) -> dict[str, Any]:
    """The manifest of an archive holding ``op_program`` whose entries have ``digests`` (name -> (bytes, sha256))
    and which calls the custom ops ``library_ops`` (:func:`library_ops_of`, taken before scripting)."""
    by_hash = {(size, sha): name for name, (size, sha) in digests.items()}
    engines = []
    tensorrt = None
    for node in segment_calls(op_program):
        data = parse_meta(node.args[3])
        record = data["engine"]
        if record is None:
            continue
        entry = by_hash.get((record["bytes"], record["sha256"]))
        if entry is None:
            raise RuntimeError(f"segment {data['name']!r}: its engine is not stored as one archive entry")
        tensorrt = {"module": record["tensorrt_module"], "version": record["tensorrt_version"]}
        engines.append({"segment": data["name"], "bytes": record["bytes"], "sha256": record["sha256"],
                        "entry": entry, "target": record["target"], "tensorrt_module": record["tensorrt_module"],
                        "tensorrt_version": record["tensorrt_version"]})
    return {"trt_passes_format": FORMAT_VERSION, "trt_passes_version": __version__, "output_format": output_format,
            "torch_version": torch.__version__, "tensorrt": tensorrt, "engines": engines,
            "reference_weights": all(parse_meta(n.args[3]).get("reference_weights", True)
                                     for n in segment_calls(op_program)),
            "library_ops": dict(library_ops),
            "entries": {name: {"bytes": size, "sha256": sha} for name, (size, sha) in sorted(digests.items())}}


def library_ops_of(program: torch.fx.GraphModule) -> dict[str, str | None]:
    """The custom ops ``program`` calls (every torch op but ATen's and trt_passes' own), each with the module that
    registered it, for the message of a process that has not imported it."""
    found: dict[str, str | None] = {}
    for node in program.graph.nodes:
        target = node.target
        if (node.op == "call_function" and isinstance(target, torch._ops.OpOverload)
                and target.namespace not in ("aten", "trt_passes")):
            found[str(target)] = _registering_module(target)
    return dict(sorted(found.items()))


def _registering_module(op: torch._ops.OpOverload) -> str | None:
    """The module to import for ``op``: the namespace when it is a module this process imported (torchvision), else
    the module of the Python function a ``torch.library.custom_op`` was defined with; None when neither is known
    (an op a script's ``__main__`` or a C++ library registered)."""
    if op.namespace in sys.modules:
        return op.namespace
    # torch keeps custom_op definitions in a private table; a torch without it only loses the hint
    definitions = getattr(getattr(torch._library, "custom_ops", None), "OPDEFS", {})
    definition = definitions.get(op._schema.name)
    module = getattr(getattr(definition, "_init_fn", None), "__module__", None)
    return module if isinstance(module, str) and module != "__main__" and _MODULE.match(module) else None


# ---- checking ------------------------------------------------------------------------------------------------------
def validate_manifest(data: Any, where: str) -> dict[str, Any]:
    """``data`` if it is a well-formed manifest of this format; :class:`ArtifactError` naming the first bad field."""
    if not isinstance(data, dict):
        raise ArtifactError("format", f"{where}: {MANIFEST} is not a trt_passes manifest")
    version = data.get("trt_passes_format")
    if type(version) is not int:
        raise ArtifactError("format", f"{where}: {MANIFEST} has no format version (found {version!r})")
    if version > FORMAT_VERSION:
        raise ArtifactError("format", f"{where}: written in trt_passes format {version}, this trt_passes reads "
                                      f"format {FORMAT_VERSION}; upgrade trt_passes or recompile the model")
    if version < 1:
        raise ArtifactError("format", f"{where}: trt_passes format {version} does not exist; the manifest is "
                                      "damaged or forged")
    if version < _FIRST_WITH_HASHES:
        raise ArtifactError("format", f"{where}: written in trt_passes format {version}, which records no hashes "
                                      "of its contents, so its weights and engines cannot be verified; save the "
                                      "model again with this trt_passes")

    def bad(field: str, expected: str) -> ArtifactError:
        return _malformed(where, field, data.get(field), expected)

    keys = _KEYS[version]
    if set(data) != keys:
        extra, missing = sorted(set(data) - keys), sorted(keys - set(data))
        raise ArtifactError("corrupt", f"{where}: {MANIFEST} has unknown fields {extra} or lacks {missing}; the file "
                                       "is corrupted or was altered")
    for field in ("trt_passes_version", "torch_version"):
        if type(data[field]) is not str:
            raise bad(field, "a string")
    if data["output_format"] not in OUTPUT_FORMATS:
        raise bad("output_format", " or ".join(OUTPUT_FORMATS))
    if type(data["reference_weights"]) is not bool:
        raise bad("reference_weights", "true or false")
    trt = data["tensorrt"]
    if trt is not None and not (isinstance(trt, dict) and set(trt) == {"module", "version"}
                                and all(type(v) is str for v in trt.values())):
        raise bad("tensorrt", 'null or {"module": str, "version": str}')
    entries = data["entries"]
    if not isinstance(entries, dict) or not all(
            type(name) is str and isinstance(e, dict) and set(e) == {"bytes", "sha256"} and _size(e["bytes"])
            and _digest(e["sha256"]) for name, e in entries.items()):
        raise bad("entries", '{name: {"bytes": int, "sha256": hex}}')
    data = {"library_ops": {}, **data}  # format 2 predates custom ops: it calls none
    library = data["library_ops"]
    if not isinstance(library, dict) or not all(
            type(op) is str and _OP_NAME.match(op) and (module is None or _module_name(module))
            for op, module in library.items()):
        raise bad("library_ops", "{op name: module name or null}")
    if not isinstance(data["engines"], list):
        raise bad("engines", "a list")
    for i, engine in enumerate(data["engines"]):
        if not (isinstance(engine, dict) and set(engine) == _ENGINE_KEYS and type(engine["segment"]) is str
                and _size(engine["bytes"]) and _digest(engine["sha256"]) and type(engine["entry"]) is str
                and type(engine["tensorrt_module"]) is str and type(engine["tensorrt_version"]) is str
                and _target(engine["target"])):
            raise _malformed(where, f"engines[{i}]", engine, "an engine record (segment, bytes, sha256, entry, "
                                                             "target, tensorrt_module, tensorrt_version)")
    return data


def _malformed(where: str, field: str, value: Any, expected: str) -> ArtifactError:
    shown = type(value).__name__ if isinstance(value, (dict, list)) else repr(value)
    return ArtifactError("corrupt", f"{where}: the manifest's {field!r} is {shown[:80]}, expected {expected}; the "
                                    "file is corrupted or was altered, save the model again")


def _size(v: Any) -> bool:
    return type(v) is int and v >= 0


def _digest(v: Any) -> bool:
    return type(v) is str and _HEX.match(v) is not None


def _module_name(v: Any) -> bool:
    return type(v) is str and _MODULE.match(v) is not None


def _target(v: Any) -> bool:
    if not (isinstance(v, dict) and set(v) == {"gpu", "compute_capability"}):
        return False
    cc = v["compute_capability"]
    return (v["gpu"] is None or type(v["gpu"]) is str) and (
        cc is None or (isinstance(cc, list) and len(cc) == 2 and all(type(x) is int for x in cc)))


def check_listing(manifest: dict[str, Any], names: set[str], where: str) -> None:
    """The archive's entries (but the manifest) are exactly those the manifest lists."""
    listed = manifest["entries"]
    unlisted = sorted(names - set(listed))
    if unlisted:
        raise ArtifactError("unsafe", f"{where}: the archive holds {unlisted[0]!r}, which its manifest does not "
                                      "list; something was added after saving, so it is refused")
    missing = sorted(set(listed) - names)
    if missing:
        raise ArtifactError("corrupt", f"{where}: the entry {missing[0]!r} the manifest lists is missing; the file "
                                       "is corrupted, save the model again")


def check_entries(manifest: dict[str, Any], digests: Mapping[str, tuple[int, str]], where: str) -> None:
    """Every entry has the size and hash listed, and every engine is the entry its record names."""
    check_listing(manifest, set(digests), where)
    listed = manifest["entries"]
    for name, (size, sha) in sorted(digests.items()):
        expected = listed[name]
        if (size, sha) != (expected["bytes"], expected["sha256"]):
            raise ArtifactError("corrupt", f"{where}: the entry {name!r} does not match the hash recorded when it "
                                           "was saved (its weights, engine or program were changed); save the model "
                                           "again")
    for engine in manifest["engines"]:
        stored = listed.get(engine["entry"])
        if stored is None or (stored["bytes"], stored["sha256"]) != (engine["bytes"], engine["sha256"]):
            raise ArtifactError("corrupt", f"{where}: the engine of segment {engine['segment']!r} is not the entry "
                                           f"{engine['entry']!r} the manifest names; save the model again")


def check_manifest(manifest: dict[str, Any], *, check_device: bool = True, where: str = "artifact") -> None:
    """Refuse an artifact this process cannot use: engines from another TensorRT release or for another GPU. Uses
    the recorded metadata only."""
    here_trt, here_target = current_tensorrt(), current_target()
    for engine in manifest["engines"]:
        try:
            check_engine_compatible(engine, here_tensorrt=here_trt, here_target=here_target,
                                    check_device=check_device)
        except ArtifactError as e:
            raise ArtifactError(e.kind, f"{where} (segment {engine['segment']!r}): {e}") from None


def check_library_ops(manifest: dict[str, Any], where: str) -> None:
    """Refuse, before PyTorch reads the program, one calling a custom op no library loaded here registers (PyTorch
    would fail deep inside its deserialiser); the message names the op and what to import."""
    for op, module in manifest["library_ops"].items():
        if library_overload(op) is not None:
            continue
        name = qualified_name(op)
        if module is not None:
            todo = f"load {module} (import {module}) before loading this program"
        else:
            todo = (f"import the library that registers the namespace {op.split('.')[0]!r} with torch (a "
                    "torch.library.custom_op definition, a C++ extension) before loading this program")
        raise ArtifactError("library", f"{where}: the program calls the custom op {name}, which no library loaded "
                                       f"in this process registers; {todo}")
