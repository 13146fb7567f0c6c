"""Frontends: model -> IR, and compiled program -> the object handed back to the user.

A frontend has ``import_model(model, inputs) -> Graph`` and ``wrap(program_gm, graph) -> object``; ``compile(...,
ir=NAME)`` picks one from :data:`FRONTENDS` through :func:`get_frontend`.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch.fx

from trt_passes.ir.graph import Graph


class Frontend(Protocol):
    name: str

    def import_model(self, model: Any, inputs: Any) -> Graph: ...

    def wrap(self, program_gm: torch.fx.GraphModule, graph: Graph) -> Any: ...


def _dynamo() -> Frontend:
    from trt_passes.frontends.dynamo import DynamoFrontend

    return DynamoFrontend()


# ir name -> factory (lazy, so importing the package does not import torch.export machinery).
FRONTENDS: dict[str, Any] = {
    "dynamo": _dynamo,
    "default": _dynamo,
}


def get_frontend(ir: str) -> Frontend:
    """The frontend for ``ir``; an unknown name is a ValueError listing the valid ones."""
    try:
        factory = FRONTENDS[ir]
    except (KeyError, TypeError):
        raise ValueError(f"unknown ir {ir!r}; valid: {', '.join(sorted(FRONTENDS))}") from None
    return factory()


__all__ = ["FRONTENDS", "Frontend", "get_frontend"]
