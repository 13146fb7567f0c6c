"""The frontend table: ``ir`` names map to frontends, which declare what they can do; unknown names are rejected with
the valid ones listed."""

from __future__ import annotations

import pytest
import torch

from trt_passes.frontends import FRONTENDS, FrontendError, frontends_taking_dynamic_inputs, get_frontend
from trt_passes.ir.symbolic import SymbolRange


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


def test_frontends_declare_what_they_can_do():
    declared = {ir: (f.takes_dynamic_inputs, f.compiles_lazily) for ir, f in FRONTENDS.items()}
    assert declared == {"dynamo": (True, False), "default": (True, False), "fx": (False, False),
                        "torchscript": (False, False), "ts": (False, False), "torch_compile": (False, True)}
    assert frontends_taking_dynamic_inputs() == ["dynamo"]


@pytest.mark.parametrize("ir", ["fx", "torchscript", "torch_compile"])
def test_a_frontend_compiling_static_shapes_refuses_dynamic_dims_with_a_clear_error(ir: str):
    with pytest.raises(FrontendError, match=rf"ir='{ir}' compiles static shapes only"):
        get_frontend(ir).import_model(torch.nn.ReLU(), (torch.randn(2, 3),), [{0: SymbolRange(1, 2, 4)}])


def test_an_ahead_of_time_frontend_has_no_lazy_compile():
    with pytest.raises(NotImplementedError, match="compiles ahead of time"):
        get_frontend("fx").compile_lazily(torch.nn.ReLU(), lambda graph: (None, None))
