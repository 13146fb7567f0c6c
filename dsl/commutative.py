"""Which ATen ops are commutative in which two arguments: data, read by the pattern expansion
(:mod:`trt_passes.dsl.variants`), never special-cased by op name anywhere in the engine.

``when`` lists arguments that must hold their schema default for the swap to be valid (``add(x, y, alpha=2)`` is
``x + 2*y``, which does not commute).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Commutes:
    left: str
    right: str
    when: tuple[str, ...] = ()


COMMUTATIVE: dict[str, Commutes] = {
    "aten.add.Tensor": Commutes("self", "other", when=("alpha",)),
    "aten.mul.Tensor": Commutes("self", "other"),
    "aten.maximum.default": Commutes("self", "other"),
    "aten.minimum.default": Commutes("self", "other"),
    "aten.eq.Tensor": Commutes("self", "other"),
    "aten.ne.Tensor": Commutes("self", "other"),
    "aten.logical_and.default": Commutes("self", "other"),
    "aten.logical_or.default": Commutes("self", "other"),
    "aten.logical_xor.default": Commutes("self", "other"),
    "aten.bitwise_and.Tensor": Commutes("self", "other"),
    "aten.bitwise_or.Tensor": Commutes("self", "other"),
    "aten.bitwise_xor.Tensor": Commutes("self", "other"),
}
