"""Compiled matchers: generated source (readable, deterministic, cached by content hash) that agrees with the
interpreter, the reference, on the shipped rules over real model graphs (resnet18 and BERT as the dynamo frontend
imports them), before and while rewriting. The golden matcher and rewriter tests are cross-checked too: the conftest
runs every DSL test with ``TRT_PASSES_MATCHER=check``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import trt_passes.spec
from tests.dsl.conftest import OPS, inp, load, node
from trt_passes.dsl import Failure, Match, load_rules, rewrite
from trt_passes.dsl.codegen import generate
from trt_passes.dsl.compiled import compiled_matcher
from trt_passes.dsl.crosscheck import checked_explain
from trt_passes.dsl.matchrt import Shown
from trt_passes.ir import Graph

SPEC = Path(trt_passes.spec.__file__).parent


@pytest.fixture(scope="module")
def shipped():
    return load_rules([SPEC / "lower", SPEC / "convert"], OPS)


def _model_graphs() -> list[tuple[str, Graph]]:
    from tests.frontends.models import bert, resnet18

    # core ATen (the run_decompositions() path): the ops most shipped rules are rooted at
    return [("resnet18", resnet18("pytorch")[1]), ("bert", bert("pytorch")[1])]


@pytest.mark.parametrize("model", ["resnet18", "bert"])
def test_compiled_matchers_agree_with_the_interpreter_on_model_graphs(model: str, shipped) -> None:
    g = dict(_model_graphs())[model].copy()
    checked = 0
    for rs in shipped.rulesets.values():
        for nid in g.topo_order():
            checked += len(checked_explain(g, nid, rs, OPS))  # raises MatcherMismatch on any difference
    assert checked > 100
    # and while rewriting: every match_at of the pipeline is checked (TRT_PASSES_MATCHER=check)
    assert os.environ["TRT_PASSES_MATCHER"] == "check"
    fired = rewrite(g, shipped.rulesets["lower.core"], OPS).total
    fired += rewrite(g, shipped.rulesets["convert.core"], OPS).total
    assert fired > 10


def test_generated_source_names_rules_and_lines_and_is_deterministic(shipped) -> None:
    rs = shipped.rulesets["convert.core"]
    src = generate(rs.name, rs.rules)
    assert src == generate(rs.name, rs.rules)
    relu = rs.rule("relu")
    assert f"# rule relu ({relu.location})" in src
    assert "# needed by" in src  # shared tests guard runs of rules
    compile(src, "<test>", "exec")


def test_shared_tests_are_done_once_for_a_run_of_rules() -> None:
    lib = load("""
        ruleset c : lowering
        rule a aten.sub.Tensor(x: Tensor<f32>, y) where rank(x) == 1 => x untested "t"
        rule b aten.sub.Tensor(x: Tensor<f32>, y) where rank(x) == 2 => y untested "t"
        """)
    src = generate("c", lib.rulesets["c"].rules)
    dispatcher = src[src.index("def root0"):]
    assert dispatcher.count("t_self.dtype in") == 1 and dispatcher.count("equal_literal(a_alpha") == 1


def test_matchers_are_cached_on_disk_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRT_PASSES_CACHE", str(tmp_path))
    text = 'ruleset c : lowering\nrule a aten.neg.default(aten.neg.default(x)) => x untested "t"\n'
    first = compiled_matcher(load(text).rulesets["c"], OPS)
    again = compiled_matcher(load(text).rulesets["c"], OPS)
    assert not first.from_cache and again.from_cache and again.source == first.source
    files = sorted(p.name for p in (tmp_path / "matchers").iterdir())
    assert len(files) == 2 and not any(f.endswith(".tmp") for f in files)
    changed = compiled_matcher(load(text.replace("=> x", "=> aten.clone.default(x)")).rulesets["c"], OPS)
    assert changed.from_cache  # the right side does not change the matcher
    other = compiled_matcher(load(text.replace("aten.neg.default(x)", "aten.relu.default(x)")).rulesets["c"], OPS)
    assert not other.from_cache


def test_the_cache_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRT_PASSES_CACHE", "off")
    m = compiled_matcher(load('ruleset c : lowering\nrule a aten.neg.default(x) => x untested "t"').rulesets["c"], OPS)
    assert not m.from_cache


def test_compiled_failures_format_their_reason_only_when_asked() -> None:
    lib = load('ruleset c : lowering\nrule a aten.add.Tensor(x, y) => x untested "t"\n')
    g = Graph()
    a = inp(g, "a", "f32", 2)
    v = node(g, "aten.add.Tensor", self=a, other=a, alpha=2)
    (f,) = compiled_matcher(lib.rulesets["c"], OPS).explain(g, v.node)
    assert isinstance(f, Failure) and any(isinstance(x, Shown) for x in f.args)
    assert f.reason == "argument 'alpha': 2, rule wants the default 1"
    assert compiled_matcher(lib.rulesets["c"], OPS).match(g, v.node) is None
    ok = node(g, "aten.add.Tensor", self=a, other=a)
    assert isinstance(compiled_matcher(lib.rulesets["c"], OPS).match(g, ok.node), Match)


def test_compiled_matchers_agree_on_every_shipped_rules_own_examples(shipped) -> None:
    """Each shipped rule's left side, drawn from its domain, explained at every node by both matchers."""
    import random

    from trt_passes.dsl import DomainError, draw_example

    rng = random.Random(0)
    checked = 0
    for rule in shipped.all_rules():
        for _ in range(2):
            try:
                g, _ = draw_example(rule, OPS, rng)
            except DomainError:
                break
            for rs in shipped.rulesets.values():
                for nid in g.topo_order():
                    checked += len(checked_explain(g, nid, rs, OPS))
    assert checked > 200


def test_the_cache_keeps_a_bounded_number_of_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from trt_passes.dsl import cache

    monkeypatch.setenv("TRT_PASSES_CACHE", str(tmp_path))
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    for i in range(5):
        cache.write("x", f"k{i}", ".bin", b"data")
    assert len(list((tmp_path / "x").iterdir())) == 3 and cache.read("x", "k4", ".bin") == b"data"
