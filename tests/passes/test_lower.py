"""lower: the ``lower.*`` rule sets run as one pool to one fixpoint, so what a rule emits is lowered by any set of
the pool, whatever the sets' names; at a node several sets match, priority and then the set name decide."""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch

import trt_passes


class Abs(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.abs(x) * 3.0


def fires(tmp_path: Path, text: str) -> dict[str, int]:
    path = tmp_path / "user.rw"
    path.write_text(textwrap.dedent(text))
    report = trt_passes.explain(Abs(), inputs=[torch.randn(2, 3)], rules=[path], min_block_size=1)
    return dict(report.rule_fires)


def test_what_a_set_sorting_first_emits_is_lowered_by_a_set_sorting_after_it(tmp_path):
    # lower.aaa sorts before lower.zzz: run one after another, the neg it emits would never be lowered
    found = fires(tmp_path, """\
        ruleset lower.aaa : lowering
        rule abs_as_max_neg aten.abs.default(x: Tensor<f32>)
            => aten.maximum.default(x, aten.neg.default(x)) untested "a test rule"
        ruleset lower.zzz : lowering
        rule neg_as_mul aten.neg.default(x: Tensor<f32>) => aten.mul.Tensor(x, const(-1.0, f32))
            untested "a test rule"
        """)
    assert found.get("abs_as_max_neg") == 1 and found.get("neg_as_mul") == 1


def test_at_a_node_two_sets_match_the_higher_priority_fires(tmp_path):
    rules = """\
        ruleset lower.aaa : lowering
        rule abs_first aten.abs.default(x: Tensor<f32>) => aten.maximum.default(x, aten.neg.default(x))
            untested "a test rule"
        ruleset lower.zzz : lowering
        rule abs_second{p} aten.abs.default(x: Tensor<f32>) => aten.maximum.default(aten.neg.default(x), x)
            untested "a test rule"
        """
    assert "abs_second" not in fires(tmp_path, rules.format(p=""))  # equal priority: the set name decides
    assert fires(tmp_path, rules.format(p=" priority 1")).get("abs_second") == 1
