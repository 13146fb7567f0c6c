"""The compiled program keeps its own copy of the weights (backend/snapshot.py): a TensorRT engine copies them when
it is built, so the reference runtime, the program's PyTorch part and a saved program must not read the model's
tensors either."""

from __future__ import annotations

from pathlib import Path

import torch

import trt_passes
from trt_passes.backend.snapshot import snapshot_constants
from trt_passes.ir import Graph, Slot, TensorType, Value

T = TensorType("f32", (2,))


def _graph_with_a_weight_shared_by_a_segment_and_the_graph_around_it() -> tuple[Graph, torch.Tensor]:
    w = torch.ones(2)
    body = Graph()
    x = body.add_input("x", T, 0)
    c = body.add_constant(w, "w")
    s = body.add("aten.add.Tensor", [Value(x), Value(c)], {"self": Slot(0), "other": Slot(1), "alpha": 1}, [T])
    body.set_outputs([Value(s)])
    g = Graph()
    gx = g.add_input("x", T, 0)
    gc = g.add_constant(w, "w")
    seg = g.add("segment", [Value(gx)], {"name": "trt_0", "body": body}, [T])
    out = g.add("aten.mul.Tensor", [Value(seg), Value(gc)], {"self": Slot(0), "other": Slot(1)}, [T])
    g.set_outputs([Value(out)])
    return g, w


def test_constants_are_copied_once_into_a_new_graph_and_the_original_is_untouched() -> None:
    g, w = _graph_with_a_weight_shared_by_a_segment_and_the_graph_around_it()
    snap = snapshot_constants(g)
    outer = [n.value for n in snap.all_nodes() if n.op == "constant"]
    body = next(n for n in snap.all_nodes() if n.op == "segment").attrs["body"]
    inner = [n.value for n in body.all_nodes() if n.op == "constant"]
    assert outer[0] is inner[0]  # one copy for the tensor both held
    assert outer[0] is not w and outer[0].data_ptr() != w.data_ptr() and torch.equal(outer[0], w)
    assert all(n.value is w for n in g.all_nodes() if n.op == "constant")
    original_body = next(n for n in g.all_nodes() if n.op == "segment").attrs["body"]
    assert all(n.value is w for n in original_body.all_nodes() if n.op == "constant")


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    # An op left to PyTorch (i0) between two segments: constants on both sides of the partition.
    class M(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)
            self.scale = torch.nn.Parameter(torch.full((4,), 0.5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(torch.special.i0(self.a(x)) * self.scale)

    return M().eval()


def test_updating_the_models_weights_in_place_after_compiling_changes_nothing(tmp_path: Path) -> None:
    model = _model()
    x = torch.randn(3, 4)
    compiled = trt_passes.compile(model, inputs=[x], min_block_size=1, runtime="reference",
                                  torch_executed_ops=["aten.mul.Tensor"])
    path = tmp_path / "m.ep"
    with torch.no_grad():
        before = compiled(x)
        eager_before = model(x)
        for p in model.parameters():
            p.mul_(3.0).add_(1.0)
        assert not torch.allclose(model(x), eager_before)  # the model did change
        assert torch.equal(compiled(x), before)
        trt_passes.save(compiled, path, output_format="exported_program", inputs=[x])
        assert torch.equal(trt_passes.load(path)(x), before)
