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


# Ops chosen because no shipped rule is likely ever to handle them: the tests need PyTorch's table to.
class Similarity(torch.nn.Module):
    """cosine_similarity (its CompositeImplicitAutograd kernel: norms, and a clamp_min_ on a scratch tensor) and
    special_entr (torch._decomp's table: where, log, mul)."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.special.entr(torch.nn.functional.cosine_similarity(x, y, dim=-1).abs() + 0.5) * 2


class TwoSimilarities(torch.nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        similar = torch.nn.functional.cosine_similarity
        return similar(x, y, dim=-1) + similar(y, x, dim=-1)


class PixelShuffle(torch.nn.Module):
    """pixel_shuffle (torch._decomp's table): views and a permute whose sizes are computed from the input's."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pixel_shuffle(x, 2) + 1


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
    ("aten.special_entr.default", "torch._decomp:aten.special_entr.default"),  # torch's core-ATen table
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
    x, y = torch.randn(3, 7), torch.randn(3, 7)
    report = explained(Similarity(), [x, y])
    by_op = {d.op: d for d in report.decomposed}
    similar, entr = by_op["aten.cosine_similarity.default"], by_op["aten.special_entr.default"]
    assert similar.decomposition == "CompositeImplicitAutograd:aten.cosine_similarity.default" and similar.depth == 1
    assert similar.source == "cosine_similarity" and "aten.linalg_vector_norm.default" in similar.produced
    # its kernel clamps a scratch tensor in place: recorded as the functional clamp_min
    assert "aten.clamp_min.Tensor" in similar.produced and "aten.clamp_min_.Tensor" not in similar.produced
    assert any(d.depth == 2 for d in report.decomposed)  # what a decomposition produced, decomposed in turn
    assert entr.decomposition == "torch._decomp:aten.special_entr.default"
    assert report.decomposed_ops["aten.cosine_similarity.default"] == 1 and report.decompositions == "rules"
    text = str(report)
    assert (f"%{similar.node} aten.cosine_similarity.default (cosine_similarity): decomposed by PyTorch's table "
            "(CompositeImplicitAutograd:") in text
    assert report.to_dict()["decompositions"]["decomposed_ops"]["aten.special_entr.default"] == 1
    graph = graph_after_decompose(Similarity(), [x, y], tmp_path)
    spliced = [n for n in graph.all_nodes() if n.provenance.rule == "decompose:aten.special_entr.default"]
    assert spliced and all(n.provenance.location == "torch._decomp:aten.special_entr.default"
                           and n.provenance.ruleset == "pytorch" and n.provenance.source == "special_entr"
                           for n in spliced)
    assert not any(n.op in ("aten.cosine_similarity.default", "aten.special_entr.default") for n in graph.all_nodes())
    assert len(report.partitions) == 1 and not report.fallbacks


vectors = arrays("float32", (3, 7), elements=st.floats(-3, 3, width=32)).filter(lambda a: (abs(a) > 0.1).any())


@settings(max_examples=15, deadline=None)
@given(a=vectors, b=vectors)
def test_the_decomposed_program_matches_eager(a, b):
    x, y = torch.from_numpy(a), torch.from_numpy(b)
    program = compiled(Similarity(), [torch.randn(3, 7), torch.randn(3, 7)])
    want = Similarity()(x.double(), y.double()).float()  # eager in float64, rounded once
    torch.testing.assert_close(program(x, y), want, rtol=1e-5, atol=1e-5 * float(want.abs().max()))


def test_nodes_of_the_same_op_and_types_share_one_traced_template(monkeypatch):
    traced: list[str] = []
    original = decompose_pass.trace

    def counting(g, node, ops, decomposition):
        traced.append(node.op)
        return original(g, node, ops, decomposition)

    monkeypatch.setattr(decompose_pass, "trace", counting)
    report = explained(TwoSimilarities(), [torch.randn(3, 7), torch.randn(3, 7)])
    op = "aten.cosine_similarity.default"
    assert report.decomposed_ops[op] == 2 and traced.count(op) == 1


# ---- symbolic sizes --------------------------------------------------------------------------------------------------
def test_a_decomposition_traced_with_a_symbolic_size_computes_with_it(tmp_path):
    spec = trt_passes.Input(min_shape=(1, 7), opt_shape=(3, 7), max_shape=(8, 7))
    graph = graph_after_decompose(Similarity(), [spec, spec], tmp_path)
    spliced = [n for n in graph.all_nodes() if (n.provenance.rule or "").startswith("decompose:")]
    assert spliced and any(isinstance(d, SymDim) for n in spliced for t in n.outputs for d in t.shape)
    program = compiled(Similarity(), [spec, spec])
    for batch in (1, 5, 8):
        x, y = (torch.randn(batch, 7, generator=torch.Generator().manual_seed(batch + k)) for k in (0, 100))
        torch.testing.assert_close(program(x, y), Similarity()(x, y), rtol=1e-5, atol=1e-5)


def test_sizes_a_decomposition_computes_from_a_symbol_are_kept_as_expressions(tmp_path):
    spec = trt_passes.Input(min_shape=(1, 8, 3, 3), opt_shape=(2, 8, 3, 3), max_shape=(6, 8, 3, 3))
    graph = graph_after_decompose(PixelShuffle(), [spec], tmp_path)
    assert "aten.pixel_shuffle.default" not in {n.op for n in graph.all_nodes()}
    batch = graph.node(graph.graph_inputs()[0]).type.shape[0]  # torch.export names the symbol
    spliced = [n for n in graph.all_nodes() if n.provenance.rule == "decompose:aten.pixel_shuffle.default"]
    sizes = [v for n in spliced for v in n.attrs.values() if is_symbolic(v)]
    assert sizes and all(batch in str(v) for v in sizes)
    program = compiled(PixelShuffle(), [spec])
    for n in (1, 4, 6):
        x = torch.randn(n, 8, 3, 3, generator=torch.Generator().manual_seed(n))
        torch.testing.assert_close(program(x), PixelShuffle()(x))


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
    report = explained(Similarity(), [torch.randn(3, 7), torch.randn(3, 7)],
                       torch_executed_ops=["aten.cosine_similarity"])
    assert "aten.cosine_similarity.default" not in report.decomposed_ops
    assert [f.op for f in report.fallbacks] == ["aten.cosine_similarity.default"]
    assert report.fallbacks[0].reason == "listed in torch_executed_ops"


@pytest.mark.parametrize("decomposition, why", [
    (lambda x, *rest: x.add_(1), r"writes one of the op's own arguments in place \(aten\.add_\.Tensor\)"),
    (lambda x, *rest: x[0].clone().view(-1).add_(1), r"writes in place \(aten\.add_\.Tensor\) a tensor another"),
    (lambda x, *rest: x.new_zeros(()).add_(x.sum().item()), r"tracing it failed"),  # a value from the data
])
def test_a_decomposition_the_ir_cannot_hold_leaves_the_node_saying_why(decomposition, why):
    graph = import_graph(get_frontend("dynamo"), Similarity(), [torch.randn(3, 7), torch.randn(3, 7)])
    node = next(n for n in graph.all_nodes() if n.op == "aten.cosine_similarity.default")
    with pytest.raises(NotDecomposable, match=why):
        trace(graph, node, default_ops(), Decomposition(node.op, decomposition, "test"))


# ---- the old path ----------------------------------------------------------------------------------------------------
def test_with_pytorch_decompositions_the_whole_program_is_decomposed_first_and_nothing_by_the_pass():
    inputs = [torch.randn(3, 7), torch.randn(3, 7)]
    report = explained(Similarity(), inputs, decompositions="pytorch")
    assert report.decompositions == "pytorch" and report.decomposed == [] and report.decompositions_reason is None
    assert "Decompositions: ExportedProgram.run_decompositions() on the whole program" in str(report)
    with pytest.raises(ValueError, match=r"decompositions must be one of 'rules', 'pytorch'"):
        explained(Similarity(), inputs, decompositions="table")
