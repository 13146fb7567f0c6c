"""The trt-passes command: what a user sees, and no tracebacks for user errors."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import trt_passes
from trt_passes.tools.cli import build_parser, main

MODELS = str(Path(__file__).parent.parent / "models_for_tests.py")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_compile_prints_passes_partition_rules_engine_and_parity(capsys):
    code, out, err = run(capsys, "compile", f"{MODELS}:mlp", "--input", "4x8", "--check", "--min-block-size", "1",
                         "--runtime", "reference")
    assert code == 0, err
    for section in ("Passes:", "TensorRT segments: 1", "engine:", "Rules fired:", "Parity: max relative error"):
        assert section in out


def test_a_dynamic_input_compiles_once_and_is_checked_at_its_min_opt_and_max_shapes(capsys):
    code, out, err = run(capsys, "compile", f"{MODELS}:mlp", "--input", "1..4..6x8", "--check", "--min-block-size",
                         "1", "--runtime", "reference")
    assert code == 0, err
    assert "TensorRT segments: 1" in out and "f32[s" in out  # one engine for the whole range, a symbolic batch
    for shape in ("1x8", "4x8", "6x8"):
        assert f"Parity at {shape}: max relative error" in out


def test_explain_a_model_names_each_fallback_and_its_reason_in_text_and_json(capsys):
    code, out, _ = run(capsys, "explain", f"{MODELS}:unsupported", "--input", "4x8", "--min-block-size", "1")
    assert code == 0 and "aten.i0.default" in out and "no converter rule" in out
    code, out, _ = run(capsys, "explain", f"{MODELS}:unsupported", "--input", "4x8", "--json")
    report = json.loads(out)
    assert {f["op"] for f in report["fallbacks"]} >= {"aten.i0.default"}


def test_list_rules_shows_each_rule_with_its_file_and_line(capsys):
    code, out, _ = run(capsys, "list", "rules")
    assert code == 0 and "ruleset convert.core (converter" in out
    assert ".rw:" in out


def test_list_passes_shows_requirements_and_the_default_pipeline(capsys):
    code, out, _ = run(capsys, "list", "passes")
    assert code == 0 and "partition: requires folded, lowered; provides partitioned" in out
    assert "pipeline default" in out


def test_explain_a_pass_or_a_rule(capsys):
    code, out, _ = run(capsys, "explain", "partition")
    assert code == 0 and "min_block_size" in out
    rule = run(capsys, "list", "rules")[1].split("\n")[1].split()[0]
    code, out, _ = run(capsys, "explain", rule)
    assert code == 0 and f"rule {rule}" in out and ".rw:" in out


def test_check_reports_a_bad_rule_file_with_position_and_exit_status_1(capsys, tmp_path):
    bad = tmp_path / "bad.rw"
    bad.write_text("ruleset convert.mine : converter\nrule r\n    aten.relu.default(x) => )\n")
    code, _, err = run(capsys, "check", str(bad))
    assert code == 1 and f"{bad.name}:3:" in err and "Traceback" not in err


def test_check_accepts_a_good_file(capsys, tmp_path):
    good = tmp_path / "good.rw"
    good.write_text('ruleset lower.mine : lowering\nrule double_relu\n    "relu of relu is relu"\n'
                    '    aten.relu.default(aten.relu.default(x))\n    => aten.relu.default(x)\n'
                    '    domain { x: f32 [2, 3] }\n')
    code, out, err = run(capsys, "check", str(good))
    assert code == 0 and out.startswith("ok: 0 errors, 0 warnings; 1 rule checked") and err == ""


def test_check_warns_about_a_lowering_the_shipped_rules_already_do(capsys, tmp_path):
    clone = tmp_path / "clone.rw"
    clone.write_text('ruleset lower.mine : lowering\nrule drop_clone\n    aten.clone.default(x)\n    => x\n'
                     '    untested "identity"\n')
    code, _, err = run(capsys, "check", str(clone))
    assert code == 0 and f"{clone}:2:1: warning[RW508]: rule `drop_clone` never fires" in err
    assert "`lower.core` comes first in the lowering pool of `lower`" in err


def test_check_prints_warnings_and_fails_on_them_only_when_asked(capsys, tmp_path):
    warned = tmp_path / "warned.rw"  # an unused capture, and a rule set no pipeline step runs
    warned.write_text('ruleset mine : lowering\nrule drop_clone\n    aten.clone.default(x, memory_format=m)\n'
                      '    => x\n    untested "identity"\n')
    code, out, err = run(capsys, "check", str(warned))
    assert code == 0 and out.startswith("ok: 0 errors, 2 warnings")
    assert f"{warned}:2:1: warning[RW509]" in err and f"{warned}:3:41: warning[RW505]" in err
    code, out, _ = run(capsys, "check", "--deny-warnings", str(warned))
    assert code == 1 and out.startswith("failed: 0 errors, 2 warnings")


def test_check_finds_a_right_side_of_the_wrong_type_on_examples(capsys, tmp_path):
    rule = tmp_path / "half.rw"
    rule.write_text('ruleset convert.mine : converter\nrule relu_half priority 1\n    "relu in f16"\n'
                    "    aten.relu.default(x: Tensor<f32>)\n"
                    "    => trt.cast(trt.activation(x, type=ActivationType.RELU), to=f16)\n"
                    "    domain { x: f32 [2, 3] }\n")
    code, _, err = run(capsys, "check", str(rule))
    assert code == 1 and f"{rule}:5:8: error[RW215]" in err and "has type f16[2, 3]" in err
    assert run(capsys, "check", "--examples", "0", str(rule))[0] == 0


def test_check_of_a_shipped_file_by_a_relative_path_loads_it_once(capsys, monkeypatch):
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    code, out, err = run(capsys, "check", "spec/convert/runtime_sizes.rw")
    assert code == 0, err
    assert "defined twice" not in err and "rule checked" not in out and "2 rules checked" in out


def test_check_test_reports_the_first_counterexample_with_file_and_line(capsys, tmp_path):
    rule = tmp_path / "leaky.rw"
    rule.write_text('ruleset convert.mine : converter\nrule leaky priority 1\n    "leaky relu (forgets the slope)"\n'
                    '    aten.leaky_relu.default(x: Tensor<f32>, s)\n'
                    '    => trt.activation(x, type=ActivationType.LEAKY_RELU)\n'
                    '    domain { x: f32 [2, 3] in -2.0..2.0 s: 0.1 | 0.2 }\n')
    code, _, err = run(capsys, "check", str(rule))
    assert code == 0, err  # the types are right: only running it shows the bug
    code, _, err = run(capsys, "check", "--test", str(rule))
    assert code == 1 and f"{rule}:2:1: error[RW601]: rule `leaky` changes the result" in err
    assert "negative_slope=0." in err and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["compile", "torchvision:resnet1000", "--input", "1x3x8x8"], "torchvision has no model 'resnet1000'"),
    (["compile", "nomodule", "--input", "1x3"], "bad MODEL"),
    (["compile", f"{MODELS}:mlp", "--input", "4by8"], "bad input shape"),
    (["compile", f"{MODELS}:mlp"], "give at least one --input"),
    (["explain", "no_such_rule_or_pass"], "is no pass or rule"),
])
def test_user_errors_are_one_line_without_traceback(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err and "Traceback" not in err


def test_version_names_trt_passes_torch_and_the_tensorrt_module(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert out.startswith(f"trt-passes {trt_passes.__version__} (torch {torch.__version__}, tensorrt")


def _options(parser: argparse.ArgumentParser, where: str = "trt-passes") -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:  # argparse has no public listing of a parser's arguments
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _options(sub, f"{where} {name}")
        elif not isinstance(action, argparse._HelpAction):
            found.append((f"{where} {'/'.join(action.option_strings) or action.dest}", action))
    return found


def test_every_option_of_every_command_has_help_text():
    options = _options(build_parser())
    assert len(options) > 40
    assert [name for name, action in options if not (action.help or "").strip()] == []


def test_debug_logging_prints_each_line_once():
    env = {**os.environ, "TRT_PASSES_DEBUG": "1"}
    out = subprocess.run([sys.executable, "-m", "trt_passes.tools.cli", "explain", f"{MODELS}:mlp", "--input", "4x8",
                          "--quiet"], capture_output=True, text=True, timeout=300, env=env)
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("trt_passes.")]
    assert out.returncode == 0 and any("fold_constants" in ln for ln in lines)
    assert len(lines) == len(set(lines)), [ln for ln in lines if lines.count(ln) > 1][:3]


def test_the_console_script_is_installed():
    exe = Path(sys.executable).with_name("trt-passes")
    out = subprocess.run([str(exe), "list", "passes"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "emit: requires converted" in out.stdout


def test_compile_with_a_cache_dir_builds_once_then_reuses_the_engine(capsys, tmp_path):
    argv = ["compile", f"{MODELS}:mlp", "--input", "4x8", "--min-block-size", "1", "--runtime", "reference",
            "--cache-dir", str(tmp_path)]
    code, first, err = run(capsys, *argv)
    assert code == 0, err
    code, second, err = run(capsys, *argv)
    assert code == 0, err
    assert "from the engine cache" in second and "from the engine cache" not in first


def test_fmt_rewrites_a_messy_rule_file_into_the_canonical_form_and_check_then_passes(capsys, tmp_path):
    messy = tmp_path / "messy.rw"
    messy.write_text('ruleset lower.mine : lowering\nrule   drop_clone\n  aten.clone.default( x )   =>   x\n'
                     '      untested   "identity"\n')
    code, _, err = run(capsys, "fmt", "--check", str(messy))
    assert code == 1, err
    code, _, err = run(capsys, "fmt", str(messy))
    assert code == 0, err
    formatted = messy.read_text()
    assert formatted != "" and "aten.clone.default(x)" in formatted
    code, _, _ = run(capsys, "fmt", "--check", str(messy))
    assert code == 0
    code, out, _ = run(capsys, "check", str(messy))
    assert code == 0 and out.startswith("ok:")


@pytest.mark.parametrize("flags, line", [
    ((), "Tolerance: 0.005 (TF32: 0.005, or 4 times eager's own error with TF32 rounding)"),
    (("--disable-tf32",), "Tolerance: 0.0001 (the default for f32 compute)"),
    (("--precision", "f16"), "Tolerance: 0.01 (the default for f16 compute)"),
])
def test_check_takes_its_default_tolerance_from_the_precision_the_engines_compute_in(capsys, flags, line):
    code, out, err = run(capsys, "compile", f"{MODELS}:mlp", "--input", "4x8", "--check", "--min-block-size", "1",
                         "--runtime", "reference", *flags)
    assert code == 0, err
    assert line in out
    assert ("eager itself with TF32 rounding" in out) is (not flags)
