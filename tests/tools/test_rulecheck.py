"""What `trt-passes check` sees beyond a load: the pipeline's rule steps, the ops no frontend hands over, examples
only for the user's files, the property test only when asked."""

from __future__ import annotations

from pathlib import Path

from trt_passes.dsl import cache
from trt_passes.frontends.dynamo import decomposed_on_import
from trt_passes.passes.pipeline import parse_pipeline
from trt_passes.tools.rulecheck import check_files, decomposed_ops, rule_steps


def test_the_rule_steps_of_a_pipeline_with_their_rule_sets_and_kinds():
    p = parse_pipeline("pipeline p\nfold_constants\nlower\nlower rulesets=lower.extra*\nlower_unconverted\n"
                       "partition\nconvert rulesets=convert.a*\nemit\n", "p.pipeline")
    steps = [(s.pass_name, s.pattern, s.kind, s.where, s.relowers) for s in rule_steps(p)]
    assert steps == [("lower", "lower.*", "lowering", "p.pipeline:3", ""),
                     ("lower", "lower.extra*", "lowering", "p.pipeline:4", ""),
                     ("lower_unconverted", "unconverted.*", "lowering", "p.pipeline:5", "lower.*"),
                     ("partition", "convert.*", "converter", "p.pipeline:6", ""),
                     ("convert", "convert.a*", "converter", "p.pipeline:7", "")]


def test_the_decomposed_ops_come_from_the_disk_cache_once_computed(tmp_path, monkeypatch):
    monkeypatch.setenv("TRT_PASSES_CACHE", str(tmp_path))
    assert decomposed_ops() == decomposed_on_import()
    (entry,) = (tmp_path / "torch").iterdir()
    key = entry.name.removesuffix(".json")
    cache.write("torch", key, ".json", b'["aten.made_up.default"]')  # a sealed entry is what is read back
    assert decomposed_ops() == frozenset({"aten.made_up.default"})
    entry.write_bytes(b'["aten.forged.default"]')  # an entry without our seal is recomputed, not believed
    assert decomposed_ops() == decomposed_on_import()


def test_examples_are_drawn_for_the_users_files_and_the_property_test_runs_only_when_asked(tmp_path):
    f = tmp_path / "mine.rw"
    f.write_text('ruleset convert.mine : converter\nrule my_leaky priority 1\n    "leaky relu (forgets the slope)"\n'
                 "    aten.leaky_relu.default(x: Tensor<f32>, s)\n"
                 "    => trt.cast(trt.activation(x, type=ActivationType.LEAKY_RELU), to=f16)\n"
                 "    domain { x: f32 [2, 3] s: 0.1 }\n")
    assert [d.code for d in check_files([f]).diagnostics] == ["RW215"]
    assert check_files([f], examples=0).diagnostics == []
    f.write_text(f.read_text().replace("trt.cast(trt.activation(x, type=ActivationType.LEAKY_RELU), to=f16)",
                                       "trt.activation(x, type=ActivationType.LEAKY_RELU)"))
    assert check_files([f]).diagnostics == []
    (d,) = check_files([f], test=True).diagnostics
    assert d.code == "RW601" and Path(d.span.file) == f and d.span.line == 2


def test_a_load_error_is_reported_with_the_sources_and_no_library(tmp_path):
    f = tmp_path / "bad.rw"
    f.write_text("ruleset lower.mine : lowering\nrule a aten.relu.default(x) => )\n")
    result = check_files([f])
    assert result.library is None and [d.code for d in result.errors] == ["RW001"]
    assert "rule a aten.relu.default(x) => )" in result.render()
