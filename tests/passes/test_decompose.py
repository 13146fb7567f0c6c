"""decompose: each node no rule handles gets PyTorch's own decomposition, traced for that node (symbolic sizes
included) and spliced in with provenance naming it; ops PyTorch cannot decompose stay for PyTorch to run."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import trt_passes
from trt_passes.backend.registry import default_ops
from trt_passes.compiler import import_graph, run_passes
from trt_passes.frontends import get_frontend
from trt_passes.ir import Graph, SymDim
from trt_passes.ir.symbolic import is_symbolic
from trt_passes.passes import decompose as decompose_pass
from trt_passes.passes.decomposition import Decomposition, NotDecomposable, decomposition_for, trace
from trt_passes.passes.settings import CompileSettings


class Diffs(torch.nn.Module):
    """torch.diff (CompositeImplicitAutograd: slices and a sub) and mish (torch._decomp's table): no rule has them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mish(torch.diff(x, dim=-1)) * 2


class TwoDiffs(torch.nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.diff(x, dim=-1) + torch.diff(y, dim=-1)


class BesselI0(torch.nn.Module):
    """aten.i0 has no decomposition and no converter: it stays in PyTorch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.i0(x * 0.5) + x


def explained(model: torch.nn.Module, inputs: list, **options: object) -> trt_passes.CompileReport:
    return trt_passes.explain(model, inputs=inputs, min_block_size=1, **options)


def compiled(model: torch.nn.Module, inputs: list, **options: object) -> torch.nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference runtime's notice: no GPU here
        return trt_passes.compile(model, inputs=inputs, runtime="reference", min_block_size=1, **options)


def graph_after_decompose(model: torch.nn.Module, inputs: list, tmp_path, **options: object) -> Graph:
    pipeline = tmp_path / "to_decompose.pipeline"
    pipeline.write_text("pipeline to_decompose\nfunctionalize\nfold_constants\nlower\ndecompose\n")
    graph = import_graph(get_frontend("dynamo"), model, inputs)
    return run_passes(graph, CompileSettings(pipeline=str(pipeline), **options)).graph  # type: ignore[arg-type]


# ---- which decomposition ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op, name", [
    ("aten.mish.default", "torch._decomp:aten.mish.default"),  # torch's core-ATen table
    ("aten.linear.default", "CompositeImplicitAutograd:aten.linear.default"),  # the op's C++ kernel
    ("aten.native_batch_norm.default", "CompositeImplicitAutograd:aten.native_batch_norm.default"),  # a Python one
    ("aten.upsample_bilinear2d.vec", None),  # torch.export keeps it whole: so do we
    ("aten.relu.default", None),  # core ATen
    ("aten.i0.default", None),
])
def test_the_decomposition_is_the_one_run_decompositions_would_apply(op, name):
    found = decomposition_for(op)
    assert (found.name if found else None) == name


# ---- splicing, with provenance ---------------------------------------------------------------------------------------
def test_each_node_no_rule_handles_is_decomposed_with_provenance_naming_the_decomposition(tmp_path):
    x = torch.randn(3, 7)
    report = explained(Diffs(), [x])
    by_op = {d.op: d for d in report.decomposed}
    diff, mish = by_op["aten.diff.default"], by_op["aten.mish.default"]
    assert diff.decomposition == "CompositeImplicitAutograd:aten.diff.default" and diff.depth == 1
    assert diff.source == "diff" and {"aten.slice.Tensor", "aten.sub.Tensor"} <= set(diff.produced)
    assert mish.decomposition == "torch._decomp:aten.mish.default"
    assert report.decomposed_ops["aten.diff.default"] == 1 and report.decompositions == "rules"
    text = str(report)
    assert f"%{diff.node} aten.diff.default (diff): decomposed by PyTorch's table (CompositeImplicitAutograd:" in text
    assert report.to_dict()["decompositions"]["decomposed_ops"]["aten.mish.default"] == 1
    graph = graph_after_decompose(Diffs(), [x], tmp_path)
    spliced = [n for n in graph.all_nodes() if n.provenance.rule == "decompose:aten.diff.default"]
    assert spliced and all(n.provenance.location == "CompositeImplicitAutograd:aten.diff.default"
                           and n.provenance.ruleset == "pytorch" and n.provenance.source == "diff" for n in spliced)
    assert not any(n.op in ("aten.diff.default", "aten.mish.default") for n in graph.all_nodes())
    assert len(report.partitions) == 1 and not report.fallbacks


@settings(max_examples=15, deadline=None)
@given(data=arrays("float32", (3, 7), elements=st.floats(-3, 3, width=32)).filter(lambda a: (a != 0).any()))
def test_the_decomposed_program_matches_eager(data):
    x = torch.from_numpy(data)
    program = compiled(Diffs(), [torch.randn(3, 7)])
    want = Diffs()(x.double()).float()  # eager in float64, rounded once
    torch.testing.assert_close(program(x), want, rtol=1e-5, atol=1e-5 * float(want.abs().max()))


def test_nodes_of_the_same_op_and_types_share_one_traced_template(monkeypatch):
    traced: list[str] = []
    original = decompose_pass.trace

    def counting(g, node, ops, decomposition):
        traced.append(node.op)
        return original(g, node, ops, decomposition)

    monkeypatch.setattr(decompose_pass, "trace", counting)
    report = explained(TwoDiffs(), [torch.randn(3, 7), torch.randn(3, 7)])
    assert report.decomposed_ops["aten.diff.default"] == 2 and traced.count("aten.diff.default") == 1


# ---- symbolic sizes --------------------------------------------------------------------------------------------------
def test_a_decomposition_traced_with_a_symbolic_size_computes_with_it(tmp_path):
    spec = trt_passes.Input(min_shape=(1, 7), opt_shape=(3, 7), max_shape=(8, 7))
    graph = graph_after_decompose(Diffs(), [spec], tmp_path)
    spliced = [n for n in graph.all_nodes() if (n.provenance.rule or "").startswith("decompose:")]
    assert spliced and any(isinstance(d, SymDim) for n in spliced for t in n.outputs for d in t.shape)
    program = compiled(Diffs(), [spec])
    for batch in (1, 5, 8):
        x = torch.randn(batch, 7, generator=torch.Generator().manual_seed(batch))
        torch.testing.assert_close(program(x), Diffs()(x), rtol=1e-5, atol=1e-5)


def test_sizes_a_decomposition_computes_from_a_symbol_are_kept_as_expressions(tmp_path):
    class Flattens(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.flatten(x, 0, 1) * 2  # aten.flatten.using_ints: a view to [batch * 4, 5]

    spec = trt_passes.Input(min_shape=(1, 4, 5), opt_shape=(2, 4, 5), max_shape=(6, 4, 5))
    graph = graph_after_decompose(Flattens(), [spec], tmp_path)
    assert "aten.flatten.using_ints" not in {n.op for n in graph.all_nodes()}
    batch = graph.node(graph.graph_inputs()[0]).type.shape[0]  # torch.export names the symbol
    views = [n for n in graph.all_nodes() if n.op == "aten.view.default"]
    assert views and all(n.attrs["size"] == [SymDim(f"4*{batch}"), 5] and is_symbolic(n.attrs["size"]) for n in views)


# ---- what stays ------------------------------------------------------------------------------------------------------
def test_an_op_with_no_decomposition_stays_for_pytorch_to_run():
    x = torch.randn(2, 5)
    report = explained(BesselI0(), [x])
    assert not any(d.op == "aten.i0.default" for d in report.decomposed)
    (fallback,) = report.fallbacks
    assert fallback.op == "aten.i0.default" and "no converter rule" in fallback.reason
    program = compiled(BesselI0(), [x])
    torch.testing.assert_close(program(x), BesselI0()(x))


def test_ops_the_user_runs_in_pytorch_are_not_decomposed():
    report = explained(Diffs(), [torch.randn(3, 7)], torch_executed_ops=["aten.diff"])
    assert "aten.diff.default" not in report.decomposed_ops
    assert [f.op for f in report.fallbacks] == ["aten.diff.default"]
    assert report.fallbacks[0].reason == "listed in torch_executed_ops"


def test_a_decomposition_the_ir_cannot_hold_leaves_the_node_saying_why(tmp_path):
    def writes_in_place(x: torch.Tensor, dim: int = -1, *args: object) -> torch.Tensor:
        return x.clone().add_(1)

    graph = import_graph(get_frontend("dynamo"), Diffs(), [torch.randn(3, 7)])
    node = next(n for n in graph.all_nodes() if n.op == "aten.diff.default")
    with pytest.raises(NotDecomposable, match=r"writes a tensor in place \(aten\.add_\.Tensor\)"):
        trace(graph, node, default_ops(), Decomposition(node.op, writes_in_place, "test"))


# ---- the old path ----------------------------------------------------------------------------------------------------
def test_with_pytorch_decompositions_the_whole_program_is_decomposed_first_and_nothing_by_the_pass():
    report = explained(Diffs(), [torch.randn(3, 7)], decompositions="pytorch")
    assert report.decompositions == "pytorch" and report.decomposed == [] and report.decompositions_reason is None
    assert "Decompositions: ExportedProgram.run_decompositions() on the whole program" in str(report)
    with pytest.raises(ValueError, match=r"decompositions must be one of 'rules', 'pytorch'"):
        explained(Diffs(), [torch.randn(3, 7)], decompositions="table")
