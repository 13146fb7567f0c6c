"""Golden rewrites: small models in, the TensorRT-dialect ops the shipped rules must produce out.

Each expectation is written by hand from what the rules are meant to do (not captured from a run), as
(op, {attribute: value}) in topological order of the segment's body; only the attributes named are compared.
"""

from __future__ import annotations

import torch

import trt_passes
from trt_passes.backend.enums import ActivationType, ElementWiseOperation, MatrixOperation
from trt_passes.compiler import run_passes
from trt_passes.frontends import get_frontend
from trt_passes.passes.settings import CompileSettings

STRUCTURAL = ("input", "constant", "output")


def converted_ops(model: torch.nn.Module, *inputs: torch.Tensor) -> list[tuple[str, dict]]:
    graph = get_frontend("dynamo").import_model(model.eval(), inputs)
    ctx = run_passes(graph, CompileSettings(min_block_size=1, build_engines=False))
    (segment,) = [n for n in ctx.graph.all_nodes() if n.op == "segment"]
    body = segment.attrs["body"]
    return [(n.op, n.attrs) for n in body.nodes() if n.op not in STRUCTURAL]


def matches(got: list[tuple[str, dict]], want: list[tuple[str, dict]]) -> bool:
    return len(got) == len(want) and all(
        g_op == w_op and all(g_attrs.get(k) == v for k, v in w_attrs.items())
        for (g_op, g_attrs), (w_op, w_attrs) in zip(got, want))


class Relu(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def test_relu_becomes_one_relu_activation():
    got = converted_ops(Relu(), torch.randn(2, 3))
    assert matches(got, [("trt.activation", {"type": ActivationType.RELU})]), got


def test_a_linear_layer_becomes_a_matrix_multiply_plus_the_bias():
    torch.manual_seed(0)
    got = converted_ops(torch.nn.Linear(4, 3), torch.randn(2, 4))
    want = [("trt.matrix_multiply", {}), ("trt.elementwise", {"op": ElementWiseOperation.SUM})]
    assert matches(got, want), got
    mm = got[0][1]
    assert {mm["op_a"], mm["op_b"]} <= {MatrixOperation.NONE, MatrixOperation.TRANSPOSE}


def test_convolution_then_batch_norm_is_one_convolution_with_the_norm_folded_into_its_weights():
    torch.manual_seed(0)
    conv, bn = torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-1, 1)
    got = converted_ops(torch.nn.Sequential(conv, bn), torch.randn(1, 3, 8, 8))
    assert matches(got, [("trt.convolution", {"stride": [1, 1], "padding": [0, 0], "groups": 1})]), got


def test_a_reshape_becomes_one_shuffle_and_a_scalar_multiply_moves_in_front_of_it():
    # scalar_mul_before_view (lower/scale_folding.rw) moves `view(x) * c` to `view(x * c)` so that c can fold into
    # weights upstream; here there are none, so the multiply simply comes first.
    class Flatten(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.reshape(6) * 2.0

    got = converted_ops(Flatten(), torch.randn(2, 3))
    want = [("trt.elementwise", {"op": ElementWiseOperation.PROD}), ("trt.shuffle", {"reshape": [6]})]
    assert matches(got, want), got


def test_the_folded_convolution_computes_what_the_two_layers_did():
    torch.manual_seed(1)
    conv, bn = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4)
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    model = torch.nn.Sequential(conv, bn).eval()
    x = torch.randn(1, 3, 8, 8)
    # Exact float32 (no TF32 rounding of the folded weights' products): the fold itself is what is checked.
    compiled = trt_passes.compile(model, inputs=[x], min_block_size=1, runtime="reference", disable_tf32=True)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), rtol=1e-5, atol=1e-5)
