"""What the default pipeline makes of small modules with scaled_dot_product_attention and linear kept whole (as
torch.export's graph has them, which the default frontend path imports): the sdpa converters
(spec/convert/attention.rw) and the linear lowering or converters (spec/lower/training_ir/linear_matmul.rw,
spec/convert/linear.rw) give TensorRT engines with no more layers than the same modules decomposed to core ATen, and
the results of eager PyTorch.

Both kinds of graph are made here from one export, with a core-ATen decomposition table that keeps the ops or not.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

from tests.needs_tensorrt import tensorrt_or_skip
from trt_passes.compiler import build_runtime_program, run_passes
from trt_passes.frontends.dynamo import import_exported_program
from trt_passes.passes.context import PassContext
from trt_passes.passes.settings import CompileSettings
from trt_passes.tools.parity import max_relative_error

tensorrt_or_skip()

SDPA = torch.ops.aten.scaled_dot_product_attention.default
LINEAR = torch.ops.aten.linear.default
# Full float32 (no TF32 rounding, which would hide a rule's error of 1e-4): these check the rules.
SETTINGS = CompileSettings(runtime="reference", optimization_level=0, min_block_size=1, disable_tf32=True)


def compile_exported(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...],
                     keep: tuple[torch._ops.OpOverload, ...]) -> PassContext:
    table = torch.export.default_decompositions()
    for op in keep:
        table.pop(op)
    ep = torch.export.export(model, inputs).run_decompositions(table)
    assert sum(n.target in keep for n in ep.graph.nodes) >= len(keep)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = run_passes(import_exported_program(ep), SETTINGS)
    assert not ctx.report.fallbacks and len(ctx.report.partitions) == 1, str(ctx.report)
    return ctx


def layers(ctx: PassContext) -> int:
    (part,) = ctx.report.partitions
    assert part.layers is not None
    return part.layers


def engine_layer_names(ctx: PassContext) -> list[str]:
    (segment,) = [n for n in ctx.graph.all_nodes() if n.op == "segment"]
    return segment.attrs["engine"].layer_names


def parity(ctx: PassContext, model: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
    program = build_runtime_program(ctx.graph, SETTINGS)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return max_relative_error(program(*inputs), model(*inputs))


# ---- linear ---------------------------------------------------------------------------------------------------------
class Linear(torch.nn.Module):
    def __init__(self, bias: bool) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(32, 24, bias=bias)
        with torch.no_grad():  # a trained layer's bias is not zero (a fresh one's would be dropped either way)
            if bias:
                self.fc.bias.uniform_(-1.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(x))


@pytest.mark.parametrize("shape", [(6, 32), (2, 7, 32), (2, 3, 5, 32)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_costs_no_more_layers_than_its_core_aten_decomposition(shape: tuple[int, ...], bias: bool) -> None:
    torch.manual_seed(0)
    model, x = Linear(bias).eval(), (torch.randn(shape),)
    kept, core = compile_exported(model, x, (LINEAR,)), compile_exported(model, x, ())
    # lowered to a matmul with the weight transposed when compiling (that lowering outranks the linear converters:
    # its constant weight can also take the scales scale_folding.rw moves into it)
    assert kept.report.rule_fires["linear_with_bias_as_matmul_add" if bias else "linear_as_matmul"]
    assert layers(kept) <= layers(core)
    # the weight constant, the matrix multiply (+ the bias constant and the sum), the ReLU: no reshape around it
    assert layers(kept) == (5 if bias else 3)
    assert parity(kept, model, x) < 1e-5


@pytest.mark.parametrize("bias", [True, False])
def test_linear_of_a_vector_converts_to_one_matrix_multiply_with_fewer_layers_than_core_aten(bias: bool) -> None:
    torch.manual_seed(0)
    model, x = Linear(bias).eval(), (torch.randn(32),)  # the lowering wants rank >= 2: the converters take it
    kept, core = compile_exported(model, x, (LINEAR,)), compile_exported(model, x, ())
    rule = "linear_of_vector_with_bias_as_matrix_multiply_add" if bias else "linear_of_vector_as_matrix_multiply"
    assert kept.report.rule_fires[rule] == 1
    assert layers(kept) == (5 if bias else 3) < layers(core)
    assert parity(kept, model, x) < 1e-5


# ---- scaled dot-product attention -----------------------------------------------------------------------------------
class Attention(torch.nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *mask: torch.Tensor) -> torch.Tensor:
        if self.kind == "causal":
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        if self.kind == "scaled":
            return F.scaled_dot_product_attention(q, k, v, scale=0.25)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask[0] if mask else None)


def _attention_inputs(kind: str, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(2, 4, 16, 32, generator=g) for _ in range(3))
    if kind == "bool_mask":
        mask = torch.rand(2, 1, 16, 16, generator=g) < 0.7
        mask[0, 0, 3] = False  # a query that may attend nowhere: PyTorch gives 0
        return q, k, v, mask
    if kind == "float_mask":
        mask = torch.randn(2, 1, 16, 16, generator=g)
        mask[1, 0, 5] = float("-inf")  # likewise, as an additive mask
        return q, k, v, mask
    return q, k, v


RULES = {"plain": "sdpa_default_scale_as_attention", "scaled": "sdpa_as_attention",
         "causal": "sdpa_default_scale_as_attention", "bool_mask": "sdpa_default_scale_bool_mask_as_attention",
         "float_mask": "sdpa_default_scale_float_mask_as_attention"}


@pytest.mark.parametrize("kind", sorted(RULES))
def test_attention_converts_to_tensorrts_attention_layer_with_fewer_layers_than_matmul_softmax(kind: str) -> None:
    model, inputs = Attention(kind), _attention_inputs(kind)
    kept, core = compile_exported(model, inputs, (SDPA,)), compile_exported(model, inputs, ())
    assert kept.report.rule_fires[RULES[kind]] == 1
    assert sum(n.endswith("_AttentionOutput") for n in engine_layer_names(kept)) == 1
    assert layers(kept) < layers(core), (layers(kept), layers(core))
    assert parity(kept, model, inputs) < 1e-5


@pytest.mark.parametrize("kind", ["bool_mask", "float_mask"])
def test_a_query_whose_keys_are_all_masked_out_gets_zeros_as_in_pytorch(kind: str) -> None:
    model, inputs = Attention(kind), _attention_inputs(kind)
    program = build_runtime_program(compile_exported(model, inputs, (SDPA,)).graph, SETTINGS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (out,) = program(*inputs)
    row = (0, slice(None), 3) if kind == "bool_mask" else (1, slice(None), 5)
    assert torch.equal(out[row], torch.zeros_like(out[row]))
    torch.testing.assert_close(out, model(*inputs))


def test_an_all_true_constant_mask_is_dropped_and_costs_no_layer() -> None:
    class Padded(torch.nn.Module):
        """BERT without padding: the mask is made inside the model from constants, so it folds to all true."""

        def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            mask = torch.ones(q.shape[0], 1, q.shape[2], k.shape[2], dtype=torch.bool)
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    inputs = _attention_inputs("plain")
    masked = compile_exported(Padded(), inputs, (SDPA,))
    plain = compile_exported(Attention("plain"), inputs, (SDPA,))
    assert masked.report.rule_fires["sdpa_default_scale_all_true_mask_as_attention"] == 1
    assert layers(masked) == layers(plain) == 4  # scale constant, query product, attention input and output
