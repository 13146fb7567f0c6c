"""What the driver hands a frontend from the user's inputs: example tensors and the ranges of dynamic dims."""

from __future__ import annotations

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
