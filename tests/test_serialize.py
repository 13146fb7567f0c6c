"""Saving and loading compiled models (``trt_passes.save`` / ``trt_passes.load``).

Round trips are checked in a fresh Python process (nothing cached from compiling), against eager PyTorch; damaged
and incompatible artifacts are refused with :class:`trt_passes.ArtifactError` naming the problem and the fix.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.utils._pytree as pytree

import trt_passes
from benchmarks.zoo import bert, resnet18
from trt_passes.backend.tensorrt_import import find_tensorrt
from trt_passes.serialize import FORMAT_VERSION, read_manifest
from trt_passes.tools.parity import TOLERANCE, max_relative_error

REPO = Path(__file__).resolve().parents[1]
FORMATS = ["exported_program", "torchscript"]


def image(seed: int) -> torch.Tensor:
    return torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(seed))


def tokens(seed: int) -> torch.Tensor:
    return torch.randint(0, 1000, (2, 8), generator=torch.Generator().manual_seed(seed))


MODELS = {"resnet18": (resnet18, image), "bert": (bert, tokens)}


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """resnet18 and BERT compiled (dynamo frontend), saved in both formats, with eager outputs on fresh inputs."""
    root = tmp_path_factory.mktemp("artifacts")
    out: dict[str, Any] = {"root": root, "files": {}, "expected": {}, "inputs": {}}
    for name, (build, make_input) in MODELS.items():
        model = build()
        compiled = quiet(trt_passes.compile, model, "dynamo", [make_input(0)])
        x = make_input(1)
        out["inputs"][name] = x
        out["expected"][name] = [t for t in pytree.tree_leaves(quiet(model, x)) if isinstance(t, torch.Tensor)]
        for fmt in FORMATS:
            path = root / f"{name}.{fmt}.{'pt2' if fmt == 'exported_program' else 'ts'}"
            trt_passes.save(compiled, path, output_format=fmt, inputs=[make_input(0)])
            out["files"][(name, fmt)] = path
    torch.save(out["inputs"], root / "inputs.pt")
    return out


LOADER = textwrap.dedent("""
    import json, sys, warnings
    import torch
    import torch.utils._pytree as pytree
    import trt_passes  # registers torch.ops.trt_passes.execute_engine
    warnings.simplefilter("ignore")
    jobs = json.loads(sys.argv[1])
    inputs = torch.load(sys.argv[2], weights_only=True)
    results = {}
    for key, (path, fmt, name) in jobs.items():
        leaves = lambda out: [t for t in pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]
        with torch.no_grad():
            via_load = leaves(trt_passes.load(path)(inputs[name]))
            if fmt == "exported_program":
                direct = leaves(torch.export.load(path).module()(inputs[name]))
            else:
                direct = leaves(torch.jit.load(path)(inputs[name]))
        results[key] = {"load": via_load, "direct": direct}
    torch.save(results, sys.argv[3])
""")


def test_both_formats_round_trip_in_a_fresh_process_and_match_eager(saved: dict[str, Any]):
    jobs = {f"{name}/{fmt}": [str(path), fmt, name] for (name, fmt), path in saved["files"].items()}
    result_file = saved["root"] / "results.pt"
    proc = subprocess.run([sys.executable, "-c", LOADER, json.dumps(jobs), str(saved["root"] / "inputs.pt"),
                           str(result_file)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = torch.load(result_file, weights_only=True)
    assert set(results) == set(jobs)
    for key, got in results.items():
        expected = saved["expected"][key.split("/")[0]]
        for how in ("load", "direct"):
            assert len(got[how]) == len(expected), (key, how)
            assert max_relative_error(got[how], expected) <= TOLERANCE["tf32"], (key, how)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_artifact_records_format_and_tensorrt_and_each_segment_is_an_op_call(saved: dict[str, Any], fmt: str):
    path = saved["files"][("resnet18", fmt)]
    manifest = read_manifest(path)
    found = find_tensorrt()
    assert manifest["trt_passes_format"] == FORMAT_VERSION and manifest["output_format"] == fmt
    assert manifest["tensorrt"] == {"module": found.name, "version": found.version}
    assert len(manifest["engines"]) == 1 and manifest["engines"][0]["bytes"] > 1000
    with zipfile.ZipFile(path) as z:
        text = " ".join(z.read(n).decode("latin-1") for n in z.namelist()
                        if n.endswith((".json", ".py")) and "extra" not in n)
    assert "execute_engine" in text


# ---- refusals ------------------------------------------------------------------------------------------------------
def small_cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(8, 4)).eval()


SMALL_INPUT = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(2))


@functools.cache
def small_compiled() -> Any:
    return quiet(trt_passes.compile, small_cnn(), "dynamo", [SMALL_INPUT], min_block_size=1)


def save_small(tmp_path: Path, fmt: str) -> Path:
    path = tmp_path / f"small.{fmt}"
    trt_passes.save(small_compiled(), path, output_format=fmt, inputs=[SMALL_INPUT])
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_truncated_file_is_refused_as_corrupt(tmp_path: Path, fmt: str):
    path = save_small(tmp_path, fmt)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(trt_passes.ArtifactError, match=r"truncated or corrupted.*save the model again") as info:
        trt_passes.load(path)
    assert info.value.kind == "corrupt"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("where", [0.3, 0.5, 0.7])
def test_a_corrupted_file_is_refused_as_corrupt(tmp_path: Path, fmt: str, where: float):
    path = save_small(tmp_path, fmt)
    data = bytearray(path.read_bytes())
    at = int(len(data) * where)
    data[at:at + 16] = bytes(b ^ 0xA5 for b in data[at:at + 16])
    path.write_bytes(bytes(data))
    with pytest.raises(trt_passes.ArtifactError, match="corrupt") as info:
        trt_passes.load(path)
    assert info.value.kind == "corrupt"


def test_a_file_that_is_not_a_trt_passes_artifact_is_refused(tmp_path: Path):
    path = tmp_path / "plain.ts"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(small_cnn()), path)
    with pytest.raises(trt_passes.ArtifactError, match="not a trt_passes artifact") as info:
        trt_passes.load(path)
    assert info.value.kind == "format"
    (tmp_path / "noise.pt2").write_bytes(os.urandom(4096))
    with pytest.raises(trt_passes.ArtifactError, match="truncated or corrupted"):
        trt_passes.load(tmp_path / "noise.pt2")


def rewrite_member(path: Path, suffix: str, edit: Any) -> None:
    """Rewrite the archive member ending in ``suffix`` with ``edit(bytes) -> bytes`` (a valid zip, valid CRCs)."""
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info.filename)) for info in z.infolist()]
    assert any(info.filename.endswith(suffix) for info, _ in members), suffix
    with zipfile.ZipFile(path, "w") as z:
        for info, data in members:
            z.writestr(info, edit(data) if info.filename.endswith(suffix) else data)


def rewrite_manifest(path: Path, change: dict[str, Any]) -> None:
    rewrite_member(path, "/extra/trt_passes.json", lambda data: json.dumps({**json.loads(data), **change}).encode())


class _Anything:
    """Stands for an arbitrary object in a pickle (its class is not a tensor type)."""


def _pickle_weights_config(data: bytes) -> bytes:
    config = json.loads(data)
    first = next(iter(config["config"].values()))
    first["use_pickle"] = True
    return json.dumps(config).encode()


def _pickled_object(_: bytes) -> bytes:
    buf = io.BytesIO()
    torch.save({"x": _Anything()}, buf)
    return buf.getvalue()


@pytest.mark.parametrize(("member", "edit"), [("model_weights_config.json", _pickle_weights_config),
                                              ("sample_inputs/model.pt", _pickled_object)])
def test_an_exported_program_that_would_unpickle_is_refused_before_torch_reads_it(
        tmp_path: Path, member: str, edit: Any, monkeypatch: pytest.MonkeyPatch):
    path = save_small(tmp_path, "exported_program")
    rewrite_member(path, member, edit)

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("torch.export.load must not be reached")

    monkeypatch.setattr(torch.export, "load", never)
    with pytest.raises(trt_passes.ArtifactError, match="unpickle arbitrary objects") as info:
        trt_passes.load(path)
    assert info.value.kind == "unsafe"


def test_a_newer_format_is_refused_asking_for_an_upgrade(tmp_path: Path):
    path = save_small(tmp_path, "torchscript")
    rewrite_manifest(path, {"trt_passes_format": FORMAT_VERSION + 1})
    with pytest.raises(trt_passes.ArtifactError, match="upgrade trt_passes or recompile") as info:
        trt_passes.load(path)
    assert info.value.kind == "format"


@pytest.mark.parametrize("fmt", FORMATS)
def test_engines_from_another_tensorrt_release_are_refused_from_the_metadata(tmp_path: Path, fmt: str,
                                                                             monkeypatch: pytest.MonkeyPatch):
    path = save_small(tmp_path, fmt)
    recorded = read_manifest(path)["tensorrt"]
    monkeypatch.setattr("trt_passes.manifest.current_tensorrt", lambda: (recorded["module"], "99.0.0"))
    with pytest.raises(trt_passes.ArtifactError, match=r"built with .* but this process has .*99\.0\.0.*Recompile") \
            as info:
        trt_passes.load(path)
    assert info.value.kind == "tensorrt_version"


def test_engines_built_for_another_gpu_are_refused_unless_the_check_is_waived(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch):
    hopper = {"gpu": "NVIDIA H100 80GB HBM3", "compute_capability": [9, 0]}
    monkeypatch.setattr("trt_passes.backend.engine_record.current_target", lambda: hopper)
    compiled = quiet(trt_passes.compile, small_cnn(), "dynamo", [SMALL_INPUT], min_block_size=1)
    monkeypatch.undo()
    path = tmp_path / "hopper.pt2"
    trt_passes.save(compiled, path, inputs=[SMALL_INPUT])
    assert read_manifest(path)["engines"][0]["target"] == hopper
    with pytest.raises(trt_passes.ArtifactError, match=r"built for NVIDIA H100.*9\.0.*Recompile") as info:
        trt_passes.load(path)
    assert info.value.kind == "device"
    loaded = trt_passes.load(path, check_device=False)  # segments then run on the reference runtime
    assert max_relative_error(quiet(loaded, SMALL_INPUT), quiet(small_cnn(), SMALL_INPUT)) <= TOLERANCE["tf32"]


@pytest.mark.parametrize("disable_tf32", [False, True])
def test_a_loaded_program_computes_exactly_what_the_compiled_one_did(tmp_path: Path, disable_tf32: bool):
    """The segments keep their engines' numerics through saving: TF32 rounding on the reference runtime or not."""
    compiled = quiet(trt_passes.compile, small_cnn(), "dynamo", [SMALL_INPUT], min_block_size=1,
                     runtime="reference", disable_tf32=disable_tf32)
    path = tmp_path / "small.pt2"
    trt_passes.save(compiled, path, inputs=[SMALL_INPUT])
    x = SMALL_INPUT + 0.1
    assert torch.equal(quiet(trt_passes.load(path), x), quiet(compiled, x))


# ---- other frontends and usage errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("ir", ["fx", "torchscript"])
def test_fx_and_torchscript_results_save_and_load(tmp_path: Path, ir: str, fmt: str):
    compiled = quiet(trt_passes.compile, small_cnn(), ir, [SMALL_INPUT], min_block_size=1)
    path = tmp_path / f"small.{ir}.{fmt}"
    trt_passes.save(compiled, path, output_format=fmt, inputs=[SMALL_INPUT])
    loaded = trt_passes.load(path)
    assert max_relative_error(quiet(loaded, SMALL_INPUT), quiet(small_cnn(), SMALL_INPUT)) <= TOLERANCE["tf32"]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # the temporary file was moved into place


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_program_with_ops_left_to_pytorch_saves_and_loads(tmp_path: Path, fmt: str):
    compiled = quiet(trt_passes.compile, small_cnn(), "dynamo", [SMALL_INPUT], min_block_size=1,
                     torch_executed_ops=["aten.relu"])
    assert compiled.compile_report.fallbacks and compiled.compile_report.partitions
    path = tmp_path / f"mixed.{fmt}"
    trt_passes.save(compiled, path, output_format=fmt, inputs=[SMALL_INPUT])
    assert len(read_manifest(path)["engines"]) == len(compiled.compile_report.partitions)
    loaded = trt_passes.load(path)
    assert max_relative_error(quiet(loaded, SMALL_INPUT), quiet(small_cnn(), SMALL_INPUT)) <= TOLERANCE["tf32"]


def test_without_reference_weights_the_file_is_about_half_and_says_it_needs_an_engine(tmp_path: Path):
    compiled = small_compiled()
    full, lean = tmp_path / "full.pt2", tmp_path / "lean.pt2"
    trt_passes.save(compiled, full, inputs=[SMALL_INPUT])
    trt_passes.save(compiled, lean, inputs=[SMALL_INPUT], reference_weights=False)
    assert read_manifest(lean)["reference_weights"] is False and read_manifest(full)["reference_weights"] is True
    weights = sum(p.numel() * 4 for p in small_cnn().parameters())
    assert full.stat().st_size - lean.stat().st_size >= 0.9 * weights
    loaded = trt_passes.load(lean)
    with pytest.raises(Exception, match="saved without its weights"):  # no GPU here: the engine cannot run
        quiet(loaded, SMALL_INPUT)


def test_usage_errors_say_what_to_do(tmp_path: Path):
    with pytest.raises(TypeError, match="as path or as file_path"):
        trt_passes.save(small_compiled(), tmp_path / "a.pt2", file_path=tmp_path / "b.pt2")
    with pytest.raises(ValueError, match=r"save needs a file: save\(\.\.\., file_path="):
        trt_passes.save(small_compiled(), file_path="")
    with pytest.raises(TypeError, match="retrace must be True or False"):
        trt_passes.save(small_compiled(), tmp_path / "a.pt2", retrace="yes")
    with pytest.raises(ValueError, match=r"input 0 \('input'\) of the compiled program is f32\[1, 3, 8, 8\]"):
        trt_passes.save(small_compiled(), tmp_path / "a.pt2", inputs=[torch.randn(2, 3, 8, 8)])
    with pytest.raises(TypeError, match=r"do not fit the model's forward\(input\): too many positional"):
        trt_passes.save(small_compiled(), tmp_path / "a.pt2", arg_inputs=[SMALL_INPUT, SMALL_INPUT])
    with pytest.raises(ValueError, match=r"takes 1 tensors \(input: f32\[1, 3, 8, 8\]\); the inputs given have 2"):
        trt_passes.save(small_compiled(), tmp_path / "a.pt2", arg_inputs=[(SMALL_INPUT, SMALL_INPUT)])
    with pytest.raises(ValueError, match="output_format must be one of exported_program, torchscript"):
        trt_passes.save(small_compiled(), tmp_path / "a.onnx", output_format="onnx")
    lazy = trt_passes.compile(small_cnn(), ir="torch_compile")
    with pytest.raises(TypeError, match="ir='dynamo'"):
        trt_passes.save(lazy, tmp_path / "a.pt2", inputs=[SMALL_INPUT])
    assert not list(tmp_path.iterdir())


# The Linear's matrix product may run in TF32 (TensorRT's default): 10 mantissa bits (epsilon 9.8e-4) over an 8-term
# sum; 5e-3 as --check accepts with TF32. A wrongly ordered or missing input is off by O(1).
TF32_TOLERANCE = 5e-3


class Masked(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(8, 8)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.lin(x)) * mask


def batch(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 8, generator=gen), (torch.rand(n, 8, generator=gen) > 0.5).float()


@functools.cache
def dynamic_masked() -> Any:
    spec = trt_passes.Input(min_shape=(1, 8), opt_shape=(4, 8), max_shape=(8, 8))
    return quiet(trt_passes.compile, Masked().eval(), arg_inputs=[spec], kwarg_inputs={"mask": spec},
                 min_block_size=1)


@pytest.mark.parametrize("retrace", [True, False])
def test_without_inputs_a_program_saves_for_the_shapes_and_ranges_it_was_compiled_for(tmp_path: Path, retrace: bool):
    path = tmp_path / "masked.ep"
    trt_passes.save(dynamic_masked(), file_path=path, retrace=retrace)  # Torch-TensorRT's keyword
    loaded = trt_passes.load(file_path=path).module()  # Torch-TensorRT's load(...).module() works too
    for n in (1, 5, 8):  # min, inside, max of the compiled range
        x, mask = batch(n, n)
        assert max_relative_error(quiet(loaded, x, mask), quiet(Masked().eval(), x, mask)) <= TF32_TOLERANCE
    with pytest.raises(Exception, match="9"):  # outside the range the saved program was exported for
        quiet(loaded, *batch(9, 0))


def test_inputs_given_at_save_are_bound_as_the_model_was_called(tmp_path: Path):
    path = tmp_path / "masked.ep"
    x, mask = batch(4, 1)
    spec = trt_passes.Input(min_shape=(1, 8), opt_shape=(4, 8), max_shape=(8, 8))
    trt_passes.save(dynamic_masked(), path, kwarg_inputs={"mask": spec, "x": spec})  # keyword order does not matter
    loaded = trt_passes.load(path)
    assert max_relative_error(quiet(loaded, x, mask), quiet(Masked().eval(), x, mask)) <= TF32_TOLERANCE


def test_retrace_false_says_it_does_not_use_the_inputs_given(tmp_path: Path):
    with pytest.warns(UserWarning, match=r"retrace=False.*x: f32\[s\w+, 8\], mask: f32\[s\w+, 8\].*not used"):
        trt_passes.save(dynamic_masked(), tmp_path / "m.ep", inputs=[torch.randn(2, 8)], retrace=False)
