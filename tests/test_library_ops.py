"""Custom ops (``torch.library``, defined here) and torchvision's ``roi_align`` and ``nms`` in a compiled model: they
run in PyTorch between TensorRT segments, ``explain`` says why, a user's rule can convert a custom op, and saved
programs keep them (a process without their library is refused naming the op and what to import).

Parity: the compiled program (float32, TF32 off) against eager PyTorch in float64; 1e-5 relative to the output's
largest magnitude is float32's rounding over the few ops here (2**-23 per op, a sum of at most 9 terms)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision.ops
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_passes
from trt_passes.serialize import read_manifest
from trt_passes.tools.cli import main

SCALE = "trt_passes_test_library.scale.default"
TOLERANCE = 1e-5


@torch.library.custom_op("trt_passes_test_library::scale", mutates_args=())
def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    return x * factor


@scale.register_fake
def _scale_fake(x: torch.Tensor, factor: float) -> torch.Tensor:
    return torch.empty_like(x)


class Pooler(torch.nn.Module):
    """TensorRT (conv, relu), the custom op, roi_align, TensorRT again (a sum and a sigmoid)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, images: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        features = scale(self.conv(images).relu(), 1.5)
        pooled = torchvision.ops.roi_align(features, boxes, output_size=(2, 3), spatial_scale=0.5, sampling_ratio=2)
        return (pooled.sum(1) * 2).sigmoid()


class Suppressor(torch.nn.Module):
    """nms between two computations: how many boxes it keeps depends on the scores."""

    def forward(self, boxes: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        keep = torchvision.ops.nms(boxes * 2, scores.sigmoid(), 0.3)
        return keep, scores[keep] * 3


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def pooler() -> torch.nn.Module:
    torch.manual_seed(0)
    return Pooler().eval()


def random_boxes(gen: torch.Generator, count: int, images: int, size: int) -> torch.Tensor:
    """``count`` boxes [image, x1, y1, x2, y2] inside a ``size`` x ``size`` image (image coordinates are twice the
    feature map's: spatial_scale 0.5)."""
    corner = torch.rand(count, 2, generator=gen, dtype=torch.float64) * size * 0.6
    extent = 1 + torch.rand(count, 2, generator=gen, dtype=torch.float64) * size * 0.4
    image = torch.randint(0, images, (count, 1), generator=gen).double()
    return torch.cat([image, corner, corner + extent], dim=1)


def pooler_inputs(seed: int, images: int = 2, count: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(images, 3, 16, 16, generator=gen, dtype=torch.float64), random_boxes(gen, count, images, 32)


def suppressor_inputs(seed: int, count: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return random_boxes(gen, count, 1, 16)[:, 1:], torch.randn(count, generator=gen, dtype=torch.float64)


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    assert got.shape == want.shape
    return float((got.double() - want).abs().max() / want.abs().max().clamp_min(1e-30))


def f32(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(t.float() for t in tensors)


_compiled: dict[Any, Any] = {}


def compiled_pooler() -> Any:
    if "pooler" not in _compiled:
        _compiled["pooler"] = quiet(trt_passes.compile, pooler(), inputs=list(f32(*pooler_inputs(0))),
                                    min_block_size=1, disable_tf32=True, runtime="reference")
    return _compiled["pooler"]


# ---- compile and run -----------------------------------------------------------------------------------------------
@settings(max_examples=5)
@given(seed=st.integers(0, 2**31 - 1))
def test_a_model_with_a_custom_op_and_roi_align_runs_them_in_pytorch_and_matches_eager_float64(seed: int):
    images, boxes = pooler_inputs(seed)
    want = quiet(pooler().double(), images, boxes)
    got = quiet(compiled_pooler(), *f32(images, boxes))
    assert relative_error(got, want) < TOLERANCE


def test_the_custom_op_and_roi_align_are_left_to_pytorch_between_two_segments_with_their_reason():
    report = compiled_pooler().compile_report
    left = {f.op: f for f in report.fallbacks}
    assert set(left) == {SCALE, "torchvision.roi_align.default"}
    assert left[SCALE].on_purpose.startswith("a custom op trt_passes_test_library::scale: no converter rule has it; "
                                             "it runs in PyTorch")
    assert "torchvision::roi_align" in left["torchvision.roi_align.default"].on_purpose
    assert len(report.partitions) == 2 and all(p.engine_bytes for p in report.partitions)


def test_explain_says_why_a_custom_op_stays_in_pytorch():
    text = str(quiet(trt_passes.explain, pooler(), inputs=list(f32(*pooler_inputs(0))), min_block_size=1))
    assert (f"left to PyTorch on purpose: a custom op trt_passes_test_library::scale: no converter rule has it; it "
            f"runs in PyTorch (a converter rule of yours rooted at {SCALE}") in text


@pytest.mark.parametrize("ir", ["fx", "torchscript", "torch_compile"])
def test_the_other_frontends_compile_the_model_and_match_eager_float64(ir: str):
    program = quiet(trt_passes.compile, pooler(), ir=ir, inputs=list(f32(*pooler_inputs(0))), min_block_size=1,
                    disable_tf32=True, runtime="reference")
    images, boxes = pooler_inputs(1)
    assert relative_error(quiet(program, *f32(images, boxes)), quiet(pooler().double(), images, boxes)) < TOLERANCE


def test_reduced_precision_hands_the_custom_op_the_dtype_the_model_gave_it():
    images, boxes = pooler_inputs(2)
    program = quiet(trt_passes.compile, pooler(), inputs=list(f32(images, boxes)), min_block_size=1,
                    enabled_precisions={torch.float16}, runtime="reference")
    got = quiet(program, *f32(images, boxes))
    assert got.dtype == torch.float32
    assert relative_error(got, quiet(pooler().double(), images, boxes)) < 1e-2  # float16's 9.8e-4 over a few ops


@settings(max_examples=4)
@given(seed=st.integers(0, 2**31 - 1), count=st.integers(1, 8))
def test_nms_keeps_a_data_dependent_number_of_boxes_in_pytorch_and_what_reads_them_too(seed: int, count: int):
    # compiled per box count (a compiled program takes the sizes it was compiled for); how many boxes nms keeps
    # varies with the scores at every count
    if ("suppressor", count) not in _compiled:
        _compiled["suppressor", count] = quiet(trt_passes.compile, Suppressor(),
                                               inputs=list(f32(*suppressor_inputs(0, count))), min_block_size=1,
                                               runtime="reference")
    program = _compiled["suppressor", count]
    boxes, scores = suppressor_inputs(seed, count)
    want_keep, want_scores = quiet(Suppressor(), boxes, scores)
    keep, kept = quiet(program, *f32(boxes, scores))
    assert torch.equal(keep, want_keep)
    assert relative_error(kept, want_scores) < TOLERANCE
    report = program.compile_report
    # nms and every op reading how many boxes it kept (the indexing and the product after it)
    assert {f.op for f in report.fallbacks} >= {"torchvision.nms.default", "aten.mul.Tensor"}
    assert all(f.reason.startswith("its sizes depend on the data") for f in report.fallbacks)
    assert sorted(p.ops for p in report.partitions) == [["aten.mul.Tensor"], ["aten.sigmoid.default"]]


@settings(max_examples=4)
@given(seed=st.integers(0, 2**31 - 1), images=st.integers(1, 4), count=st.integers(1, 8))
def test_with_dynamic_batch_and_box_count_the_custom_ops_stay_in_pytorch_and_match_eager(seed: int, images: int,
                                                                                         count: int):
    if "dynamic" not in _compiled:
        specs = [trt_passes.Input(min_shape=(1, 3, 16, 16), opt_shape=(2, 3, 16, 16), max_shape=(4, 3, 16, 16)),
                 trt_passes.Input(min_shape=(1, 5), opt_shape=(3, 5), max_shape=(8, 5))]
        _compiled["dynamic"] = quiet(trt_passes.compile, pooler(), inputs=specs, min_block_size=1,
                                     disable_tf32=True, runtime="reference")
    program = _compiled["dynamic"]
    assert {f.op for f in program.compile_report.fallbacks} == {SCALE, "torchvision.roi_align.default"}
    x, boxes = pooler_inputs(seed, images, count)
    assert relative_error(quiet(program, *f32(x, boxes)), quiet(pooler().double(), x, boxes)) < TOLERANCE


# ---- a user's rule -------------------------------------------------------------------------------------------------
SCALE_RULE = f"""\
ruleset convert.mine : converter

rule test_library_scale
    "the test's scale op multiplies by its factor: an elementwise PROD with a constant"
    {SCALE}(x: Tensor<f32|f16>, f)
    => trt.elementwise(x, const(f, dtype(x)), op=ElementWiseOperation.PROD)
    domain {{
        x: f32|f16 [1..3, 1..4] in -2.0..2.0
        f: 1.5 | -0.5
    }}
"""


def test_a_users_rule_rooted_at_a_custom_op_converts_it(tmp_path: Path):
    rules = tmp_path / "scale.rw"
    rules.write_text(SCALE_RULE)
    program = quiet(trt_passes.compile, pooler(), inputs=list(f32(*pooler_inputs(0))), min_block_size=1,
                    disable_tf32=True, runtime="reference", rules=[rules])
    report = program.compile_report
    assert [f.op for f in report.fallbacks] == ["torchvision.roi_align.default"]
    assert report.rule_fires["test_library_scale"] == 1
    images, boxes = pooler_inputs(3)
    assert relative_error(quiet(program, *f32(images, boxes)), quiet(pooler().double(), images, boxes)) < TOLERANCE


def test_trt_passes_check_runs_the_property_test_of_a_custom_op_rule_against_the_op(tmp_path: Path):
    rules = tmp_path / "scale.rw"
    rules.write_text(SCALE_RULE.replace("const(f, dtype(x))", "const(f * 2.0, dtype(x))"))
    assert main(["check", str(rules), "--test"]) == 1  # the wrong factor differs from what the op computes
    rules.write_text(SCALE_RULE)
    assert main(["check", str(rules), "--test"]) == 0


# ---- saving and loading --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["exported_program", "torchscript"])
def test_a_saved_program_names_its_custom_ops_and_loads_and_runs_them(tmp_path: Path, fmt: str):
    images, boxes = pooler_inputs(4)
    path = quiet(trt_passes.save, compiled_pooler(), tmp_path / "pooler.ep", output_format=fmt,
                 inputs=list(f32(images, boxes)))
    assert read_manifest(path)["library_ops"] == {SCALE: "tests.test_library_ops",
                                                  "torchvision.roi_align.default": "torchvision"}
    loaded = quiet(trt_passes.load, path)
    assert relative_error(quiet(loaded, *f32(images, boxes)), quiet(pooler().double(), images, boxes)) < TOLERANCE


UNLOADED_LIBRARY = '''
import torch

@torch.library.custom_op("trt_passes_unloaded::shift", mutates_args=())
def shift(x: torch.Tensor) -> torch.Tensor:
    return x + 1

@shift.register_fake
def _(x):
    return torch.empty_like(x)
'''

LOAD_WITHOUT_LIBRARIES = '''
import json, sys
import trt_passes
out = []
for path in sys.argv[1:]:
    try:
        trt_passes.load(path)
        out.append(["loaded", ""])
    except trt_passes.ArtifactError as e:
        out.append([e.kind, str(e)])
out.append(sorted(m for m in ("torchvision", "trt_passes_unloaded_ops") if m in sys.modules))
print(json.dumps(out))
'''


def test_loading_without_a_custom_ops_library_is_refused_naming_the_op_and_what_to_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "trt_passes_unloaded_ops.py").write_text(textwrap.dedent(UNLOADED_LIBRARY))
    monkeypatch.syspath_prepend(str(tmp_path))
    library = __import__("trt_passes_unloaded_ops")

    class Shifts(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return library.shift(x.relu()) * 2

    class Pools(torch.nn.Module):
        def forward(self, x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
            return torchvision.ops.roi_align(x.relu(), boxes, output_size=(2, 2)) * 2

    x = torch.randn(1, 3, 8, 8)
    saved = []
    for name, model, inputs in [("shift", Shifts(), [x]), ("pool", Pools(), [x, torch.tensor([[0.0, 1, 1, 5, 6]])])]:
        program = quiet(trt_passes.compile, model, inputs=inputs, min_block_size=1, runtime="reference")
        for fmt in ("exported_program", "torchscript"):
            saved.append(str(quiet(trt_passes.save, program, tmp_path / f"{name}.{fmt}", output_format=fmt,
                                   inputs=inputs)))
    done = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_LIBRARIES, *saved], capture_output=True, text=True,
                          cwd=tmp_path.parent, timeout=300, check=True)
    *results, imported = json.loads(done.stdout.splitlines()[-1])
    assert imported == []  # neither library was loaded behind the user's back
    for (kind, message), path in zip(results, saved):
        assert kind == "library", message
        assert message.startswith(f"{path}: the program calls the custom op ")
        assert "Traceback" not in message
    assert all(r[1].endswith("trt_passes_unloaded::shift, which no library loaded in this process registers; load "
                             "trt_passes_unloaded_ops (import trt_passes_unloaded_ops) before loading this program")
               for r in results[:2])
    assert all(r[1].endswith("torchvision::roi_align, which no library loaded in this process registers; load "
                             "torchvision (import torchvision) before loading this program") for r in results[2:])
