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


def test_lowerings_of_one_pool_that_undo_each_other_are_reported_at_both():
    # lower.aaa and lower.core run as one pool: each set rewrites back what the other emits, whatever their names
    for name in ("aaa", "zzz"):
        found = warnings(core="ruleset lower.core : lowering\n" + RSUB_TO_SUB,
                         **{name: f"ruleset lower.{name} : lowering\n" + SUB_TO_RSUB})
        assert found == sorted([("RW506", "core.rw", 2), ("RW506", f"{name}.rw", 3)])


def test_an_op_only_an_earlier_step_lowers_escapes():
    steps = [RuleStep("lower", "lower.*", "lowering", "p:3"), RuleStep("lower", "late.*", "lowering", "p:4")]
    files = {"core.rw": "ruleset lower.core : lowering\n" + RSUB_TO_SUB,
             "late.rw": "ruleset late.mine : lowering\n" + SUB_TO_RSUB}
    found = sorted((d.code, d.span.file, d.span.line)
                   for d in pipeline_warnings(load_sources(files, OPS), steps, frozenset()))
    # the rsub late.mine emits stays: lower.core ran in the step before; and late.mine undoes lower.core's work
    assert found == [("RW506", "core.rw", 2), ("RW507", "late.rw", 3)]


def test_an_op_a_set_of_the_same_pool_lowers_does_not_escape():
    # lower.zzz sorts after lower.core, yet the rsub it emits is lowered: both sets run as one pool
    found = warnings(core="ruleset lower.core : lowering\n" + RSUB_TO_SUB, zzz="ruleset lower.zzz : lowering\n"
                     + SUB_TO_RSUB)
    assert not [w for w in found if w[0] == "RW507"]


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


def test_a_lowering_rule_a_rule_earlier_in_the_pool_always_beats_never_fires():
    again = (f"rule again aten.rsub.Scalar(x: Tensor<f32>, s)\n"
             f"    => aten.add.Tensor(aten.neg.default(x), const(s, f32)) {U}\n")
    core = "ruleset lower.core : lowering\n" + RSUB_TO_SUB
    assert warnings(core=core, zzz="ruleset lower.zzz : lowering\n" + again) == [("RW508", "zzz.rw", 2)]
    # a higher priority puts it first in the pool: then lower.core's rule is the one that never fires
    first = again.replace("rule again", "rule again priority 1")
    assert warnings(core=core, zzz="ruleset lower.zzz : lowering\n" + first) == [("RW508", "core.rw", 2)]


def test_a_rule_matching_a_list_of_fixed_length_does_not_hide_one_matching_other_lengths():
    empty = f"ruleset lower.aaa : lowering\nrule empty aten.permute.default(x, []) => x {U}\n"
    three = (f"ruleset lower.zzz : lowering\nrule three aten.permute.default(x: Tensor<f32>, d) where len(d) == 3\n"
             f"    => aten.clone.default(x) {U}\n")
    assert warnings(aaa=empty, zzz=three) == []
    # a list pattern as general as the capture does hide it
    general = f"ruleset lower.aaa : lowering\nrule any_dims aten.permute.default(x, d) => x {U}\n"
    assert warnings(aaa=general, zzz=three) == [("RW508", "zzz.rw", 2)]
