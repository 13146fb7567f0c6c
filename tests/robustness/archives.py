"""Making damaged and forged copies of a saved program: rewrite, add or duplicate zip entries, optionally updating
the manifest's hashes as a forger who knows the format would."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

MANIFEST_SUFFIX = "/extra/trt_passes.json"

Edit = Callable[[bytes], bytes]


def entries(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def name_ending(path: Path, suffix: str) -> str:
    (name,) = [n for n, _ in entries(path) if n.endswith(suffix)]
    return name


def write(path: Path, items: list[tuple[str, bytes]]) -> None:
    """A plain zip of ``items`` in order (duplicates allowed: zipfile warns and writes them)."""
    path.unlink(missing_ok=True)
    with zipfile.ZipFile(path, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": wanted here
        for name, data in items:
            z.writestr(name, data)


def forged(src: Path, dst: Path, *, edit: dict[str, Edit] | None = None, add: list[tuple[str, bytes]] | None = None,
           manifest: Callable[[dict], dict] | None = None, consistent: bool = True) -> Path:
    """A copy of ``src`` with entries edited (by name suffix) and added; ``consistent``: the manifest lists the new
    sizes and hashes (a forger's copy), else it keeps the original ones (damage, or a careless forger)."""
    shutil.copy(src, dst)
    items = entries(src)
    out = []
    for name, data in items:
        for suffix, fn in (edit or {}).items():
            if name.endswith(suffix):
                data = fn(data)
        out.append((name, data))
    out += add or []
    if consistent or manifest is not None:
        at = next(i for i, (n, _) in enumerate(out) if n.endswith(MANIFEST_SUFFIX))
        data = json.loads(out[at][1])
        if consistent:
            data["entries"] = {n: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                               for n, d in out if not n.endswith(MANIFEST_SUFFIX)}
        if manifest is not None:
            data = manifest(data)
        out[at] = (out[at][0], json.dumps(data).encode())
    write(dst, out)
    return dst


def duplicated(src: Path, dst: Path, suffix: str, payload: bytes) -> Path:
    """A copy of ``src`` with a second entry of the name ending in ``suffix``, holding ``payload`` (after the
    original, so zipfile reads the payload; and before it, so it reads the original)."""
    items = entries(src)
    name = name_ending(src, suffix)
    at = next(i for i, (n, _) in enumerate(items) if n == name)
    write(dst, [*items[:at], (name, payload), *items[at:]])
    return dst
