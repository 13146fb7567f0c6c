"""The frontend table: ``ir`` names map to frontends; unknown names are rejected with the valid ones listed."""

from __future__ import annotations

import pytest

from trt_passes.frontends import FRONTENDS, get_frontend


def test_dynamo_and_default_name_the_dynamo_frontend():
    assert get_frontend("dynamo").name == "dynamo"
    assert get_frontend("default").name == "dynamo"


@pytest.mark.parametrize(("ir", "name"), [("fx", "fx"), ("torchscript", "torchscript"), ("ts", "torchscript"),
                                          ("torch_compile", "torch_compile")])
def test_every_documented_ir_names_a_frontend(ir: str, name: str):
    assert get_frontend(ir).name == name


@pytest.mark.parametrize("ir", ["TorchScript", "onnx", "", "Dynamo", "fx_graph"])
def test_an_unknown_ir_is_a_value_error_listing_the_valid_ones(ir: str):
    with pytest.raises(ValueError, match="unknown ir") as info:
        get_frontend(ir)
    for name in FRONTENDS:
        assert name in str(info.value)


def test_a_frontend_imports_and_wraps():
    frontend = get_frontend("dynamo")
    assert callable(frontend.import_model) and callable(frontend.wrap)
