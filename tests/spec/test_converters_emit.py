"""Every shipped converter's right side is something TensorRT builds, with the types the IR gives it.

The property tests (test_rule_properties.py) check what converters compute on the reference runtime; this checks the
other half of the contract: emission accepts the layers (constant kernels, dtypes, ranks, axes) and TensorRT's
output types agree with the IR's (emit_engine raises, naming the rule, when they do not). Engines need a GPU to run,
so only the build is checked here.
"""

from __future__ import annotations

import random

import pytest

from tests.needs_tensorrt import tensorrt_or_skip
from trt_passes.backend.emit import BuildSettings, emit_engine
from trt_passes.dsl import draw_example, rewrite

from .test_rule_properties import LIBRARY, OPS

tensorrt_or_skip()

FAST = BuildSettings(optimization_level=0)
CONVERTERS = [r.name for rs in LIBRARY.rulesets.values() if rs.kind == "converter" for r in rs.rules if r.domains]


@pytest.mark.parametrize("name", CONVERTERS)
def test_converted_example_builds_a_tensorrt_engine(name: str) -> None:
    rule = LIBRARY.rule(name)
    rng = random.Random(name)  # two fixed examples per rule: engine builds are too slow for Hypothesis budgets
    for _ in range(2):
        g, _inputs = draw_example(rule, OPS, rng)
        fired = rewrite(g, LIBRARY.rulesets[rule.ruleset], OPS).fires[name]
        assert fired, f"{name} did not fire on its example"
        artifact = emit_engine(g, FAST)
        assert artifact.engine, f"{name}: empty engine"
        assert any(n.startswith(f"{name}:") for n in artifact.layer_names), (
            f"no layer is named after {name}: {artifact.layer_names}")
