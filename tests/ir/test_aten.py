"""The ATen catalogue's helpers about op names: packets, short names, the core set."""

from __future__ import annotations

from trt_passes.ir.aten import aten_dialect, core_aten_ops, packet_name, qualified_packet, resolve_overload


def test_the_qualified_packet_is_the_op_without_its_overload():
    assert qualified_packet("aten.add.Tensor") == "aten.add"
    assert qualified_packet("aten.relu.default") == "aten.relu"


def test_the_packet_name_is_an_aten_ops_bare_name_and_leaves_other_ops_alone():
    assert packet_name("aten.convolution.default") == "convolution"
    assert packet_name("trt.activation") == "trt.activation"
    assert packet_name("segment") == "segment"


def test_the_core_set_holds_core_ops_only_each_an_op_the_dialect_knows():
    core = core_aten_ops()
    assert core == sorted(set(core))
    assert {"aten.convolution.default", "aten.add.Tensor", "aten.relu.default"} <= set(core)
    assert "aten.matmul.default" not in core and "aten.linear.default" not in core  # decomposed before core ATen
    known = set(aten_dialect().op_names())
    assert all(op in known and resolve_overload(op) is not None for op in core)
