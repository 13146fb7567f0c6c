"""Translate an ``ExportedProgram`` (torch.export's graph, or core ATen) into an IR :class:`Graph`: the dynamo
frontend's importer, which every frontend uses.

The translation follows the schema in :mod:`trt_passes.ir.graph` literally: every ATen call becomes one node whose
``attrs`` hold every schema argument (defaults filled, tensors as :class:`Slot` markers), parameters and buffers become
``constant`` nodes holding the model's own tensors, and ``operator.getitem`` disappears into output indexes. Size
arithmetic on dynamic dims (``aten.sym_size``, ``operator.mul`` on SymInts) becomes no node at all: its value, an
expression over the inputs' symbols (or a data-dependent size an earlier op's result has), is kept as a
:class:`~trt_passes.ir.symbolic.SymDim` in the attributes that read it. Runtime assertions
(``aten._assert_tensor_metadata``, ``aten._assert_scalar``) are dropped. In-place ops are imported as they are, in
program order (node ids increase along it), with the values that share memory recorded as
:class:`~trt_passes.ir.aliasing.AliasGroup` s for the ``functionalize`` pass. The regions torch.export wraps in
higher-order ops for grad mode (``wrap_with_set_grad_enabled``: an inference graph has no gradients) and for a
disabled autocast are imported inline. Ops other libraries register with torch (custom ops, torchvision's
``roi_align``) import like ATen ops, typed by their fake value (``meta["val"]``); no shipped rule converts them, so
they run in PyTorch. Anything the IR cannot represent (calls that are not torch ops, custom ops writing their inputs,
an enabled autocast region,
symbolic floats and bools other than runtime assertions) is an error naming the FX node, so a model that imports is
a model every later pass can reason about.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
import torch.fx
from torch.export import ExportedProgram
from torch.export.graph_signature import (
    ConstantArgument,
    InputKind,
    InputSpec,
    OutputKind,
    TensorArgument,
)
from torch.multiprocessing.reductions import StorageWeakRef

from trt_passes.frontends.base import FrontendError
from trt_passes.ir.aliasing import ALIAS_GROUPS, AliasGroup
from trt_passes.ir.aten import aten_dialect, op_name_of, schema_from_torch, wrapped_scalar
from trt_passes.ir.graph import Graph, Provenance, Slot, Value
from trt_passes.ir.library_ops import library_dialect, qualified_name
from trt_passes.ir.ops import ArgSpec, OpSchema, SchemaBindError, dtype_arg
from trt_passes.ir.symbolic import SymbolRange, SymDim
from trt_passes.ir.types import TensorType

# Assertion ops check facts that held when the model was traced; they produce nothing, so dropping them loses no
# semantics and keeps the IR free of nodes without outputs.
_DROPPED_PREFIXES = ("aten._assert", "aten.sym_constrain_range")


def _source(node: torch.fx.Node) -> str:
    """``layer1.0.conv1/convolution``: the innermost module path (if any) and the FX node name."""
    stack = node.meta.get("nn_module_stack")
    if stack:
        path = list(stack.values())[-1][0]
        if path:
            return f"{path}/{node.name}"
    return node.name


class Importer:
    def __init__(self, ep: ExportedProgram) -> None:
        self.ep = ep
        self.g = Graph()
        self.aten = aten_dialect()
        self.library = library_dialect()  # custom ops and torchvision's: they import as nodes PyTorch runs
        # fx node -> a Value, or (for multi-output producers) a nested tuple/list of Values mirroring meta["val"].
        self.env: dict[torch.fx.Node, Any] = {}
        self.num_inputs = 0
        self.symbols: dict[str, SymbolRange] = {}
        self.data_sizes: set[str] = set()  # symbols first seen in an op's result (data-dependent sizes)
        # storage -> [(value, its fake tensor)] in program order: which values share memory (see ir/aliasing.py)
        self.storages: dict[StorageWeakRef, list[tuple[Value, torch.Tensor]]] = {}
        self.identities: set[Value] = set()

    # ---- driver ---------------------------------------------------------------------------------------------
    def run(self) -> Graph:
        self._check_signature()
        self._record_inputs()
        self._record_symbols()
        specs = {s.arg.name: s for s in self.ep.graph_signature.input_specs if isinstance(s.arg, TensorArgument)}
        for node in self.ep.graph.nodes:
            if node.op == "placeholder":
                self._placeholder(node, specs.get(node.name))
            elif node.op == "call_function":
                self._call(node)
            elif node.op == "output":
                self._output(node)
            elif node.op != "get_attr":  # get_attr reads the subgraph of a higher-order op (see _inline)
                raise FrontendError(f"{node.name}: FX op {node.op!r} ({node.target}) is not representable in the IR")
        self._record_alias_groups()
        return self.g

    def _check_signature(self) -> None:
        sig = self.ep.graph_signature
        mutated = {**sig.buffers_to_mutate, **sig.user_inputs_to_mutate}
        if mutated:
            raise FrontendError(f"the model mutates {sorted(mutated.values())}; the IR is functional")
        for s in sig.input_specs:
            if s.kind not in (InputKind.USER_INPUT, InputKind.PARAMETER, InputKind.BUFFER,
                              InputKind.CONSTANT_TENSOR):
                raise FrontendError(f"{s.arg.name}: input kind {s.kind.name} is not representable in the IR")
        for s in sig.output_specs:
            if s.kind != OutputKind.USER_OUTPUT:
                raise FrontendError(f"{s.arg.name}: output kind {s.kind.name} is not representable in the IR")

    def _record_inputs(self) -> None:
        """Store the calling convention: which flattened user leaves are IR inputs, under which names."""
        user = [s for s in self.ep.graph_signature.input_specs if s.kind == InputKind.USER_INPUT]
        leaves, names, constants = [], [], {}
        for pos, s in enumerate(user):
            if isinstance(s.arg, TensorArgument):
                leaves.append(pos)
                names.append(s.arg.name)
            elif isinstance(s.arg, ConstantArgument):
                constants[pos] = s.arg.value
        self.g.meta.update({
            "frontend": "dynamo",
            "in_spec": self.ep.call_spec.in_spec,
            "out_spec": self.ep.call_spec.out_spec,
            "input_names": names,
            "input_leaves": leaves,   # flat (args, kwargs) leaf position of each IR input
            "num_input_leaves": len(user),
            "input_constants": constants,  # flat leaf position -> the non-tensor value export specialised on
        })

    def _record_symbols(self) -> None:
        """Each symbol of the inputs' dynamic dims with its range: min/max from export's range constraints, opt
        from the example the model was exported with (the size tactics should be tuned for)."""
        hints: dict[str, int] = {}
        for node in self.ep.graph.nodes:
            val = node.meta.get("val") if node.op == "placeholder" else None
            if isinstance(val, torch.Tensor):
                for d in val.shape:
                    if isinstance(d, torch.SymInt) and d.node.expr.is_symbol:
                        hint = d.node.hint
                        if hint is not None:
                            hints[str(d.node.expr)] = int(hint)
        for sym, vr in self.ep.range_constraints.items():
            name = str(sym)
            if name not in hints:
                continue  # symbols of derived or unbacked sizes: not an input dim
            lo = max(int(vr.lower), 0)
            hi = None if not vr.upper.is_finite else int(vr.upper)
            opt = min(max(hints[name], lo), hi if hi is not None else hints[name])
            self.symbols[name] = SymbolRange(lo, opt, hi)
        if self.symbols:
            self.g.meta["symbols"] = dict(self.symbols)

    # ---- placeholders ---------------------------------------------------------------------------------------
    def _placeholder(self, node: torch.fx.Node, spec: InputSpec | None) -> None:
        if spec is None:  # a non-tensor user input: export specialised it, the graph must not read it
            if node.users:
                raise FrontendError(f"{node.name}: non-tensor input used by the graph ({list(node.users)})")
            return
        if spec.kind == InputKind.USER_INPUT:
            self.env[node] = Value(self.g.add_input(node.name, self._type(node), self.num_inputs))
            self.num_inputs += 1
        elif not node.users:  # unused weights (e.g. num_batches_tracked) would only be dead constants
            return
        else:
            tensor = self._constant_tensor(spec)
            self.env[node] = Value(self.g.add_constant(tensor, name=spec.target or node.name))
        self._note_storage(self.env[node], node.meta.get("val"), ())

    def _constant_tensor(self, spec: InputSpec) -> torch.Tensor:
        target = spec.target
        assert target is not None
        # Persistent parameters/buffers live in state_dict, non-persistent buffers and lifted constants in constants;
        # both hold the model's own tensor objects, which is what keeps constants by reference.
        if target in self.ep.state_dict:
            return self.ep.state_dict[target]
        if target in self.ep.constants:
            value = self.ep.constants[target]
            if isinstance(value, torch.Tensor):
                return value
        raise FrontendError(f"{spec.arg.name}: no tensor for {spec.kind.name} {target!r}")

    # ---- calls ----------------------------------------------------------------------------------------------
    def _call(self, node: torch.fx.Node) -> None:
        target = node.target
        if target is operator.getitem:
            self._getitem(node)
            return
        if isinstance(target, torch._ops.HigherOrderOperator):
            self._inline(node)
            return
        if isinstance(node.meta.get("val"), torch.SymBool) and all(
                str(u.target).startswith(("aten._assert", "aten.sym_constrain_range")) for u in node.users):
            return  # a condition only a runtime assertion reads (u0 >= 0): dropped with the assertion
        if isinstance(node.meta.get("val"), (torch.SymInt, int)) and not isinstance(node.meta.get("val"), bool):
            # Size arithmetic (aten.sym_size, operator.mul, ...): its value is an expression over the inputs'
            # symbols, which the IR keeps as a SymDim in the attributes that read it; no node is needed.
            self.env[node] = self._symbolic(node, node.meta["val"])
            return
        if not isinstance(target, torch._ops.OpOverload):
            raise FrontendError(f"{node.name}: {target} is not a torch op (an ATen op or one a library registered "
                               f"with torch.library); the IR cannot represent it (called from {_source(node)})")
        op = op_name_of(target)
        schema = self.aten.schema(op) if target.namespace == "aten" else self.library.schema(op)
        if schema is None:
            raise FrontendError(f"{node.name}: no schema for {op}")
        if target.namespace != "aten" and schema.is_mutating:
            _refuse_writing_custom_op(node, op, schema)
        if op.startswith(_DROPPED_PREFIXES) and not node.users:
            return
        bound = self._bind(node, schema)
        inputs: list[Value] = []
        attrs = {spec.name: self._attr(node, spec, bound[spec.name], inputs, bound) for spec in schema.args}
        val = node.meta.get("val")
        if val is None:
            raise FrontendError(f"{node.name}: {op} has no meta['val'] to type its outputs")
        leaves = _tensor_leaves(val, node)
        types = [TensorType.of(t) for t in leaves]
        # Sizes only this op's data determines (nonzero's row count): later ops may compute with them.
        self.data_sizes |= {str(d) for t in types for d in t.shape if isinstance(d, SymDim) and d.isidentifier()}
        nid = self.g.add(op, inputs, attrs, types, Provenance(source=_source(node)))
        counter = iter(range(len(leaves)))
        self.env[node] = _mirror(val, lambda: Value(nid, next(counter)))
        sources = [(self.env[a], a.meta.get("val")) for a in node.all_input_nodes
                   if isinstance(self.env.get(a), Value)]
        for index, leaf in enumerate(leaves):
            self._note_storage(Value(nid, index), leaf, sources)

    # ---- aliasing -------------------------------------------------------------------------------------------
    def _note_storage(self, value: Value, val: Any, sources: list[tuple[Value, Any]]) -> None:
        """Record the storage ``value`` (whose fake tensor is ``val``) lives in; when an input of its node
        (``sources``) lives there too, ``value`` aliases it, and is an identity when it has the input's sizes,
        strides and offset."""
        if not isinstance(val, torch.Tensor):
            return
        try:
            key = StorageWeakRef(val.untyped_storage())
        except (NotImplementedError, RuntimeError):  # tensors without a storage (none in the zoo) alias nothing
            return
        members = self.storages.setdefault(key, [])
        if members:
            src = next((t for v, t in sources if isinstance(t, torch.Tensor) and _same_storage(t, key)), None)
            if src is not None and _same_layout(val, src):
                self.identities.add(value)
        members.append((value, val))

    def _record_alias_groups(self) -> None:
        groups = [AliasGroup(tuple(v for v, _ in members), frozenset(v for v, _ in members if v in self.identities))
                  for members in self.storages.values() if len(members) > 1]
        if groups:
            self.g.meta[ALIAS_GROUPS] = groups

    # ---- regions torch.export wraps in higher-order ops ------------------------------------------------------
    def _inline(self, node: torch.fx.Node) -> None:
        """``wrap_with_set_grad_enabled(enabled, subgraph, *args)`` (grad mode: nothing to an inference graph) and
        ``wrap_with_autocast(device, dtype, False, cache, subgraph, *args)`` (a region with autocast off, as the
        whole program is): the subgraph's nodes, in place. Its result is a tuple, which getitem reads."""
        name = node.target.name()  # type: ignore[union-attr]
        written = node.args[0] if name.startswith("auto_functionalized") and node.args else None
        if isinstance(written, torch._ops.OpOverload):  # torch.export's wrapper of a custom op writing its inputs
            op = op_name_of(written)
            _refuse_writing_custom_op(node, op, schema_from_torch(op, written._schema))
        if name == "wrap_with_set_grad_enabled":
            sub, operands = node.args[1], node.args[2:]
        elif name == "wrap_with_autocast" and node.args[2] is False:
            sub, operands = node.args[4], node.args[5:]
        else:
            what = "an autocast region" if name == "wrap_with_autocast" else f"the higher-order op {name}"
            raise FrontendError(f"{node.name}: {what} is not representable in the IR (called from {_source(node)})")
        module = getattr(self.ep.graph_module, str(sub.target)) if isinstance(sub, torch.fx.Node) else None
        if not isinstance(module, torch.fx.GraphModule):
            raise FrontendError(f"{node.name}: {name} without a subgraph")
        placeholders = [n for n in module.graph.nodes if n.op == "placeholder"]
        if len(placeholders) != len(operands):
            raise FrontendError(f"{node.name}: {name} passes {len(operands)} values to {len(placeholders)} inputs")
        for placeholder, operand in zip(placeholders, operands):
            self.env[placeholder] = self.env[operand] if isinstance(operand, torch.fx.Node) else operand
        for inner in module.graph.nodes:
            if inner.op == "call_function":
                self._call(inner)
            elif inner.op == "output":
                self.env[node] = tuple(self.env[a] if isinstance(a, torch.fx.Node) else a for a in inner.args[0])
            elif inner.op not in ("placeholder", "get_attr"):
                raise FrontendError(f"{inner.name}: FX op {inner.op!r} in {name}'s subgraph")

    def _getitem(self, node: torch.fx.Node) -> None:
        producer, index = node.args
        if producer not in self.env or isinstance(self.env[producer], Value):
            raise FrontendError(f"{node.name}: getitem on {producer}, which is not a multi-output node")
        self.env[node] = self.env[producer][index]

    def _bind(self, node: torch.fx.Node, schema: OpSchema) -> dict[str, Any]:
        """Every schema argument by name: positional FX args, then keywords, then defaults."""
        try:
            return schema.bind(node.args, node.kwargs)
        except SchemaBindError as e:
            raise FrontendError(f"{node.name}: {e}") from None

    def _attr(self, node: torch.fx.Node, spec: ArgSpec, value: Any, inputs: list[Value],
              bound: dict[str, Any]) -> Any:
        def slot(v: Any) -> Slot | None:
            if v is None:
                if not (spec.is_optional or spec.type == "Tensor?[]"):
                    raise FrontendError(f"{node.name}: None for non-optional tensor argument {spec.name!r}")
                return None
            if isinstance(v, torch.fx.Node):
                src = self.env.get(v)
                if not isinstance(src, Value):
                    raise FrontendError(f"{node.name}: argument {spec.name!r} reads {v.name}, which is not a tensor")
            elif isinstance(v, (bool, int, float)):
                src = self._scalar_constant(node, spec, v, bound)
            else:
                raise FrontendError(f"{node.name}: {type(v).__name__} in tensor argument {spec.name!r}")
            inputs.append(src)
            return Slot(len(inputs) - 1)

        if spec.is_tensor_list:
            if isinstance(value, torch.fx.Node):  # a list-producing node passed whole (no getitems)
                listed = self.env.get(value)
                if not isinstance(listed, list):
                    raise FrontendError(f"{node.name}: argument {spec.name!r} reads {value.name}, not a tensor list")
                inputs.extend(listed)
                return tuple(Slot(len(inputs) - len(listed) + i) for i in range(len(listed)))
            return tuple(slot(v) for v in value)
        if spec.is_tensor:
            return slot(value)
        return self._plain(node, spec, value)

    def _plain(self, node: torch.fx.Node, spec: ArgSpec, value: Any) -> Any:
        """A non-tensor argument in the IR's spelling: dtype names, device strings, plain lists."""
        if isinstance(value, torch.fx.Node):
            size = self.env.get(value)
            if isinstance(size, (int, SymDim)):
                return size
            raise FrontendError(f"{node.name}: argument {spec.name!r} is computed at run time ({value.name}); "
                               "the IR needs it static")
        if isinstance(value, (list, tuple)):
            return [self._plain(node, spec, v) for v in value]
        if isinstance(value, torch.device):
            return str(value)
        if isinstance(value, torch.SymInt):
            return self._symbolic(node, value)
        if isinstance(value, (torch.SymFloat, torch.SymBool)):
            raise FrontendError(f"{node.name}: argument {spec.name!r} is a symbolic {type(value).__name__} ({value}); "
                               "the IR has symbolic ints only")
        return dtype_arg(value)

    def _symbolic(self, node: torch.fx.Node, value: torch.SymInt | int) -> int | SymDim:
        """A size value as the IR holds it: an int, or a SymDim over the graph inputs' symbols."""
        if isinstance(value, int):
            return value
        expr = value.node.expr
        if expr.is_number:
            return int(expr)
        unknown = {str(s) for s in expr.free_symbols} - set(self.symbols) - self.data_sizes
        if unknown:
            raise FrontendError(f"{node.name}: size {value} depends on {sorted(unknown)}, which neither an input dim "
                               "nor an earlier op's result determines")
        return SymDim(str(value))


    def _scalar_constant(self, node: torch.fx.Node, spec: ArgSpec, value: bool | int | float,
                         bound: dict[str, Any]) -> Value:
        """A Python scalar where the schema wants a Tensor: a 0-d constant of the dtype eager would compute in
        (:func:`~trt_passes.ir.aten.wrapped_scalar`)."""
        others = [v.meta["val"] for name, v in bound.items()
                  if name != spec.name and isinstance(v, torch.fx.Node) and isinstance(v.meta.get("val"), torch.Tensor)]
        tensor = wrapped_scalar(value, others)
        return Value(self.g.add_constant(tensor, name="", provenance=Provenance(source=_source(node))))

    # ---- output ---------------------------------------------------------------------------------------------
    def _output(self, node: torch.fx.Node) -> None:
        values: list[Value] = []
        leaves: list[int | None] = []
        constants: dict[int, Any] = {}
        for pos, (spec, arg) in enumerate(zip(self.ep.graph_signature.output_specs, node.args[0])):
            if isinstance(arg, torch.fx.Node):
                src = self.env.get(arg)
                if not isinstance(src, Value):
                    raise FrontendError(f"output {pos} ({arg.name}) is not a tensor")
                leaves.append(len(values))
                values.append(src)
            elif isinstance(spec.arg, ConstantArgument) or arg is None or isinstance(arg, (bool, int, float, str)):
                leaves.append(None)
                constants[pos] = arg
            else:
                raise FrontendError(f"output {pos}: {type(arg).__name__} is not representable in the IR")
        self.g.set_outputs(values)
        # For each flat output leaf: the IR output index, or None for a constant the program does not compute.
        self.g.meta["output_leaves"] = leaves
        self.g.meta["output_constants"] = constants

    def _type(self, node: torch.fx.Node) -> TensorType:
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            raise FrontendError(f"{node.name}: expected a tensor, meta['val'] is {type(val).__name__}")
        return TensorType.of(val)


def _refuse_writing_custom_op(node: torch.fx.Node, op: str, schema: OpSchema) -> None:
    written = [a.name for a in schema.args if a.mutable]
    raise FrontendError(f"{node.name}: the custom op {qualified_name(op)} writes its argument(s) {written}; the IR is "
                        f"functional, so it takes custom ops declared with mutates_args=() only (called from "
                        f"{_source(node)})")


def _same_storage(t: torch.Tensor, key: StorageWeakRef) -> bool:
    try:
        return StorageWeakRef(t.untyped_storage()) == key
    except (NotImplementedError, RuntimeError):
        return False


def _same_layout(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same sizes, strides and storage offset (symbolic ones compared as expressions)."""
    return (str(tuple(a.shape)) == str(tuple(b.shape)) and str(a.stride()) == str(b.stride())
            and str(a.storage_offset()) == str(b.storage_offset()))


def _tensor_leaves(val: Any, node: torch.fx.Node) -> list[torch.Tensor]:
    if isinstance(val, torch.Tensor):
        return [val]
    if isinstance(val, (list, tuple)):
        return [t for v in val for t in _tensor_leaves(v, node)]
    raise FrontendError(f"{node.name}: output {val!r} ({type(val).__name__}) is not a tensor")


def _mirror(val: Any, make: Any) -> Any:
    """``val``'s structure with each tensor replaced by ``make()`` (called in flattening order)."""
    if isinstance(val, torch.Tensor):
        return make()
    return type(val)(_mirror(v, make) for v in val) if isinstance(val, tuple) else [_mirror(v, make) for v in val]


__all__ = ["Importer"]
