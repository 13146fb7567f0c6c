"""The user's inputs as the model is called: positional and keyword, each a tensor, an :class:`Input` or a nested
tuple/list/dict of them, as Torch-TensorRT takes them (``inputs`` or its alias ``arg_inputs``, ``kwarg_inputs``).

:func:`resolve_call` checks them and binds them to the model's ``forward`` signature, so one call has one form
however it was spelled: an argument the signature lets be positional is positional (``kwarg_inputs={"input_ids":
ids}`` for ``forward(input_ids, attention_mask=None)`` is the call ``(ids,)``), keywords follow the signature's
order. The compiled program is traced with that form and binds its own calls the same way
(:class:`~trt_passes.frontends.calling.PyTreeProgram`), so it can be called as the model is.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.utils._pytree as pytree
from torch.export import ExportedProgram

from trt_passes.inputs import Input
from trt_passes.ir.symbolic import SymbolRange

# Non-tensor values an argument may hold: torch.export bakes them into the program as constants.
_CONSTANTS = (bool, int, float, str, type(None))


@dataclass(frozen=True, eq=False)  # tensors have no truth value: compare .args and .kwargs
class ModelCall:
    """One call of the model: positional ``args`` and keyword ``kwargs`` whose leaves are tensors, :class:`Input`
    specs or constants; ``signature`` is the model's ``forward`` signature (None when it cannot be read, e.g. for a
    ScriptModule or an ExportedProgram)."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    signature: inspect.Signature | None = field(default=None, compare=False)

    @property
    def argument_names(self) -> list[str] | None:
        """The names of the arguments given, positional ones first (None without a signature)."""
        if self.signature is None:
            return None
        return list(self.signature.bind(*self.args, **self.kwargs).arguments)

    def examples(self, seed: int = 0) -> ModelCall:
        """The call with every :class:`Input` replaced by an example tensor (drawn in argument order from one
        generator seeded with ``seed``)."""
        gen = torch.Generator().manual_seed(seed)

        def draw(x: Any) -> Any:
            return x.example(gen) if isinstance(x, Input) else x

        args, kwargs = pytree.tree_map(draw, (self.args, self.kwargs), is_leaf=lambda x: isinstance(x, Input))
        return ModelCall(tuple(args), dict(kwargs), self.signature)

    def dynamic_dims(self) -> tuple[Any, ...]:
        """Per argument (positional, then keyword in order), its dynamic axes with their ranges: ``{axis:
        SymbolRange}`` for a tensor argument (empty when static), the same nested structure for a tuple/list/dict
        argument, None for a constant."""
        return tuple(_dims(a) for a in (*self.args, *self.kwargs.values()))

    @property
    def is_dynamic(self) -> bool:
        return has_dynamic_dims(self.dynamic_dims())


def has_dynamic_dims(dims: Any) -> bool:
    """Whether a :meth:`ModelCall.dynamic_dims` structure has any dynamic axis."""
    if isinstance(dims, Mapping):
        return any(isinstance(v, SymbolRange) or has_dynamic_dims(v) for v in dims.values())
    if isinstance(dims, (list, tuple)):
        return any(has_dynamic_dims(d) for d in dims)
    return False


def _dims(x: Any) -> Any:
    if isinstance(x, Input):
        return x.dim_ranges()
    if isinstance(x, torch.Tensor):
        return {}
    if isinstance(x, (list, tuple)):
        return type(x)(_dims(v) for v in x)
    if isinstance(x, Mapping):
        return {k: _dims(v) for k, v in x.items()}
    return None


def resolve_call(model: Any, inputs: Any = None, arg_inputs: Any = None,
                 kwarg_inputs: Mapping[str, Any] | None = None) -> ModelCall:
    """The model's call from Torch-TensorRT's three input arguments (see the module docstring).

    ``inputs`` and ``arg_inputs`` are one argument under two names: the positional inputs, a list or tuple (one
    tensor or :class:`Input` alone is one input; a dict is taken as keyword inputs). ``kwarg_inputs`` is a dict of
    keyword inputs. Errors name the input at fault and what it may be."""
    return bind_inputs(forward_signature(model), inputs, arg_inputs, kwarg_inputs)


def bind_inputs(signature: inspect.Signature | None, inputs: Any = None, arg_inputs: Any = None,
                kwarg_inputs: Mapping[str, Any] | None = None) -> ModelCall:
    """:func:`resolve_call` for a model known by its ``forward`` signature (None: the inputs as given)."""
    if inputs is not None and arg_inputs is not None:
        raise TypeError("give the positional inputs once: inputs= and arg_inputs= are the same argument (the "
                        "second is Torch-TensorRT's name for it)")
    given, name = (arg_inputs, "arg_inputs") if arg_inputs is not None else (inputs, "inputs")
    if kwarg_inputs is not None and not isinstance(kwarg_inputs, Mapping):
        raise TypeError(f"kwarg_inputs takes a dict of keyword inputs ({{'attention_mask': mask}}), not "
                        f"{type(kwarg_inputs).__name__}")
    kwargs = dict(kwarg_inputs or {})
    if given is None and not kwargs:
        raise ValueError("inputs=[...] is required: example tensors or trt_passes.Input(shape, dtype) specs (or "
                         "kwarg_inputs={...} for keyword arguments)")
    if isinstance(given, Mapping):  # a dict of inputs names them: keyword inputs
        both = sorted(set(given) & set(kwargs))
        if both:
            raise TypeError(f"keyword inputs {both} are given both in {name}= and kwarg_inputs=")
        kwargs = {**given, **kwargs}
        args: tuple[Any, ...] = ()
    elif given is None:
        args = ()
    elif isinstance(given, (torch.Tensor, Input)):
        args = (given,)
    elif isinstance(given, Sequence) and not isinstance(given, (str, bytes)):
        args = tuple(given)
    else:
        raise TypeError(f"{name} takes a list of tensors or trt_passes.Input specs, not {type(given).__name__}")
    for key in kwargs:
        if not isinstance(key, str):
            raise TypeError(f"keyword inputs are named by strings, got the key {key!r}")
    for i, a in enumerate(args):
        _check_leaves(a, f"{name}[{i}]")
    for key, v in kwargs.items():
        _check_leaves(v, f"kwarg_inputs[{key!r}]")
    if signature is None:
        return ModelCall(args, kwargs, None)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"the inputs do not fit the model's forward{plain_signature(signature)}: {e}") from None
    return ModelCall(tuple(bound.args), dict(bound.kwargs), signature)


def _check_leaves(x: Any, where: str) -> None:
    if isinstance(x, (torch.Tensor, Input, *_CONSTANTS)):
        return
    if isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            _check_leaves(v, f"{where}[{i}]")
        return
    if isinstance(x, Mapping):
        for k, v in x.items():
            _check_leaves(v, f"{where}[{k!r}]")
        return
    raise TypeError(f"{where} is a {type(x).__name__}; an input is a torch.Tensor, a trt_passes.Input, a tuple, list "
                    "or dict of them, or a constant (bool, int, float, str, None)")


def forward_signature(model: Any) -> inspect.Signature | None:
    """The signature calls of ``model`` bind to; None when it cannot be read (ScriptModules, ExportedPrograms and
    other callables Python cannot introspect are then called with the inputs as given)."""
    if isinstance(model, (ExportedProgram, torch.jit.ScriptModule, torch.jit.ScriptFunction)):
        return None
    target = model.forward if isinstance(model, torch.nn.Module) else model
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):
        return None


def plain_signature(signature: inspect.Signature) -> str:
    """``(x, mask=None, *, scale=1.0)``: the parameters without annotations, for messages."""
    empty = inspect.Parameter.empty
    params = [p.replace(annotation=empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=params, return_annotation=empty))


__all__ = ["ModelCall", "forward_signature", "has_dynamic_dims", "plain_signature", "resolve_call"]
