"""Rules seen in the pipeline that runs them: rule sets no step selects, lowerings undone or escaped across rule
sets, rules another rule set always beats, root ops no frontend hands over. The pipeline is given as data."""

from __future__ import annotations

import textwrap

from tests.dsl.conftest import OPS
from trt_passes.dsl import load_sources
from trt_passes.dsl.pipeline_checks import RuleStep, pipeline_warnings

STEPS = [RuleStep("lower", "lower.*", "lowering", "p:3"), RuleStep("convert", "convert.*", "converter", "p:5")]
U = 'untested "t"'
RSUB_TO_SUB = f"rule rsub_as_sub aten.rsub.Scalar(x: Tensor<f32>, s) => aten.sub.Tensor(const(s, f32), x) {U}\n"
SUB_TO_RSUB = (f"rule sub_as_rsub aten.sub.Tensor(c: Tensor<f32>[], x: Tensor<f32>) where is_const(c)\n"
               f"    => aten.rsub.Scalar(x, value(c)) {U}\n")


def warnings(decomposed: frozenset[str] = frozenset(), **files: str) -> list[tuple[str, str, int]]:
    lib = load_sources({f"{name}.rw": textwrap.dedent(text) for name, text in files.items()}, OPS)
    found = pipeline_warnings(lib, STEPS, decomposed, "decomposed on import")
    assert all(d.severity == "warning" for d in found)
    return sorted((d.code, d.span.file, d.span.line) for d in found)


def test_a_rule_set_no_step_selects_is_reported_at_its_first_rule_in_each_file():
    found = warnings(a="ruleset mine : lowering\n# c\nrule a aten.clone.default(x) => x " + U,
                     b="ruleset convert.x : lowering\nrule b aten.clone.default(x) => x " + U)
    assert found == [("RW509", "a.rw", 3), ("RW509", "b.rw", 2)]  # convert.x is a lowering set: no step takes it


def test_a_lowering_undone_by_a_later_rule_set_is_reported_at_what_it_emits():
    found = warnings(core="ruleset lower.core : lowering\n" + RSUB_TO_SUB, aaa="ruleset lower.aaa : lowering\n"
                     + SUB_TO_RSUB)
    # and, seen from lower.core, the sub it emits is lowered only by lower.aaa, which ran before it
    assert found == [("RW506", "aaa.rw", 3), ("RW507", "core.rw", 2)]


def test_an_op_only_an_earlier_rule_set_lowers_escapes():
    found = warnings(core="ruleset lower.core : lowering\n" + RSUB_TO_SUB, zzz="ruleset lower.zzz : lowering\n"
                     + SUB_TO_RSUB)
    # and lower.core's rewrite of rsub is undone by lower.zzz, which runs after it
    assert found == [("RW506", "core.rw", 2), ("RW507", "zzz.rw", 3)]


def test_an_op_a_later_rule_set_lowers_again_does_not_escape():
    again = (f"rule again aten.rsub.Scalar(x: Tensor<f32>, s)\n"
             f"    => aten.add.Tensor(aten.neg.default(x), const(s, f32)) {U}\n")
    zzz = "ruleset lower.zzz : lowering\n" + SUB_TO_RSUB + again
    # no RW507 for the rsub lower.zzz emits (it lowers rsub itself); lower.core's rewrite is still undone
    assert warnings(core="ruleset lower.core : lowering\n" + RSUB_TO_SUB, zzz=zzz) == [("RW506", "core.rw", 2)]


def test_an_op_emitted_by_a_step_that_lowers_again_afterwards_does_not_escape():
    # lower_unconverted runs unconverted.* and then lower.* again on what those rules made
    steps = [RuleStep("lower", "lower.*", "lowering", "p:3"),
             RuleStep("lower_unconverted", "unconverted.*", "lowering", "p:4", relowers="lower.*")]
    files = {"core.rw": "ruleset lower.core : lowering\n" + RSUB_TO_SUB,
             "late.rw": "ruleset unconverted.late : lowering\n" + SUB_TO_RSUB}
    lib = load_sources(files, OPS)
    found = sorted((d.code, d.span.file, d.span.line) for d in pipeline_warnings(lib, steps, frozenset()))
    # no RW507: the rsub unconverted.late emits is lowered by lower.core, which runs again after it (and each set
    # undoes the other: RW506 both ways)
    assert found == [("RW506", "core.rw", 2), ("RW506", "late.rw", 3)]
    no_again = [steps[0], RuleStep("lower_unconverted", "unconverted.*", "lowering", "p:4")]
    found = sorted((d.code, d.span.file, d.span.line) for d in pipeline_warnings(lib, no_again, frozenset()))
    assert ("RW507", "late.rw", 3) in found


def test_converters_of_different_rule_sets_compete_in_one_pool():
    core = f"ruleset convert.core : converter\nrule relu aten.relu.default(x) => trt.activation(x, type=" \
           f"ActivationType.RELU) {U}\n"
    shadowed = f"ruleset convert.mine : converter\nrule mine aten.relu.default(x: Tensor<f32>) => trt.activation(" \
               f"x, type=ActivationType.RELU) {U}\n"
    assert warnings(core=core, mine=shadowed) == [("RW508", "mine.rw", 2)]
    assert warnings(core=core, mine=shadowed.replace("rule mine", "rule mine priority 1")) == []
    # a more general rule after a specific one is fine: the specific one is tried first
    general = f"ruleset convert.zzz : converter\nrule g aten.relu.default(x) => trt.activation(x, type=" \
              f"ActivationType.RELU) {U}\n"
    specific = core.replace("aten.relu.default(x)", "aten.relu.default(x: Tensor<f16>)")
    assert warnings(core=specific, zzz=general) == []


def test_a_root_op_decomposed_on_import_warns_unless_a_lowering_emits_it():
    conv = f"ruleset convert.c : converter\nrule m aten.mish.default(x) => trt.identity(x) {U}\n"
    assert warnings(frozenset({"aten.mish.default"}), c=conv) == [("RW510", "c.rw", 2)]
    low = f"ruleset lower.l : lowering\nrule l aten.relu.default(x) => aten.mish.default(x) {U}\n"
    assert warnings(frozenset({"aten.mish.default"}), c=conv, l=low) == []


def test_a_lowering_rule_an_earlier_rule_set_always_beats_never_fires_unless_its_op_is_made_again_later():
    again = (f"rule again aten.rsub.Scalar(x: Tensor<f32>, s)\n"
             f"    => aten.add.Tensor(aten.neg.default(x), const(s, f32)) {U}\n")
    core = "ruleset lower.core : lowering\n" + RSUB_TO_SUB
    assert warnings(core=core, zzz="ruleset lower.zzz : lowering\n" + again) == [("RW508", "zzz.rw", 2)]
    # an rsub emitted after lower.core ran reaches `again`
    assert ("RW508", "zzz.rw", 4) not in warnings(core=core, zzz="ruleset lower.zzz : lowering\n" + SUB_TO_RSUB
                                                  + again)
