"""The result of compiling does not depend on the source order of rules: reordering every shipped file's rules
(priority and specificity decide, never position) gives the same compiled graphs for real models."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import trt_passes.spec
from benchmarks.zoo import ZOO
from trt_passes.backend.registry import default_ops
from trt_passes.dsl import ast as A
from trt_passes.dsl import load_rules
from trt_passes.dsl.formatter import format_item
from trt_passes.dsl.parser import parse
from trt_passes.frontends import get_frontend
from trt_passes.ir import Graph, Slot, TensorType, Value
from trt_passes.passes.context import PassContext
from trt_passes.passes.pipeline import load_pipeline
from trt_passes.passes.report import CompileReport
from trt_passes.passes.scheduler import run_pipeline
from trt_passes.passes.settings import CompileSettings

SPEC = Path(trt_passes.spec.__file__).parent


def shuffled_copy(src: Path, dst: Path, rng: random.Random) -> None:
    """Each file's rules in a random order within their rule-set section (declarations stay in front)."""
    for path in sorted(src.rglob("*.rw")):
        items = parse(path.read_text(), str(path)).items
        sections: list[list[Any]] = []
        for item in items:
            if isinstance(item, A.RulesetDecl) or not sections:
                sections.append([])
            sections[-1].append(item)
        lines: list[str] = []
        for section in sections:
            rules = [i for i in section if isinstance(i, A.RuleDecl)]
            rng.shuffle(rules)
            for item in [i for i in section if not isinstance(i, A.RuleDecl)] + rules:
                lines.extend(format_item(item))
                lines.append("")
        out = dst / path.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines))


def canonical(g: Graph) -> tuple:
    """A graph's structure up to node numbering: each value described by what computes it, recursively."""
    memo: dict[int, tuple] = {}

    def attr(a: Any) -> Any:
        if isinstance(a, Slot):
            return "slot"
        if isinstance(a, (list, tuple)):
            return tuple(attr(x) for x in a)
        if isinstance(a, Graph):
            return canonical(a)
        return repr(a)

    def describe(nid: int) -> tuple:
        if nid not in memo:
            node = g.node(nid)
            value = None
            if node.op == "constant" and node.value is not None:
                value = round(float(node.value.detach().double().sum()), 6)
            attrs = tuple((k, attr(v)) for k, v in node.attrs.items() if k != "engine")
            memo[nid] = (node.op, attrs, tuple(str(t) for t in node.outputs), value,
                         node.attrs.get("index") if node.op == "input" else None,
                         tuple((describe(v.node), v.index) for v in g.inputs(nid)))
        return memo[nid]

    return describe(g.output_node())


def compiled_graph(name: str, rules_dir: Path) -> tuple:
    entry = ZOO[name]
    ops = default_ops()
    graph = get_frontend("dynamo").import_model(entry.build(), entry.inputs())
    ctx = PassContext(graph, ops, load_rules([rules_dir], ops), CompileSettings(build_engines=False), CompileReport())
    run_pipeline(load_pipeline("default"), ctx)
    return canonical(ctx.graph)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "bert"])
def test_shuffling_the_rules_of_every_file_compiles_the_same_graph(name, tmp_path):
    expected = compiled_graph(name, SPEC)
    for seed in (1, 2):
        shuffled = tmp_path / f"seed{seed}"
        shuffled_copy(SPEC, shuffled, random.Random(seed))
        assert compiled_graph(name, shuffled) == expected, f"rule order changed the result (seed {seed})"


def test_the_canonical_form_tells_different_graphs_apart():
    # Guard against a comparison that cannot fail: two graphs differing in one op must differ canonically.
    def graph(op: str) -> Graph:
        g = Graph()
        x = g.add_input("x", TensorType("f32", (2,)), 0)
        y = g.add(op, [Value(x)], {"self": Slot(0)}, [TensorType("f32", (2,))])
        g.set_outputs([Value(y)])
        return g

    assert canonical(graph("aten.relu.default")) == canonical(graph("aten.relu.default"))
    assert canonical(graph("aten.relu.default")) != canonical(graph("aten.neg.default"))


def rule_names(root: Path) -> list[str]:
    return [i.name for p in sorted(root.rglob("*.rw")) for i in parse(p.read_text(), str(p)).items
            if isinstance(i, A.RuleDecl)]


def test_the_shuffled_copy_really_reorders_rules_and_keeps_every_one(tmp_path):
    shuffled_copy(SPEC, tmp_path, random.Random(1))
    before, after = rule_names(SPEC), rule_names(tmp_path)
    assert sorted(before) == sorted(after) and before != after
