"""What every frontend is: the one interface the driver talks to, and the plain data it hands a frontend.

A frontend translates a model into the IR (:meth:`Frontend.import_model`) and hands the compiled program back in the
form its users expect (:meth:`Frontend.wrap`). It declares what it can do instead of the driver knowing it by name:
``takes_dynamic_inputs`` (it turns :data:`DynamicDims` into symbolic sizes) and ``compiles_lazily`` (it captures the
model's graphs itself, when the model is called, and compiles each with the driver's :data:`CompileGraph`).

What comes in is plain data, so a frontend needs nothing from the package above it: example tensors (or the
positional/keyword structure of them: a tuple, a dict, or :class:`CallInputs` for both), per argument the range
of each dynamic axis, and which decompositions lower the model
(:data:`~trt_passes.ir.decompositions.DECOMPOSITIONS`: ``"rules"`` or ``"pytorch"``).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.fx

from trt_passes.ir.decompositions import DECOMPOSITIONS, PYTORCH_DECOMPOSITIONS, check_decompositions
from trt_passes.ir.graph import Graph

DynamicDims = Sequence[Any]
"""Per argument (positional, then keyword in order), its dynamic axes and their ranges: ``{0: SymbolRange(1, 8,
32)}`` for a tensor (empty: static), the same nested tuple/list/dict structure for a container argument, None for a
constant."""

CompileGraph = Callable[[Graph], tuple[torch.fx.GraphModule, Any]]
"""The driver's compiler for one imported graph: runs the pipeline on it and returns (the runtime program, the
compile report). A lazy frontend calls it once per graph it captures."""


class FrontendError(ValueError):
    """A model a frontend cannot translate; the message names the FX node."""


class Frontend(ABC):
    """One way into the IR. Subclasses set ``name`` and implement :meth:`import_model` and :meth:`wrap`; a lazy one
    sets ``compiles_lazily`` and implements :meth:`compile_lazily`."""

    name: ClassVar[str]
    takes_dynamic_inputs: ClassVar[bool] = False
    """Whether :meth:`import_model` takes ``dynamic_dims`` (other frontends compile static shapes)."""
    compiles_lazily: ClassVar[bool] = False
    """Whether the frontend compiles when the model is first called (:meth:`compile_lazily`), not up front."""

    @abstractmethod
    def import_model(self, model: Any, examples: Any, dynamic_dims: DynamicDims | None = None, *,
                     decompositions: str = "rules") -> Graph:
        """``model`` in the IR, traced with ``examples`` (a tensor, a tuple/list of positional arguments or a dict
        of keyword arguments), with ``dynamic_dims`` symbolic when the frontend takes dynamic inputs, its ATen
        lowered as ``decompositions`` says (see :mod:`trt_passes.ir.decompositions`); with ``"rules"`` the graph
        holds ``meta[PYTORCH_DECOMPOSITIONS]``."""

    @abstractmethod
    def wrap(self, program: torch.fx.GraphModule, graph: Graph) -> Any:
        """What the user gets for ``program``, the runtime program built from ``graph`` (whose ``meta`` holds the
        model's calling convention)."""

    def compile_lazily(self, model: Any, compile_graph: CompileGraph, *, decompositions: str = "rules") -> Any:
        """The compiled callable for ``model``, compiling each graph it captures (imported as ``decompositions``
        says) with ``compile_graph``."""
        raise NotImplementedError(f"ir={self.name!r} compiles ahead of time: import_model, then wrap")

    def refuse_dynamic_dims(self, dynamic_dims: DynamicDims | None) -> None:
        """For frontends that compile static shapes: a clear error instead of silently fixing dynamic dims."""
        if not self.takes_dynamic_inputs and dynamic_dims and any(dynamic_dims):
            raise FrontendError(f"ir={self.name!r} compiles static shapes only; it takes no dynamic dims")


@dataclass(frozen=True, eq=False)  # tensors have no truth value: no generated __eq__
class CallInputs:
    """Example inputs given both positionally and by keyword (each may be nested tuples, lists and dicts)."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def split_inputs(inputs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Example inputs as (positional arguments, keyword arguments)."""
    if isinstance(inputs, CallInputs):
        return tuple(inputs.args), dict(inputs.kwargs)
    if isinstance(inputs, torch.Tensor):
        return (inputs,), {}
    if isinstance(inputs, Mapping):
        return (), dict(inputs)
    if isinstance(inputs, Sequence) and not isinstance(inputs, str):
        return tuple(inputs), {}
    raise TypeError(f"inputs must be a tensor, a tuple/list of arguments or a dict of keyword arguments, "
                    f"not {type(inputs).__name__}")


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """``model`` in eval mode while tracing: a compiled program has inference semantics (dropout off, batch norm on
    its running statistics), whatever mode the model is in. Afterwards (also after an error) every submodule's
    ``training`` flag is what it was, each one exactly: ``model.train(was_training)`` would turn on a batch norm the
    caller had frozen in a training model."""
    modules = list(model.modules()) if isinstance(model, torch.nn.Module) else []
    flags = [m.training for m in modules]
    for m in modules:
        m.training = False
    try:
        yield
    finally:
        for m, flag in zip(modules, flags):
            m.training = flag


__all__ = ["DECOMPOSITIONS", "PYTORCH_DECOMPOSITIONS", "CallInputs", "CompileGraph", "DynamicDims", "Frontend",
           "FrontendError", "check_decompositions", "eval_mode", "split_inputs"]
