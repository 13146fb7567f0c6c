"""The library codec: a checked library survives plain data (JSON) and back field for field, shared objects stay
shared, and decoding refuses what is not a library it wrote instead of building anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import trt_passes.spec
from tests.dsl.conftest import OPS, load
from tests.robustness.markers import pickle_payload
from trt_passes.dsl import load_rules
from trt_passes.dsl.libcodec import ALLOWED, LibraryCodecError, decode_library, encode_library

SPEC = Path(trt_passes.spec.__file__).parent


@pytest.fixture(scope="module")
def shipped():
    return load_rules([SPEC / "lower", SPEC / "convert"], OPS)


def _fields(obj):
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__ if name != "caches"}


def test_the_shipped_library_comes_back_field_for_field(shipped) -> None:
    catalogue = {"ops": {"aten.relu.default": "sig"}, "enums": {"ActivationType": ("RELU",)}}
    library, back = decode_library(encode_library(shipped, catalogue), OPS)
    assert back == catalogue and list(library.rulesets) == list(shipped.rulesets)
    assert library.warnings == shipped.warnings and library.externs == shipped.externs
    for name, rs in shipped.rulesets.items():
        got = library.rulesets[name]
        assert (got.name, got.kind, len(got.rules)) == (rs.name, rs.kind, len(rs.rules))
        for a, b in zip(rs.rules, got.rules):
            # dataclass equality skips spans and other compare=False fields: compare every field explicitly
            assert _fields(a) == _fields(b), a.name
            assert a.normal.capture_sites == b.normal.capture_sites and a.span == b.span
        assert got.caches is not rs.caches and got.caches.by_root is None  # per-process state starts empty


def test_shared_objects_stay_shared() -> None:
    lib = load('ruleset r : lowering\nrule a aten.relu.default(x) where rank(x) == 2 => x untested "t"\n')
    rule = lib.rule("a")
    assert rule.normal.guard[0].expr is rule.guard
    back, _ = decode_library(encode_library(lib, {}), OPS)
    copy = back.rule("a")
    assert copy.normal.guard[0].expr is copy.guard and copy.guard == rule.guard


def _gather_rule():
    return load('ruleset c : converter\nrule a aten.gather.default(x, 1, i) => trt.gather(x, i, axis=1) '
                'untested "t"\n')


def test_enum_members_come_back_as_the_registrys_own() -> None:
    lib = _gather_rule()
    (mode,) = [s.default for s in lib.rule("a").normal.result.specs if s.name == "mode"]
    back, _ = decode_library(encode_library(lib, {}), OPS)
    (got,) = [s.default for s in back.rule("a").normal.result.specs if s.name == "mode"]
    assert got is mode and got is OPS.enums()[type(mode).__name__][mode.name]


def _encoded(lib=None) -> dict:
    lib = lib or load('ruleset r : lowering\nrule a aten.neg.default(aten.neg.default(x)) => x untested "t"\n')
    return json.loads(encode_library(lib, {}))


def _refused(data: dict | bytes, match: str) -> None:
    blob = data if isinstance(data, bytes) else json.dumps(data).encode()
    with pytest.raises(LibraryCodecError, match=match):
        decode_library(blob, OPS)


def test_a_pickle_is_not_a_library(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    _refused(pickle_payload(marker), "malformed")
    assert not marker.exists()


def test_a_class_outside_the_allow_list_is_refused() -> None:
    data = _encoded()
    data["classes"][0]["class"] = "subprocess:Popen"
    _refused(data, "not one a rule library holds")


def test_a_class_whose_fields_changed_is_refused() -> None:
    data = _encoded()
    data["classes"][0]["fields"][0][0] = "renamed"
    _refused(data, "stored with fields")


def test_a_negative_reference_is_refused() -> None:
    data = _encoded()
    for entry in data["classes"]:
        for field in entry["fields"]:
            if field[1] == "r" and field[2]:
                field[2][0] = -1
                _refused(data, "negative")
                return
    raise AssertionError("no reference column")


def test_a_reference_to_an_object_not_built_yet_is_refused() -> None:
    data = _encoded()
    data["containers"][0] = [-1, [10**6]]
    _refused(data, "malformed")


def test_an_unknown_enum_member_is_refused() -> None:
    data = _encoded(_gather_rule())
    enum = next(c for c in data["containers"] if c[0] == -5)
    enum[2] = "NOT_A_MEMBER"
    _refused(data, "unknown enum member")


def test_another_codec_version_is_refused() -> None:
    data = _encoded()
    data["codec"] = 0
    _refused(data, "codec version")


def test_the_allow_list_holds_only_the_dsls_data_classes() -> None:
    assert {name.split(":")[0] for name in ALLOWED} == {
        "trt_passes.dsl.ast", "trt_passes.dsl.normal_form", "trt_passes.dsl.rules", "trt_passes.dsl.diagnostics",
        "trt_passes.ir.ops"}
