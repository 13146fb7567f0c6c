"""A fast, architecturally diverse subset of the model zoo, and the ``trt-passes coverage`` command (core ATen, and
the ops ``torch.export`` gives for the zoo).

Zoo models (marked slow; about a minute together on 2 cores): EfficientNet-B0 (depthwise convolutions,
squeeze-excitation, SiLU) at 64x64, a 2-layer ViT (patch convolution, class token cat, attention), a 2-layer
Llama-style decoder (RMS norm, rotary embeddings, grouped-query attention's rank-5 expand, SwiGLU) and a 2-layer
Whisper encoder (1-d convolutions, GELU, sinusoidal positions). Each compiles to one TensorRT segment with nothing
left to PyTorch, builds a real engine, and matches eager PyTorch within TF32's tolerance (segments on the reference
runtime, which computes the engines' TF32 rounding; no GPU here): 5e-3, or four times eager's own error under the
same rounding for a model that amplifies it (``trt_passes.tools.parity.tf32_tolerance``); and within float32's 1e-4
with ``disable_tf32``.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import trt_passes
from benchmarks.zoo import ZOO
from trt_passes.compiler import load_library
from trt_passes.ir.aten import core_aten_ops
from trt_passes.tools.cli import main
from trt_passes.tools.coverage import (
    STATUSES,
    TRAINING_IR_STATUSES,
    coverage_report,
    training_ir_coverage,
    training_ir_ops,
)
from trt_passes.tools.parity import TOLERANCE, max_relative_error, tf32_tolerance

ZOO_SUBSET = ["efficientnet_b0_64", "vit_small", "llama_tiny", "whisper_encoder"]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "disable_tf32"), [(name, name == "whisper_encoder") for name in ZOO_SUBSET])
def test_zoo_model_is_one_segment_without_fallback_and_matches_eager(name: str, disable_tf32: bool) -> None:
    entry = ZOO[name]
    model, inputs = entry.build(), entry.inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = trt_passes.compile(model, inputs=inputs, runtime="reference", disable_tf32=disable_tf32)
    report = compiled.compile_report
    assert [f"{f.op}: {f.reason}" for f in report.fallbacks] == []
    assert len(report.partitions) == 1
    assert report.partitions[0].engine_bytes, f"{name}: no engine built"
    with torch.no_grad():
        err = max_relative_error(compiled(*inputs), model(*inputs))
    tolerance = TOLERANCE["f32"] if disable_tf32 else tf32_tolerance(model, inputs)[0]
    assert err <= tolerance, f"{name}: max relative error {err:.2e} vs eager (tolerance {tolerance:g})"


# Half precision: the compiled model's error against the float32 model may exceed eager's own half-precision error
# by at most a factor (different but equally valid rounding orders: f32 accumulation in reductions and matrix
# products, fused normalisation), and stays within the dtype's tolerance of eager in the same dtype.
HALF_TOLERANCE = {torch.float16: 1e-2, torch.bfloat16: 5e-2}


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["f16", "bf16"])
@pytest.mark.parametrize("name", ["vit_small", "llama_tiny"])
def test_half_precision_model_is_one_strongly_typed_segment_within_dtype_tolerance(name: str,
                                                                                   dtype: torch.dtype) -> None:
    entry = ZOO[name]
    model32, inputs32 = entry.build(), entry.inputs()
    model = entry.build().to(dtype)
    inputs = [t.to(dtype) if t.is_floating_point() else t for t in inputs32]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = trt_passes.compile(model, inputs=inputs, runtime="reference")
    report = compiled.compile_report
    assert [f"{f.op}: {f.reason}" for f in report.fallbacks] == []
    assert len(report.partitions) == 1 and report.partitions[0].engine_bytes
    with torch.no_grad():
        ours, eager, reference = compiled(*inputs), model(*inputs), model32(*inputs32)
    vs_eager = max_relative_error(ours, eager)
    assert vs_eager <= HALF_TOLERANCE[dtype], f"{name} {dtype}: {vs_eager:.2e} vs eager in the same dtype"
    ours_vs_f32, eager_vs_f32 = max_relative_error(ours, reference), max_relative_error(eager, reference)
    assert ours_vs_f32 <= 2 * eager_vs_f32 + 1e-3, (
        f"{name} {dtype}: {ours_vs_f32:.2e} from float32, eager in {dtype} is {eager_vs_f32:.2e} from it")


def test_coverage_lists_every_core_op_once_with_a_status_and_the_rules() -> None:
    report = coverage_report()
    ops = [o.op for o in report.ops]
    assert ops == core_aten_ops() and len(set(ops)) == len(ops)
    assert sum(report.totals.values()) == len(ops)
    by_op = {o.op: o for o in report.ops}
    assert by_op["aten.convolution.default"].status == "converted"
    assert "convolution" in by_op["aten.convolution.default"].rules
    assert by_op["aten.cat.default"].rules == ("cat",)
    assert by_op["aten._log_softmax.default"].status == "lowered"
    assert by_op["aten.scalar_tensor.default"].status == "folded"  # static: always a constant before conversion
    assert by_op["aten.full.default"].rules == ("full_of_runtime_size",)  # folded unless a size is symbolic
    assert by_op["aten.nonzero.default"].status == "pytorch"  # data-dependent shape: no static TensorRT layer
    for o in report.ops:
        assert o.status in STATUSES
        assert bool(o.rules) == (o.status in ("converted", "lowered")), o


def test_coverage_command_prints_each_op_and_the_totals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage"]) == 0
    out = capsys.readouterr().out
    totals = coverage_report().totals
    assert "aten.upsample_bilinear2d.vec" in out and "upsample_bilinear2d_to_size" in out
    (last,) = [line for line in out.splitlines() if line.startswith("totals: ")]
    assert f"converted {totals['converted']}" in last and f"pytorch {totals['pytorch']}" in last
    training = coverage_report().training_ir_totals
    assert "training IR totals: " + ", ".join(f"{s} {training[s]}" for s in TRAINING_IR_STATUSES) in out.splitlines()


def test_coverage_says_how_the_rules_path_handles_each_training_ir_op_of_the_zoo() -> None:
    report = coverage_report()
    assert [(o.op, o.models) for o in report.training_ir] == training_ir_ops()
    by_op = {o.op: o for o in report.training_ir}
    assert by_op["aten.relu_.default"].status == "by rule" and by_op["aten.relu_.default"].via == "aten.relu.default"
    assert by_op["aten.lift_fresh_copy.default"].status in ("by rule", "folded")  # a copy of a constant
    assert by_op["<built-in function getitem>"].status == "dropped"
    assert by_op["aten._assert_tensor_metadata.default"].status == "dropped"
    for o in report.training_ir:
        assert o.status in TRAINING_IR_STATUSES
        assert (o.status == "by rule") == bool(o.rules), o
        if o.status == "by PyTorch's table":
            assert o.decomposition.endswith(o.via or o.op), o


def test_a_rule_for_a_training_ir_op_moves_it_from_pytorchs_table_to_the_rules(tmp_path) -> None:
    ops = [("aten.special_entr.default", 1), ("aten.i0.default", 1), ("aten.scalar_tensor.default", 2)]
    before = training_ir_coverage(load_library(), ops)  # ops no shipped rule handles
    assert [(o.status, o.decomposition) for o in before] == [
        ("by PyTorch's table", "torch._decomp:aten.special_entr.default"), ("left to PyTorch", ""), ("folded", "")]
    rule = tmp_path / "entr.rw"
    rule.write_text("ruleset lower.mine : lowering\n\nrule entr_as_where\n    aten.special_entr.default(x)\n"
                    "    => aten.neg.default(aten.mul.Tensor(x, aten.log.default(x)))\n"
                    "    untested \"only here for coverage\"\n")
    after = training_ir_coverage(load_library([rule]), ops)[0]
    assert after.status == "by rule" and after.rules == ("entr_as_where",)


def test_coverage_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["coverage", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["totals"]) == set(STATUSES)
    assert sum(data["totals"].values()) == len(data["ops"])
