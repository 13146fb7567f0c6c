"""Fixtures of the DSL tests: an op registry (ATen plus the TensorRT dialect, or a fake of it) and small helpers."""

from __future__ import annotations

import os
import tempfile
import textwrap
from typing import Any

import pytest

from trt_passes.dsl import RuleLibrary, RuleLoadError, load_text
from trt_passes.ir import Graph, TensorType, Value
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.construct import add_op
from trt_passes.ir.ops import OpRegistry


def make_registry() -> OpRegistry:
    try:  # the real dialect when the backend provides it; the fake keeps these tests independent of it
        from trt_passes.backend.dialect import trt_dialect

        trt: Any = trt_dialect()
    except ImportError:
        from tests.dsl.fake_trt import FakeTrtDialect

        trt = FakeTrtDialect()
    return OpRegistry([aten_dialect(), trt])


OPS = make_registry()

# Every DSL test runs the compiled matchers against the interpreter (a mismatch raises), with a private cache.
os.environ["TRT_PASSES_MATCHER"] = "check"
os.environ.setdefault("TRT_PASSES_CACHE", tempfile.mkdtemp(prefix="trt_passes_dsl_cache_"))


@pytest.fixture(autouse=True)
def _cross_check_match_rule(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Golden tests calling ``match_rule`` (the interpreter) also check the rule compiled on its own agrees."""
    from trt_passes.dsl.crosscheck import checked_match_rule

    if getattr(request.module, "match_rule", None) is not None:
        monkeypatch.setattr(request.module, "match_rule", checked_match_rule)


@pytest.fixture
def ops() -> OpRegistry:
    return OPS


def load(text: str, file: str = "t.rw") -> RuleLibrary:
    return load_text(textwrap.dedent(text), OPS, file)


def load_errors(text: str) -> RuleLoadError:
    with pytest.raises(RuleLoadError) as info:
        load(text)
    return info.value


def node(g: Graph, op: str, **args: Any) -> Value:
    return Value(add_op(g, OPS, op, args))


def inp(g: Graph, name: str, dtype: str, *shape: int) -> Value:
    return Value(g.add_input(name, TensorType(dtype, shape), len(g.graph_inputs())))
