"""What a compiled program records about its inputs, and the specs and export dims saving derives from it."""

from __future__ import annotations

import pytest
import torch

from trt_passes.ir import SymbolRange, SymDim, TensorType
from trt_passes.ir.symbolic import SymbolicError
from trt_passes.program_inputs import ProgramInputs

S0, S1 = SymDim("s0"), SymDim("s1")
RANGES = {"s0": SymbolRange(1, 4, 8), "s1": SymbolRange(2, 16, 64)}


def recorded(*types: TensorType) -> ProgramInputs:
    return ProgramInputs(tuple(f"in{i}" for i in range(len(types))), types, RANGES)


def test_specs_give_static_inputs_their_shape_and_dynamic_ones_the_ranges_of_their_symbols():
    ids, image = recorded(TensorType("i64", (S0, S1)), TensorType("f32", (2, 3))).specs()
    assert (ids.min_shape, ids.opt_shape, ids.max_shape, ids.dtype, ids.name) == (
        (1, 2), (4, 16), (8, 64), torch.int64, "in0")
    assert (image.shape, image.dynamic_axes, image.dtype) == ((2, 3), (), torch.float32)


def test_each_symbol_is_one_export_dim_shared_by_every_axis_it_sizes():
    dims = recorded(TensorType("i64", (S0, S1)), TensorType("f32", (S0, 3)), TensorType("f32", (5,)))
    shapes = dims.export_dynamic_shapes()
    assert shapes[0][0] is shapes[1][0] and shapes[2] is None
    assert (shapes[0][1].min, shapes[0][1].max) == (2, 64)
    assert recorded(TensorType("f32", (2, 3))).export_dynamic_shapes() is None


def test_a_symbol_without_a_range_cannot_be_exported_without_inputs():
    with pytest.raises(SymbolicError, match="s9 has no range; save with inputs"):
        recorded(TensorType("f32", (SymDim("s9"),))).export_dynamic_shapes()


def test_inputs_given_must_have_the_programs_count_dtype_rank_and_static_sizes():
    program = recorded(TensorType("f32", (S0, 3)))
    program.check([torch.zeros(7, 3)])
    for bad, match in [([], "takes 1 tensors"), ([torch.zeros(7, 3, dtype=torch.int64)], "int64 of shape"),
                       ([torch.zeros(7, 4)], r"is f32\[s0, 3\]"), ([torch.zeros(7)], "float32 of shape")]:
        with pytest.raises(ValueError, match=match):
            program.check(bad)
