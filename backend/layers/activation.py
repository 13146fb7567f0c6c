"""Pointwise activations and unary math: ``trt.activation`` (IActivationLayer) and ``trt.unary`` (IUnaryLayer)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from trt_passes.backend.enums import ActivationType, UnaryOperation, as_member, to_tensorrt
from trt_passes.backend.layers.emission import LayerContext
from trt_passes.backend.layers.layer import Layer, attr, tensor_arg
from trt_passes.backend.layers.semantics import Outputs, require_floating

# ---- activation --------------------------------------------------------------------------------------------------


def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


# Formulas from TensorRT's Activation operator page; THRESHOLDED_RELU follows NvInfer.h's ``x > alpha ? x : 0``
# (the ONNX operator it exists for) where the operator page writes ``max(0, x - alpha)``.


def _clip(x: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """NvInfer.h's ``max(alpha, min(beta, x))``: alpha everywhere when alpha > beta (torch.clamp gives beta), and
    alpha for a NaN input (NVIDIA/TensorRT#4773: TensorRT 10.16 returns the lower bound; torch.clamp gives NaN)."""
    clipped = torch.clamp(torch.clamp(x, max=beta), min=alpha)
    return torch.where(torch.isnan(x), alpha, clipped)


_ACTIVATIONS: dict[ActivationType, Callable[[torch.Tensor, float, float], torch.Tensor]] = {
    ActivationType.RELU: lambda x, a, b: torch.relu(x),
    ActivationType.SIGMOID: lambda x, a, b: torch.sigmoid(x),
    ActivationType.TANH: lambda x, a, b: torch.tanh(x),
    ActivationType.LEAKY_RELU: lambda x, a, b: torch.where(x >= 0, x, a * x),
    ActivationType.ELU: lambda x, a, b: torch.where(x >= 0, x, a * torch.expm1(x)),
    ActivationType.SELU: lambda x, a, b: b * torch.where(x >= 0, x, a * torch.expm1(x)),
    ActivationType.SOFTSIGN: lambda x, a, b: x / (1 + x.abs()),
    ActivationType.SOFTPLUS: lambda x, a, b: a * torch.log1p(torch.exp(b * x)),
    ActivationType.CLIP: _clip,
    ActivationType.HARD_SIGMOID: lambda x, a, b: torch.clamp(a * x + b, min=0.0, max=1.0),
    ActivationType.SCALED_TANH: lambda x, a, b: a * torch.tanh(b * x),
    ActivationType.THRESHOLDED_RELU: lambda x, a, b: torch.where(x > a, x, torch.zeros_like(x)),
    ActivationType.GELU_ERF: lambda x, a, b: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0))),
    ActivationType.GELU_TANH: lambda x, a, b: _gelu_tanh(x),
}


def activation(input: torch.Tensor, type: Any, alpha: float = 0.0, beta: float = 0.0) -> Outputs:
    kind = as_member(ActivationType, type)
    if kind is not ActivationType.RELU:  # TensorRT's Activation takes integers for RELU only
        require_floating(f"trt.activation {kind.name}", input)
    out = _ACTIVATIONS[kind](input, float(alpha), float(beta))
    return (out.to(input.dtype),)


def emit_activation(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    layer = c.named(c.network.add_activation(a["input"].tensor, to_tensorrt(c.trt, as_member(ActivationType,
                                                                                              a["type"]))), name)
    layer.alpha = float(a["alpha"])
    layer.beta = float(a["beta"])
    return [layer.get_output(0)]


ACTIVATION = Layer(
    "activation",
    (tensor_arg("input"), attr("type", "ActivationType"), attr("alpha", "float", 0.0), attr("beta", "float", 0.0)),
    "IActivationLayer: elementwise activation `type`; alpha/beta parametrise LEAKY_RELU, ELU, SELU, SOFTPLUS, "
    "CLIP (max(alpha, min(beta, x)): alpha when alpha > beta, and for a NaN input), HARD_SIGMOID, SCALED_TANH, "
    "THRESHOLDED_RELU. Output dtype = input dtype.",
    reference=activation, emit=emit_activation)

# ---- unary -------------------------------------------------------------------------------------------------------

_UNARY: dict[UnaryOperation, Callable[[torch.Tensor], torch.Tensor]] = {
    UnaryOperation.EXP: torch.exp,
    UnaryOperation.LOG: torch.log,
    UnaryOperation.SQRT: torch.sqrt,
    UnaryOperation.RECIP: torch.reciprocal,
    UnaryOperation.ABS: torch.abs,
    UnaryOperation.NEG: torch.neg,
    UnaryOperation.SIN: torch.sin,
    UnaryOperation.COS: torch.cos,
    UnaryOperation.TAN: torch.tan,
    UnaryOperation.SINH: torch.sinh,
    UnaryOperation.COSH: torch.cosh,
    UnaryOperation.ASIN: torch.asin,
    UnaryOperation.ACOS: torch.acos,
    UnaryOperation.ATAN: torch.atan,
    UnaryOperation.ASINH: torch.asinh,
    UnaryOperation.ACOSH: torch.acosh,
    UnaryOperation.ATANH: torch.atanh,
    UnaryOperation.CEIL: torch.ceil,
    UnaryOperation.FLOOR: torch.floor,
    UnaryOperation.ERF: torch.erf,
    UnaryOperation.NOT: torch.logical_not,
    UnaryOperation.SIGN: torch.sign,
    UnaryOperation.ROUND: torch.round,  # half to even, as TensorRT's kROUND
    UnaryOperation.ISINF: torch.isinf,
    UnaryOperation.ISNAN: torch.isnan,
}


def unary(input: torch.Tensor, op: Any) -> Outputs:
    kind = as_member(UnaryOperation, op)
    if kind is UnaryOperation.NOT and input.dtype != torch.bool:
        raise TypeError(f"trt.unary NOT takes bool, got {input.dtype}")
    out = _UNARY[kind](input)
    if kind not in (UnaryOperation.NOT, UnaryOperation.ISINF, UnaryOperation.ISNAN):
        out = out.to(input.dtype)
    return (out,)


def emit_unary(c: LayerContext, a: dict[str, Any], name: str) -> list[Any]:
    op = to_tensorrt(c.trt, as_member(UnaryOperation, a["op"]))
    return [c.named(c.network.add_unary(a["input"].tensor, op), name).get_output(0)]


UNARY = Layer(
    "unary", (tensor_arg("input"), attr("op", "UnaryOperation")),
    "IUnaryLayer: elementwise `op`. NOT takes and gives bool; ISINF and ISNAN give bool; others keep the dtype.",
    reference=unary, emit=emit_unary)

LAYERS = (ACTIVATION, UNARY)
