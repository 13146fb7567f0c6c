"""The driver knows frontends only by their interface: a frontend added to the table compiles, eagerly or lazily,
without the driver changing, and what a frontend cannot take is refused from what it declares."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import trt_passes
from trt_passes.frontends import FRONTENDS, CompileGraph, DynamicDims, Frontend
from trt_passes.frontends.dynamo import import_model
from trt_passes.inputs import Input
from trt_passes.ir import Graph
from trt_passes.passes.report import CompileReport
from trt_passes.tools.parity import max_relative_error

MODEL = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
OPTIONS = {"min_block_size": 1, "runtime": "reference", "disable_tf32": True}
# Two small float32 matrix products (K <= 8) in full float32 (no TF32): reordered sums stay within a few float32
# epsilons (1.2e-7) of eager.


def example(seed: int, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 4, generator=torch.Generator().manual_seed(seed))


class Wrapped:
    def __init__(self, program: torch.fx.GraphModule, graph: Graph) -> None:
        self.program, self.graph = program, graph

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        (y,) = self.program(x)
        return y


class EagerFrontend(Frontend):
    name = "eager_test"

    def import_model(self, model: Any, examples: Any, dynamic_dims: DynamicDims | None = None, *,
                     decompositions: str = "rules") -> Graph:
        return import_model(model, examples, decompositions=decompositions)

    def wrap(self, program: torch.fx.GraphModule, graph: Graph) -> Wrapped:
        return Wrapped(program, graph)


class LazyFrontend(EagerFrontend):
    name = "lazy_test"
    compiles_lazily = True

    def compile_lazily(self, model: Any, compile_graph: CompileGraph, *, decompositions: str = "rules") -> Any:
        reports: list[Any] = []

        def call(x: torch.Tensor) -> torch.Tensor:
            graph = self.import_model(model, (x,), decompositions=decompositions)
            program, report = compile_graph(graph)
            reports.append(report)
            return self.wrap(program, graph)(x)

        call.reports = reports  # type: ignore[attr-defined]
        return call


@pytest.fixture
def frontends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FRONTENDS, "eager_test", EagerFrontend())
    monkeypatch.setitem(FRONTENDS, "lazy_test", LazyFrontend())


@pytest.mark.usefixtures("frontends")
def test_a_frontend_added_to_the_table_compiles_and_wraps_the_program():
    compiled = trt_passes.compile(MODEL, ir="eager_test", inputs=[example(0)], **OPTIONS)
    assert isinstance(compiled, Wrapped)
    assert isinstance(compiled.compile_report, CompileReport) and len(compiled.compile_report.partitions) == 1
    x = example(1)
    with torch.no_grad():
        assert max_relative_error(compiled(x), MODEL(x)) <= 1e-5


@pytest.mark.usefixtures("frontends")
def test_a_lazy_frontend_gets_the_drivers_graph_compiler_and_compiles_when_called():
    compiled = trt_passes.compile(MODEL, ir="lazy_test", **OPTIONS)  # no inputs: nothing is imported yet
    assert compiled.reports == []
    x = example(2, batch=3)
    with torch.no_grad():
        assert max_relative_error(compiled(x), MODEL(x)) <= 1e-5
    (report,) = compiled.reports
    assert isinstance(report, CompileReport) and len(report.partitions) == 1


@pytest.mark.usefixtures("frontends")
def test_dynamic_inputs_to_a_frontend_that_does_not_declare_them_are_refused_naming_those_that_do():
    batch = Input(min_shape=(1, 4), opt_shape=(2, 4), max_shape=(8, 4))
    expected = r"input 'input' \(argument 0\) has a dynamic shape.*ir='eager_test'.*use ir='dynamo'"
    with pytest.raises(ValueError, match=expected):
        trt_passes.compile(MODEL, ir="eager_test", inputs=[batch], **OPTIONS)


@pytest.mark.usefixtures("frontends")
def test_explain_imports_through_the_same_interface():
    report = trt_passes.explain(MODEL, ir="eager_test", inputs=[example(3)], min_block_size=1)
    assert len(report.partitions) == 1 and not report.fallbacks
