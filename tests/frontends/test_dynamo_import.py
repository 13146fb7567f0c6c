"""The dynamo frontend imports whole models into the IR schema, and the IR computes what the model computes."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import trt_passes
from tests.frontends.models import (
    ATEN_ONLY,
    BERT_INPUT_SHAPE,
    RESNET_INPUT_SHAPE,
    bert,
    max_relative_error,
    resnet18,
)
from trt_passes.frontends.dynamo import import_model
from trt_passes.ir import STRUCTURAL_OPS, Slot, Value, verify
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.interpreter import run_graph

TOLERANCE = 1e-5


def _random_image(seed: int, scale: float) -> torch.Tensor:
    return torch.randn(RESNET_INPUT_SHAPE, generator=torch.Generator().manual_seed(seed)) * scale


# ---- structure ----------------------------------------------------------------------------------------------------
PATHS = ("rules", "pytorch")


def test_models_import_into_graphs_that_verify():
    for path in PATHS:
        for graph in (resnet18(path)[1], bert(path)[1]):
            verify(graph)


@pytest.mark.parametrize("path", PATHS)
def test_every_node_is_structural_or_an_aten_overload_with_every_schema_argument_in_order(path):
    for graph in (resnet18(path)[1], bert(path)[1]):
        for node in graph.all_nodes():
            if node.op in STRUCTURAL_OPS:
                continue
            schema = aten_dialect().schema(node.op)
            assert schema is not None, node.op
            assert list(node.attrs) == [a.name for a in schema.args], node.op


@pytest.mark.parametrize("path, op", [("rules", "aten.conv2d.default"), ("pytorch", "aten.convolution.default")])
def test_tensor_arguments_are_slots_numbered_in_schema_order(path, op):
    _, graph = resnet18(path)
    conv = next(n for n in graph.all_nodes() if n.op == op)
    assert conv.attrs["input"] == Slot(0) and conv.attrs["weight"] == Slot(1)
    assert conv.attrs["bias"] is None  # resnet convolutions have no bias: an absent optional tensor is None
    assert conv.attrs["stride"] == [2, 2]


def test_multi_output_ops_leave_no_getitem_nodes_and_readers_use_output_indexes():
    for graph, op in ((resnet18("pytorch")[1], "aten.max_pool2d_with_indices.default"),
                      (bert("pytorch")[1], "aten.native_layer_norm.default")):
        assert not any("getitem" in n.op for n in graph.all_nodes())
        producer = next(n for n in graph.all_nodes() if n.op == op)
        assert len(producer.outputs) == (2 if "max_pool" in op else 3)
        readers = [idx for _, _, idx in graph.nx.out_edges(producer.id, data="index")]
        assert readers and set(readers) == {0}  # only the values are used, through output index 0


def test_inputs_are_named_from_the_signature_and_the_calling_convention_is_kept():
    _, graph, _ = bert()
    (inp,) = [graph.node(i) for i in graph.graph_inputs()]
    assert inp.name == "input_ids" and inp.type.dtype == "i64" and inp.type.shape == BERT_INPUT_SHAPE
    assert graph.meta["input_names"] == ["input_ids"]
    assert "BaseModelOutputWithPoolingAndCrossAttentions" in str(graph.meta["out_spec"])
    assert graph.meta["in_spec"] is not None


@pytest.mark.parametrize("path, op, name", [("rules", "aten.conv2d.default", "conv2d_1"),
                                           ("pytorch", "aten.convolution.default", "convolution_1")])
def test_provenance_keeps_the_innermost_module_path_and_the_fx_node(path, op, name):
    _, graph = resnet18(path)
    sources = {n.provenance.source for n in graph.all_nodes() if n.op == op}
    assert f"layer1.0.conv1/{name}" in sources


# ---- torch.export's own graph -------------------------------------------------------------------------------------
def test_the_rules_path_imports_the_training_ir_with_its_in_place_ops_in_program_order():
    _, graph = resnet18("rules")
    ops = {n.op for n in graph.all_nodes()}
    assert {"aten.conv2d.default", "aten.batch_norm.default", "aten.relu_.default", "aten.add_.Tensor"} <= ops
    # ids follow program order: every node's inputs come before it
    assert all(v.node < n.id for n in graph.all_nodes() for v in graph.inputs(n.id))


def test_each_in_place_result_is_recorded_as_an_alias_of_the_tensor_it_wrote():
    _, graph = resnet18("rules")
    groups = graph.meta["alias_groups"]
    writes = [n for n in graph.all_nodes() if n.op in ("aten.relu_.default", "aten.add_.Tensor")]
    by_member = {v: g for g in groups for v in g.members}
    for w in writes:
        written = graph.inputs(w.id)[0]
        group = by_member[Value(w.id)]
        assert written in group.members and Value(w.id) in group.identities  # same elements, same layout


def test_the_pytorch_path_imports_core_aten_with_no_in_place_op():
    _, graph = resnet18("pytorch")
    assert not any(aten_dialect().schema(n.op).is_mutating for n in graph.all_nodes() if n.op.startswith("aten."))
    assert "aten.convolution.default" in {n.op for n in graph.all_nodes()}


def test_import_model_records_the_path_and_on_the_rules_path_how_to_take_the_other():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(inplace=True)).eval()
    rules = import_model(model, (torch.randn(2, 4),))
    assert rules.meta["decompositions"] == "rules" and "aten.linear.default" in {n.op for n in rules.all_nodes()}
    other = rules.meta["import_with_pytorch_decompositions"]()
    assert other.meta["decompositions"] == "pytorch" and "aten.linear.default" not in {n.op for n in other.all_nodes()}
    pytorch = import_model(model, (torch.randn(2, 4),), decompositions="pytorch")
    assert pytorch.meta["decompositions"] == "pytorch" and "import_with_pytorch_decompositions" not in pytorch.meta
    with pytest.raises(ValueError, match=r"decompositions must be one of 'rules', 'pytorch'; got 'torch'"):
        import_model(model, (torch.randn(2, 4),), decompositions="torch")


# ---- constants ----------------------------------------------------------------------------------------------------
def test_constants_are_the_models_own_parameter_and_buffer_tensors():
    for model, graph in (resnet18(), bert()[:2]):
        own = {**dict(model.named_parameters()), **dict(model.named_buffers())}
        named = [n for n in graph.all_nodes() if n.op == "constant" and n.name]
        assert named
        for node in named:
            assert node.value is own[node.name], node.name  # identity: weights are never copied


def test_unused_buffers_do_not_become_constants():
    _, graph = resnet18()
    assert not any(n.name.endswith("num_batches_tracked") for n in graph.all_nodes())


# ---- semantics ----------------------------------------------------------------------------------------------------
# The training IR runs in program order (node ids), its in-place ops writing the interpreter's tensors as eager does.
@pytest.mark.parametrize("path", PATHS)
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.1, 10.0))
def test_resnet18_ir_matches_eager(path: str, seed: int, scale: float):
    model, graph = resnet18(path)
    x = _random_image(seed, scale)
    with torch.no_grad():
        (got,) = run_graph(graph, [x], ATEN_ONLY)
        want = model(x)
    assert max_relative_error(got, want) <= TOLERANCE


@pytest.mark.parametrize("path", PATHS)
@given(ids=st.lists(st.integers(1, 1023), min_size=16, max_size=16))
def test_bert_ir_matches_eager(path: str, ids: list[int]):
    model, graph, _ = bert(path)
    x = torch.tensor(ids).reshape(BERT_INPUT_SHAPE)
    with torch.no_grad():
        got = run_graph(graph, [x], ATEN_ONLY)
        want = model(x)
    assert max_relative_error(got[0], want.last_hidden_state) <= TOLERANCE
    assert max_relative_error(got[1], want.pooler_output) <= TOLERANCE


# ---- regions torch.export wraps in higher-order ops ---------------------------------------------------------------
class NoGradAndNoAutocast(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            y = self.fc(x)
        with torch.autocast("cpu", enabled=False):
            z = y * 2
        return z.relu()


class Autocast(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return (x @ x.t()).float()


@given(x=st.lists(st.floats(-3, 3), min_size=8, max_size=8))
def test_grad_mode_and_disabled_autocast_regions_are_imported_inline(x: list[float]):
    model = NoGradAndNoAutocast().eval()
    graph = import_model(model, (torch.randn(2, 4),))
    assert graph.meta["decompositions"] == "rules"
    assert {"aten.linear.default", "aten.relu.default"} <= {n.op for n in graph.all_nodes()}
    inputs = torch.tensor(x).reshape(2, 4)
    with torch.no_grad():
        (got,) = run_graph(graph, [inputs], ATEN_ONLY)
        assert torch.equal(got, model(inputs))


def test_an_enabled_autocast_region_takes_the_run_decompositions_path_saying_why():
    graph = import_model(Autocast().eval(), (torch.randn(2, 4),))
    assert graph.meta["decompositions"] == "pytorch"
    assert "an autocast region is not representable in the IR" in graph.meta["decompositions_reason"]
    report = trt_passes.explain(Autocast().eval(), inputs=[torch.randn(2, 4)], min_block_size=1)
    assert report.decompositions == "pytorch" and "autocast region" in report.decompositions_reason
