"""``decomposed_on_import`` predicts which ops never reach the rules: `trt-passes check` warns that rules rooted at
them never fire (RW510), so it must agree, on each ``decompositions`` path, with what importing the model (and, on
the rules path, the ``functionalize`` pass that runs before any rule) leaves of torch.export's graph."""

from __future__ import annotations

import pytest
import torch

from trt_passes.backend.registry import default_ops
from trt_passes.dsl import RuleLibrary
from trt_passes.frontends.dynamo import decomposed_on_import, export_model, import_exported_program
from trt_passes.ir.aten import op_name_of
from trt_passes.passes.context import PassContext
from trt_passes.passes.functionalize import functionalize
from trt_passes.passes.report import CompileReport
from trt_passes.passes.settings import CompileSettings


class _Activations(torch.nn.Module):
    """CompositeImplicitAutograd ops (prelu, linear), ops with their own kernels torch still decomposes (mish,
    silu, hardswish, roll), core ones (relu, add) and in-place ones on tensors the model made (relu_, add_)."""

    def __init__(self) -> None:
        super().__init__()
        self.prelu = torch.nn.PReLU()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.mish(self.prelu(self.linear(x))) + torch.nn.functional.silu(x)
        z = torch.relu(torch.nn.functional.hardswish(y) + torch.roll(x, 1, 1))
        return torch.relu_(z * 2).add_(x)


def _reaching_the_rules(decompositions: str, x: torch.Tensor) -> set[str]:
    """The ops of the graph the first rule sees: imported, and on the rules path made functional."""
    graph = import_exported_program(export_model(_Activations(), (x,), decompositions=decompositions))
    if decompositions == "rules":
        functionalize(PassContext(graph, default_ops(), RuleLibrary({}), CompileSettings(), CompileReport()))
    return {n.op for n in graph.all_nodes()}


@pytest.mark.parametrize("decompositions", ["rules", "pytorch"])
def test_an_op_is_listed_exactly_when_it_never_reaches_the_rules(decompositions: str):
    x = torch.randn(2, 4)
    traced = {op_name_of(n.target) for n in torch.export.export(_Activations(), (x,)).graph.nodes
              if n.op == "call_function"}
    reaching = _reaching_the_rules(decompositions, x)
    listed = decomposed_on_import(decompositions)
    assert {"aten.relu_.default", "aten.add_.Tensor"} <= traced - reaching, "the model should write in place"
    for op in traced:
        assert (op in listed) == (op not in reaching), op


def test_the_rules_path_hands_the_rules_the_ops_run_decompositions_would_decompose():
    listed, decomposed = decomposed_on_import("rules"), decomposed_on_import("pytorch")
    for op in ("aten.prelu.default", "aten.mish.default", "aten.silu.default", "aten.linear.default"):
        assert op in decomposed and op not in listed, op
    assert listed < decomposed
