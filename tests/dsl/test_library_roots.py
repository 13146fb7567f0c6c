"""A rule may be rooted at an op a library registered with torch (a custom op), once the registry has the library
dialect as its fallback and the op is registered; the checker says what is missing otherwise."""

from __future__ import annotations

import textwrap

import pytest
import torch

from trt_passes.backend.dialect import trt_dialect
from trt_passes.dsl import RuleLoadError, load_text, match_at, rewrite
from trt_passes.ir import Graph, TensorType, Value
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.construct import add_op
from trt_passes.ir.library_ops import library_dialect
from trt_passes.ir.ops import OpRegistry

OPS = OpRegistry([aten_dialect(), trt_dialect()], fallback=library_dialect())
OP = "trt_passes_test_dsl.halve.default"


@torch.library.custom_op("trt_passes_test_dsl::halve", mutates_args=())
def halve(x: torch.Tensor) -> torch.Tensor:
    return x / 2


@halve.register_fake
def _halve_fake(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x)


def rules(root: str, ops: OpRegistry = OPS) -> str:
    return textwrap.dedent(f"""\
        ruleset convert.mine : converter

        rule halve
            "halving is a product with 0.5"
            {root}(x: Tensor<f32>)
            => trt.elementwise(x, const(0.5, dtype(x)), op=ElementWiseOperation.PROD)
            domain {{ x: f32 [1..3, 1..4] in -2.0..2.0 }}
        """)


def test_a_converter_rule_rooted_at_a_custom_op_matches_its_node_and_rewrites_it():
    library = load_text(rules(OP), OPS)
    g = Graph()
    x = Value(g.add_input("x", TensorType("f32", (2, 3)), 0))
    nid = add_op(g, OPS, OP, {"x": x})
    g.set_outputs([Value(nid)])
    assert match_at(g, nid, library.rulesets["convert.mine"], OPS) is not None
    rewrite(g, library.rulesets["convert.mine"], OPS)
    assert [n.op for n in g.nodes() if n.op not in ("input", "output", "constant")] == ["trt.elementwise"]


def test_a_root_no_loaded_library_registers_is_unknown_and_the_note_says_to_import_its_module():
    with pytest.raises(RuleLoadError) as info:
        load_text(rules("trt_passes_nowhere.halve.default"), OPS)
    (d,) = [d for d in info.value.diagnostics if d.code == "RW101"]
    assert "no dialect `trt_passes_nowhere`, and no library loaded in this process registers it" in d.message
    assert any("once the module registering it is imported" in note for note in d.notes)


def test_without_the_library_fallback_a_custom_op_root_has_no_dialect():
    with pytest.raises(RuleLoadError) as info:
        load_text(rules(OP), OpRegistry([aten_dialect(), trt_dialect()]))
    assert [d.message for d in info.value.diagnostics if d.code == "RW101"] == [
        f"unknown op `{OP}`: no dialect `trt_passes_test_dsl`"]


def test_a_tensorrt_op_is_still_no_rule_root():
    with pytest.raises(RuleLoadError) as info:
        load_text(rules("trt.identity"), OPS)
    assert "RW302" in info.value.codes
