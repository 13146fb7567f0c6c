"""A checked rule library as plain data (JSON) and back, without pickle: what the disk cache stores.

A library is a graph of frozen dataclasses (the syntax tree, the normal forms, the rules) with plain values at the
leaves; the normal forms share expressions and spans with the tree. Every object is numbered and stored once, so
shared objects stay shared, in a layout that decodes in a few C-level passes instead of one Python step per object
(a library has ~40k objects; see benchmarks/dsl_bench.py, "load cached")::

    {"codec": 1,
     "classes": [{"class": "trt_passes.dsl.ast:Span", "count": 13808,
                  "fields": [["file", "i", [...]], ["line", "s", [...]], ...]}, ...],
     "containers": [[TAG, item, ...], ...],
     "strings": [...],
     "root": i}

Objects are numbered class by class (``count`` objects of the first class, then the next), then the containers in
order. A field's column holds one value per object of its class and is ``"s"`` (plain values: null, bools, numbers,
strings), ``"i"`` (strings, as indices into ``strings``: a span's file name is one string, not 14k), ``"r"``
(object numbers) or ``"m"`` (mixed: plain values, and ``[i]`` for object ``i``). A container is a
tuple, list, frozenset, dict (keys and values alternating) or enum member (``[ENUM, "ActivationType", "RELU"]``,
resolved among the op registry's own enums); its items are plain values or ``[i]``, and it refers only to objects of
the classes and to containers before it. Frozenset items and dict keys are plain values or enum members.

Decoding builds only the classes of :data:`ALLOWED` (the dsl's syntax tree, normal form and rules, and the op
catalogue's ``ArgSpec``), and only when the recorded fields are exactly the class's current ones; it never imports
or calls anything the data names, and anything malformed is a :class:`LibraryCodecError`. Objects are built as
pickle builds them (``__new__``, then their ``__dict__``, no ``__init__``), so the decoded library is field for field
the one that was encoded.
"""

from __future__ import annotations

import collections
import dataclasses
import gc
import itertools
import json
from enum import Enum
from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl import diagnostics, normal_form, rules
from trt_passes.ir import ops as ir_ops
from trt_passes.ir.ops import OpRegistry

CODEC_VERSION = 1

TUPLE, LIST, FROZENSET, DICT, ENUM = -1, -2, -3, -4, -5
_PLAIN = (type(None), bool, int, float, str)
_PLAIN_TYPES = frozenset(_PLAIN)
_REF_OR_PLAIN = _PLAIN_TYPES | {list}


class LibraryCodecError(ValueError):
    """The data is not a library this codec wrote (or was written by another version of the rule engine)."""


def _dataclasses_of(*modules: Any) -> dict[str, type]:
    return {f"{m.__name__}:{obj.__qualname__}": obj for m in modules for obj in vars(m).values()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == m.__name__}


#: The classes a library may hold, by ``module:qualname``.
ALLOWED: dict[str, type] = _dataclasses_of(A, normal_form, rules, diagnostics, ir_ops)


def _stored_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def _fresh_fields(cls: type) -> tuple[tuple[str, Any], ...]:
    """Fields not stored (``init=False``: per-process state such as a rule set's caches) and their factories."""
    return tuple((f.name, f.default_factory) for f in dataclasses.fields(cls)
                 if not f.init and f.default_factory is not dataclasses.MISSING)


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# ---- encoding ------------------------------------------------------------------------------------------------------
class _Encoder:
    """Numbers every object reachable from the root: dataclass instances by class, then containers in post-order."""

    def __init__(self) -> None:
        self.instances: dict[type, list[Any]] = {}
        self.containers: list[Any] = []
        self.seen: dict[int, Any] = {}  # id -> object (kept alive, so ids stay unique)

    def visit(self, v: Any) -> None:
        if type(v) in _PLAIN or id(v) in self.seen:
            return
        self.seen[id(v)] = v
        cls = type(v)
        if cls in (tuple, list, frozenset):
            for x in v:
                self.visit(x)
            if cls is frozenset and not all(type(x) in _PLAIN or isinstance(x, Enum) for x in v):
                raise LibraryCodecError("a frozenset holds something other than plain values")
            self.containers.append(v)
        elif cls is dict:
            for k, x in v.items():
                if not (type(k) in _PLAIN or isinstance(k, Enum)):
                    raise LibraryCodecError(f"a dict key is a {type(k).__name__}, not a plain value")
                self.visit(k)
                self.visit(x)
            self.containers.append(v)
        elif isinstance(v, Enum):
            self.containers.append(v)
        elif _name(cls) in ALLOWED:
            self.instances.setdefault(cls, []).append(v)
            for name in _stored_fields(cls):
                self.visit(getattr(v, name))
        else:
            raise LibraryCodecError(f"cannot encode a {cls.__module__}.{cls.__qualname__} (not plain data)")

    def encode(self, root: Any) -> dict[str, Any]:
        self.visit(root)
        number: dict[int, int] = {}
        for objs in self.instances.values():
            for obj in objs:
                number[id(obj)] = len(number)
        for obj in self.containers:
            number[id(obj)] = len(number)

        def value(v: Any) -> Any:
            return v if type(v) in _PLAIN else [number[id(v)]]

        strings: dict[str, int] = {}
        classes = []
        for cls, objs in self.instances.items():
            fields = []
            for name in _stored_fields(cls):
                column = [getattr(o, name) for o in objs]
                if all(type(v) is str for v in column) and len(set(column)) * 2 < len(column):
                    fields.append([name, "i", [strings.setdefault(v, len(strings)) for v in column]])
                elif all(type(v) in _PLAIN for v in column):
                    fields.append([name, "s", column])
                elif not any(type(v) in _PLAIN for v in column):
                    fields.append([name, "r", [number[id(v)] for v in column]])
                else:
                    fields.append([name, "m", [value(v) for v in column]])
            classes.append({"class": _name(cls), "count": len(objs), "fields": fields})
        containers: list[list[Any]] = []
        for v in self.containers:
            if isinstance(v, Enum):
                containers.append([ENUM, type(v).__name__, v.name])
            elif type(v) is dict:
                containers.append([DICT, *(value(x) for kv in v.items() for x in kv)])
            else:
                tag = {tuple: TUPLE, list: LIST, frozenset: FROZENSET}[type(v)]
                items = sorted(v, key=repr) if type(v) is frozenset else v
                containers.append([tag, *(value(x) for x in items)])
        return {"codec": CODEC_VERSION, "classes": classes, "containers": containers, "strings": list(strings),
                "root": number[id(root)]}


def encode_library(library: rules.RuleLibrary, catalogue: Any) -> bytes:
    """``(library, catalogue)`` as UTF-8 JSON (the catalogue: plain data the cache checks the registry against)."""
    data = _Encoder().encode((library, catalogue))
    return json.dumps(data, separators=(",", ":"), allow_nan=True).encode("utf-8")


# ---- decoding ------------------------------------------------------------------------------------------------------
def decode_library(blob: bytes, ops: OpRegistry) -> tuple[rules.RuleLibrary, Any]:
    """``(library, catalogue)`` from :func:`encode_library`'s bytes; :class:`LibraryCodecError` for anything else."""
    # ~40k acyclic objects are built: the cyclic collector would walk every live object (torch's too) several times
    # meanwhile, which costs more than the decoding itself.
    enabled = gc.isenabled()
    gc.disable()
    try:
        root = _decode(blob, ops)
    finally:
        if enabled:
            gc.enable()
    if not (type(root) is tuple and len(root) == 2 and isinstance(root[0], rules.RuleLibrary)):
        raise LibraryCodecError("the root is not a (library, catalogue) pair")
    return root


def _decode(blob: bytes, ops: OpRegistry) -> Any:
    try:
        data = json.loads(blob)
        if type(data) is not dict or data.get("codec") != CODEC_VERSION:
            raise LibraryCodecError("not a rule library of this codec version")
        return _Decoder(data["classes"], data["containers"], data["strings"], ops.enums()).root(data["root"])
    except LibraryCodecError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise LibraryCodecError(f"malformed library data ({type(e).__name__}: {e})") from e


class _Decoder:
    def __init__(self, classes: list[Any], containers: list[Any], strings: list[Any],
                 enums: dict[str, type[Enum]]) -> None:
        self.enums = enums
        if type(strings) is not list or not set(map(type, strings)) <= {str}:
            raise LibraryCodecError("the string table holds something other than strings")
        self.strings = strings
        self.objs: list[Any] = []
        # 1. every dataclass instance, empty, so references to it resolve before its fields are filled in
        shells = []
        for entry in classes:
            cls = ALLOWED.get(entry["class"])
            if cls is None:
                raise LibraryCodecError(f"class {entry['class']!r} is not one a rule library holds")
            count = entry["count"]
            if type(count) is not int or count < 0:
                raise LibraryCodecError(f"bad count {count!r}")
            start = len(self.objs)
            self.objs.extend(map(object.__new__, itertools.repeat(cls, count)))
            shells.append((cls, entry["fields"], start, count))
        self.n_instances = len(self.objs)
        # 2. containers, each referring only to instances and to containers before it (a later one is not built
        # yet: IndexError)
        _check_refs([v for record in containers for v in record[1:] if type(v) is list])
        objs = self.objs
        append = objs.append
        for record in containers:
            if record[0] == TUPLE:  # most containers: one step each
                append(tuple([objs[v[0]] if type(v) is list else v for v in record[1:]]))
            else:
                append(self.container(record[0], record))
        # 3. the instances' fields, column by column
        for cls, fields, start, count in shells:
            self.fill(cls, fields, objs[start:start + count])

    def values(self, values: list[Any]) -> list[Any]:
        """Plain values as they are, ``[i]`` as object ``i`` (which must exist already)."""
        objs = self.objs
        _check_refs([v for v in values if type(v) is list])
        return [objs[v[0]] if type(v) is list else v for v in values]

    def container(self, tag: Any, record: list[Any]) -> Any:
        if tag == ENUM:
            _, enum, member = record
            cls = self.enums.get(enum)
            if cls is None or member not in cls.__members__:
                raise LibraryCodecError(f"unknown enum member {enum}.{member}")
            return cls[member]
        items = self.values(record[1:])
        if tag == LIST:
            return items
        hashed = items if tag == FROZENSET else items[::2]
        if not all(type(x) in _PLAIN or isinstance(x, Enum) for x in hashed):
            raise LibraryCodecError("a frozenset item or dict key is not a plain value")  # shells hash wrongly
        if tag == FROZENSET:
            return frozenset(items)
        if tag == DICT and len(items) % 2 == 0:
            return dict(zip(items[::2], items[1::2]))
        raise LibraryCodecError(f"bad container record {record[:2]!r}")

    def column(self, kind: str, values: list[Any], count: int) -> list[Any]:
        # The checks are one C-level pass each (set(map(...)), min): a library has ~130k field values.
        if type(values) is not list or len(values) != count:
            raise LibraryCodecError("a column does not have one value per object")
        if kind == "s":
            if not set(map(type, values)) <= _PLAIN_TYPES:
                raise LibraryCodecError("a plain column holds something else")
            return values
        if kind == "i":
            if values and min(values) < 0:
                raise LibraryCodecError("a string column holds a negative index")
            return list(map(self.strings.__getitem__, values))
        if kind == "r":
            if values and min(values) < 0:  # not an int: TypeError here or in __getitem__; too large: IndexError
                raise LibraryCodecError("a reference column holds a negative object number")
            return list(map(self.objs.__getitem__, values))
        if kind == "m":
            if not set(map(type, values)) <= _REF_OR_PLAIN:
                raise LibraryCodecError("a mixed column holds something else")
            return self.values(values)
        raise LibraryCodecError(f"bad column kind {kind!r}")

    def fill(self, cls: type, fields: list[Any], shells: list[Any]) -> None:
        names = tuple(name for name, _, _ in fields)
        if names != _stored_fields(cls):
            raise LibraryCodecError(f"{_name(cls)} was stored with fields {list(names)}, it now has "
                                    f"{list(_stored_fields(cls))}")
        # object.__setattr__, a field at a time: the classes are frozen dataclasses (pickle fills their __dict__ too)
        for name, kind, values in fields:
            column = self.column(kind, values, len(shells))
            collections.deque(map(object.__setattr__, shells, itertools.repeat(name), column), maxlen=0)
        for name, factory in _fresh_fields(cls):
            for shell in shells:
                object.__setattr__(shell, name, factory())

    def root(self, i: Any) -> Any:
        if type(i) is not int or not self.n_instances <= i < len(self.objs):
            raise LibraryCodecError(f"the root {i!r} is not a container")
        return self.objs[i]


def _check_refs(refs: list[Any]) -> None:
    """Every ``[i]`` names an object number (not a negative index: Python would count it from the end)."""
    if refs and not (set(map(len, refs)) == {1} and set(map(type, (i for i, in refs))) == {int}
                     and min(i for i, in refs) >= 0):
        raise LibraryCodecError("a reference is not [object number]")
