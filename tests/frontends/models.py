"""Models shared by the frontend and program-builder tests, built and imported once per session (random weights)."""

from __future__ import annotations

import functools

import torch
import torchvision
from transformers import BertConfig, BertModel

from trt_passes.frontends.dynamo import export_model, import_exported_program
from trt_passes.ir import Graph
from trt_passes.ir.aten import aten_dialect
from trt_passes.ir.ops import OpRegistry

RESNET_INPUT_SHAPE = (1, 3, 64, 64)  # small enough for Hypothesis to run many forwards; resnet18 accepts any >= 32
BERT_INPUT_SHAPE = (2, 8)
BERT_CONFIG = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                   attn_implementation="sdpa")

ATEN_ONLY = OpRegistry([aten_dialect()])


def max_relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    """max |got - want| / max |want|: one scale for the whole tensor, so near-zero elements do not dominate."""
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    scale = want.abs().max().clamp_min(torch.finfo(torch.float32).tiny)
    return float((got - want).abs().max() / scale)


@functools.lru_cache(maxsize=2)
def resnet18(decompositions: str = "rules") -> tuple[torch.nn.Module, Graph]:
    """resnet18 imported as torch.export gives it (``"rules"``) or through run_decompositions() (``"pytorch"``)."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    graph = import_exported_program(export_model(model, (torch.randn(RESNET_INPUT_SHAPE),),
                                                 decompositions=decompositions))
    return model, graph


@functools.lru_cache(maxsize=2)
def bert(decompositions: str = "rules") -> tuple[torch.nn.Module, Graph, BertConfig]:
    torch.manual_seed(0)
    cfg = BertConfig(**BERT_CONFIG)
    model = BertModel(cfg).eval()
    ids = torch.randint(0, cfg.vocab_size, BERT_INPUT_SHAPE)
    graph = import_exported_program(export_model(model, (ids,), decompositions=decompositions))
    return model, graph, cfg
