"""``decomposed_on_import`` predicts which ops importing removes: `trt-passes check` warns that rules rooted at them
never fire (RW510), so it must agree with what :func:`export_model` does, whatever decomposition it applies."""

from __future__ import annotations

import torch

from trt_passes.frontends.dynamo import decomposed_on_import, export_model, import_exported_program
from trt_passes.ir.aten import op_name_of


class _Activations(torch.nn.Module):
    """CompositeImplicitAutograd ops (prelu, linear), ops with their own kernels torch still decomposes (mish,
    silu, hardswish, roll) and core ones (relu, add)."""

    def __init__(self) -> None:
        super().__init__()
        self.prelu = torch.nn.PReLU()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.mish(self.prelu(self.linear(x))) + torch.nn.functional.silu(x)
        return torch.relu(torch.nn.functional.hardswish(y) + torch.roll(x, 1, 1))


def test_an_op_is_listed_exactly_when_importing_removes_it():
    x = torch.randn(2, 4)
    traced = {op_name_of(n.target) for n in torch.export.export(_Activations(), (x,)).graph.nodes
              if n.op == "call_function"}
    imported = {n.op for n in import_exported_program(export_model(_Activations(), (x,))).all_nodes()}
    decomposed = decomposed_on_import()
    assert traced - imported, "the model should exercise some decomposition"
    for op in traced:
        assert (op in decomposed) == (op not in imported), op
