"""Bad input as a user types it: every case is one clear line from trt_passes naming what is wrong (and, where it
can, what would be right), never an error from deep inside torch. Through the API and on the command line."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

import trt_passes
from trt_passes.tools.cli import main

CLI_MODELS = str(Path(__file__).parent / "cli_models.py")


def mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).eval()


X = torch.randn(2, 4, generator=torch.Generator().manual_seed(1))


def one_line_error(kind: type[Exception], match: str, fn: Any, *args: Any, **kwargs: Any) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(kind, match=match) as info:
            fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message.strip(), message
    assert info.value.__cause__ is None and (info.value.__suppress_context__ or info.value.__context__ is None)
    return message


# ---- compile options -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("options", "kind", "match"), [
    ({"optimization_level": "3"}, TypeError, r"optimization_level must be 0\.\.5 \(an int\) or None, got str '3'"),
    ({"optimization_level": 7}, ValueError, "optimization_level must be 0..5"),
    ({"optimization_level": True}, TypeError, "optimization_level must be"),
    ({"workspace_size": "1GB"}, TypeError, r"workspace_size must be positive bytes .*1 << 30.*got str '1GB'"),
    ({"workspace_size": 0}, ValueError, "workspace_size must be positive bytes"),
    ({"workspace_size": 1.5e9}, TypeError, "workspace_size must be positive bytes"),
    ({"cache_dir": 123}, TypeError, "cache_dir takes a path .* not int 123"),
    ({"rules": 123}, TypeError, "rules takes a path or a list of paths"),
    ({"rules": [123]}, TypeError, "rules takes a path .* not int 123"),
    ({"min_block_size": True}, TypeError, "min_block_size must be a positive int, got bool True"),
    ({"min_block_size": 0}, ValueError, "min_block_size must be a positive int"),
    ({"min_block_size": "5"}, TypeError, "min_block_size must be a positive int"),
    ({"require_full_compilation": "yes"}, TypeError, "require_full_compilation must be True or False"),
    ({"runtime": None}, ValueError, "runtime must be one of auto, tensorrt, reference"),
    ({"engine_cache_size": "5GB"}, TypeError, "engine_cache_size must be positive bytes"),
    ({"engine_cache_size": -1}, ValueError, "engine_cache_size must be positive bytes"),
    ({"pipeline": 5}, TypeError, "pipeline takes a pipeline name or a path"),
    ({"enabled_precisions": {"fp8"}}, ValueError, "enabled_precisions: 'fp8' is not a precision"),
    ({"min_blok_size": 3}, TypeError, "unknown compile option 'min_blok_size'. Did you mean 'min_block_size'"),
])
def test_a_bad_option_is_one_line_naming_it(options: dict, kind: type[Exception], match: str) -> None:
    one_line_error(kind, match, trt_passes.compile, mlp(), inputs=[X], **options)


@pytest.mark.parametrize(("ops", "kind", "match"), [
    (["aten.rleu"], ValueError, r"torch_executed_ops: 'aten\.rleu' is not an ATen op.*did you mean 'aten\.relu'"),
    (["aten.relu.defualt"], ValueError, r"did you mean 'aten\.relu\.default'"),
    (["torch.ops.aten.sigmod"], ValueError, r"did you mean 'aten\.sigmoid'"),
    (["relu"], ValueError, r"did you mean 'aten\.relu'"),
    ([5], TypeError, r"torch_executed_ops: 5 \(int\) is not an op"),
    ("aten.relu", TypeError, r"takes a list of ops, not one op: use \['aten\.relu'\]"),
    (torch.ops.aten.relu, TypeError, "takes a list of ops, not one op"),
    (5, TypeError, "takes a list of ops, not int 5"),
])
def test_torch_executed_ops_naming_no_op_suggests_the_nearest(ops: Any, kind: type[Exception], match: str) -> None:
    one_line_error(kind, match, trt_passes.compile, mlp(), inputs=[X], torch_executed_ops=ops)


@pytest.mark.parametrize("spelling", [torch.ops.aten.relu.default, torch.ops.aten.relu, "torch.ops.aten.relu.default",
                                      "aten.relu.default", "aten.relu", "torch.ops.aten.relu"])
def test_torch_executed_ops_takes_every_spelling_torch_tensorrt_takes(spelling: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = trt_passes.explain(mlp(), inputs=[X], min_block_size=1, torch_executed_ops=[spelling])
    assert [f.op for f in report.fallbacks] == ["aten.relu.default"]
    assert "torch_executed_ops" in report.fallbacks[0].reason


# ---- the model and its inputs --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "match"), [
    ("resnet18", r"compile takes the model itself, not the str 'resnet18'.*torchvision\.models\.resnet18"),
    (Path("model.pt"), "compile takes the model itself, not the PosixPath|compile takes the model itself, not the"),
    (123, "compile takes a model .* not a int"),
])
@pytest.mark.parametrize("ir", ["dynamo", "fx", "torchscript", "torch_compile"])
def test_something_that_is_not_a_model_is_refused(model: Any, match: str, ir: str) -> None:
    one_line_error(TypeError, match, trt_passes.compile, model, ir, inputs=[X])


def test_inputs_of_a_dtype_the_model_cannot_take_are_one_line() -> None:
    from tests.robustness.cli_models import token_classifier

    message = one_line_error(ValueError, r"the model cannot run on the example inputs \(f32\[2, 16\]\).*indices",
                             trt_passes.compile, token_classifier(), inputs=[torch.randn(2, 16)])
    assert "give inputs of the shapes and dtypes the model takes" in message


@pytest.mark.parametrize("ir", ["dynamo", "fx"])
def test_inputs_of_a_shape_the_model_cannot_take_are_one_line(ir: str) -> None:
    one_line_error(ValueError, r"the model cannot run on the example inputs \(f32\[2, 16, 3\]\)", trt_passes.compile,
                   mlp(), ir, inputs=[torch.randn(2, 16, 3)])


@pytest.mark.parametrize(("spec", "kind", "match"), [
    ({"shape": (2, -1)}, ValueError, r"Input shape \(2, -1\) has a negative dim"),
    ({"shape": (2, 3), "low": 5, "high": 2}, ValueError, r"value range 5\.\.2 is empty"),
    ({"shape": (2, 3), "low": float("nan")}, ValueError, "low must be a finite number"),
    ({"shape": (2, 3), "dtype": "flaot32"}, TypeError, "did you mean .float32."),
    ({"shape": ("2", 3)}, TypeError, "Input shape must be a tuple of ints"),
    ({"shape": 5}, TypeError, "Input shape must be a tuple of ints"),
    ({"min_shape": (1, 3), "opt_shape": (2, 3), "max_shape": (-4, 3)}, ValueError, "negative dim"),
])
def test_a_bad_input_spec_is_one_line(spec: dict, kind: type[Exception], match: str) -> None:
    one_line_error(kind, match, trt_passes.Input, **spec)


def test_an_input_spec_takes_numpy_and_torch_sizes() -> None:
    import numpy as np

    assert trt_passes.Input(torch.Size([2, np.int64(3)])).shape == (2, 3)


# ---- the command line ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "message"), [
    (["--input", "2x16:i64:5..2"], "error: bad value range '5..2': LOW must not exceed HIGH"),
    (["--input", "2x16x3:i64"], "error: the model cannot run on the example inputs (i64[2, 16, 3]): RuntimeError: "
                                "mat1 and mat2 shapes cannot be multiplied"),
    (["--input", "2x16"], "error: the model cannot run on the example inputs (f32[2, 16]): RuntimeError: Expected "
                          "tensor for argument #1 'indices'"),
    (["--input", "-2x16"], "error: bad input shape '-2x16': a dim is negative; sizes are 0 or more"),
    (["--input", "2x16:i64:nan..3"], "error: bad value range 'nan..3': LOW and HIGH must be finite numbers"),
    (["--input", "2x16:i64", "--torch-executed-op", "aten.embeding"], "did you mean 'aten.embedding'"),
    (["--input", "2x16:q8"], "error: bad input dtype 'q8'"),
])
def test_the_command_line_says_one_line_and_logs_no_traceback(capfd, argv: list[str], message: str) -> None:
    code = main(["compile", f"{CLI_MODELS}:token_classifier", "--quiet", *argv])
    _, err = capfd.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and lines and message in lines[-1], err
    assert len(lines) == 1, err  # nothing before it: no logged traceback from torch
