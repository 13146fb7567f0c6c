"""Torch-TensorRT's examples, written as its users write them: only the import (and the backend name torch.compile
is given) differ.

Every call below is spelled as Torch-TensorRT documents it: ``compile(model, ir="dynamo", inputs=[Input(...)],
enabled_precisions=..., min_block_size=..., torch_executed_ops={op objects}, require_full_compilation=...)``,
``arg_inputs``/``kwarg_inputs``, ``Input(min_shape, opt_shape, max_shape, dtype, format, name)``,
``Input.from_tensor``, ``save(module, file_path=..., inputs=...)`` and ``load(file_path=...).module()``. Checks are
backend-neutral too: outputs against eager PyTorch in float64, and what ran where read off the returned modules'
FX graphs. With Torch-TensorRT, these run on a CUDA device; here, on CPU, the TensorRT parts run on the reference
runtime. No weights are downloaded: models get random weights.
"""

from __future__ import annotations

import copy
import functools
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_passes as torch_tensorrt  # the one line a Torch-TensorRT user changes

BACKEND = "trt_passes"  # torch.compile's backend name: "torch_tensorrt" with Torch-TensorRT
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

pytestmark = pytest.mark.filterwarnings("ignore:.*reference runtime:RuntimeWarning")  # CPU: engines cannot run

# Against float64 eager. A float32 model's convolutions and matrix products may compute in TF32 (TensorRT's default,
# and Torch-TensorRT's: disable_tf32=False): operands rounded to 10 mantissa bits (epsilon 9.8e-4). resnet18 at 64x64
# then differs by ~6e-4 (by 6e-7 in full float32), so 5e-3 (what --check accepts with TF32) leaves an 8x margin.
# float16 (epsilon 9.8e-4 on every op, ~10 epsilons through the network as measured in the README): 1e-2.
FLOAT32_TOLERANCE, FLOAT16_TOLERANCE = 5e-3, 1e-2


def relative_error(got: Any, want: Any) -> float:
    """The largest elementwise difference relative to the reference's largest magnitude, over all output tensors."""
    if isinstance(got, torch.Tensor):
        got, want = [got], [want]
    worst = 0.0
    for g, w in zip(got, want):
        w = w.double()
        worst = max(worst, float((g.double() - w).abs().max() / w.abs().max().clamp_min(1e-30)))
    return worst


def in_float64(model: torch.nn.Module) -> torch.nn.Module:
    return copy.deepcopy(model).to(torch.float64)


def images(seed: int, batch: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, 64, 64, generator=torch.Generator().manual_seed(seed)).to(DEVICE)


def graph_modules(module: torch.nn.Module) -> list[torch.fx.GraphModule]:
    return [m for m in module.modules() if isinstance(m, torch.fx.GraphModule)]


def aten_calls(module: torch.nn.Module) -> list[Any]:
    """The ATen ops the returned module runs in PyTorch (outside its TensorRT engines)."""
    return [n.target for gm in graph_modules(module) for n in gm.graph.nodes
            if n.op == "call_function" and isinstance(n.target, torch._ops.OpOverload)]


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # here on CPU: "running TensorRT segments with the reference"
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notices
        return fn(*args, **kwargs)


# ---- the models of the examples ------------------------------------------------------------------------------------
@functools.cache
def resnet18() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval().to(DEVICE)


@functools.cache
def bert() -> torch.nn.Module:
    config = transformers.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=128, vocab_size=500, attn_implementation="sdpa")
    torch.manual_seed(0)
    return transformers.BertModel(config).eval().to(DEVICE)


class MyModel(torch.nn.Module):
    """The small convolutional model of Torch-TensorRT's getting-started pages."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 16, 3, stride=1, bias=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        out = self.relu(out)
        return torch.mean(out, dim=(2, 3))


# ---- compiling with Input specs, precisions, min_block_size --------------------------------------------------------
@functools.cache
def trt_resnet18() -> torch.nn.Module:
    inputs = [torch_tensorrt.Input((1, 3, 64, 64), dtype=torch.float32)]
    return quiet(torch_tensorrt.compile, resnet18(), ir="dynamo", inputs=inputs, enabled_precisions={torch.float32},
                 min_block_size=5, workspace_size=1 << 30, optimization_level=3)


@settings(max_examples=3)
@given(seed=st.integers(0, 2**31 - 1))
def test_resnet18_compiled_from_an_input_spec_matches_eager(seed):
    x = images(seed)
    want = quiet(in_float64(resnet18()), x.double())
    assert relative_error(quiet(trt_resnet18(), x), want) <= FLOAT32_TOLERANCE


def test_a_dynamic_batch_input_runs_at_any_batch_in_its_range():
    inputs = [torch_tensorrt.Input(min_shape=(1, 3, 64, 64), opt_shape=(4, 3, 64, 64), max_shape=(8, 3, 64, 64),
                                   dtype=torch.float32, name="x")]
    trt_gm = quiet(torch_tensorrt.compile, resnet18(), ir="dynamo", inputs=inputs)
    for batch in (2, 7):
        x = images(batch, batch)
        assert relative_error(quiet(trt_gm, x), quiet(in_float64(resnet18()), x.double())) <= FLOAT32_TOLERANCE


def test_enabled_precisions_float16_runs_in_half_and_stays_close():
    trt_gm = quiet(torch_tensorrt.compile, MyModel().eval().to(DEVICE), ir="dynamo",
                   inputs=[torch_tensorrt.Input((2, 3, 32, 32), dtype=torch.float32)],
                   enabled_precisions={torch.float16}, min_block_size=1)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3)).to(DEVICE)
    got = quiet(trt_gm, x)
    assert got.dtype == torch.float32  # inputs and outputs keep their dtypes
    assert relative_error(got, quiet(in_float64(MyModel().eval()), x.double())) <= FLOAT16_TOLERANCE


def test_an_input_from_a_tensor_in_channels_last_format():
    x = images(5).contiguous(memory_format=torch.channels_last)
    spec = torch_tensorrt.Input.from_tensor(x)
    trt_gm = quiet(torch_tensorrt.compile, MyModel().eval().to(DEVICE), ir="dynamo", inputs=[spec], min_block_size=1)
    assert relative_error(quiet(trt_gm, x), quiet(in_float64(MyModel().eval()), x.double())) <= FLOAT32_TOLERANCE


# ---- what runs where -----------------------------------------------------------------------------------------------
def test_torch_executed_ops_given_as_op_objects_run_in_pytorch():
    trt_gm = quiet(torch_tensorrt.compile, MyModel().eval().to(DEVICE), ir="dynamo", inputs=[images(0)],
                   min_block_size=1, torch_executed_ops={torch.ops.aten.relu.default})
    assert torch.ops.aten.relu.default in aten_calls(trt_gm)
    assert torch.ops.aten.convolution.default not in aten_calls(trt_gm)  # the rest is TensorRT's
    x = images(1)
    assert relative_error(quiet(trt_gm, x), quiet(in_float64(MyModel().eval()), x.double())) <= FLOAT32_TOLERANCE


def test_require_full_compilation_builds_one_engine_for_a_small_model_whatever_min_block_size():
    # conv, relu and mean: 3 ops, below min_block_size=5, which full compilation disregards
    trt_gm = quiet(torch_tensorrt.compile, MyModel().eval().to(DEVICE), ir="dynamo", inputs=[images(0)],
                   require_full_compilation=True, min_block_size=5)
    assert aten_calls(trt_gm) == []
    x = images(2)
    assert relative_error(quiet(trt_gm, x), quiet(in_float64(MyModel().eval()), x.double())) <= FLOAT32_TOLERANCE


# ---- keyword inputs: a transformers model ---------------------------------------------------------------------------
def tokens(seed: int, batch: int = 2, length: int = 12) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 500, (batch, length), generator=gen)
    mask = torch.ones(batch, length, dtype=torch.int64)
    mask[:, length - 1 - seed % 3:] = 0  # some padding
    return {"input_ids": ids.to(DEVICE), "attention_mask": mask.to(DEVICE)}


@functools.cache
def trt_bert() -> torch.nn.Module:
    return quiet(torch_tensorrt.compile, bert(), ir="dynamo", arg_inputs=(), kwarg_inputs=tokens(0),
                 min_block_size=1)


@settings(max_examples=3)
@given(seed=st.integers(0, 2**31 - 1))
def test_a_transformers_model_compiled_from_kwarg_inputs_is_called_by_keyword(seed):
    kwargs = tokens(seed)
    got = quiet(trt_bert(), **kwargs)
    want = quiet(in_float64(bert()), **kwargs)
    assert relative_error(got.last_hidden_state, want.last_hidden_state) <= FLOAT32_TOLERANCE
    assert relative_error(got.pooler_output, want.pooler_output) <= FLOAT32_TOLERANCE


def test_positional_arg_inputs_with_keyword_kwarg_inputs():
    kwargs = tokens(7)
    trt_model = quiet(torch_tensorrt.compile, bert(), ir="dynamo", arg_inputs=[kwargs["input_ids"]],
                      kwarg_inputs={"attention_mask": kwargs["attention_mask"]}, min_block_size=1)
    got = quiet(trt_model, kwargs["input_ids"], attention_mask=kwargs["attention_mask"])
    want = quiet(in_float64(bert()), **kwargs)
    assert relative_error(got.last_hidden_state, want.last_hidden_state) <= FLOAT32_TOLERANCE


# ---- torch.compile ---------------------------------------------------------------------------------------------------
def test_torch_compile_with_the_default_options_at_two_shapes():
    model = MyModel().eval().to(DEVICE)
    optimized = torch.compile(model, backend=BACKEND, options={"min_block_size": 1})
    for batch in (1, 4):  # the second shape makes TorchDynamo recapture with a symbolic batch
        x = images(batch, batch)
        assert relative_error(quiet(optimized, x), quiet(in_float64(model), x.double())) <= FLOAT32_TOLERANCE


def test_compile_with_ir_torch_compile_at_two_shapes():
    model = MyModel().eval().to(DEVICE)
    optimized = torch_tensorrt.compile(model, ir="torch_compile", inputs=[images(0)], min_block_size=1)
    for batch in (1, 3):
        x = images(batch, batch)
        assert relative_error(quiet(optimized, x), quiet(in_float64(model), x.double())) <= FLOAT32_TOLERANCE


# ---- saving and loading ----------------------------------------------------------------------------------------------
def test_save_with_file_path_and_load_the_exported_program(tmp_path: Path):
    inputs = [images(0)]
    trt_gm = trt_resnet18()
    path = tmp_path / "trt.ep"
    torch_tensorrt.save(trt_gm, file_path=str(path), inputs=inputs)
    model = torch_tensorrt.load(file_path=str(path)).module()
    x = images(9)
    assert relative_error(quiet(model, x), quiet(in_float64(resnet18()), x.double())) <= FLOAT32_TOLERANCE


def test_save_as_torchscript_and_load_it_with_torch_jit(tmp_path: Path):
    inputs = [images(0)]
    trt_gm = quiet(torch_tensorrt.compile, MyModel().eval().to(DEVICE), ir="dynamo", inputs=inputs,
                   min_block_size=1)
    path = tmp_path / "trt.ts"
    torch_tensorrt.save(trt_gm, file_path=str(path), output_format="torchscript", inputs=inputs)
    model = quiet(torch.jit.load, str(path))
    x = images(4)
    assert relative_error(quiet(model, x), quiet(in_float64(MyModel().eval()), x.double())) <= FLOAT32_TOLERANCE
