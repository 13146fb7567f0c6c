"""``wrap`` gives the compiled program the model's own calling convention: nested and keyword inputs, structured
outputs, non-tensor leaves."""

from __future__ import annotations

import inspect

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


def test_a_call_with_a_different_structure_says_both_in_the_models_terms():
    x, y = torch.randn(2, 3), torch.randn(2, 3)
    compiled = _compile(Structured(), (x, y, 4))
    with pytest.raises(TypeError, match=r"^the compiled model takes \(Tensor, Tensor, 4\); it was called with "
                                        r"\(Tensor, \(Tensor, Tensor\)\)$"):
        compiled(x, (y, y))


def test_keyword_inputs_may_be_given_in_any_order():
    a, b, c = torch.randn(3, 2)
    compiled = _compile(KeywordOnly(), {"a": a, "b": b, "c": c})
    torch.testing.assert_close(compiled(a=a, c=c, b=b), KeywordOnly()(a, b=b, c=c))


class Masked(torch.nn.Module):
    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, scale: float = 2.0) -> torch.Tensor:
        y = torch.relu(x) * scale
        return y if mask is None else y * mask


def _traced_as_the_driver_does(model: torch.nn.Module, args: tuple, names: list[str]):
    """The program with the driver's record of the call (trt_passes.compiler.import_graph writes it)."""
    graph = FRONTEND.import_model(model, args)
    graph.meta["call_signature"] = inspect.signature(model.forward)
    graph.meta["call_arguments"] = names
    return FRONTEND.wrap(build_program(graph), graph)


def test_a_model_traced_positionally_is_called_by_keyword_too():
    x, mask = torch.randn(3, 4), torch.rand(3, 4)
    compiled = _traced_as_the_driver_does(Masked(), (x, mask), ["x", "mask"])
    want = Masked()(x, mask)
    for got in (compiled(x, mask), compiled(x, mask=mask), compiled(mask=mask, x=x), compiled(x, mask, 2.0),
                compiled(x, mask, scale=2.0)):  # scale at its default: as if not given
        assert torch.equal(got, want)


def test_an_argument_the_model_was_compiled_without_is_refused_unless_it_is_the_default():
    x = torch.randn(3, 4)
    compiled = _traced_as_the_driver_does(Masked(), (x,), ["x"])
    assert torch.equal(compiled(x, None), Masked()(x))
    with pytest.raises(TypeError, match=r"compiled without 'mask', which this call passes.*kwarg_inputs"):
        compiled(x, mask=torch.ones(3, 4))
    with pytest.raises(TypeError, match="compiled without 'scale'"):
        compiled(x, scale=3.0)
    with pytest.raises(TypeError, match=r"forward\(x, mask=None, scale=2\.0\): .*unexpected keyword argument 'maks'"):
        compiled(x, maks=x)
    with pytest.raises(TypeError, match="missing a required argument: 'x'"):
        compiled(mask=None)
    with_mask = _traced_as_the_driver_does(Masked(), (x, torch.ones(3, 4)), ["x", "mask"])
    with pytest.raises(TypeError, match=r"compiled with 'mask', which this call does not pass"):
        with_mask(x)
