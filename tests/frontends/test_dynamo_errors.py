"""The importer is strict: what the IR cannot represent is an error naming the FX node, never a silent guess."""

from __future__ import annotations

import pytest
import torch

import trt_passes
from trt_passes.frontends.dynamo import FrontendError, export_model, import_model


class MutatesBuffer(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("count", torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.count.add_(1)
        return x + self.count


def test_a_model_mutating_its_buffers_is_an_error_naming_the_buffer():
    with pytest.raises(FrontendError, match=r"mutates.*count"):
        import_model(MutatesBuffer(), (torch.randn(2),), decompositions="pytorch")


def test_compiling_a_model_mutating_its_buffers_is_an_error_naming_the_buffer_on_both_paths():
    # The rules path imports the write; functionalize refuses it (a buffer), and the run_decompositions() path the
    # program then takes refuses the mutation, the message saying both.
    with pytest.raises(FrontendError, match=r"mutates.*count.*rules path was not taken because.*writes the "
                                            r"model's buffer or weight 'count'"):
        trt_passes.compile(MutatesBuffer(), inputs=[torch.randn(2)], runtime="reference")


def test_export_restores_the_callers_training_flag():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5)).train()
    ep = export_model(model, torch.randn(3, 2))
    assert model.training
    dropouts = [n for n in ep.graph.nodes if "dropout" in str(n.target)]
    assert dropouts and all(n.args[2] is False for n in dropouts)  # exported in eval mode: train=False


def test_an_exported_program_is_accepted_directly():
    model = torch.nn.Linear(2, 2)
    ep = torch.export.export(model, (torch.randn(3, 2),))
    graph = import_model(ep, None)
    assert graph.meta["input_names"] == ["input"]


def test_inputs_of_an_unsupported_kind_are_rejected_with_the_accepted_forms():
    with pytest.raises(TypeError, match="tuple/list"):
        import_model(torch.nn.Linear(2, 2), 3)
