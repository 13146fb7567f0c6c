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

Each archive carries a manifest, the extra file ``trt_passes.json``::

    {"trt_passes_format": 1, "trt_passes_version": "0.1.0", "output_format": "exported_program" | "torchscript",
     "torch_version": "...", "tensorrt": {"module": "tensorrt_rtx", "version": "1.7.1.116"} | null,
     "engines": [{"segment": "trt_0", "bytes": int, "sha256": hex, "target": {"gpu", "compute_capability"},
                  "tensorrt_module": ..., "tensorrt_version": ...}],
     "reference_weights": bool}   # false: saved with reference_weights=False (engines only)

:func:`load` reads the manifest with :mod:`zipfile` first (no PyTorch deserialisation, no pickle), checks every
member's CRC, the format version, the TensorRT release and the engines' target GPU from the recorded metadata alone
(no GPU needed), and raises :class:`ArtifactError` saying what is wrong and what to do. ``torch.jit.load`` never
unpickles arbitrary objects; ``torch.export.load`` does for some payloads (pickled weights/constants, sample inputs
that ``weights_only`` loading rejects), so :func:`load` refuses an exported-program archive holding any of those
(``save`` never writes them) before calling it.

:class:`ArtifactError` ``.kind``: ``"corrupt"`` (truncated, bad checksum, unreadable), ``"format"`` (not a
trt_passes artifact, or a newer format), ``"unsafe"`` (would unpickle), ``"tensorrt_version"`` (engines from another
TensorRT release), ``"device"`` (engines built for another GPU).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.fx

from trt_passes import __version__
from trt_passes.backend.engine_op import engine_op_program, parse_meta, script_program, segment_calls
from trt_passes.backend.engine_record import ArtifactError, check_engine_compatible, current_target, current_tensorrt
from trt_passes.frontends.calling import PyTreeProgram, registered_program, structured_outputs
from trt_passes.frontends.dynamo import export_dynamic_shapes
from trt_passes.inputs import dynamic_dims, example_inputs

FORMAT_VERSION = 1
MANIFEST = "trt_passes.json"
OUTPUT_FORMATS = ("exported_program", "torchscript")


# ---- save ----------------------------------------------------------------------------------------------------------
def save(compiled: Any, path: str | os.PathLike[str], output_format: str = "exported_program",
         inputs: Sequence[Any] | None = None, *, reference_weights: bool = True) -> Path:
    """Save a model returned by :func:`trt_passes.compile` (``ir`` ``"dynamo"``, ``"fx"`` or ``"torchscript"``).

    ``inputs`` (example tensors or :class:`trt_passes.Input` specs) are required for ``"exported_program"``. The file
    is written to a temporary name and moved into place, so ``path`` is never left half-written.
    ``reference_weights=False`` leaves out the segments' weights (the engines hold their own copy; roughly halves the
    file): the loaded model then runs only where TensorRT can run its engines, never on the reference runtime."""
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {', '.join(OUTPUT_FORMATS)}; got {output_format!r}")
    program, structure = _program_of(compiled)
    op_program = engine_op_program(program, reference_weights)
    manifest = _manifest(op_program, output_format)
    extra = {MANIFEST: json.dumps(manifest, indent=1)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if output_format == "exported_program":
            if inputs is None:
                raise ValueError("save(..., output_format='exported_program') needs inputs=[...] to export with")
            module = _plain_io(op_program, structure)
            # Dynamic Inputs (min/opt/max) stay dynamic in the saved program: it runs any shape in their range.
            ep = torch.export.export(module, tuple(example_inputs(inputs)),
                                     dynamic_shapes=export_dynamic_shapes(dynamic_dims(inputs)))
            with open(tmp, "wb") as f:  # a file object: torch.export.save wants a .pt2 name otherwise
                torch.export.save(ep, f, extra_files=extra)
        else:
            script = script_program(_plain_io(op_program, structure))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # the torchscript format was asked for
                torch.jit.save(script, tmp, _extra_files=extra)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


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


def _manifest(op_program: torch.fx.GraphModule, output_format: str) -> dict[str, Any]:
    engines = []
    tensorrt = None
    for node in segment_calls(op_program):
        data = parse_meta(node.args[3])
        record = data["engine"]
        if record is None:
            continue
        tensorrt = {"module": record["tensorrt_module"], "version": record["tensorrt_version"]}
        engines.append({"segment": data["name"], "bytes": record["bytes"], "sha256": record["sha256"],
                        "target": record["target"], "tensorrt_module": record["tensorrt_module"],
                        "tensorrt_version": record["tensorrt_version"]})
    return {"trt_passes_format": FORMAT_VERSION, "trt_passes_version": __version__, "output_format": output_format,
            "torch_version": torch.__version__, "tensorrt": tensorrt, "engines": engines,
            "reference_weights": all(parse_meta(n.args[3]).get("reference_weights", True)
                                     for n in segment_calls(op_program))}


# ---- load ----------------------------------------------------------------------------------------------------------
def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The archive's manifest, after checking every member's CRC; :class:`ArtifactError` if the file is damaged or
    not a trt_passes artifact."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            if bad is not None:
                raise ArtifactError("corrupt", f"{path}: the archive member {bad!r} fails its checksum: the file is "
                                               "corrupted. Save the model again (or copy the file again).")
            names = [n for n in z.namelist() if n.endswith(f"/extra/{MANIFEST}") or n == f"extra/{MANIFEST}"]
            if not names:
                raise ArtifactError("format", f"{path}: not a trt_passes artifact (no {MANIFEST} inside); "
                                              "save it with trt_passes.save")
            text = z.read(names[0]).decode("utf-8")
            _refuse_pickles(z, path)
    except ArtifactError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError) as e:
        raise ArtifactError("corrupt", f"{path}: the file is truncated or corrupted ({type(e).__name__}: {e}); save "
                                       "the model again (or copy the file again)") from e
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as e:
        raise ArtifactError("corrupt", f"{path}: the {MANIFEST} manifest is not valid JSON ({e}); the file is "
                                       "corrupted, save the model again") from e
    if not isinstance(manifest, dict) or "trt_passes_format" not in manifest:
        raise ArtifactError("format", f"{path}: {MANIFEST} is not a trt_passes manifest")
    return manifest


def _refuse_pickles(z: zipfile.ZipFile, path: Path) -> None:
    """Refuse a ``torch.export`` archive that would make ``torch.export.load`` unpickle.

    ``torch.export.load`` unpickles (``weights_only=False``) weights or constants marked ``use_pickle``, legacy
    ``.pt`` weight files, custom/opaque object constants, and sample inputs that ``weights_only`` loading rejects.
    :func:`save` never writes any of these, so their presence means the file was not written by trt_passes (or was
    tampered with). Sample inputs are checked by loading them here with ``weights_only=True``: when that succeeds,
    ``torch.export.load``'s own first (``weights_only=True``) attempt succeeds too and it never falls back."""
    def unsafe(what: str) -> ArtifactError:
        return ArtifactError("unsafe", f"{path}: {what}; loading it would unpickle arbitrary objects, so it is refused "
                                       "(trt_passes.save never writes this: save the model again with trt_passes)")

    for name in z.namelist():
        parts = name.split("/")
        if any(p in ("aotinductor", "executorch", "mtia") for p in parts):
            raise unsafe(f"the archive holds {name!r} (compiled code)")
        if "weights" in parts or "constants" in parts:
            if name.endswith("config.json"):
                config = json.loads(z.read(name)).get("config", {})
                for fqn, entry in config.items():
                    if entry.get("use_pickle") or not str(entry.get("path_name", "")).startswith(
                            ("weight_", "tensor_")):
                        raise unsafe(f"{fqn!r} in {name!r} is stored as a pickled object")
            elif name.endswith(".pt"):
                raise unsafe(f"{name!r} is a pickled (legacy) payload")
        elif "sample_inputs" in parts and not name.endswith("/"):
            try:
                torch.load(io.BytesIO(z.read(name)), weights_only=True)
            except Exception as e:  # weights_only refusals are UnpicklingError, RuntimeError, ...
                raise unsafe(f"the sample inputs {name!r} are not plain tensors ({type(e).__name__})") from e


def check_manifest(manifest: dict[str, Any], *, check_device: bool = True, where: str = "artifact") -> None:
    """Refuse an artifact this process cannot use: a newer format, engines from another TensorRT release or for
    another GPU. Uses the recorded metadata only."""
    version = manifest.get("trt_passes_format")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ArtifactError("format", f"{where}: written in trt_passes format {version!r}, this trt_passes reads "
                                      f"format {FORMAT_VERSION} and older; upgrade trt_passes or recompile the model")
    here_trt, here_target = current_tensorrt(), current_target()
    for engine in manifest.get("engines", []):
        try:
            check_engine_compatible(engine, here_tensorrt=here_trt, here_target=here_target,
                                    check_device=check_device)
        except ArtifactError as e:
            raise ArtifactError(e.kind, f"{where} (segment {engine.get('segment')!r}): {e}") from None


def load(path: str | os.PathLike[str], *, check_device: bool = True) -> Any:
    """Load what :func:`save` wrote: the ``ExportedProgram``'s module (``"exported_program"``) or the
    ``ScriptModule`` (``"torchscript"``). Raises :class:`ArtifactError` for damaged or incompatible files."""
    manifest = read_manifest(path)
    check_manifest(manifest, check_device=check_device, where=str(path))
    fmt = manifest.get("output_format")
    try:
        if fmt == "exported_program":
            with open(path, "rb") as f:
                ep = torch.export.load(f)
            module = ep.module()
        elif fmt == "torchscript":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                module = torch.jit.load(str(path), map_location="cpu")
        else:
            raise ArtifactError("format", f"{path}: unknown output_format {fmt!r} in the manifest")
    except ArtifactError:
        raise
    except Exception as e:  # torch reports damage with many exception types; all mean the same here
        raise ArtifactError("corrupt", f"{path}: PyTorch could not read the {fmt} archive ({type(e).__name__}: "
                                       f"{e}); the file is corrupted, or needs a library this process has not "
                                       "imported (see the error above); save the model again") from e
    return module


__all__ = ["FORMAT_VERSION", "OUTPUT_FORMATS", "ArtifactError", "check_manifest", "load", "read_manifest", "save"]
