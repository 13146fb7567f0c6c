"""The disk cache of checked rule libraries: loading the shipped rules from cache skips parsing, checking and the
analyses (and building the parser at all).

The key covers the rule sources and the engine's own code (every module of this package and the grammar), so an
edit to either misses the cache. The op catalogues are checked on the way out instead of hashed in: the entry
records the signature of every op its rules mention and every enum's members, and a hit whose registry disagrees is
treated as a miss.

An entry is plain data (:mod:`trt_passes.dsl.libcodec`, JSON; never pickle), sealed like every cache entry
(:mod:`trt_passes.dsl.cache`): a library names ``extern`` functions that loading imports, so an entry nobody but
this user's processes could have written is the only kind read.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from trt_passes.dsl import cache
from trt_passes.dsl.externs import declare
from trt_passes.dsl.libcodec import LibraryCodecError, decode_library, encode_library
from trt_passes.dsl.rules import RuleLibrary
from trt_passes.ir.ops import OpRegistry

FORMAT = "2"  # 2: plain data (libcodec), no longer pickle


@functools.lru_cache(maxsize=1)
def _engine_fingerprint() -> str:
    pkg = resources.files("trt_passes.dsl")
    parts = []
    for entry in sorted(_walk(pkg), key=lambda e: str(e)):
        parts.append(str(entry).rsplit("dsl", 1)[-1])
        parts.append(entry.read_bytes())
    return cache.content_key(*parts)


def _walk(folder: Any) -> list[Any]:
    out = []
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != "__pycache__":
            out.extend(_walk(entry))
        elif entry.name.endswith((".py", ".lark")):
            out.append(entry)
    return out


def library_key(sources: dict[str, str]) -> str:
    parts: list[str | bytes] = [FORMAT, _engine_fingerprint()]
    for file, text in sources.items():
        parts += [file, text]
    return cache.content_key(*parts)


def _catalogue(library: RuleLibrary, ops: OpRegistry) -> dict[str, Any]:
    mentioned: set[str] = set()
    for r in library.all_rules():
        mentioned.update(r.normal.mentions, r.normal.emits)
    return {"ops": {op: ops.schema(op).signature() for op in sorted(mentioned) if ops.has(op)},
            "enums": {name: tuple(e.__members__) for name, e in sorted(ops.enums().items())}}


def store(key: str, library: RuleLibrary, ops: OpRegistry) -> None:
    try:
        blob = encode_library(library, _catalogue(library, ops))
    except LibraryCodecError:
        return  # a library holding something that is not plain data (e.g. a test's dialect) is simply not cached
    cache.write("libraries", key, ".json", blob)


def fetch(key: str, ops: OpRegistry) -> RuleLibrary | None:
    blob = cache.read("libraries", key, ".json")
    if blob is None:
        return None
    try:
        library, catalogue = decode_library(blob, ops)
    except LibraryCodecError:  # written by another version of the engine: a miss, never an error
        return None
    try:
        same = all(ops.has(op) and ops.schema(op).signature() == sig for op, sig in catalogue["ops"].items()) \
            and {n: tuple(e.__members__) for n, e in sorted(ops.enums().items())} == catalogue["enums"]
    except Exception:
        return None
    if not same:
        return None
    if declare(list(library.externs)):  # a cached library's externs are imported again; any problem is a miss
        return None
    return library
