"""The library dialect: ops other libraries register with torch, named ``NAMESPACE.NAME.OVERLOAD``, with schemas,
evaluation and type inference read from torch's registration; the registry's fallback for namespaces no dialect
claims."""

from __future__ import annotations

import pytest
import torch
import torchvision.ops  # noqa: F401 - registers torchvision's ops with torch

from trt_passes.ir import TensorType
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.library_ops import library_dialect, library_overload, qualified_name
from trt_passes.ir.ops import OpRegistry, UnknownOpError

OPS = OpRegistry([aten_dialect()], fallback=library_dialect())


@torch.library.custom_op("trt_passes_test_ir::affine", mutates_args=())
def affine(x: torch.Tensor, w: float, b: float = 1.0) -> torch.Tensor:
    return x * w + b


@affine.register_fake
def _affine_fake(x: torch.Tensor, w: float, b: float = 1.0) -> torch.Tensor:
    return torch.empty_like(x)


def test_a_library_op_resolves_to_its_torch_overload_and_others_do_not():
    assert library_overload("trt_passes_test_ir.affine.default") is torch.ops.trt_passes_test_ir.affine.default
    assert library_overload("torchvision.roi_align.default") is torch.ops.torchvision.roi_align.default
    for name in ["aten.relu.default", "trt_passes_test_ir.affine.other", "trt_passes_test_ir.nothing.default",
                 "load_library.x.default", "torchvision.roi_align", "a.b.c.d", "not an.op.name"]:
        assert library_overload(name) is None, name


def test_qualified_names_are_torchs_with_the_overload_only_when_not_the_default():
    assert qualified_name("torchvision.nms.default") == "torchvision::nms"
    assert qualified_name("mylib.scale.out") == "mylib::scale.out"


def test_the_schema_binds_defaults_and_evaluation_calls_the_op():
    schema = OPS.schema("trt_passes_test_ir.affine.default")
    assert [(a.name, a.type, a.default) for a in schema.args] == [("x", "Tensor", None), ("w", "float", None),
                                                                   ("b", "float", 1.0)]
    x = torch.tensor([1.0, -2.0, 3.5])
    (out,) = OPS.evaluate("trt_passes_test_ir.affine.default", {"x": x, "w": 3.0})
    torch.testing.assert_close(out, x * 3.0 + 1.0, rtol=0, atol=0)


def test_types_come_from_the_ops_fake_kernel():
    args = {"input": TensorType("f32", (2, 4, 16, 16)), "rois": TensorType("f32", (5, 5)), "spatial_scale": 0.5,
            "pooled_height": 3, "pooled_width": 2, "sampling_ratio": 2, "aligned": True}
    assert OPS.infer("torchvision.roi_align.default", args) == (TensorType("f32", (5, 4, 3, 2)),)


def test_the_registry_knows_library_ops_through_its_fallback_only():
    assert OPS.has("trt_passes_test_ir.affine.default") and OPS.is_fallback_op("trt_passes_test_ir.affine.default")
    assert OPS.has("aten.relu.default") and not OPS.is_fallback_op("aten.relu.default")
    assert not OpRegistry([aten_dialect()]).has("trt_passes_test_ir.affine.default")
    with pytest.raises(UnknownOpError, match=r"trt_passes_test_ir\.missing\.default"):
        OPS.schema("trt_passes_test_ir.missing.default")


def test_an_op_registered_after_a_miss_is_found():
    name = "trt_passes_test_ir_late.twice.default"
    assert not OPS.has(name)

    @torch.library.custom_op("trt_passes_test_ir_late::twice", mutates_args=())
    def twice(x: torch.Tensor) -> torch.Tensor:
        return x * 2

    assert OPS.has(name) and OPS.schema(name).args[0].name == "x"
