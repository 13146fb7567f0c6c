"""The dynamo frontend turns plain dynamic-dim ranges into ``torch.export`` dynamic shapes."""

from __future__ import annotations

from trt_passes.frontends.dynamo import export_dynamic_shapes
from trt_passes.ir.symbolic import SymbolRange

BATCH, SEQUENCE = SymbolRange(1, 4, 8), SymbolRange(2, 16, 64)


def test_each_dynamic_axis_becomes_an_export_dim_with_its_min_and_max():
    (axes,) = export_dynamic_shapes([{0: BATCH, 1: SEQUENCE}])
    assert (axes[0].min, axes[0].max) == (1, 8) and (axes[1].min, axes[1].max) == (2, 64)


def test_axes_at_the_same_position_with_the_same_range_share_one_dim_as_input_ids_and_attention_mask_do():
    ids, mask, image = export_dynamic_shapes([{0: BATCH, 1: SEQUENCE}, {0: BATCH, 1: SEQUENCE}, {}])
    assert ids[0] is mask[0] and ids[1] is mask[1] and ids[0] is not ids[1]
    assert image is None


def test_the_same_range_at_another_position_or_another_range_is_another_dim():
    first, second = export_dynamic_shapes([{0: BATCH}, {1: BATCH}])
    assert first[0] is not second[1]
    first, second = export_dynamic_shapes([{0: BATCH}, {0: SymbolRange(1, 4, 16)}])
    assert first[0] is not second[0] and second[0].max == 16


def test_static_inputs_need_no_dynamic_shapes():
    assert export_dynamic_shapes([{}, {}]) is None
    assert export_dynamic_shapes(None) is None
