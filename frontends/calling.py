"""Give a compiled program back the model's own calling convention (nested inputs, ``ModelOutput`` results).

The program built from the IR takes the flat tensor inputs and returns a flat tuple of tensors. :class:`PyTreeProgram`
flattens the user's ``(*args, **kwargs)`` with the exported ``in_spec``, feeds the tensor leaves to the program and
unflattens the results with ``out_spec``. When the graph's meta holds the model's ``forward`` signature and the
arguments it was traced with (``call_signature``, ``call_arguments``), a call is first bound to that signature the
way the driver bound the example inputs, so the compiled model takes its inputs positionally or by keyword, as the
model does; an argument left at its default is as good as absent.

Why a thin wrapper rather than rewriting the GraphModule's codegen (``torch.fx.graph._PyTreeCodeGen``, as
``ExportedProgram.module()`` does): that class and its ``_PyTreeInfo`` are private and their constructor has changed
between torch releases, while ``tree_flatten``/``tree_unflatten`` and ``TreeSpec`` equality are stable on every
torch this project supports (2.11+). The GraphModule stays reachable, unchanged, as ``.program``.
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any

import torch
import torch.fx
import torch.utils._pytree as pytree


class PyTreeProgram(torch.nn.Module):
    """``program`` called with the model's structured inputs, returning the model's structured outputs."""

    def __init__(self, program: torch.fx.GraphModule, meta: dict[str, Any]) -> None:
        super().__init__()
        self.program = program
        self.in_spec: pytree.TreeSpec = meta["in_spec"]
        self.out_spec: pytree.TreeSpec = meta["out_spec"]
        self.input_names: list[str] = list(meta["input_names"])
        self._input_leaves: list[int] = list(meta["input_leaves"])
        self._output_leaves: list[int | None] = list(meta["output_leaves"])
        self._output_constants: dict[int, Any] = dict(meta.get("output_constants", {}))
        self._input_constants: dict[int, Any] = dict(meta.get("input_constants", {}))
        self.signature: inspect.Signature | None = meta.get("call_signature")
        self.argument_names: list[str] | None = meta.get("call_arguments")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.signature is not None and self.argument_names is not None:
            args, kwargs = bind_as_traced(self.signature, self.argument_names, args, kwargs)
        leaves = self._flatten(args, kwargs)
        flat_out = self.program(*(leaves[i] for i in self._input_leaves))
        results = [flat_out[k] if k is not None else self._output_constants[pos]
                   for pos, k in enumerate(self._output_leaves)]
        return pytree.tree_unflatten(results, self.out_spec)

    def structure(self) -> dict[str, Any]:
        """The calling convention, as :func:`program_structure` returns it (to wrap another flat program)."""
        return {"in_spec": self.in_spec, "out_spec": self.out_spec, "input_names": self.input_names,
                "input_leaves": self._input_leaves, "output_leaves": self._output_leaves,
                "output_constants": self._output_constants, "input_constants": self._input_constants}

    def _flatten(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        leaves, spec = pytree.tree_flatten((args, kwargs))
        if spec != self.in_spec:
            # Keyword order is part of a dict's spec; accept the keywords in any order, as the model itself does.
            order = _kwarg_order(self.in_spec)
            if order is not None and set(order) == set(kwargs):
                leaves, spec = pytree.tree_flatten((args, {k: kwargs[k] for k in order}))
        if spec != self.in_spec:
            traced = pytree.tree_unflatten([_Leaf(x) for x in self._traced_leaves()], self.in_spec)
            raise TypeError(f"the compiled model takes {_show_call(*traced)}; it was called with "
                            f"{_show_call(*pytree.tree_map(_Leaf, (args, kwargs)))}")
        # Non-tensor inputs were specialised into the program at export; another value would be silently ignored.
        for pos, traced in self._input_constants.items():
            if leaves[pos] != traced:
                raise ValueError(f"non-tensor input #{pos} was {traced!r} when the model was compiled and is baked "
                                 f"into the program; got {leaves[pos]!r} (recompile for a different value)")
        return leaves


    def _traced_leaves(self) -> list[Any]:
        """The leaves the program was traced with: tensors (as the type), the baked-in constants as themselves."""
        return [self._input_constants.get(pos, torch.Tensor) for pos in range(self.in_spec.num_leaves)]


def bind_as_traced(signature: inspect.Signature, traced: list[str], args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``(args, kwargs)`` bound to ``signature`` in the form the model was traced with (arguments named ``traced``):
    positional where they can be, arguments left at their defaults dropped."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"the compiled model is called as the model is, forward{_parameters_text(signature)}: "
                        f"{e}") from None
    for name in [n for n in bound.arguments if n not in traced]:
        default = signature.parameters[name].default
        value = bound.arguments[name]
        if value is default or (not isinstance(value, torch.Tensor) and type(value) is type(default)
                                and value == default):
            del bound.arguments[name]
        else:
            raise TypeError(f"the model was compiled without {name!r}, which this call passes; compile it with "
                            f"{name} among its inputs (kwarg_inputs={{{name!r}: ...}}) to pass it")
    missing = [n for n in traced if n not in bound.arguments]
    if missing:
        raise TypeError(f"the model was compiled with {', '.join(map(repr, missing))}, which this call does not pass")
    return bound.args, bound.kwargs


def _parameters_text(signature: inspect.Signature) -> str:
    """``(x, mask=None)``: parameters without annotations."""
    empty = inspect.Parameter.empty
    return str(signature.replace(parameters=[p.replace(annotation=empty) for p in signature.parameters.values()],
                                 return_annotation=empty))


class _Leaf:
    """A leaf shown in a message: a tensor by its kind (``Tensor``), anything else by its repr."""

    def __init__(self, value: Any) -> None:
        self.text = "Tensor" if value is torch.Tensor or isinstance(value, torch.Tensor) else repr(value)

    def __repr__(self) -> str:
        return self.text


def _show_call(args: Any, kwargs: Any) -> str:
    """``(Tensor, (Tensor, Tensor), mask=Tensor)``."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"({', '.join(parts)})"


def _kwarg_order(in_spec: pytree.TreeSpec) -> list[str] | None:
    """The keyword names of an ``(args, kwargs)`` spec, in traced order.

    Read by unflattening placeholders rather than through TreeSpec accessors, whose names changed across releases.
    """
    template = pytree.tree_unflatten([None] * in_spec.num_leaves, in_spec)
    if not (isinstance(template, tuple) and len(template) == 2 and isinstance(template[1], dict)):
        return None
    return list(template[1])


def structured_outputs(gm: torch.fx.GraphModule, meta: dict[str, Any]) -> bool:
    """Make ``gm`` (a flat program) return the model's output structure, in place, when FX can say it directly
    (tensors, tuples, lists, dicts with str keys, plain constants); returns False (and leaves ``gm`` flat) otherwise."""
    out = next(n for n in gm.graph.nodes if n.op == "output")
    flat = list(out.args[0])
    constants = dict(meta.get("output_constants", {}))
    leaves = [flat[k] if k is not None else constants[pos] for pos, k in enumerate(meta["output_leaves"])]
    candidate = pytree.tree_unflatten(leaves, meta["out_spec"])
    if not _plain(candidate):
        return False
    out.args = (candidate,)
    gm.recompile()
    return True


def _plain(x: Any) -> bool:
    if isinstance(x, torch.fx.Node) or x is None or type(x) in (int, float, bool, str):
        return True
    if type(x) in (tuple, list):
        return all(_plain(v) for v in x)
    if type(x) is dict:
        return all(isinstance(k, str) and _plain(v) for k, v in x.items())
    return False


STRUCTURE_KEYS = ("in_spec", "out_spec", "input_names", "input_leaves", "output_leaves", "output_constants",
                  "input_constants")

# result object -> (flat program, calling structure) for results that are not themselves flat FX programs (the fx
# frontend's structured GraphModule, the torchscript frontend's ScriptModule); trt_passes.save reads it.
_programs: weakref.WeakKeyDictionary[Any, tuple[torch.fx.GraphModule, dict[str, Any] | None]] = (
    weakref.WeakKeyDictionary())


def program_structure(meta: dict[str, Any]) -> dict[str, Any]:
    """The calling-convention entries of an IR graph's meta (what :class:`PyTreeProgram` needs)."""
    return {k: meta[k] for k in STRUCTURE_KEYS if k in meta}


def register_program(result: Any, program: torch.fx.GraphModule, structure: dict[str, Any] | None) -> None:
    _programs[result] = (program, structure)


def registered_program(result: Any) -> tuple[torch.fx.GraphModule, dict[str, Any] | None] | None:
    try:
        return _programs.get(result)
    except TypeError:  # not weak-referenceable: never registered
        return None
