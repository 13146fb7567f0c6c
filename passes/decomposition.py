"""One node's PyTorch decomposition, traced on fake tensors of the node's types and ready to splice into the IR.

Which decomposition: the one ``ExportedProgram.run_decompositions()`` would use for the op. That is the entry of
torch's core-ATen decomposition table (``torch._decomp``) when it has one, else the op's CompositeImplicitAutograd
kernel, a Python one where torch registers one (``aten.native_batch_norm`` ->
``aten._native_batch_norm_legit_no_training``), else the C++ one (``aten.linear`` -> ``aten.addmm`` ...), except for
the CompositeImplicitAutograd ops ``torch.export`` keeps whole (``upsample_bilinear2d``, ...).
:func:`decomposition_for` answers, and says which it is.

Tracing: the decomposition runs once under a ``FakeTensorMode`` on empty fake tensors of the node's input types
(symbolic sizes as ``SymInt`` s of the graph's symbols, :class:`~trt_passes.ir.fake_shapes.SymbolSpace`), with the
Python dispatcher on (so ops it calls take their Python CompositeImplicitAutograd kernels, as under
``torch.export``), while a dispatch mode records every ATen op it calls (:class:`_Recorder`). The record becomes a
:class:`Template`: IR ops whose arguments refer to the node's inputs, to earlier ops of the template, or to
constants, with sizes computed from symbolic dims as the IR's :class:`~trt_passes.ir.symbolic.SymDim` expressions.
Nodes of the same op, types and arguments share one template. An in-place op the decomposition applies to a scratch
tensor of its own is recorded as its functional twin. A decomposition the IR cannot hold (one that writes a tensor
others can see, reads a tensor it did not make, or computes a size from data) gives :class:`NotDecomposable` with
the reason; the node then stays as it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.utils._pytree as pytree
from torch._decomp import _core_aten_decompositions_post_autograd
from torch._dispatch.python import enable_python_dispatcher
from torch.export.decomp_utils import PRESERVED_ATEN_CIA_OPS
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode

from trt_passes.ir import Graph, Node, Provenance, Slot, TensorType, Value
from trt_passes.ir.aten import op_name_of, resolve_overload, schema_from_torch, wrapped_scalar
from trt_passes.ir.fake_shapes import SymbolSpace, current_ranges
from trt_passes.ir.ops import OpRegistry, dtype_arg
from trt_passes.ir.symbolic import SymDim
from trt_passes.ir.types import symbols_in, torch_dtype
from trt_passes.passes.functionalize import functional_twin

TABLE = "torch._decomp"
"""How provenance names a decomposition from torch's core-ATen decomposition table."""
KERNEL = "CompositeImplicitAutograd"
"""How provenance names a decomposition that is the op's CompositeImplicitAutograd kernel."""

# Ops that only matter to autograd: in an inference graph their result is their input.
_IDENTITIES = frozenset({"aten.detach.default", "aten.alias.default", "aten.lift_fresh.default"})
_DTYPE_TYPES = ("ScalarType", "ScalarType?")


class NotDecomposable(ValueError):
    """The op has a decomposition the IR cannot hold; the message says why."""


@dataclass(frozen=True)
class Decomposition:
    op: str
    fn: Callable[..., Any]
    kind: str
    """:data:`TABLE` or :data:`KERNEL`."""

    @property
    def name(self) -> str:
        """``torch._decomp:aten.hardswish.default``, ``CompositeImplicitAutograd:aten.linear.default``."""
        return f"{self.kind}:{self.op}"


@functools.cache
def _table() -> dict[Any, Callable[..., Any]]:
    return dict(_core_aten_decompositions_post_autograd())


@functools.cache
def decomposition_for(op: str) -> Decomposition | None:
    """PyTorch's decomposition of ``op`` (``aten.NAME.OVERLOAD``) as ``run_decompositions()`` applies it, or None."""
    overload = resolve_overload(op)
    if overload is None:
        return None
    fn = _table().get(overload)
    if fn is not None:
        return Decomposition(op, fn, TABLE)
    if overload in PRESERVED_ATEN_CIA_OPS:
        return None
    cia = torch._C.DispatchKey.CompositeImplicitAutograd
    python_kernel = overload.py_kernels.get(cia)
    if python_kernel is not None and not isinstance(python_kernel, torch._C.DispatchKey):
        return Decomposition(op, python_kernel, KERNEL)
    if torch._C._dispatch_has_kernel_for_dispatch_key(overload.name(), cia):
        return Decomposition(op, overload.decompose, KERNEL)
    return None


# ---- a traced decomposition ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    """Where a template op's tensor argument comes from: the node's input ``input`` (an index), or output ``output``
    of the template's op ``op``."""

    op: int | None = None
    output: int = 0
    input: int | None = None


@dataclass(frozen=True)
class _Scalar:
    """A Python scalar the decomposition passed where an op takes a tensor; ``others``: the op's tensor arguments,
    which decide its dtype (:func:`~trt_passes.ir.aten.wrapped_scalar`)."""

    value: bool | int | float
    others: tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class TemplateOp:
    op: str
    inputs: tuple[Ref | torch.Tensor, ...]
    """Per input slot: a :class:`Ref`, or a constant tensor (a Python scalar where the op takes a tensor)."""
    attrs: dict[str, Any]
    outputs: tuple[TensorType, ...]


@dataclass(frozen=True)
class Template:
    decomposition: Decomposition
    ops: tuple[TemplateOp, ...]
    results: tuple[Ref | None, ...]
    """What replaces each output of the node (None: an output nobody reads)."""

    def splice(self, g: Graph, node: Node) -> list[int]:
        """Replace ``node`` by the template's ops (provenance naming the decomposition); returns the new node ids."""
        inputs = g.inputs(node.id)
        prov = Provenance(source=node.provenance.source, rule=f"decompose:{node.op}", location=self.decomposition.name,
                          ruleset="pytorch", replaced=(node.id,))
        made: list[int] = []

        def value(ref: Ref) -> Value:
            return inputs[ref.input] if ref.input is not None else Value(made[ref.op], ref.output)  # type: ignore

        for t in self.ops:
            ins = [value(r) if isinstance(r, Ref) else Value(g.add_constant(r, provenance=prov)) for r in t.inputs]
            made.append(g.add(t.op, ins, dict(t.attrs), t.outputs, prov))
        for i, ref in enumerate(self.results):
            if ref is not None:
                g.replace_uses(Value(node.id, i), value(ref))
        g.remove(node.id)
        return made


def trace(g: Graph, node: Node, ops: OpRegistry, decomposition: Decomposition) -> Template:
    """Run ``decomposition`` on fake tensors of ``node``'s input types and record what it computes."""
    schema = ops.schema(node.op)
    inputs = g.inputs(node.id)
    types = [g.type(v) for v in inputs]
    space = SymbolSpace(tuple(sorted(symbols_in([*types, *node.outputs, list(node.attrs.values())]))))
    with space.mode:
        fakes = [space.fake(t) for t in types]
        positional, keywords = [], {}
        for spec in schema.args:
            value = _argument(node.attrs[spec.name], fakes, space)
            if spec.type in _DTYPE_TYPES and isinstance(value, str):
                value = torch_dtype(value)
            (keywords.__setitem__(spec.name, value) if spec.kwarg_only else positional.append(value))
        recorder = _Recorder(fakes, space, ops)
        try:
            with enable_python_dispatcher(), recorder:
                result = decomposition.fn(*positional, **keywords)
        except NotDecomposable:
            raise
        except Exception as e:  # a decomposition that needs data, or refuses these arguments: the node stays
            raise NotDecomposable(f"tracing it failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from e
        pinned = space.pinned()
        if pinned:
            raise NotDecomposable(f"it needs a static size for {', '.join(pinned)}")
        results = recorder.results(result, node, [bool(g.uses(Value(node.id, i))) for i in range(len(node.outputs))])
    # outside the fake mode: the scalars become real constants
    return Template(decomposition, _live(recorder.ops, results), tuple(results))


def _argument(attr: Any, fakes: list[torch.Tensor], space: SymbolSpace) -> Any:
    if isinstance(attr, Slot):
        return fakes[attr.index]
    if isinstance(attr, (list, tuple)):
        return type(attr)(_argument(a, fakes, space) for a in attr)
    if isinstance(attr, SymDim):
        return space.symint(attr)
    return attr


class _Recorder(TorchDispatchMode):
    """Records the ATen ops a decomposition dispatches (below autograd, so CompositeImplicitAutograd ops it calls
    arrive decomposed, as ``run_decompositions()`` would have them)."""

    def __init__(self, inputs: Sequence[torch.Tensor], space: SymbolSpace, ops: OpRegistry) -> None:
        super().__init__()
        self.space, self.registry = space, ops
        self.refs: dict[int, Ref] = {id(t): Ref(input=i) for i, t in enumerate(inputs)}
        self.keep: list[Any] = list(inputs)  # ids stay unique while every tensor seen is alive
        self.ops: list[TemplateOp] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        leaves = [o for o in pytree.tree_leaves(out) if isinstance(o, torch.Tensor)]
        if not leaves:
            return out  # sizes, devices: they reach the ops that use them as values
        name = op_name_of(func) if isinstance(func, torch._ops.OpOverload) else str(func)
        if not name.startswith("aten."):
            raise NotDecomposable(f"it calls {name}, which is not an ATen op")
        if func._schema.is_mutable:
            self._write(func, name, args, kwargs, out)
            return out
        if name in _IDENTITIES:
            self.refs[id(out)] = self._ref(args[0], name)
            self.keep.append(out)
            return out
        self._record(func, name, args, kwargs, out, leaves)
        return out

    def _write(self, func: Any, name: str, args: Any, kwargs: Any, out: Any) -> None:
        """An in-place op (CompositeImplicitAutograd kernels write scratch tensors: ``clamp_min_`` in
        ``cosine_similarity``): recorded as its functional twin, whose result is the written tensor's new value from
        here on. Refused when anything else could see the write: a tensor of the node's, or one sharing memory with
        another value, or a twin that would compute in another dtype."""
        schema = func._schema
        written = args[0] if args else None
        mutable = [a for a in schema.arguments if a.alias_info is not None and a.alias_info.is_write]
        twin = functional_twin(name, self.registry)
        if twin is None or len(mutable) != 1 or mutable[0].name != schema.arguments[0].name or out is not written:
            raise NotDecomposable(f"it writes a tensor in place ({name}) in a way with no functional form here")
        if self._ref(written, name).input is not None:
            raise NotDecomposable(f"it writes one of the op's own arguments in place ({name})")
        key = StorageWeakRef(written.untyped_storage())
        if any(t is not written and StorageWeakRef(t.untyped_storage()) == key
               for t in self.keep if isinstance(t, torch.Tensor)):
            raise NotDecomposable(f"it writes in place ({name}) a tensor another value shares memory with")
        if any(t.dtype != written.dtype for t in pytree.tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)):
            raise NotDecomposable(f"it writes in place ({name}) a value computed in another dtype")
        self._record(resolve_overload(twin), twin, args, kwargs, out, [out])

    def _ref(self, t: Any, op: str) -> Ref:
        ref = self.refs.get(id(t))
        if ref is None:
            raise NotDecomposable(f"{op} reads a tensor the decomposition did not make")
        return ref

    def _record(self, func: Any, name: str, args: Any, kwargs: Any, out: Any, leaves: list[torch.Tensor]) -> None:
        schema = schema_from_torch(name, func._schema)
        bound = schema.bind(args, kwargs)
        inputs: list[Ref | _Scalar] = []
        tensors = [v for v in pytree.tree_leaves((args, kwargs)) if isinstance(v, torch.Tensor)]

        def slot(v: Any, what: str) -> Slot | None:
            if v is None:
                return None
            if isinstance(v, torch.Tensor):
                inputs.append(self._ref(v, name))
            elif isinstance(v, (bool, int, float)):
                inputs.append(_Scalar(v, tuple(tensors)))
            else:
                raise NotDecomposable(f"{name}: {type(v).__name__} in tensor argument {what!r}")
            return Slot(len(inputs) - 1)

        attrs: dict[str, Any] = {}
        for spec in schema.args:
            v = bound[spec.name]
            if spec.is_tensor_list:
                attrs[spec.name] = tuple(slot(x, spec.name) for x in v)
            elif spec.is_tensor:
                attrs[spec.name] = slot(v, spec.name)
            else:
                attrs[spec.name] = self._plain(v, name, spec.name)
        index = len(self.ops)
        outputs = tuple(self.space.type_of(t) for t in leaves)
        self.ops.append(TemplateOp(name, tuple(inputs), attrs, outputs))
        for i, t in enumerate(leaves):
            self.refs[id(t)] = Ref(op=index, output=i)
            self.keep.append(t)

    def _plain(self, v: Any, op: str, what: str) -> Any:
        if isinstance(v, (list, tuple)):
            return [self._plain(x, op, what) for x in v]
        if isinstance(v, torch.SymInt):
            return self.space.dim(v)
        if isinstance(v, (torch.SymFloat, torch.SymBool)):
            raise NotDecomposable(f"{op}: argument {what!r} is a symbolic {type(v).__name__}")
        if isinstance(v, torch.device):
            return str(v)
        if isinstance(v, torch.Tensor):
            raise NotDecomposable(f"{op}: a tensor in non-tensor argument {what!r}")
        return dtype_arg(v)

    def results(self, result: Any, node: Node, used: Sequence[bool]) -> list[Ref | None]:
        """What replaces each of ``node``'s outputs, given what the decomposition returned; None for an output
        nobody reads (decompositions may return a placeholder there, as SDPA's does for its log-sum-exp)."""
        leaves = [r for r in pytree.tree_leaves(result) if isinstance(r, torch.Tensor) or r is None]
        if len(leaves) != len(node.outputs):
            raise NotDecomposable(f"it returns {len(leaves)} tensors, the op {len(node.outputs)}")
        results: list[Ref | None] = []
        for i, (t, want, needed) in enumerate(zip(leaves, node.outputs, used)):
            if not needed:
                results.append(None)
                continue
            if t is None:
                raise NotDecomposable(f"it returns no tensor for output {i}")
            got = self.space.type_of(t)
            if got != want:
                raise NotDecomposable(f"output {i} has type {got}, the op {want}")
            results.append(self._ref(t, node.op))
        return results


def _live(ops: list[TemplateOp], results: list[Ref | None]) -> tuple[TemplateOp, ...]:
    """The ops the results depend on (decompositions may compute things they do not return), renumbered, with
    scalars in tensor positions made 0-d constants."""
    needed: set[int] = set()
    stack = [r.op for r in results if r is not None and r.op is not None]
    while stack:
        i = stack.pop()
        if i in needed:
            continue
        needed.add(i)
        stack.extend(r.op for r in ops[i].inputs if isinstance(r, Ref) and r.op is not None)
    order = sorted(needed)
    new_index = {old: new for new, old in enumerate(order)}

    def renumber(r: Any) -> Any:
        if isinstance(r, Ref) and r.op is not None:
            return Ref(op=new_index[r.op], output=r.output)
        if isinstance(r, _Scalar):
            return wrapped_scalar(r.value, r.others)
        return r

    kept = tuple(TemplateOp(o.op, tuple(renumber(r) for r in o.inputs), o.attrs, o.outputs)
                 for o in (ops[i] for i in order))
    results[:] = [renumber(r) for r in results]
    return kept


def template_key(g: Graph, node: Node) -> Any:
    """What a node's template depends on: op, input types, arguments, which outputs are read, and the ranges of the
    symbols involved."""
    types = tuple(g.type(v) for v in g.inputs(node.id))
    used = tuple(bool(g.uses(Value(node.id, i))) for i in range(len(node.outputs)))
    try:
        attrs = tuple((k, _frozen(v)) for k, v in node.attrs.items())
    except TypeError:
        return None  # an argument that cannot key a cache: trace this node on its own
    symbols = symbols_in([*types, *node.outputs])
    ranges = tuple(sorted((s, r) for s, r in current_ranges().items() if s in symbols))
    return node.op, types, node.outputs, used, attrs, ranges


def _frozen(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_frozen(x) for x in v)
    hash(v)
    return v
