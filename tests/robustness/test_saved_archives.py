"""Saved programs as an attacker or an unlucky user hands them to ``trt_passes.load``: truncated and bit-flipped
files, duplicate entry names, pickles that would write a marker file, weights and engines replaced, malformed
manifests. Each is refused with the exact :class:`ArtifactError` kind before PyTorch reads it (or, for harmless
damage, loads and computes what the original does), and no marker file is ever written.

The archives are generated here from one small compiled model, in both formats."""

from __future__ import annotations

import functools
import json
import os
import random
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

import trt_passes
from tests.robustness.archives import MANIFEST_SUFFIX, duplicated, entries, forged, name_ending, write
from tests.robustness.markers import pickle_payload
from trt_passes.serialize import read_manifest

FORMATS = ["exported_program", "torchscript"]
X = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@functools.cache
def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, 4)).eval()


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("originals")
    # Exact float32 (TF32 off), so what a loaded original computes is eager's result to 1e-5.
    compiled = quiet(trt_passes.compile, _model(), "dynamo", [X], min_block_size=1, disable_tf32=True)
    return {fmt: trt_passes.save(compiled, root / f"small.{fmt}", output_format=fmt, inputs=[X]) for fmt in FORMATS}


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    path = tmp_path / "marker"
    yield path
    assert not path.exists(), "a payload ran"


def refused(path: Path, kind: str, match: str | None = None) -> trt_passes.ArtifactError:
    with pytest.raises(trt_passes.ArtifactError, match=match) as info:
        quiet(trt_passes.load, path)
    assert info.value.kind == kind, str(info.value)
    return info.value


def _weight_names(path: Path) -> list[str]:
    """The entries holding tensors (weights and the engine) of either format."""
    return [n for n, _ in entries(path) if "/data/weights/weight_" in n or n.split("/")[-2:-1] == ["data"]]


def _engine_entry(path: Path) -> str:
    (engine,) = read_manifest(path)["engines"]
    return engine["entry"]


# ---- damage --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("keep", [0.0, 0.01, 0.2, 0.4, 0.6, 0.8, 0.99, 0.999])
def test_a_truncated_file_is_corrupt(originals, tmp_path: Path, fmt: str, keep: float) -> None:
    data = originals[fmt].read_bytes()
    path = tmp_path / "cut"
    path.write_bytes(data[:int(len(data) * keep)])
    refused(path, "corrupt")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("seed", range(20))
def test_a_flipped_bit_is_corrupt_or_harmless(originals, tmp_path: Path, fmt: str, seed: int) -> None:
    """Anywhere in the file: the data of every entry is covered by its CRC and hash, the zip structure by the layout
    checks; a flip in a field nothing reads (a timestamp) changes nothing."""
    data = bytearray(originals[fmt].read_bytes())
    rng = random.Random(seed)
    at = rng.randrange(len(data)) if seed >= 5 else len(data) - 1 - rng.randrange(200)  # the directory, often
    data[at] ^= 1 << rng.randrange(8)
    path = tmp_path / "flipped"
    path.write_bytes(bytes(data))
    try:
        loaded = quiet(trt_passes.load, path)
    except trt_passes.ArtifactError as e:
        assert e.kind == "corrupt", str(e)
        return
    assert torch.equal(quiet(loaded, X), quiet(trt_passes.load, originals[fmt])(X))


@pytest.mark.parametrize("fmt", FORMATS)
def test_bytes_before_the_archive_are_corrupt(originals, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "prefixed"
    path.write_bytes(b"\0" * 64 + originals[fmt].read_bytes())
    refused(path, "corrupt")


# ---- duplicate names -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "suffix"), [
    ("exported_program", "model_weights_config.json"), ("exported_program", "sample_inputs/model.pt"),
    ("exported_program", "weight_0"), ("exported_program", MANIFEST_SUFFIX),
    ("torchscript", "/data.pkl"), ("torchscript", "/constants.pkl"), ("torchscript", "/data/0"),
    ("torchscript", MANIFEST_SUFFIX)])
def test_a_duplicate_entry_name_is_unsafe(originals, tmp_path: Path, marker: Path, fmt: str, suffix: str) -> None:
    path = duplicated(originals[fmt], tmp_path / "dup", suffix, pickle_payload(marker))
    refused(path, "unsafe", "more than one entry named")


# ---- pickle payloads -----------------------------------------------------------------------------------------------
def _use_pickle(data: bytes) -> bytes:
    config = json.loads(data)
    for entry in config["config"].values():
        entry["use_pickle"] = True
    return json.dumps(config).encode()


@pytest.mark.parametrize("consistent", [True, False])
def test_pickled_sample_inputs_are_unsafe(originals, tmp_path: Path, marker: Path, consistent: bool) -> None:
    path = forged(originals["exported_program"], tmp_path / "f", consistent=consistent,
                  edit={"sample_inputs/model.pt": lambda _: pickle_payload(marker)})
    refused(path, "unsafe", "unpickle")


def test_pickled_weights_are_unsafe(originals, tmp_path: Path, marker: Path) -> None:
    path = forged(originals["exported_program"], tmp_path / "f",
                  edit={"model_weights_config.json": _use_pickle, "weight_0": lambda _: pickle_payload(marker)})
    refused(path, "unsafe", "stored as a pickled object")


def test_a_legacy_pickle_listed_in_a_forged_manifest_is_unsafe(originals, tmp_path: Path, marker: Path) -> None:
    path = forged(originals["exported_program"], tmp_path / "f",
                  add=[("archive/data/weights/extra.pt", pickle_payload(marker))])
    refused(path, "unsafe", "pickled")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_entry_the_manifest_does_not_list_is_unsafe(originals, tmp_path: Path, marker: Path, fmt: str) -> None:
    top = name_ending(originals[fmt], MANIFEST_SUFFIX).split("/")[0]
    path = forged(originals[fmt], tmp_path / "f", consistent=False,
                  add=[(f"{top}/payload.bin", pickle_payload(marker))])
    refused(path, "unsafe", "does not list")


def test_a_torchscript_data_pickle_swapped_for_a_python_pickle_never_runs(originals, tmp_path: Path,
                                                                          marker: Path) -> None:
    """A forger who updates the hashes gets past the manifest; TorchScript's own unpickler then refuses the payload
    (it builds only TorchScript types), and that is reported as a damaged file."""
    path = forged(originals["torchscript"], tmp_path / "f", edit={"/data.pkl": lambda _: pickle_payload(marker)})
    refused(path, "corrupt", "PyTorch could not read")


# ---- weights and engines replaced ----------------------------------------------------------------------------------
def _scrambled(data: bytes) -> bytes:
    return bytes(reversed(data)) if len(set(data)) > 1 else bytes(b ^ 0xFF for b in data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_replaced_weight_is_corrupt_and_named(originals, tmp_path: Path, fmt: str) -> None:
    for name in _weight_names(originals[fmt])[:3]:
        path = forged(originals[fmt], tmp_path / "f", consistent=False, edit={name: _scrambled})
        refused(path, "corrupt", f"entry {name!r} does not match the hash")


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_swapped_weights_are_corrupt(originals, tmp_path: Path, fmt: str) -> None:
    items = entries(originals[fmt])
    a, b = [i for i, (n, _) in enumerate(items) if n in _weight_names(originals[fmt])][:2]
    items[a], items[b] = (items[a][0], items[b][1]), (items[b][0], items[a][1])
    path = tmp_path / "swapped"
    write(path, items)
    refused(path, "corrupt", "does not match the hash")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_half_length_weight_record_is_corrupt(originals, tmp_path: Path, fmt: str) -> None:
    name = _weight_names(originals[fmt])[0]
    path = forged(originals[fmt], tmp_path / "f", consistent=False, edit={name: lambda d: d[:len(d) // 2]})
    refused(path, "corrupt", name)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_engine_replaced_by_random_bytes_is_corrupt(originals, tmp_path: Path, fmt: str) -> None:
    engine = _engine_entry(originals[fmt])
    path = forged(originals[fmt], tmp_path / "f", consistent=False, edit={engine: lambda d: os.urandom(len(d))})
    refused(path, "corrupt", engine)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_engine_whose_listed_hash_was_forged_is_not_the_engine_its_record_names(originals, tmp_path: Path,
                                                                                    fmt: str) -> None:
    engine = _engine_entry(originals[fmt])
    path = forged(originals[fmt], tmp_path / "f", edit={engine: lambda d: os.urandom(len(d))})
    refused(path, "corrupt", "engine of segment 'trt_0'")


# ---- the manifest --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "kind", "match"), [
    ({"engines": {"trt_0": 1}}, "corrupt", "'engines' is dict, expected a list"),
    ({"engines": [{"segment": 1}]}, "corrupt", "engines\\[0\\]"),
    ({"entries": []}, "corrupt", "'entries'"),
    ({"reference_weights": "yes"}, "corrupt", "'reference_weights'"),
    ({"tensorrt": "10.0"}, "corrupt", "'tensorrt'"),
    ({"output_format": "onnx"}, "corrupt", "'output_format'"),
    ({"surprise": 1}, "corrupt", "unknown fields \\['surprise'\\]"),
    ({"trt_passes_format": 0}, "format", "format 0 does not exist"),
    ({"trt_passes_format": -1}, "format", "format -1 does not exist"),
    ({"trt_passes_format": "2"}, "format", "no format version"),
    ({"trt_passes_format": 1}, "format", "records no hashes"),
    ({"trt_passes_format": 99}, "format", "upgrade trt_passes"),
    ({"library_ops": ["mylib.scale.default"]}, "corrupt", "'library_ops' is list"),
    ({"library_ops": {"mylib::scale": None}}, "corrupt", "'library_ops'"),
    ({"library_ops": {"mylib.scale.default": "os; rm -rf"}}, "corrupt", "'library_ops'"),
    ({"trt_passes_format": 2}, "corrupt", "unknown fields \\['library_ops'\\]"),
])
def test_a_malformed_manifest_names_the_field(originals, tmp_path: Path, change: dict, kind: str, match: str) -> None:
    path = forged(originals["torchscript"], tmp_path / "f", manifest=lambda m: {**m, **change})
    refused(path, kind, match)


def test_a_manifest_of_format_2_has_no_custom_ops_and_still_loads(originals, tmp_path: Path) -> None:
    def as_format_2(m: dict) -> dict:
        return {**{k: v for k, v in m.items() if k != "library_ops"}, "trt_passes_format": 2}

    path = forged(originals["exported_program"], tmp_path / "f", manifest=as_format_2)
    assert read_manifest(path)["library_ops"] == {}
    loaded = quiet(trt_passes.load, path)
    torch.testing.assert_close(quiet(loaded, X), quiet(_model(), X), rtol=1e-5, atol=1e-5)


def test_a_manifest_listing_a_custom_op_no_library_registers_is_refused_naming_it(originals, tmp_path: Path) -> None:
    path = forged(originals["exported_program"], tmp_path / "f",
                  manifest=lambda m: {**m, "library_ops": {"trt_passes_nowhere.op.default": "nowhere_lib"}})
    refused(path, "library", r"custom op trt_passes_nowhere::op, which no library loaded in this process registers; "
                             r"load nowhere_lib \(import nowhere_lib\) before loading this program")


@pytest.mark.parametrize("text", [b"", b"{", b"[1, 2]", b"\xff\xfe", json.dumps({"a": 1}).encode()])
def test_a_manifest_that_is_not_one_is_refused(originals, tmp_path: Path, text: bytes) -> None:
    path = forged(originals["exported_program"], tmp_path / "f", consistent=False,
                  edit={MANIFEST_SUFFIX: lambda _: text})
    err = refused(path, "corrupt" if text in (b"", b"{", b"\xff\xfe") else "format")
    assert "trt_passes.json" in str(err)


def test_an_archive_without_a_manifest_is_not_a_trt_passes_artifact(originals, tmp_path: Path) -> None:
    path = tmp_path / "bare"
    write(path, [(n, d) for n, d in entries(originals["torchscript"]) if not n.endswith(MANIFEST_SUFFIX)])
    refused(path, "format", "not a trt_passes artifact")


# ---- loading without trt_passes.load -------------------------------------------------------------------------------
def test_a_bare_load_still_checks_the_engine_before_anything_runs(originals, tmp_path: Path) -> None:
    """torch.export.load does not read the manifest; the op checks the engine bytes against its record itself, even
    where the engine would never run (no GPU here)."""
    engine = _engine_entry(originals["exported_program"])
    path = forged(originals["exported_program"], tmp_path / "f", edit={engine: lambda d: os.urandom(len(d))})
    module = torch.export.load(path).module()
    with pytest.raises(trt_passes.ArtifactError, match="engine's bytes do not match") as info:
        quiet(module, X)
    assert info.value.kind == "corrupt"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_bare_load_still_checks_the_weights_before_the_reference_runtime_uses_them(originals, tmp_path: Path,
                                                                                     fmt: str) -> None:
    weights = [n for n in _weight_names(originals[fmt]) if n != _engine_entry(originals[fmt])]
    path = forged(originals[fmt], tmp_path / "f", edit={weights[0]: _scrambled})
    module = torch.export.load(path).module() if fmt == "exported_program" else quiet(torch.jit.load, path)
    with pytest.raises(Exception, match="weights do not match the hash"):
        quiet(module, X)


def test_saved_files_take_the_umask_like_torch_save(tmp_path: Path) -> None:
    compiled = quiet(trt_passes.compile, _model(), "dynamo", [X], min_block_size=1)
    old = os.umask(0o027)
    try:
        ours = trt_passes.save(compiled, tmp_path / "ours.pt2", inputs=[X])
        torch.save({"x": X}, tmp_path / "theirs.pt")
    finally:
        os.umask(old)
    assert (ours.stat().st_mode & 0o777) == ((tmp_path / "theirs.pt").stat().st_mode & 0o777) == 0o640


def test_the_originals_load_and_compute_what_the_model_does(originals) -> None:
    for path in originals.values():
        assert torch.allclose(quiet(trt_passes.load(path), X), quiet(_model(), X), atol=1e-5)
