"""One TensorRT layer, declared once: its dialect schema with its documentation, its reference semantics (which also
give its types) and its emission.

A family module (``activation.py``, ``linear.py``, ...) declares each of its layers as a :class:`Layer` and lists them
in its ``LAYERS``; :mod:`trt_passes.backend.layers` gathers the families, and the dialect catalogue
(:mod:`~trt_passes.backend.dialect`), the reference runtime's table (:mod:`~trt_passes.backend.reference`) and
emission's table (:mod:`~trt_passes.backend.emit`) are built from that one list. Adding a TensorRT layer is one
``Layer`` in its family module (plus its row in ARCHITECTURE.md's table, which a test holds the catalogue to).

**Schema.** Tensor args first, then attributes (:func:`tensor_arg`, :func:`attr`); ``doc`` says what the layer
computes and what it accepts.

**Reference semantics** (``Layer.reference``), written in PyTorch from TensorRT's documentation, are the single
definition of the op's meaning: the interpreter runs them (constant folding, rule parity tests, segments on machines
without a GPU) and type inference runs the same function on meta tensors (fake tensors with symbolic sizes), so every
reference function must work on ``device="meta"`` too (no data-dependent Python control flow, no ``.item()``).
Conventions shared by all layers:

* Attributes hold ints/floats/bools/lists as stored in the IR; enum attributes hold members of
  :mod:`trt_passes.backend.enums` (or their names).
* Axes may be negative (normalised against the input's rank); emission turns them into TensorRT's bitmasks.
* Half-precision inputs of accumulating ops (reductions, pooling averages, softmax, normalization) are accumulated
  in f32 and rounded back, as TensorRT does; the output dtype always follows TensorRT's strongly typed rules.
* Malformed arguments raise ``ValueError``/``TypeError`` naming the op: TensorRT would reject the layer too.

**Emission** (``Layer.emit``) adds one INetworkDefinition layer, plus, where TensorRT needs them, small helper
layers (see :mod:`~trt_passes.backend.layers.emission`), and returns the output ITensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trt_passes.backend.layers.emission import Emitter
from trt_passes.backend.layers.semantics import Outputs
from trt_passes.ir.ops import ArgSpec, OpSchema


def tensor_arg(name: str, type: str = "Tensor") -> ArgSpec:
    """A tensor argument (``Tensor``, ``Tensor?`` or ``Tensor[]``)."""
    return ArgSpec(name, type)


def attr(name: str, type: str, *default: Any) -> ArgSpec:
    """An attribute; pass a default to make it optional."""
    return ArgSpec(name, type, default[0] if default else None, bool(default))


@dataclass(frozen=True)
class Layer:
    """The ``trt.{name}`` op: schema (``args``, ``returns``, ``doc``), ``reference`` semantics and ``emit``."""

    name: str
    args: tuple[ArgSpec, ...]
    doc: str
    reference: Callable[..., Outputs]
    emit: Emitter
    returns: tuple[str, ...] = ("Tensor",)

    @property
    def op(self) -> str:
        return f"trt.{self.name}"

    @property
    def schema(self) -> OpSchema:
        return OpSchema(self.op, self.args, self.returns, doc=self.doc)
