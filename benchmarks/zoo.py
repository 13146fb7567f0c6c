"""Models with random weights (nothing is downloaded), each with example inputs.

Usable from the CLI: ``trt-passes compile benchmarks/zoo.py:bert --input 2x16:i64:0..1000``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


def bert(hidden: int = 128, layers: int = 2, heads: int = 4) -> torch.nn.Module:
    """A BERT encoder (with pooler) with SDPA attention, from a config: random weights."""
    from transformers import BertConfig, BertModel

    cfg = BertConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=2 * hidden, vocab_size=1000, attn_implementation="sdpa")
    torch.manual_seed(0)
    return BertModel(cfg).eval()


def resnet18() -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


def mobilenet_v2() -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.mobilenet_v2(weights=None).eval()


@dataclass(frozen=True)
class ZooEntry:
    name: str
    build: Callable[[], torch.nn.Module]
    inputs: Callable[[], tuple[torch.Tensor, ...]]


def _image(batch: int = 1) -> tuple[torch.Tensor, ...]:
    return (torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(1)),)


def _tokens() -> tuple[torch.Tensor, ...]:
    return (torch.randint(0, 1000, (2, 16), generator=torch.Generator().manual_seed(1)),)


ZOO: dict[str, ZooEntry] = {
    "resnet18": ZooEntry("resnet18", resnet18, _image),
    "mobilenet_v2": ZooEntry("mobilenet_v2", mobilenet_v2, _image),
    "bert": ZooEntry("bert", bert, _tokens),
}
