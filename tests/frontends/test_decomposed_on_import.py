"""``decomposed_on_import`` names the ops no imported graph contains: it is what `trt-passes check` warns about
(RW510), so it must agree with what importing actually does."""

from __future__ import annotations

import torch

from trt_passes.frontends.dynamo import decomposed_on_import, export_model, import_exported_program


class _Activations(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.prelu = torch.nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mish(self.prelu(x)) + torch.nn.functional.silu(x) + torch.relu(x)


def test_the_ops_decomposed_on_import_never_reach_the_graph_and_the_others_do():
    graph = import_exported_program(export_model(_Activations(), (torch.randn(2, 4),)))
    ops = {n.op for n in graph.all_nodes()}
    decomposed = decomposed_on_import()
    assert {"aten.mish.default", "aten.prelu.default", "aten.silu.default"} <= decomposed
    assert not ops & decomposed
    assert "aten.relu.default" in ops and "aten.relu.default" not in decomposed
