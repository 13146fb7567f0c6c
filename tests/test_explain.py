"""explain: the pipeline as it ran, the segments TensorRT gets, the ops left to PyTorch and why, in text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import trt_passes
from tests.models_for_tests import mlp, unsupported
from trt_passes.passes.report import SCHEMA
from trt_passes.tools.cli import main

MODELS = str(Path(__file__).with_name("models_for_tests.py"))
X = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
PIPELINE = ["functionalize", "truncate_double", "fold_constants", "lower", "lower_unconverted", "decompose",
            "fold_constants", "reduce_precision", "eliminate_dead_code", "partition", "convert", "emit"]

# A converter for i0 that only takes f16: on the f32 model it is a candidate that fails its type condition.
I0_F16 = """ruleset convert.mine : converter

rule i0_f16_only
    aten.i0.default(x: Tensor<f16>)
    => trt.unary(x, op=UnaryOperation.COSH)
    untested "only here to be a candidate that does not match"
"""


@pytest.fixture(scope="module")
def i0_rule(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "i0.rw"
    path.write_text(I0_F16)
    return path


@pytest.fixture(scope="module")
def report(i0_rule: Path) -> trt_passes.CompileReport:
    return trt_passes.explain(unsupported(), inputs=[X], min_block_size=1, rules=[i0_rule])


def test_every_pass_is_listed_in_order_with_its_time_and_op_counts(report):
    assert [p.name for p in report.passes] == PIPELINE
    assert all(p.seconds >= 0 and p.nodes_before > 0 and p.nodes_after > 0 for p in report.passes)
    text = str(report)
    for p in report.passes:
        assert f"{p.name} " in text and f"ops {p.nodes_before:>5} -> {p.nodes_after}" in text
    assert "ms  nodes" not in text  # the column counts ops, and says so


def test_each_segment_has_typed_inputs_and_outputs_and_a_layer_count_without_an_engine(report):
    assert [p.name for p in report.partitions] == ["trt_0", "trt_1"]
    for part in report.partitions:
        assert part.inputs == ["f32[4, 8]"] and part.outputs == ["f32[4, 8]"]
        assert part.layers is not None and part.layers >= len(part.ops)
        assert part.engine_bytes is None  # explain defines networks, it does not build engines
    text = str(report)
    # trt_1: matmul, add, relu (the scalar multiply went into the weight)
    assert "trt_1: 3 ops, " in text and "inputs:  f32[4, 8]" in text and "outputs: f32[4, 8]" in text
    assert f"{report.partitions[1].layers} layers" in text


def test_the_unsupported_op_is_left_to_pytorch_with_each_candidate_rule_and_its_failed_condition(report):
    (fallback,) = report.fallbacks
    assert fallback.op == "aten.i0.default" and fallback.reason == "no converter rule matched"
    (rule, why), = fallback.candidates
    assert rule == "i0_f16_only" and "f16" in why
    text = str(report)
    # torch.special.i0 is aten.special_i0 in torch.export's graph; its decomposition is aten.i0
    assert "\n  special_i0 (aten.i0.default): no converter rule matched" in text
    assert f"rule i0_f16_only: {why}" in text


def test_the_share_of_converted_ops_and_the_rules_fired_are_reported(report):
    assert report.ops_total == 6 and report.ops_converted == 5
    assert "Converted: 5 of 6 ops (83.3%) run in TensorRT" in str(report)
    assert report.rule_fires["linear_with_bias_as_matmul_add"] == 2
    assert "      2  linear_with_bias_as_matmul_add" in str(report)


def test_small_segments_merged_back_give_a_suggested_min_block_size():
    report = trt_passes.explain(unsupported(), inputs=[X], min_block_size=3)
    merged = [f for f in report.fallbacks if f.segment_size is not None]
    assert [f.segment_size for f in merged] == [2, 2]  # the segment before i0 has mm and add
    assert report.suggested_min_block_size == 2
    assert "Suggestion: min_block_size=2" in str(report)
    assert report.to_dict()["summary"]["suggested_min_block_size"] == 2


def test_ops_left_to_pytorch_are_listed_in_model_order_by_their_source_name():
    # Lowering turns each linear into a matrix product + add: the adds are new nodes with higher ids than the relu
    # between them.
    report = trt_passes.explain(mlp(), inputs=[X], min_block_size=1, torch_executed_ops=[torch.ops.aten.add.Tensor,
                                                                                        torch.ops.aten.relu])
    assert [(f.source, f.op) for f in report.fallbacks] == [
        ("a/linear", "aten.add.Tensor"), ("relu", "aten.relu.default"), ("b/linear_1", "aten.add.Tensor")]
    assert report.fallbacks[0].node > report.fallbacks[1].node  # id order would have put the relu first
    listed = str(report).split("Ops left to PyTorch: 3\n")[1].splitlines()[:3]
    assert listed == ["  a/linear (aten.add.Tensor): listed in torch_executed_ops",
                      "  relu (aten.relu.default): listed in torch_executed_ops",
                      "  b/linear_1 (aten.add.Tensor): listed in torch_executed_ops"]


def test_small_segments_give_one_min_block_size_suggestion():
    text = str(trt_passes.explain(unsupported(), inputs=[X], min_block_size=3))
    assert text.count("min_block_size=2") == 1 and "min_block_size=1" not in text
    assert "Suggestion: min_block_size=2 would also run in TensorRT the 2 ops whose segments were too small" in text


def test_dynamic_sizes_are_named_by_the_input_and_axis_they_are():
    batch = trt_passes.Input(min_shape=(1, 8), opt_shape=(4, 8), max_shape=(16, 8))
    report = trt_passes.explain(mlp(), inputs=[batch])
    (symbol,) = {d for t in report.partitions[0].inputs for d in t[4:-1].split(", ") if not d.isdigit()}
    assert f"size {symbol} is input 0 ('x'), axis 0, compiled for 1..4..16 (min..opt..max)" in report.notes


def test_json_has_the_documented_stable_keys(report):
    d = json.loads(json.dumps(report.to_dict()))
    assert d["schema"] == SCHEMA
    assert set(d) >= {"schema", "summary", "passes", "partitions", "fallbacks", "rule_fires", "rules_fired", "notes"}
    assert d["summary"] == {"ops_total": 6, "ops_converted": 5, "converted_share": pytest.approx(5 / 6),
                            "segments": 2, "fallbacks": 1, "total_seconds": pytest.approx(report.total_seconds),
                            "suggested_min_block_size": None}
    assert [p["name"] for p in d["passes"]] == PIPELINE
    assert set(d["passes"][0]) == {"name", "seconds", "ops_before", "ops_after", "nodes_before", "nodes_after",
                                   "detail"}
    assert [(p["ops_before"], p["ops_after"]) for p in d["passes"]] == [
        (p["nodes_before"], p["nodes_after"]) for p in d["passes"]]
    seg = d["partitions"][1]
    assert seg["inputs"] == [{"type": "f32[4, 8]", "dtype": "f32", "shape": [4, 8]}]
    assert seg["op_counts"]["aten.relu.default"] == 1 and isinstance(seg["layers"], int)
    assert d["fallbacks"][0]["candidates"][0][0] == "i0_f16_only"
    assert {"rule": "linear_with_bias_as_matmul_add", "count": 2} in d["rules_fired"]


def test_the_cli_prints_text_by_default_and_json_with_json(capsys, i0_rule):
    argv = ["explain", f"{MODELS}:unsupported", "--input", "4x8", "--min-block-size", "1", "--rules", str(i0_rule),
            "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Passes:" in out and "Converted: 5 of 6 ops" in out and "rule i0_f16_only:" in out
    assert main([*argv, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["summary"]["ops_converted"] == 5 and d["fallbacks"][0]["op"] == "aten.i0.default"


def test_the_report_says_which_precision_float32_matmul_and_conv_run_in(report):
    assert report.f32_contractions == "tf32"  # TensorRT's and Torch-TensorRT's default: TF32 allowed
    assert "Numerics: float32 convolutions and matrix products may run in TF32" in str(report)
    assert report.to_dict()["numerics"] == {"f32_contractions": "tf32"}
    exact = trt_passes.explain(unsupported(), inputs=[X], min_block_size=1, disable_tf32=True)
    assert exact.f32_contractions == "f32"
    assert "run in full float32 (disable_tf32=True)" in str(exact)
