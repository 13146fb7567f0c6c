"""Load-time analyses: ordering by specificity, all analysis errors of a load reported together with both spans,
`recursive` declarations, warnings that do not fail a load, and the converter coverage report."""

from __future__ import annotations

from tests.dsl.conftest import OPS, inp, load, load_errors, node
from trt_passes.dsl import converter_coverage, match_at
from trt_passes.ir import Graph

U = 'untested "t"'


def test_equal_priority_rules_are_ordered_by_specificity_then_source_order() -> None:
    lib = load(f"""
        ruleset r : lowering
        rule general aten.add.Tensor(x, _) => x {U}
        rule other aten.mul.Tensor(x, _) => x {U}
        rule specific aten.add.Tensor(_, y: Tensor<f32>) => y {U}
        rule top priority 2 aten.sub.Tensor(x, _) => x {U}
        """)
    assert [r.name for r in lib.rulesets["r"].rules] == ["top", "specific", "general", "other"]
    g = Graph()
    a, b = inp(g, "a", "f32", 2), inp(g, "b", "f16", 2)
    m = match_at(g, node(g, "aten.add.Tensor", self=a, other=a).node, lib.rulesets["r"], OPS)
    assert m is not None and m.rule.name == "specific"
    m = match_at(g, node(g, "aten.add.Tensor", self=b, other=b).node, lib.rulesets["r"], OPS)
    assert m is not None and m.rule.name == "general"


def test_all_analysis_errors_of_a_load_come_together_with_both_spans() -> None:
    err = load_errors(f"""
        ruleset r : lowering
        rule a aten.relu.default(x: Tensor<f32>) where dtype(x) == f16 => x {U}
        rule e aten.add.Tensor(x, y: Tensor<f32>) => y {U}
        rule f aten.add.Tensor(x: Tensor<f16>, y) => x {U}
        rule g aten.neg.default(x) => aten.neg.default(aten.neg.default(x)) {U}
        """)
    assert [d.code for d in err.diagnostics if d.severity == "error"] == ["RW501", "RW502", "RW504"]
    overlap = next(d for d in err.diagnostics if d.code == "RW502")
    assert any("t.rw:4:" in n for n in overlap.notes) and any("t.rw:5:" in n for n in overlap.notes)
    assert "error[RW502]" in str(err) and "rule f aten.add.Tensor" in str(err)


def test_guards_the_analysis_cannot_read_make_overlap_uncertain() -> None:
    lib = load(f"""
        ruleset r : lowering
        rule a aten.add.Tensor(x, y) where rank(x) > 2 => x {U}
        rule b aten.add.Tensor(x, y) where rank(x) < 2 => y {U}
        """)
    assert [r.name for r in lib.rulesets["r"].rules] == ["a", "b"]


def test_recursive_rules_declare_their_measure_and_shrinking_rules_need_none() -> None:
    lib = load(f"""
        ruleset r : lowering
        rule promote recursive "operand dtypes become equal"
            aten.add.Tensor(a, b) where dtype(a) != dtype(b)
            => aten.add.Tensor(aten._to_copy.default(a, dtype=f32), aten._to_copy.default(b, dtype=f32)) {U}
        rule neg_neg aten.neg.default(aten.neg.default(x)) => aten.neg.default(x) {U}
        """)
    assert lib.rule("promote").recursive == "operand dtypes become equal"
    assert lib.rule("neg_neg").recursive is None


def test_warnings_do_not_fail_a_load_and_render_as_warnings() -> None:
    lib = load(f"ruleset r : lowering\nrule a aten.add.Tensor(x, aten.neg.default(y)) => x {U}\n")
    (w,) = lib.warnings
    assert w.code == "RW505" and w.severity == "warning" and "warning[RW505]" in w.render()


def test_converter_coverage_lists_ops_lowering_leaves_that_no_converter_handles() -> None:
    lib = load("""
        ruleset lower : lowering
        rule addmm aten.addmm.default(c, a, b) => aten.add.Tensor(aten.mm.default(a, b), c) untested "t"
        ruleset convert : converter
        rule add aten.add.Tensor(a, b) => trt.elementwise(a, b, op=ElementWiseOperation.SUM) untested "t"
        """)
    report = converter_coverage(lib, model_ops=["aten.relu.default", "output"])
    assert report.converted == {"aten.add.Tensor": ["add"]}
    assert report.missing == {"aten.mm.default": ["addmm"], "aten.relu.default": ["model"]}
    assert not report.ok and "no converter: aten.mm.default  (from addmm)" in report.format()


def test_coverage_of_the_shipped_rules_is_available_as_text() -> None:
    from pathlib import Path

    import trt_passes.spec
    from trt_passes.dsl.tools import coverage_text

    spec = Path(trt_passes.spec.__file__).parent
    text = coverage_text([spec / "lower", spec / "convert"], OPS)
    assert "ATen ops reachable after lowering have a converter" in text


def test_overlap_errors_show_the_source_of_both_rules() -> None:
    err = load_errors(f"""
        ruleset r : lowering
        rule e aten.add.Tensor(x, y: Tensor<f32>) => y {U}
        rule f aten.add.Tensor(x: Tensor<f16>, y) => x {U}
        """)
    text = str(err)
    assert "rule f aten.add.Tensor(x: Tensor<f16>, y)" in text and "rule e aten.add.Tensor(x, y: Tensor<f32>)" in text
    assert "= `e` at t.rw:3:" in text
