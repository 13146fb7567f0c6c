"""functionalize: rewrite the in-place ops of an imported program into functional ops, or say why it cannot.

``torch.export.export`` keeps in-place ops (``relu_``, ``add_``, ``fill_`` on a slice). The importer keeps them too,
with node ids in program order and the values sharing memory recorded as alias groups (:mod:`trt_passes.ir.aliasing`).
Walking the in-place ops in program order, each becomes its functional twin found from the schema
(``aten.relu_.default`` -> ``aten.relu.default``, ``aten.__iand__.Tensor`` -> ``aten.__and__.Tensor``), cast back to
the written tensor's dtype when the twin would promote. Its result is the new value of the tensor it wrote:

* a tensor the program made itself (not a graph input, weight or buffer) written whole, or through ops that return
  it unchanged (``contiguous``, eval ``dropout``): the result is the tensor's new value;
* written through a chain of views of such a tensor: the result is put back through each view by its exact inverse
  (:data:`_PUT_BACK`: ``slice_scatter`` / ``select_scatter`` for ``slice`` / ``select``, a reshape back for the
  reshaping views, the inverse permutation for ``permute`` / ``transpose``), giving the tensor's new value.

Every later reader of the tensor, or of any view of it, then reads the new value (a view is re-taken from it). Writes
this cannot prove safe (to a graph input, a weight or buffer, through another kind of view, or an op writing several
tensors) raise :class:`NeedsPyTorchDecompositions` with the reason: the driver then imports the whole program
through ``ExportedProgram.run_decompositions()`` instead, and the report says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trt_passes.dsl.rewriter import infer_types
from trt_passes.ir import Graph, Node, Provenance, Slot, TensorType, Value
from trt_passes.ir.aliasing import ALIAS_GROUPS, AliasGroup, alias_groups
from trt_passes.ir.ops import OpRegistry, OpSchema
from trt_passes.passes.context import PassContext

_RESHAPES = frozenset({"aten.view.default", "aten._unsafe_view.default", "aten.reshape.default",
                       "aten.flatten.using_ints", "aten.unflatten.int", "aten.squeeze.default", "aten.squeeze.dim",
                       "aten.squeeze.dims", "aten.unsqueeze.default"})
"""Views that re-read the elements of their input in row-major order under another shape: a new value of the view
is the new value of the input reshaped back."""
_PERMUTATIONS = frozenset({"aten.permute.default", "aten.transpose.int", "aten.t.default"})
_PUT_BACK = frozenset({"aten.slice.Tensor", "aten.select.int"}) | _RESHAPES | _PERMUTATIONS
"""The views a write may go through: each has an exact inverse putting a new value of the view back into its input
(``expand``, ``as_strided``, ``diagonal`` and the like have none: their elements overlap or skip)."""
_PROVENANCE_RULE = "functionalize"


class NeedsPyTorchDecompositions(RuntimeError):
    """The program writes tensors in place in a way ``functionalize`` cannot prove safe to rewrite; ``reason`` says
    which write and why. The driver imports the program through ``run_decompositions()`` instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def functional_twin(op: str, ops: OpRegistry) -> str | None:
    """The functional op computing what in-place ``op`` writes: the same packet without the trailing ``_`` (or
    ``__iNAME__`` -> ``__NAME__``), same overload, with the same argument types and no mutable argument."""
    parts = op.split(".")
    if len(parts) != 3 or parts[0] != "aten":
        return None
    name = parts[1]
    if name.startswith("__i") and name.endswith("__"):
        twin_name = "__" + name[3:]
    elif name.endswith("_") and not name.endswith("__"):
        twin_name = name[:-1]
    else:
        return None
    twin = f"aten.{twin_name}.{parts[2]}"
    if not ops.has(twin):
        return None
    mine, theirs = ops.schema(op), ops.schema(twin)
    if theirs.is_mutating or [a.type for a in mine.args] != [a.type for a in theirs.args]:
        return None
    return twin


@dataclass
class _Group:
    """An alias group while the pass runs: its current base and the members made from it since."""

    base: Value
    members: list[Value]
    identities: set[Value] = field(default_factory=set)


class _Functionalizer:
    def __init__(self, g: Graph, ops: OpRegistry, groups: list[AliasGroup]) -> None:
        self.g, self.ops = g, ops
        self.groups = [_Group(a.base, list(a.members), set(a.identities)) for a in groups]
        self.group_of: dict[Value, _Group] = {v: grp for grp in self.groups for v in grp.members}
        # Program order: node ids as imported; nodes this pass adds go right after the write that needed them.
        self.pos: dict[int, float] = {n.id: float(n.id) for n in g.all_nodes()}
        self.pos[g.output_node()] = float("inf")
        self.views_put_back = 0
        self.added: list[int] = []  # nodes added for the write being rewritten

    def run(self, writes: list[Node]) -> None:
        for node in writes:
            self.functionalize(self.g.node(node.id))

    # ---- one in-place op ------------------------------------------------------------------------------------
    def functionalize(self, node: Node) -> None:
        self.added = []
        schema = self.ops.schema(node.op)
        written = self.written_arg(node, schema)
        twin = functional_twin(node.op, self.ops)
        if twin is None:
            raise NeedsPyTorchDecompositions(f"{self.where(node)} has no functional twin with the same arguments")
        x = self.g.arg(node.id, written)
        group = self.group_of.get(x) or self.new_group(x)
        self.check_base(node, group.base)
        path = self.write_path(node, x, group)
        new_x = self.make_functional(node, twin, schema, self.g.type(x))
        new_base = self.scatter(node, new_x, path)
        self.redirect_later_reads(node, group, new_base, x)

    def written_arg(self, node: Node, schema: OpSchema) -> str:
        mutable = [a for a in schema.args if a.mutable]
        if len(mutable) != 1 or not isinstance(node.attrs.get(mutable[0].name), Slot):
            names = ", ".join(a.name for a in mutable)
            raise NeedsPyTorchDecompositions(f"{self.where(node)} writes several tensors or a list ({names})")
        return mutable[0].name

    def new_group(self, x: Value) -> _Group:
        group = _Group(x, [x])
        self.groups.append(group)
        self.group_of[x] = group
        return group

    def check_base(self, node: Node, base: Value) -> None:
        owner = self.g.node(base.node)
        if owner.op == "input":
            raise NeedsPyTorchDecompositions(f"{self.where(node)} writes the graph input {owner.name!r}")
        if owner.op == "constant":
            what = owner.name or f"%{owner.id}"
            raise NeedsPyTorchDecompositions(f"{self.where(node)} writes the model's buffer or weight {what!r}")

    def write_path(self, node: Node, x: Value, group: _Group) -> list[tuple[Node, Value]]:
        """The views from the base to ``x``, innermost first: (view node, the value it is a view of). Identity
        aliases are skipped; any view other than ``slice``/``select`` is refused."""
        path: list[tuple[Node, Value]] = []
        current = x
        while current != group.base:
            view = self.g.node(current.node)
            source = self.aliased_input(view, group)
            if source is None:
                raise NeedsPyTorchDecompositions(f"{self.where(node)} writes %{current.node} ({view.op}), whose "
                                                 "relation to the tensor it aliases is not known")
            if current not in group.identities:
                if view.op not in _PUT_BACK:
                    raise NeedsPyTorchDecompositions(
                        f"{self.where(node)} writes through a view made by {view.op} ({self.where(view)}), which has "
                        "no exact inverse here (slice, select, reshapes and permutations have)")
                path.append((view, source))
            current = source
        return path

    def aliased_input(self, node: Node, group: _Group) -> Value | None:
        return next((v for v in self.g.inputs(node.id) if self.group_of.get(v) is group), None)

    def make_functional(self, node: Node, twin: str, schema: OpSchema, written: TensorType) -> Value:
        """Turn ``node`` into ``twin`` (same id and inputs); the value it computes, in the written tensor's dtype."""
        twin_schema = self.ops.schema(twin)
        # by position: the twin may name an argument differently (dropout_'s `self` is dropout's `input`)
        attrs = {theirs.name: node.attrs[mine.name] for mine, theirs in zip(schema.args, twin_schema.args)}
        inputs = self.g.inputs(node.id)
        if all(self.g.type(v).dtype == written.dtype for v in inputs):
            outputs = (written,)  # nothing to promote: the twin computes what the op wrote, in the same type
        else:
            outputs = infer_types(self.ops, twin, {k: _typed(v, inputs, self.g) for k, v in attrs.items()})
        provenance = Provenance(source=node.provenance.source, rule=_PROVENANCE_RULE, replaced=(node.id,))
        self.g.replace_node(node.id, op=twin, attrs=attrs, outputs=tuple(outputs), provenance=provenance)
        result = Value(node.id)
        if outputs[0].dtype != written.dtype:  # in place, the result is computed and then stored in x's dtype
            result = self.add_after(node, "aten._to_copy.default", [result], _to_copy_attrs(written.dtype),
                                    written)
        return result

    def scatter(self, node: Node, value: Value, path: list[tuple[Node, Value]]) -> Value:
        """``value`` (the new value of the view written) put back through ``path``: the base's new value."""
        for view, source in path:
            op, inputs, attrs = _put_back(view, self.g.type(source), source, value)
            value = self.add_after(node, op, inputs, attrs, self.g.type(source))
            self.views_put_back += 1
        return value

    def redirect_later_reads(self, node: Node, group: _Group, new_base: Value, x: Value) -> None:
        """Every read after ``node`` of a member of ``group`` reads the member re-taken from ``new_base``."""
        derived: dict[Value, Value] = {group.base: new_base}
        made: list[Value] = []

        def derive(v: Value) -> Value:
            if v in derived:
                return derived[v]
            if v == Value(node.id):  # the in-place op's own result is the tensor it wrote
                result = derive(x)
            else:
                producer = self.g.node(v.node)
                source = self.aliased_input(producer, group)
                assert source is not None, f"alias group member {v} made from no member"
                if v in group.identities:
                    result = derive(source)
                else:
                    result = self.retake(node, producer, source, derive(source), v.index)
                    made.append(result)
            derived[v] = result
            return result

        for member in list(group.members):
            if self.pos[member.node] > self.pos[node.id]:
                continue  # made after the write, from values read after it: already current
            readers = [(dst, slot) for dst, slot in self.g.uses(member)
                       if self.pos[dst] > self.pos[node.id] and dst not in self.added]
            if not readers:
                continue
            new = derive(member)
            if new == member:
                continue
            for dst, slot in readers:
                self.g.set_input(dst, slot, new)
        # Members made before the write are stale now (their later readers read the re-taken ones); members made
        # after it were made from the base's new value (their reads were redirected) and stay.
        later = [v for v in group.members if self.pos[v.node] > self.pos[node.id] and v.node not in self.added]
        for v in group.members:
            self.group_of.pop(v, None)
        group.base, group.members = new_base, [new_base, *made, *later]
        group.identities = {v for v in later if v in group.identities}
        for v in group.members:
            self.group_of[v] = group

    def retake(self, write: Node, view: Node, source: Value, new_source: Value, index: int) -> Value:
        """``view`` computed again with ``new_source`` in place of ``source``: output ``index`` of the copy."""
        inputs = [new_source if v == source else v for v in self.g.inputs(view.id)]
        nid = self.g.add(view.op, inputs, dict(view.attrs), view.outputs,
                         Provenance(source=view.provenance.source, rule=_PROVENANCE_RULE, replaced=(view.id,)))
        self.place_after(write, nid)
        return Value(nid, index)

    # ---- program order --------------------------------------------------------------------------------------
    def add_after(self, write: Node, op: str, inputs: list[Value], attrs: dict[str, Any], out: TensorType) -> Value:
        nid = self.g.add(op, inputs, attrs, [out], Provenance(source=write.provenance.source, rule=_PROVENANCE_RULE,
                                                               replaced=(write.id,)))
        self.place_after(write, nid)
        return Value(nid)

    def place_after(self, write: Node, nid: int) -> None:
        """Program position of a node this pass adds for ``write``: after it, before the next imported node (ids,
        hence positions, of imported nodes are integers)."""
        self.added.append(nid)
        self.pos[nid] = self.pos[write.id] + len(self.added) / (1 << 20)

    def where(self, node: Node) -> str:
        source = f" ({node.provenance.source})" if node.provenance.source else ""
        return f"%{node.id} {node.op}{source}"


def _put_back(view: Node, source_type: TensorType, source: Value, value: Value
              ) -> tuple[str, list[Value], dict[str, Any]]:
    """The op (with inputs and attrs) giving ``source``'s new value when ``view`` of it now holds ``value``."""
    extra = {k: v for k, v in view.attrs.items() if k != "self"}
    if view.op == "aten.slice.Tensor":
        return "aten.slice_scatter.default", [source, value], {"self": Slot(0), "src": Slot(1), **extra}
    if view.op == "aten.select.int":
        return "aten.select_scatter.default", [source, value], {"self": Slot(0), "src": Slot(1), **extra}
    if view.op in _RESHAPES:
        return "aten.reshape.default", [value], {"self": Slot(0), "shape": list(source_type.shape)}
    if view.op == "aten.permute.default":
        rank = source_type.rank
        dims = [d % rank for d in view.attrs["dims"]]
        inverse = [dims.index(i) for i in range(rank)]
        return "aten.permute.default", [value], {"self": Slot(0), "dims": inverse}
    return view.op, [value], {"self": Slot(0), **extra}  # transpose and t are their own inverses


def _typed(attr: Any, inputs: list[Value], g: Graph) -> Any:
    if isinstance(attr, Slot):
        return g.type(inputs[attr.index])
    if isinstance(attr, (list, tuple)) and any(isinstance(a, Slot) for a in attr):
        return [_typed(a, inputs, g) for a in attr]
    return attr


def _to_copy_attrs(dtype: str) -> dict[str, Any]:
    return {"self": Slot(0), "dtype": dtype, "layout": None, "device": None, "pin_memory": None,
            "non_blocking": False, "memory_format": None}


def functionalize(ctx: PassContext) -> tuple[int, int]:
    """Rewrite every in-place op of ``ctx.graph``; returns (ops rewritten, views put back)."""
    g = ctx.graph
    writes = [n for n in g.all_nodes() if n.op.startswith("aten.") and ctx.ops.schema(n.op).is_mutating]
    groups = alias_groups(g)
    g.meta.pop(ALIAS_GROUPS, None)
    if not writes:
        return 0, 0
    worker = _Functionalizer(g, ctx.ops, groups)
    worker.run(writes)
    return len(writes), worker.views_put_back


def run(ctx: PassContext, params: dict[str, str]) -> str:
    rewritten, put_back = functionalize(ctx)
    if not rewritten:
        return "no in-place ops"
    through = f" ({put_back} views put back)" if put_back else ""
    return f"{rewritten} in-place ops made functional{through}"
