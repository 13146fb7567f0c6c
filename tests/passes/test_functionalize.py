"""functionalize: in-place ops of torch.export's graph become functional ops computing exactly what eager computes;
writes it cannot prove safe send the whole program through run_decompositions(), and the report says why."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import trt_passes
from trt_passes.backend.registry import default_ops
from trt_passes.compiler import load_library, new_context
from trt_passes.frontends.base import FrontendError
from trt_passes.frontends.dynamo import import_model
from trt_passes.ir import Graph
from trt_passes.ir.interpreter import run_graph
from trt_passes.passes import functionalize
from trt_passes.passes.functionalize import NeedsPyTorchDecompositions, functional_twin
from trt_passes.passes.settings import CompileSettings

# ---- models writing in place -----------------------------------------------------------------------------------------
nn = torch.nn.Module


class AliasedResult(nn):
    """relu_'s result is the tensor it wrote: a later add_ to that tensor changes what z reads."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = x * 2
        z = y.relu_()
        y.add_(x)
        return z * 3, y


class WritesThroughSlices(nn):
    """A mask built as swin_t builds its attention mask: zeros, then writes through slices and selects."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.new_zeros(4, 6)
        m[:2, 1:].fill_(1.0)
        m[2].add_(x[0, :6])
        m[:, ::2].mul_(3)
        return x[:, :6] * m


class WritesThroughReshapesAndPermutes(nn):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y = x + 1
        v = y.view(-1)
        before = v * 1  # read before the write: the old value
        v.add_(1)
        y.transpose(0, 1)[0].fill_(3.0)
        return y * 2, before, v


class ReadsAnEarlierViewAfterTheWrite(nn):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + 1
        row = y[0]  # taken before the write, read after it: it sees the write
        y.mul_(2)
        return row + 1


class KeepsTheWrittenDtype(nn):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = (x * 2).half()
        y.add_(x)  # computed in f32, stored in f16: a functional add would return f32
        return y.float()


class WritesThroughADiagonal(nn):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + 1
        y.diagonal().mul_(3)  # a view with no exact inverse here
        return y


class WritesItsInput(nn):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.mul_(2)
        return x + 1


class WritesABuffer(nn):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("count", torch.zeros(8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.count.add_(1)
        return x + self.count


SAFE = [AliasedResult, WritesThroughSlices, WritesThroughReshapesAndPermutes, ReadsAnEarlierViewAfterTheWrite,
        KeepsTheWrittenDtype]

matrices = arrays("float32", (4, 8), elements=st.floats(-4, 4, width=32)).filter(lambda a: (a != 0).any())


def functional_graph(model: torch.nn.Module, x: torch.Tensor) -> tuple[Graph, str]:
    """``model`` imported from torch.export's graph, after the functionalize pass alone."""
    graph = import_model(model, (x,))
    ops = default_ops()
    ctx = new_context(graph, ops, load_library((), ops), CompileSettings())
    return ctx.graph, functionalize.run(ctx, {})


def flat(result: torch.Tensor | tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    return list(result) if isinstance(result, tuple) else [result]


# ---- the rewrite is exact --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model_class", SAFE)
@settings(max_examples=10, deadline=None)
@given(data=matrices)
def test_the_functional_graph_computes_exactly_what_eager_computes(model_class, data):
    x = torch.from_numpy(data)
    graph, _ = functional_graph(model_class().eval(), x)
    assert not any(default_ops().schema(n.op).is_mutating for n in graph.all_nodes() if n.op.startswith("aten."))
    assert "alias_groups" not in graph.meta
    got = run_graph(graph, [x.clone()], default_ops())
    want = flat(model_class().eval()(x.clone()))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=0, atol=0)  # the same ops on the same values: bit for bit


def test_writes_through_views_are_put_back_into_the_base_by_scatters_and_inverse_views():
    graph, detail = functional_graph(WritesThroughSlices().eval(), torch.randn(4, 8))
    ops = [n.op for n in graph.all_nodes()]
    # m[:2, 1:] is two slices; m[:, ::2] one (its full slice of dim 0 has m's layout: an identity, nothing to undo)
    assert ops.count("aten.slice_scatter.default") == 3 and ops.count("aten.select_scatter.default") == 1
    assert detail == "3 in-place ops made functional (4 views put back)"
    graph, _ = functional_graph(WritesThroughReshapesAndPermutes().eval(), torch.randn(4, 8))
    ops = [n.op for n in graph.all_nodes()]
    assert "aten.reshape.default" in ops and "aten.select_scatter.default" in ops
    assert ops.count("aten.transpose.int") >= 2  # the write's view and its inverse


def test_a_write_that_would_promote_is_cast_back_to_the_written_dtype():
    graph, _ = functional_graph(KeepsTheWrittenDtype().eval(), torch.randn(4, 8))
    add = next(n for n in graph.all_nodes() if n.op == "aten.add.Tensor")
    (cast,) = [graph.node(u) for u in graph.users(add.id)]
    assert add.outputs[0].dtype == "f32" and cast.op == "aten._to_copy.default" and cast.attrs["dtype"] == "f16"


def test_a_program_without_in_place_ops_is_left_as_it_is():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU()).eval()
    graph, detail = functional_graph(model, torch.randn(4, 8))
    assert detail == "no in-place ops" and "aten.relu.default" in {n.op for n in graph.all_nodes()}


@pytest.mark.parametrize("op, twin", [
    ("aten.relu_.default", "aten.relu.default"),
    ("aten.add_.Tensor", "aten.add.Tensor"),
    ("aten.fill_.Tensor", "aten.fill.Tensor"),
    ("aten.copy_.default", "aten.copy.default"),
    ("aten.__iand__.Tensor", "aten.__and__.Tensor"),
    ("aten.dropout_.default", "aten.dropout.default"),  # its argument is `self` in place and `input` in the twin
    ("aten.index_put_.default", "aten.index_put.default"),
    ("aten.relu.default", None),  # not in place
])
def test_the_functional_twin_is_found_from_the_schema(op, twin):
    assert functional_twin(op, default_ops()) == twin


# ---- what it cannot prove safe ---------------------------------------------------------------------------------------
def test_a_write_through_another_view_takes_the_run_decompositions_path_and_the_report_says_why():
    x = torch.randn(4, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference runtime's notice
        compiled = trt_passes.compile(WritesThroughADiagonal().eval(), inputs=[x], runtime="reference")
    report = compiled.compile_report
    assert report.decompositions == "pytorch"
    assert "writes through a view made by aten.diagonal.default" in report.decompositions_reason
    assert "taken instead of the rules because" in str(report) and "aten.diagonal.default" in str(report)
    assert report.to_dict()["decompositions"]["path"] == "pytorch"
    torch.testing.assert_close(compiled(x.clone()), WritesThroughADiagonal()(x.clone()), rtol=1e-6, atol=1e-6)


def test_the_pass_raises_the_typed_error_naming_the_write():
    with pytest.raises(NeedsPyTorchDecompositions, match=r"aten\.add_\.Tensor .*writes the model's buffer or "
                                                         r"weight 'count'"):
        functional_graph(WritesABuffer().eval(), torch.randn(4, 8))
    with pytest.raises(NeedsPyTorchDecompositions, match=r"aten\.mul_\.Tensor .*writes the graph input 'x'"):
        functional_graph(WritesItsInput().eval(), torch.randn(4, 8))


def test_a_model_writing_its_input_fails_as_before_saying_why_the_rules_path_was_not_taken():
    with pytest.raises(FrontendError, match=r"mutates \['x'\].*rules path was not taken because .*writes the "
                                            r"graph input 'x'"):
        trt_passes.compile(WritesItsInput().eval(), inputs=[torch.randn(4, 8)], runtime="reference")
