"""The user's inputs as one call of the model: Torch-TensorRT's inputs / arg_inputs / kwarg_inputs, bound to forward."""

from __future__ import annotations

import pytest
import torch

from trt_passes.inputs import Input
from trt_passes.ir.symbolic import SymbolRange
from trt_passes.model_inputs import forward_signature, has_dynamic_dims, resolve_call

X = torch.randn(2, 3)
MASK = torch.ones(2, 3)


class Masked(torch.nn.Module):
    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *, scale: float = 1.0) -> torch.Tensor:
        return x * scale if mask is None else x * mask * scale


class Pair(torch.nn.Module):
    def forward(self, pair: tuple[torch.Tensor, torch.Tensor], extra: dict[str, torch.Tensor]) -> torch.Tensor:
        return pair[0] + pair[1] * extra["w"]


def test_one_tensor_or_input_alone_is_one_positional_input():
    assert resolve_call(Masked(), X).args == (X,)
    spec = Input((2, 3))
    assert resolve_call(Masked(), arg_inputs=spec).args == (spec,)


def test_arg_inputs_is_inputs_under_torch_tensorrts_other_name_and_not_both():
    assert resolve_call(Masked(), arg_inputs=[X, MASK]).args == resolve_call(Masked(), inputs=[X, MASK]).args == (
        X, MASK)
    with pytest.raises(TypeError, match="inputs= and arg_inputs= are the same argument"):
        resolve_call(Masked(), inputs=[X], arg_inputs=[X])


def test_keyword_inputs_a_parameter_takes_positionally_become_positional_in_forward_order():
    call = resolve_call(Masked(), kwarg_inputs={"mask": MASK, "x": X})
    assert call.args == (X, MASK) and call.kwargs == {}
    assert call.argument_names == ["x", "mask"]


def test_keyword_only_parameters_stay_keywords():
    call = resolve_call(Masked(), [X], kwarg_inputs={"scale": 2.0})
    assert call.args == (X,) and call.kwargs == {"scale": 2.0}


def test_a_dict_as_inputs_is_keyword_inputs():
    assert resolve_call(Masked(), {"x": X, "mask": MASK}).args == (X, MASK)
    with pytest.raises(TypeError, match=r"keyword inputs \['x'\] are given both"):
        resolve_call(Masked(), {"x": X}, kwarg_inputs={"x": X})


def test_inputs_the_forward_cannot_take_are_an_error_quoting_its_signature():
    signature = r"forward\(x, mask=None, \*, scale=1\.0\)"
    with pytest.raises(TypeError, match=rf"do not fit the model's {signature}: too many positional"):
        resolve_call(Masked(), [X, MASK, X])
    with pytest.raises(TypeError, match="unexpected keyword argument 'maks'"):
        resolve_call(Masked(), [X], kwarg_inputs={"maks": MASK})


def test_no_inputs_at_all_is_an_error_saying_what_to_give():
    with pytest.raises(ValueError, match=r"inputs=.* is required"):
        resolve_call(Masked())


@pytest.mark.parametrize(("inputs", "kwargs", "match"), [
    ([X, {1, 2}], None, r"inputs\[1\] is a set"),
    ([(X, [X, object()])], None, r"inputs\[0\]\[1\]\[1\] is a object"),
    ([X], {"mask": [X, b"raw"]}, r"kwarg_inputs\['mask'\]\[1\] is a bytes"),
    ("x.pt", None, "inputs takes a list"),
    ([X], [("mask", MASK)], "kwarg_inputs takes a dict"),
])
def test_a_leaf_that_is_no_input_is_an_error_naming_where_it_is(inputs, kwargs, match):
    with pytest.raises(TypeError, match=match):
        resolve_call(Masked(), inputs, kwarg_inputs=kwargs)


def test_nested_inputs_keep_their_structure_and_inputs_become_examples():
    spec = Input((2, 3), low=2.0, high=3.0)
    call = resolve_call(Pair(), [(X, spec)], kwarg_inputs={"extra": {"w": spec}})
    assert call.kwargs == {} and isinstance(call.args[1], dict)  # extra takes positional: it is positional
    drawn = call.examples()
    (a, b), extra = drawn.args
    assert a is X and b.shape == (2, 3) and bool(((b >= 2) & (b <= 3)).all())
    assert extra["w"].shape == (2, 3) and not torch.equal(extra["w"], b)  # one generator, drawn in order
    again = call.examples()  # seeded: the same examples every time
    assert torch.equal(again.args[0][1], b) and torch.equal(again.args[1]["w"], extra["w"])


def test_dynamic_dims_mirror_each_argument():
    dyn = Input(min_shape=(1, 3), opt_shape=(2, 3), max_shape=(8, 3))
    call = resolve_call(Pair(), [(dyn, X), {"w": Input((2, 3))}])
    assert call.dynamic_dims() == (({0: SymbolRange(1, 2, 8)}, {}), {"w": {}})
    assert call.is_dynamic and has_dynamic_dims(call.dynamic_dims()[0]) and not has_dynamic_dims({"w": {}})


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit.script's deprecation notice
def test_models_without_a_readable_signature_are_called_with_the_inputs_as_given():
    script = torch.jit.script(Pair())
    assert forward_signature(script) is None
    call = resolve_call(script, [(X, X)], kwarg_inputs={"extra": {"w": MASK}})
    assert call.args == ((X, X),) and call.kwargs == {"extra": {"w": MASK}} and call.argument_names is None
