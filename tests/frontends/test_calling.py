"""``wrap`` gives the compiled program the model's own calling convention: nested and keyword inputs, structured
outputs, non-tensor leaves."""

from __future__ import annotations

import pytest
import torch

from trt_passes.backend.program import build_program
from trt_passes.frontends import get_frontend

FRONTEND = get_frontend("dynamo")


class Structured(torch.nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor, n: int = 3) -> dict:
        a = torch.cat([x, y], 0) + 1.5
        return {"a": a, "b": (a.sum(0) * n, None), "x": x}


class KeywordOnly(torch.nn.Module):
    def forward(self, a: torch.Tensor, *, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return a + b * c


def _compile(model: torch.nn.Module, inputs):
    graph = FRONTEND.import_model(model, inputs)
    return FRONTEND.wrap(build_program(graph), graph)


def test_outputs_keep_their_structure_including_none_and_passed_through_inputs():
    x, y = torch.randn(2, 3), torch.randn(2, 3)
    compiled = _compile(Structured(), (x, y, 4))
    got, want = compiled(x, y, 4), Structured()(x, y, 4)
    assert set(got) == {"a", "b", "x"} and got["b"][1] is None
    torch.testing.assert_close(got["a"], want["a"])
    torch.testing.assert_close(got["b"][0], want["b"][0])
    torch.testing.assert_close(got["x"], x)


def test_a_different_value_for_a_specialised_non_tensor_input_is_refused():
    x, y = torch.randn(2, 3), torch.randn(2, 3)
    compiled = _compile(Structured(), (x, y, 4))
    with pytest.raises(ValueError, match="baked"):
        compiled(x, y, 5)


def test_a_call_with_a_different_structure_names_the_traced_one():
    x, y = torch.randn(2, 3), torch.randn(2, 3)
    compiled = _compile(Structured(), (x, y, 4))
    with pytest.raises(TypeError, match="traced with inputs structured as"):
        compiled(x, y)


def test_keyword_inputs_may_be_given_in_any_order():
    a, b, c = torch.randn(3, 2)
    compiled = _compile(KeywordOnly(), {"a": a, "b": b, "c": c})
    torch.testing.assert_close(compiled(a=a, c=c, b=b), KeywordOnly()(a, b=b, c=c))
