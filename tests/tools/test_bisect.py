"""bisect: the first pass, and in it the first rule application, after which outputs drift from eager PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision

import trt_passes
from tests.models_for_tests import mlp
from trt_passes.tools.cli import main

MODELS = str(Path(__file__).parent.parent / "models_for_tests.py")

# Planted bugs: each file adds a rule to a shipped rule set, with a priority above the shipped rule for the op.
LEAKY_RELU = """ruleset convert.core : converter

# a "faster" ReLU that is subtly wrong: it leaks 1% of negative values
rule relu_fast priority 10
    aten.relu.default(x: Tensor<f32>)
    => trt.activation(x, type=ActivationType.LEAKY_RELU, alpha=0.01)
    untested "planted bug"
"""
CLAMP = """ruleset lower.core : lowering

rule relu_as_clamp priority 10
    "ReLU clamps at zero (the bound is wrong)"
    aten.relu.default(x: Tensor<f32>)
    => aten.clamp.default(x, -0.05)
    untested "planted bug"
"""


def plant(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


class SmallCnn(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
            torch.nn.Linear(8, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_a_wrong_converter_in_resnet18_is_named_with_its_file_and_line(tmp_path):
    rule_file = plant(tmp_path, "fast_relu.rw", LEAKY_RELU)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    result = trt_passes.bisect(model, [x], rules=[rule_file], tolerance=1e-4)
    assert result.baseline_error <= 1e-4
    assert result.culprit_pass is not None and result.culprit_pass.name == "convert"
    assert [p.name for p in result.passes][-1] == "convert"  # it stops at the first drifting pass
    c = result.culprit
    assert c is not None
    assert (c.rule, c.location, c.ruleset) == ("relu_fast", "fast_relu.rw:4", "convert.core")
    assert c.root_op == "aten.relu.default" and c.rewrote[0] == (c.root, "aten.relu.default")
    assert [op for _, op in c.created] == ["trt.activation"] and c.scope.startswith("trt_")
    assert c.error_before <= 1e-4 < c.error_after
    assert 1 <= c.index <= c.of
    text = str(result)
    assert "rule relu_fast at fast_relu.rw:4" in text and "aten.relu.default" in text
    assert "First drifting pass: convert" in text


def test_a_wrong_lowering_is_found_inside_the_lower_pass(tmp_path):
    rule_file = plant(tmp_path, "clamp.rw", CLAMP)
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    # On the run_decompositions() path the batch norm reaches the lower pass as core ATen and is lowered there first.
    result = trt_passes.bisect(SmallCnn().eval(), [x], rules=[rule_file], decompositions="pytorch")
    assert result.culprit_pass is not None and result.culprit_pass.name == "lower"
    c = result.culprit
    assert c is not None and (c.rule, c.location) == ("relu_as_clamp", "clamp.rw:3")
    assert c.created == [(c.created[0][0], "aten.clamp.default")] and c.scope == ""
    assert c.error_before <= 1e-4 < c.error_after
    assert c.index > 1  # the batch norm lowering fires first and is not blamed


def test_on_the_rules_path_the_same_wrong_lowering_is_found_in_the_lower_pass(tmp_path):
    rule_file = plant(tmp_path, "clamp.rw", CLAMP)
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    result = trt_passes.bisect(SmallCnn().eval(), [x], rules=[rule_file])
    assert [p.name for p in result.passes][:3] == ["functionalize", "truncate_double", "fold_constants"]
    assert result.culprit_pass is not None and result.culprit_pass.name == "lower"
    c = result.culprit
    assert c is not None and (c.rule, c.root_op) == ("relu_as_clamp", "aten.relu.default")  # relu_, made functional
    assert c.error_before <= 1e-4 < c.error_after


def test_without_a_wrong_rule_nothing_drifts():
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    result = trt_passes.bisect(mlp(), [x], min_block_size=1)
    assert not result.drifted and result.culprit is None
    assert [p.name for p in result.passes][-1] == "emit"
    assert all(p.error <= 1e-4 for p in result.passes)
    assert "No step drifts beyond the tolerance" in str(result)


def test_a_looser_tolerance_accepts_the_small_drift(tmp_path):
    rule_file = plant(tmp_path, "fast_relu.rw", LEAKY_RELU)
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    assert trt_passes.bisect(mlp(), [x], rules=[rule_file], min_block_size=1).drifted
    assert not trt_passes.bisect(mlp(), [x], rules=[rule_file], min_block_size=1, tolerance=0.5).drifted


def test_the_cli_prints_pass_rule_location_nodes_and_errors(capsys, tmp_path):
    rule_file = plant(tmp_path, "fast_relu.rw", LEAKY_RELU)
    code = main(["bisect", f"{MODELS}:mlp", "--input", "4x8", "--rules", str(rule_file), "--min-block-size", "1",
                 "--quiet"])
    out = capsys.readouterr().out
    assert code == 1  # a drift is a failure, for scripts
    assert "First drifting pass: convert (default.pipeline:" in out
    assert "rule relu_fast at fast_relu.rw:4 (rule set convert.core)" in out
    assert "rewrote: %" in out and "aten.relu.default" in out and "into:    %" in out and "error:" in out
    code = main(["bisect", f"{MODELS}:mlp", "--input", "4x8", "--rules", str(rule_file), "--min-block-size", "1",
                 "--quiet", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert d["culprit"]["rule"] == "relu_fast" and d["culprit"]["location"] == "fast_relu.rw:4"
    assert d["culprit_pass"]["name"] == "convert"


def test_the_cli_bisects_both_decompositions_paths_to_compare_them(capsys, tmp_path):
    rule_file = plant(tmp_path, "fast_relu.rw", LEAKY_RELU)
    args = ["bisect", f"{MODELS}:mlp", "--input", "4x8", "--rules", str(rule_file), "--min-block-size", "1", "--quiet",
            "--decompositions", "both"]
    assert main(args) == 1  # a drift on either path
    out = capsys.readouterr().out
    rules, pytorch = out.split("== decompositions=pytorch")
    assert rules.startswith("== decompositions=rules") and "decompositions=rules)" in rules
    assert "decompositions=pytorch)" in pytorch
    for half in (rules, pytorch):  # the planted converter drifts on either path
        assert "rule relu_fast at fast_relu.rw:4" in half
    assert main([*args, "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert set(d) == {"rules", "pytorch"} and d["rules"]["decompositions"] == "rules"
    assert d["pytorch"]["culprit"]["rule"] == "relu_fast"


def test_the_cli_exits_0_when_nothing_drifts(capsys):
    code = main(["bisect", f"{MODELS}:mlp", "--input", "4x8", "--min-block-size", "1", "--quiet"])
    assert code == 0 and "No step drifts beyond the tolerance." in capsys.readouterr().out


def test_a_negative_tolerance_is_refused():
    with pytest.raises(ValueError, match="tolerance"):
        trt_passes.bisect(mlp(), [torch.randn(4, 8)], tolerance=-1.0)
