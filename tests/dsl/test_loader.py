"""Loading: files and folders, rule sets spread over files, rule order, locations, and the injected registry."""

from __future__ import annotations

from pathlib import Path

from tests.dsl.fake_trt import FakeTrtDialect
from trt_passes.dsl import load_rules, load_text, rule_files
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.ops import OpRegistry

from .conftest import OPS


def write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_folders_are_read_recursively_in_sorted_order_and_rules_sorted_by_priority(tmp_path: Path):
    write(tmp_path, "b/second.rw", 'ruleset lower : lowering\nrule b1 aten.neg.default(x) => x untested "t"\n'
                                   'rule b2 priority 5 aten.relu.default(x) => x untested "t"\n')
    write(tmp_path, "a.rw", 'ruleset lower : lowering\nrule a1 aten.clone.default(x) => x untested "t"\n')
    write(tmp_path, "notes.txt", "not a rule file")
    assert [p.name for p in rule_files([tmp_path])] == ["a.rw", "second.rw"]
    lib = load_rules([tmp_path], OPS)
    rs = lib.rulesets["lower"]
    assert rs.kind == "lowering"
    assert [r.name for r in rs.rules] == ["b2", "a1", "b1"]
    b2 = rs.rule("b2")
    assert (b2.location, b2.priority, b2.ruleset, b2.kind, b2.root_op) == (
        "second.rw:3", 5, "lower", "lowering", "aten.relu.default")
    assert b2.span.file.endswith("second.rw")


def test_a_file_may_switch_rule_sets_and_files_may_be_named_directly(tmp_path: Path):
    f = write(tmp_path, "x.rw", 'ruleset one : lowering\nrule r1 aten.clone.default(x) => x untested "t"\n'
                                'ruleset two : converter\n'
                                'rule r2 aten.relu.default(x) => trt.activation(x, type=ActivationType.RELU)\n'
                                '  untested "t"\n')
    lib = load_rules([f], OPS)
    assert {n: [r.name for r in rs.rules] for n, rs in lib.rulesets.items()} == {"one": ["r1"], "two": ["r2"]}
    assert lib.rule("r2").kind == "converter"


def test_the_registry_is_injected_so_any_dialect_can_be_checked_against():
    ops = OpRegistry([aten_dialect(), FakeTrtDialect()])
    lib = load_text('ruleset c : converter\nrule relu aten.relu.default(x)\n'
                    '  => trt.activation(x, type=ActivationType.SIGMOID) untested "t"\n', ops)
    assert lib.rule("relu").rhs.result.op == "trt.activation"


def test_docstrings_and_untested_reasons_are_kept():
    lib = load_text('ruleset r : lowering\nrule a "drops clones" aten.clone.default(x) => x untested "identity"\n', OPS)
    r = lib.rule("a")
    assert (r.doc, r.untested_reason, r.domains) == ("drops clones", "identity", ())


def test_a_file_named_twice_by_different_paths_is_read_once(tmp_path: Path, monkeypatch):
    folder = tmp_path / "rules"
    folder.mkdir()
    f = folder / "a.rw"
    f.write_text('ruleset lower.x : lowering\nrule a aten.clone.default(x) => x untested "t"\n')
    monkeypatch.chdir(tmp_path)
    files = rule_files([folder, Path("rules/a.rw"), f.resolve(), Path("rules/../rules/a.rw")])
    assert files == [folder / "a.rw"]
    assert [r.name for r in load_rules([folder, Path("rules/a.rw")], OPS).all_rules()] == ["a"]
