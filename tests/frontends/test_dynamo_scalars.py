"""Python scalars in tensor positions become 0-d constants whose dtype keeps eager type promotion."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.frontends.models import ATEN_ONLY
from trt_passes.frontends.dynamo import import_model
from trt_passes.ir import verify
from trt_passes.ir.interpreter import run_graph

DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.int32, torch.int64, torch.bool]


class AddScalar(torch.nn.Module):
    def __init__(self, scalar: float | int) -> None:
        super().__init__()
        self.scalar = scalar

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten.add.Tensor(x, self.scalar)  # a scalar where the schema wants a Tensor


def _example(dtype: torch.dtype, seed: int, shape: tuple[int, ...] = (3, 4)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.rand(shape, generator=g) < 0.5
    if dtype.is_floating_point:
        return (torch.rand(shape, generator=g) * 4 + 0.5).to(dtype)  # never all zeros
    return torch.randint(1, 9, shape, generator=g).to(dtype)


def _scalar_constants(graph):
    return [n for n in graph.all_nodes() if n.op == "constant" and n.value is not None and n.value.dim() == 0]


def test_f16_tensor_plus_a_float_scalar_stays_f16():
    x = _example(torch.float16, 0)
    graph = import_model(AddScalar(2.5), (x,))
    verify(graph)
    (const,) = _scalar_constants(graph)
    assert const.type.dtype == "f16" and const.value.item() == 2.5
    (out,) = graph.outputs()
    assert graph.type(out).dtype == "f16"
    (got,) = run_graph(graph, [x], ATEN_ONLY)
    assert got.dtype == torch.float16 and torch.equal(got, x + 2.5)


@given(dtype=st.sampled_from(DTYPES), scalar=st.sampled_from([2, 3, 2.5, -0.75, True]),
       shape=st.sampled_from([(3, 4), ()]), seed=st.integers(0, 1000))
def test_scalar_materialisation_keeps_eager_dtype_and_values(dtype: torch.dtype, scalar: float,
                                                             shape: tuple[int, ...], seed: int):
    """Including the corners of promotion: int tensor + float scalar, bool tensors, 0-d tensors."""
    x = _example(dtype, seed, shape)
    graph = import_model(AddScalar(scalar), (x,))
    verify(graph)
    want = x + scalar
    (got,) = run_graph(graph, [x], ATEN_ONLY)
    assert got.dtype == want.dtype
    assert torch.equal(got, want)
