"""What the driver hands a frontend from the user's inputs: example tensors and the ranges of dynamic dims."""

from __future__ import annotations

import pytest
import torch

from trt_passes.inputs import Input, dynamic_dims, example_inputs
from trt_passes.ir.symbolic import SymbolRange


def test_dynamic_dims_are_each_inputs_dynamic_axes_with_min_opt_and_max():
    spec = Input(min_shape=(1, 3, 8), opt_shape=(4, 3, 16), max_shape=(8, 3, 32))
    assert dynamic_dims([spec, torch.ones(2), Input((2, 3))]) == (
        {0: SymbolRange(1, 4, 8), 2: SymbolRange(8, 16, 32)}, {}, {})
    assert dynamic_dims(None) == ()


def test_a_dynamic_input_is_drawn_at_its_opt_shape():
    spec = Input(min_shape=(1, 3), opt_shape=(4, 3), max_shape=(8, 3))
    (example,) = example_inputs([spec])
    assert example.shape == (4, 3) and example.dtype == torch.float32 and example.abs().sum() > 0


@pytest.mark.parametrize("spelling", [torch.float16, "f16", "float16", "half", "torch.float16", " float16 "])
def test_an_input_dtype_is_a_torch_dtype_or_any_of_its_names(spelling):
    spec = Input((2, 3), dtype=spelling)
    assert spec.dtype is torch.float16 and spec.example().dtype is torch.float16
    assert spec == Input((2, 3), dtype=torch.float16)


def test_a_misspelled_dtype_name_is_an_error_naming_the_nearest():
    with pytest.raises(TypeError, match="did you mean 'float16'"):
        Input((2, 3), dtype="flot16")
    with pytest.raises(TypeError, match=r"torch\.dtype"):
        Input((2, 3), dtype=3)


def test_an_input_in_channels_last_format_draws_channels_last_examples():
    spec = Input((2, 3, 4, 5), format=torch.channels_last)
    example = spec.example()
    assert example.is_contiguous(memory_format=torch.channels_last) and not example.is_contiguous()
    assert Input((2, 3, 4, 5), format="channels_last") == spec
    with pytest.raises(ValueError, match="needs rank 4"):
        Input((2, 3), format=torch.channels_last)
    with pytest.raises(TypeError, match="format"):
        Input((2, 3), format=torch.preserve_format)


def test_from_tensor_describes_the_tensor_and_uses_it_as_the_example():
    t = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    spec = Input.from_tensor(t, name="image")
    assert (spec.shape, spec.dtype, spec.format, spec.name) == ((2, 3, 4, 5), torch.float32, torch.channels_last,
                                                              "image")
    assert spec.example() is t
    assert (spec.low, spec.high) == (float(t.min()), float(t.max()))
    ids = torch.randint(0, 100, (2, 7))
    assert [s.dtype for s in Input.from_tensors([ids, t])] == [torch.int64, torch.float32]


def test_from_tensor_refuses_a_layout_that_is_neither_contiguous_nor_channels_last():
    t = torch.randn(4, 6)[:, ::2]
    with pytest.raises(ValueError, match="neither contiguous nor channels-last"):
        Input.from_tensor(t)
    assert Input.from_tensor(t, disable_memory_format_check=True).shape == (4, 3)


def test_tensor_domain_is_the_range_values_are_drawn_from():
    spec = Input((1000,), tensor_domain=(2.0, 3.0))
    example = spec.example()
    assert (spec.low, spec.high) == (2.0, 3.0) and bool(((example >= 2.0) & (example <= 3.0)).all())
    with pytest.raises(ValueError, match=r"tensor_domain must be \(low, high\)"):
        Input((2,), tensor_domain=(1.0,))


def test_example_tensor_draws_at_each_end_of_a_dynamic_range():
    spec = Input(min_shape=(1, 3), opt_shape=(4, 3), max_shape=(8, 3))
    assert [tuple(spec.example_tensor(f).shape) for f in ("min_shape", "opt_shape", "max_shape")] == [
        (1, 3), (4, 3), (8, 3)]
    with pytest.raises(ValueError, match="for dynamic inputs"):
        Input((2, 3)).example_tensor("min_shape")
