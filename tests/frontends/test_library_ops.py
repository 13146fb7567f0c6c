"""Every frontend imports ops other libraries register with torch (a ``torch.library`` custom op defined here,
torchvision's ``roi_align`` and ``nms``) as ordinary IR nodes, named ``NAMESPACE.NAME.OVERLOAD``, with every schema
argument in ``attrs`` and the types of the op's fake value: what later passes infer and partition with."""

from __future__ import annotations

import pytest
import torch
import torchvision.ops

from trt_passes.frontends import FRONTENDS
from trt_passes.frontends.base import FrontendError
from trt_passes.frontends.dynamo import import_model
from trt_passes.ir import Graph, Slot, SymDim, TensorType

SCALE = "trt_passes_test_frontends.scale.default"


@torch.library.custom_op("trt_passes_test_frontends::scale", mutates_args=())
def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    return x * factor


@scale.register_fake
def _scale_fake(x: torch.Tensor, factor: float) -> torch.Tensor:
    return torch.empty_like(x)


@torch.library.custom_op("trt_passes_test_frontends::bump", mutates_args=("x",))
def bump(x: torch.Tensor) -> None:
    x.add_(1)


@bump.register_fake
def _bump_fake(x: torch.Tensor) -> None:
    return None


class Pooler(torch.nn.Module):
    """A convolution, the custom op, then roi_align of the boxes: static output sizes throughout."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, images: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        features = scale(self.conv(images).relu(), 0.5)
        return torchvision.ops.roi_align(features, boxes, output_size=(2, 3), spatial_scale=0.5, sampling_ratio=2)


class Suppressor(torch.nn.Module):
    """nms: how many boxes it keeps depends on the data."""

    def forward(self, boxes: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return torchvision.ops.nms(boxes * 2, scores, 0.5) + 1


class BumpsACopy(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        bump(y)
        return y


def pooler_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    boxes = torch.tensor([[0.0, 1.0, 1.0, 9.0, 7.0], [0.0, 0.0, 2.0, 5.0, 11.0], [1.0, 3.0, 0.0, 12.0, 12.0]])
    return torch.randn(2, 3, 16, 16), boxes


def nodes_of(graph: Graph, op: str) -> list:
    return [n for n in graph.nodes() if n.op == op]


@pytest.mark.parametrize("ir", ["dynamo", "fx", "torchscript", "torch_compile"])
def test_each_frontend_imports_a_custom_op_and_roi_align_as_nodes_typed_by_their_fake_values(ir: str):
    model = Pooler().eval()
    graph = FRONTENDS[ir].import_model(model, pooler_inputs())
    (scaled,) = nodes_of(graph, SCALE)
    assert scaled.outputs == (TensorType("f32", (2, 4, 16, 16)),)
    assert scaled.attrs == {"x": Slot(0), "factor": 0.5}
    (pooled,) = nodes_of(graph, "torchvision.roi_align.default")
    assert pooled.outputs == (TensorType("f32", (3, 4, 2, 3)),)  # one row per box
    assert pooled.attrs == {"input": Slot(0), "rois": Slot(1), "spatial_scale": 0.5, "pooled_height": 2,
                            "pooled_width": 3, "sampling_ratio": 2, "aligned": False}
    assert graph.inputs(pooled.id)[0].node == scaled.id  # roi_align reads the custom op's result


@pytest.mark.parametrize("ir", ["dynamo", "fx", "torchscript"])
def test_nms_imports_with_its_data_dependent_size_as_a_symbol_no_input_determines(ir: str):
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [0.5, 0.5, 4.0, 4.0], [6.0, 6.0, 9.0, 9.0]])
    graph = FRONTENDS[ir].import_model(Suppressor(), (boxes, torch.tensor([0.9, 0.8, 0.7])))
    (kept,) = nodes_of(graph, "torchvision.nms.default")
    (size,) = kept.outputs[0].shape
    assert kept.outputs[0].dtype == "i64"
    assert isinstance(size, SymDim) and size.isidentifier()  # a fresh symbol such as u0, not an input's dim
    assert "symbols" not in graph.meta or str(size) not in graph.meta["symbols"]


def test_a_custom_op_writing_its_input_is_an_error_naming_the_op():
    with pytest.raises(FrontendError, match=r"custom op trt_passes_test_frontends::bump writes its argument\(s\) "
                                            r"\['x'\].*mutates_args=\(\)"):
        import_model(BumpsACopy(), (torch.randn(3),))
