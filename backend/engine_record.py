"""What an engine was built with and for, and whether it can be used in this process, from that record alone (no GPU
and no deserialisation needed): the ``engine`` entry of a segment's ``execute_engine`` meta, and what saving and
loading check (:mod:`trt_passes.serialize`).

A record::

    {"tensorrt_module": "tensorrt_rtx", "tensorrt_version": "1.7.1.116",
     "target": {"gpu": name | null, "compute_capability": [major, minor] | null},
     "sha256": hex of the engine bytes, "bytes": int}

``target.compute_capability`` null means the engine was built ahead of time without a GPU (TensorRT for RTX) and is
meant for any GPU that TensorRT module supports.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

import torch

from trt_passes.backend import gpu
from trt_passes.backend.tensorrt_import import find_tensorrt


class ArtifactError(RuntimeError):
    """A saved or serialised engine cannot be used here. ``kind`` is one of ``"corrupt"``, ``"format"``,
    ``"unsafe"``, ``"tensorrt_version"``, ``"device"``, ``"library"`` (a saved program's custom op is not
    registered); the message says what to do."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def current_target() -> dict[str, Any]:
    """The GPU engines built in this process are for (``compute_capability`` None: no GPU here)."""
    cuda = gpu.GPU
    if cuda.available():
        index = cuda.current_index()
        return {"gpu": cuda.name(index), "compute_capability": list(cuda.capability(index))}
    return {"gpu": None, "compute_capability": None}


def current_tensorrt() -> tuple[str, str] | None:
    """``(module, version)`` of the TensorRT this process would use, or None when none imports."""
    try:
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


_HEX = re.compile(r"[0-9a-f]{64}\Z")


def valid_record(record: Any) -> bool:
    """Whether ``record`` has the fields and types of an engine record (see the module docstring)."""
    if not (isinstance(record, dict) and set(record) == {"tensorrt_module", "tensorrt_version", "target", "sha256",
                                                          "bytes"}):
        return False
    target = record["target"]
    cc = target.get("compute_capability") if isinstance(target, dict) else None
    return (type(record["tensorrt_module"]) is str and type(record["tensorrt_version"]) is str
            and type(record["sha256"]) is str and _HEX.match(record["sha256"]) is not None
            and type(record["bytes"]) is int and record["bytes"] >= 0
            and isinstance(target, dict) and set(target) == {"gpu", "compute_capability"}
            and (target["gpu"] is None or type(target["gpu"]) is str)
            and (cc is None or (isinstance(cc, list) and len(cc) == 2 and all(type(x) is int for x in cc))))


def tensors_digest(tensors: Sequence[torch.Tensor]) -> str:
    """SHA-256 over the dtype, shape and bytes of each tensor in order (wherever they live): a segment's weights."""
    h = hashlib.sha256()
    for t in tensors:
        flat = t.detach().to("cpu").contiguous().reshape(-1)
        h.update(f"{t.dtype}{list(t.shape)};".encode())
        if flat.numel():
            h.update(flat.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


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
