"""What the shipped rule sets make of the target models: how many TensorRT layers, and which work never reaches
TensorRT (batch norm folded into convolutions, views around linear layers cancelled, attention scaling folded into
weights). tests/test_models.py checks that the models compile to one segment and match eager PyTorch; this file
guards the layer counts against regressions of the rules.

Each model is compiled as initialised and with every parameter and batch-norm statistic perturbed: fresh models have
zero biases and identity batch norms, which rules such as add_zeros_is_identity exploit, so the perturbed variant
checks that the budget does not depend on them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest
import torch

import trt_passes
from benchmarks.zoo import ZOO

pytestmark = pytest.mark.slow


def perturbed(model: torch.nn.Module) -> torch.nn.Module:
    """Non-zero biases, non-trivial batch-norm statistics (positive variances), same architecture."""
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
    return model


def compile_report(name: str, variant: Callable[[torch.nn.Module], torch.nn.Module],
                   decompositions: str = "rules") -> trt_passes.CompileReport:
    entry = ZOO[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = trt_passes.compile(variant(entry.build()), inputs=entry.inputs(), runtime="reference",
                                      require_full_compilation=True, decompositions=decompositions)
    report = compiled.compile_report
    assert report.fallbacks == [] and len(report.partitions) == 1, str(report)
    return report


# Layer budgets. resnet18: one layer per convolution (batch norm folded), ReLU and residual add (45), then max pool,
# mean, flatten, and the classifier: matmul, weight constant, bias add, bias constant and the reshape emission adds to
# give the bias the matmul's rank = 53, against Torch-TensorRT's 73. mobilenet_v2 likewise: 52 convolutions + 35
# clips + 10 adds + mean, flatten, matmul, weight = 101, plus 3 for the classifier bias when it is non-zero, plus 2
# per clip (ISNAN and a select: TensorRT's CLIP turns a NaN into its lower bound, torch's ReLU6 keeps it; TensorRT
# fuses the three pointwise layers) = 171 and 174. BERT:
# the count these rule sets reach today (fresh weights have zero biases, whose adds disappear).
BUDGETS = {
    ("resnet18", "fresh"): 53, ("resnet18", "perturbed"): 53,
    ("mobilenet_v2", "fresh"): 171, ("mobilenet_v2", "perturbed"): 174,
    ("bert", "fresh"): 92, ("bert", "perturbed"): 131,
}
VARIANTS = {"fresh": lambda m: m, "perturbed": perturbed}


@pytest.mark.parametrize(("name", "variant"), sorted(BUDGETS))
def test_model_fits_its_tensorrt_layer_budget(name: str, variant: str) -> None:
    report = compile_report(name, VARIANTS[variant])
    part = report.partitions[0]
    assert part.layers is not None and part.layers <= BUDGETS[name, variant], str(report)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_batch_norm_never_reaches_tensorrt(name: str) -> None:
    ops = compile_report(name, perturbed).partitions[0].ops
    assert not [op for op in ops if "batch_norm" in op], ops


def test_bert_linear_layers_and_attention_scaling_cost_no_extra_layers() -> None:
    # The core-ATen linears of run_decompositions(): rules for torch.export's own aten.linear decide the rules path's.
    ops = compile_report("bert", perturbed, decompositions="pytorch").partitions[0].ops
    assert not [op for op in ops if op.startswith(("aten.addmm", "aten.mul"))], ops  # scaling folded into weights
    assert sum(op == "aten.view.default" for op in ops) <= 8, ops  # only the head split/merge reshapes remain
