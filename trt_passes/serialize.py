"""Saving and loading compiled models: :func:`save` and :func:`load`.

Two formats, both ordinary PyTorch archives whose TensorRT segments are calls to the registered operator
``torch.ops.trt_passes.execute_engine`` (see :mod:`trt_passes.backend.engine_op`), so they run wherever
``import trt_passes`` has registered the op:

* ``"exported_program"``: a ``torch.export`` artifact (``torch.export.save``); ``torch.export.load(path).module()``
  runs it. Needs example ``inputs`` (the program is re-exported from the compiled model).
* ``"torchscript"``: a ``torch.jit.ScriptModule`` (``torch.jit.save``); ``torch.jit.load(path)`` runs it.

Both take the model's tensor inputs positionally and return the model's outputs as tensors, tuples, lists or dicts;
other output classes (e.g. ``transformers``' ``ModelOutput``) come back as the flat tuple of their tensors, so that
loading never needs the model's own libraries.

Each archive carries a manifest, the entry ``extra/trt_passes.json`` (:mod:`trt_passes.manifest`): the format,
the versions of trt_passes, torch and TensorRT, each engine's record, and the size and SHA-256 of every other
entry. :func:`load` checks the file before any PyTorch code reads it, from one open file handle (renaming another
file into place meanwhile changes nothing):

1. the zip container is unambiguous (:mod:`trt_passes.archive`: no duplicate names, no bytes outside the entries);
2. the manifest is there, in this format, and every field has its type;
3. every entry is listed in the manifest, and nothing that would make ``torch.export.load`` unpickle is there
   (pickled weights or constants, legacy ``.pt`` payloads, sample inputs: :func:`save` writes none of these);
4. every entry has the size and hash recorded (this verifies each weight and engine), and each engine is the entry
   its record names;
5. the engines were built by this TensorRT release and for this GPU, from the recorded metadata alone;
6. every custom op the program calls (``torch.ops.mylib.scale``, torchvision's ``roi_align``; the manifest lists them)
   is registered in this process, so PyTorch can resolve it through ``torch.ops``.

It raises :class:`ArtifactError` saying what is wrong and what to do; ``.kind`` is ``"corrupt"`` (truncated, bad
checksum or hash, malformed manifest), ``"format"`` (not a trt_passes artifact, or another format version),
``"unsafe"`` (would unpickle, or was altered in a way meant to pass a check: duplicate names, unlisted entries),
``"tensorrt_version"`` (engines from another TensorRT release), ``"device"`` (engines built for another GPU),
``"library"`` (a custom op no library loaded here registers: the message names it and what to import).

These checks need the manifest, so only :func:`load` makes them. A bare ``torch.export.load`` or ``torch.jit.load``
(after ``import trt_passes``) reads the archive unchecked: PyTorch's own deserialisation decides what runs, and only
the ``execute_engine`` op's own checks apply when a segment first runs (its engine's hash and its weights' hash
against the segment's record, the TensorRT release and GPU the engine was built for). Load files you did not write
yourself with :func:`load`.
"""

from __future__ import annotations

import json
import os
import secrets
import struct
import types
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import torch
import torch.fx
import torch.utils._pytree as pytree

from trt_passes.archive import check_layout, entry_digests, read_entry
from trt_passes.backend.engine_op import engine_op_program, script_program
from trt_passes.backend.engine_record import ArtifactError
from trt_passes.frontends.calling import PyTreeProgram, registered_program, structured_outputs
from trt_passes.frontends.dynamo import export_dynamic_shapes
from trt_passes.inputs import Input, dynamic_dims, example_inputs
from trt_passes.manifest import (
    FORMAT_VERSION,
    MANIFEST,
    OUTPUT_FORMATS,
    build_manifest,
    check_entries,
    check_library_ops,
    check_listing,
    check_manifest,
    library_ops_of,
    validate_manifest,
)
from trt_passes.model_inputs import bind_inputs
from trt_passes.program_inputs import program_inputs

_MANIFEST_LIMIT = 64 << 20  # bytes; a manifest lists entries and engines, never tensors
_CONFIG_LIMIT = 64 << 20


# ---- save ----------------------------------------------------------------------------------------------------------
def save(compiled: Any, path: str | os.PathLike[str] | None = None, output_format: str = "exported_program",
         inputs: Sequence[Any] | None = None, *, file_path: str | os.PathLike[str] | None = None,
         arg_inputs: Any = None, kwarg_inputs: Mapping[str, Any] | None = None, retrace: bool = True,
         reference_weights: bool = True) -> Path:
    """Save a model returned by :func:`trt_passes.compile` (``ir`` ``"dynamo"``, ``"fx"`` or ``"torchscript"``) to
    ``path`` (or ``file_path``, Torch-TensorRT's name for it).

    ``"exported_program"`` re-exports the compiled program with ``torch.export``. With ``retrace=True`` (the
    default) and inputs given (``inputs``/``arg_inputs``/``kwarg_inputs``, as for :func:`trt_passes.compile`:
    tensors or :class:`trt_passes.Input` specs; dynamic ones keep their dims dynamic), it is exported with those,
    after checking they are the program's (count, dtype, rank); with ``retrace=False`` or no inputs, with the input
    shapes and dynamic ranges it was compiled for. ``"torchscript"`` scripts it and needs no inputs. The file is
    written to a temporary name and moved into place, so ``path`` is never left half-written.
    ``reference_weights=False`` leaves out the segments' weights (the engines hold their own copy; roughly halves the
    file): the loaded model then runs only where TensorRT can run its engines, never on the reference runtime."""
    path = _one_path(path, file_path, "save")
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {', '.join(OUTPUT_FORMATS)}; got {output_format!r}")
    if not isinstance(retrace, bool):
        raise TypeError(f"retrace must be True or False, got {retrace!r}")
    program, structure = _program_of(compiled)
    given = inputs is not None or arg_inputs is not None or kwarg_inputs is not None
    examples, dynamic_shapes = None, None
    if output_format == "exported_program":
        examples, dynamic_shapes = _export_inputs(program, retrace, given, inputs, arg_inputs, kwarg_inputs)
    op_program = engine_op_program(program, reference_weights)
    library_ops = library_ops_of(op_program)  # before scripting, which turns overloads into packets
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # Created with 0666 less the umask, as torch.save and open() create files (mkstemp would make it 0600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if output_format == "exported_program":
                module = _plain_io(op_program, structure)
                # Dynamic dims stay dynamic in the saved program: it runs any shape in their range.
                ep = torch.export.export(module, examples, dynamic_shapes=dynamic_shapes)
                ep.example_inputs = None  # torch.export would pickle them; loading then has nothing to unpickle
                torch.export.save(ep, f)
            else:
                script = script_program(_plain_io(op_program, structure))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # the torchscript format was asked for
                    torch.jit.save(script, f)
        _add_manifest(tmp, op_program, output_format, library_ops)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _one_path(path: str | os.PathLike[str] | None, file_path: str | os.PathLike[str] | None, verb: str) -> Path:
    """``path`` or ``file_path`` (Torch-TensorRT's name), given once."""
    if path is not None and file_path is not None:
        raise TypeError(f"{verb}: give the file once, as path or as file_path (Torch-TensorRT's name for it)")
    chosen = path if path is not None else file_path
    if chosen is None or (isinstance(chosen, str) and not chosen):
        raise ValueError(f"{verb} needs a file: {verb}(..., file_path='model.ep')")
    if not isinstance(chosen, (str, os.PathLike)):
        raise TypeError(f"{verb} takes a file path (str or pathlib.Path), not {type(chosen).__name__}")
    return Path(chosen)


def _export_inputs(program: torch.fx.GraphModule, retrace: bool, given: bool, inputs: Any, arg_inputs: Any,
                   kwarg_inputs: Mapping[str, Any] | None) -> tuple[tuple[torch.Tensor, ...], Any]:
    """Example tensors for the flat program and torch.export's ``dynamic_shapes`` for them (see :func:`save`)."""
    recorded = program_inputs(program)
    if retrace and given:
        call = bind_inputs(recorded.signature if recorded else None, inputs, arg_inputs, kwarg_inputs)
        leaves = [x for x in pytree.tree_leaves((call.args, call.kwargs), is_leaf=lambda x: isinstance(x, Input))
                  if isinstance(x, (torch.Tensor, Input))]
        examples = tuple(example_inputs(leaves))
        if recorded is not None:
            recorded.check(examples)
        return examples, export_dynamic_shapes(dynamic_dims(leaves))
    if recorded is None:
        raise ValueError("save(..., output_format='exported_program') needs inputs=[...] to export with: this "
                         "program carries no record of its inputs")
    if given:
        warnings.warn("save(retrace=False) exports the program for the inputs it was compiled with "
                      f"({recorded.describe()}); the inputs given are not used", UserWarning, stacklevel=3)
    return tuple(example_inputs(recorded.specs())), recorded.export_dynamic_shapes()


def _add_manifest(tmp: Path, op_program: torch.fx.GraphModule, output_format: str,
                  library_ops: dict[str, str | None]) -> None:
    """Append the manifest, with the size and hash of every entry PyTorch wrote, as the archive's last entry."""
    with open(tmp, "rb") as f, zipfile.ZipFile(f) as z:
        top = check_layout(z, f, str(tmp))
        digests = entry_digests(z, str(tmp), skip="")
    manifest = build_manifest(op_program, output_format, digests, library_ops)
    with zipfile.ZipFile(tmp, "a") as z:
        z.writestr(f"{top}/extra/{MANIFEST}", json.dumps(manifest, indent=1))


def _program_of(compiled: Any) -> tuple[torch.fx.GraphModule, dict[str, Any] | None]:
    registered = registered_program(compiled)
    if registered is not None:
        return registered
    if isinstance(compiled, PyTreeProgram):
        return compiled.program, compiled.structure()
    if isinstance(compiled, torch.fx.GraphModule):
        return compiled, None
    raise TypeError(f"cannot save a {type(compiled).__name__}: save() takes what trt_passes.compile returned with "
                    "ir='dynamo', 'fx' or 'torchscript' (a torch.compile callable has nothing to save; compile with "
                    "ir='dynamo' instead)")


def _plain_io(op_program: torch.fx.GraphModule, structure: dict[str, Any] | None) -> torch.fx.GraphModule:
    """The op program, in place, returning the model's output structure when it is plain data (tensors, tuples,
    lists, dicts with str keys), else the flat tuple of output tensors. Other output classes (``ModelOutput``) would
    make the artifact need their library to load, so both formats leave them out."""
    if structure is not None:
        structured_outputs(op_program, structure)
    return op_program


# ---- load ----------------------------------------------------------------------------------------------------------
def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The archive's manifest, after every check :func:`load` makes before PyTorch reads the file (1-4 of the module
    docstring; not the TensorRT release or GPU); :class:`ArtifactError` otherwise."""
    with _open(path) as f:
        return _verified_manifest(f, str(path))


def _open(path: str | os.PathLike[str]) -> IO[bytes]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return open(path, "rb")


def _verified_manifest(f: IO[bytes], where: str) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(f) as z:
            top = check_layout(z, f, where)
            name = f"{top}/extra/{MANIFEST}"
            if name not in z.NameToInfo:
                raise ArtifactError("format", f"{where}: not a trt_passes artifact (no {MANIFEST} inside); save it "
                                              "with trt_passes.save")
            text = read_entry(z, name, where, _MANIFEST_LIMIT)
            try:
                data = json.loads(text)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise ArtifactError("corrupt", f"{where}: the {MANIFEST} manifest is not valid JSON ({e}); the file "
                                               "is corrupted, save the model again") from e
            manifest = validate_manifest(data, where)
            check_listing(manifest, set(z.NameToInfo) - {name}, where)
            if manifest["output_format"] == "exported_program":
                _refuse_pickles(z, where)
            check_entries(manifest, entry_digests(z, where, skip=name), where)
    except ArtifactError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError, NotImplementedError,
            RuntimeError, struct.error) as e:  # RuntimeError: e.g. an entry marked encrypted
        raise ArtifactError("corrupt", f"{where}: the file is truncated or corrupted ({type(e).__name__}: {e}); save "
                                       "the model again (or copy the file again)") from e
    return manifest


def _refuse_pickles(z: zipfile.ZipFile, where: str) -> None:
    """Refuse a ``torch.export`` archive that would make ``torch.export.load`` unpickle.

    ``torch.export.load`` unpickles (``weights_only=False``) weights or constants marked ``use_pickle``, legacy
    ``.pt`` weight files, custom/opaque object constants, and sample inputs that ``weights_only`` loading rejects.
    :func:`save` writes none of these (its sample inputs entry is empty), so their presence means the file was not
    written by trt_passes, or was tampered with, consistently enough to pass the hashes. Nothing is unpickled here."""
    def unsafe(what: str) -> ArtifactError:
        return ArtifactError("unsafe", f"{where}: {what}; loading it would unpickle arbitrary objects, so it is "
                                       "refused (trt_passes.save never writes this: save the model again)")

    for info in z.infolist():
        name = info.filename
        parts = name.split("/")
        if any(p in ("aotinductor", "executorch", "mtia") for p in parts):
            raise unsafe(f"the archive holds {name!r} (compiled code)")
        if "sample_inputs" in parts and info.file_size:
            raise unsafe(f"the sample inputs {name!r} are a pickle")
        if name.endswith(".pt") and "sample_inputs" not in parts:
            raise unsafe(f"{name!r} is a pickled (legacy) payload")
        if ("weights" in parts or "constants" in parts) and name.endswith("config.json"):
            try:
                config = json.loads(read_entry(z, name, where, _CONFIG_LIMIT))["config"]
                entries = list(config.items())
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise ArtifactError("corrupt", f"{where}: {name!r} is not a weights configuration; save the model "
                                               "again") from e
            for fqn, entry in entries:
                if not isinstance(entry, dict) or entry.get("use_pickle") is not False or not str(
                        entry.get("path_name", "")).startswith(("weight_", "tensor_")):
                    raise unsafe(f"{fqn!r} in {name!r} is stored as a pickled object")


def load(path: str | os.PathLike[str] | None = None, *, file_path: str | os.PathLike[str] | None = None,
         check_device: bool = True) -> Any:
    """Load what :func:`save` wrote to ``path`` (or ``file_path``, Torch-TensorRT's name): the
    ``ExportedProgram``'s module (``"exported_program"``; its ``.module()`` is itself, so Torch-TensorRT's
    ``load(...).module()`` works too) or the ``ScriptModule`` (``"torchscript"``), after the checks of the module
    docstring. Raises :class:`ArtifactError` for damaged, altered or incompatible files."""
    path = _one_path(path, file_path, "load")
    with _open(path) as f:
        manifest = _verified_manifest(f, str(path))
        check_manifest(manifest, check_device=check_device, where=str(path))
        check_library_ops(manifest, str(path))
        fmt = manifest["output_format"]
        f.seek(0)  # PyTorch reads the very bytes just checked
        try:
            if fmt == "exported_program":
                module = _module_of_itself(torch.export.load(f).module())
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)
                    module = torch.jit.load(f, map_location="cpu")
        except Exception as e:  # torch reports damage with many exception types; all mean the same here
            raise ArtifactError("corrupt", f"{path}: PyTorch could not read the {fmt} archive ({type(e).__name__}: "
                                           f"{e}); the file is corrupted, or needs a library this process has not "
                                           "imported (see the error above); save the model again") from e
    return module


def _itself(module: torch.nn.Module) -> torch.nn.Module:
    return module


def _module_of_itself(module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """``module`` with a ``.module()`` method returning it, as the ``ExportedProgram`` Torch-TensorRT's ``load``
    returns has. Set on the class every GraphModule instance has to itself (so copies keep it), else the instance."""
    cls = type(module)
    if cls is not torch.fx.GraphModule and cls.__qualname__.endswith("GraphModuleImpl"):
        cls.module = _itself  # type: ignore[attr-defined]
    else:
        object.__setattr__(module, "module", types.MethodType(_itself, module))
    return module


__all__ = ["FORMAT_VERSION", "OUTPUT_FORMATS", "ArtifactError", "check_manifest", "load", "read_manifest", "save"]
