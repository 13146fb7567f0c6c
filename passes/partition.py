"""Partitioning: cut the graph into TensorRT segments and ops left to PyTorch.

A node is *supported* when some converter rule matches it and the user did not force it to PyTorch
(``torch_executed_ops``). Supported nodes are grouped greedily in topological order: a node joins the segment of a
producer unless that segment already reaches another of its producers (the segment would then depend on itself
once contracted). Segments smaller than ``min_block_size`` go back to PyTorch, unless ``require_full_compilation``
is set and the whole model is one segment (then the minimum does not apply). Each remaining
segment becomes one ``segment`` node whose body is a graph of its own (constants are shared by reference).
Every node left to PyTorch gets a reason; ``explain`` shows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx

from trt_passes.dsl import explain_no_match, match_at
from trt_passes.dsl.rewriter import RuleApplicationError, check_applicable
from trt_passes.ir import STRUCTURAL_OPS, Graph, Provenance, Value
from trt_passes.ir.interpreter import input_labels, symbol_origins
from trt_passes.ir.symbolic import SymbolicError, SymDim
from trt_passes.ir.types import symbols_in
from trt_passes.passes.context import PassContext
from trt_passes.passes.convert import DEFAULT_RULESETS
from trt_passes.passes.report import Fallback, Partition

LEAVE_TO_PYTORCH = "leave_to_pytorch"
"""``graph.meta`` key: ``{node id: reason}`` of ops to leave to PyTorch whatever rule matches them (the driver sets it
when an earlier attempt's TensorRT build of their segment failed)."""


FLOAT64_REASON = ("it reads or makes a float64 tensor, and TensorRT has no f64 tensors; compile with "
                  "truncate_double=True to run float64 compute in float32")


class FullCompilationError(RuntimeError):
    """``require_full_compilation=True`` and some ops cannot run in TensorRT."""


def classify(ctx: PassContext, rulesets: Sequence[Any]) -> dict[int, Fallback | None]:
    """For every op node: None when supported, else the :class:`Fallback` saying why not."""
    g = ctx.graph
    verdicts: dict[int, Fallback | None] = {}
    forced: dict[int, str] = g.meta.pop(LEAVE_TO_PYTORCH, {})
    for node in g.nodes():
        if node.op in STRUCTURAL_OPS:
            continue
        source = node.provenance.source
        if node.id in forced:
            verdicts[node.id] = Fallback(node.id, node.op, source, forced[node.id])
            continue
        if ctx.settings.executes_in_torch(node.op):
            verdicts[node.id] = Fallback(node.id, node.op, source, "listed in torch_executed_ops")
            continue
        if any(t.dtype == "f64" for t in (*node.outputs, *(g.type(v) for v in g.inputs(node.id)))):
            verdicts[node.id] = Fallback(node.id, node.op, source, FLOAT64_REASON)
            continue
        unranged = sorted(_symbols_of(g, node) - set(g.meta.get("symbols", {})))
        if unranged:  # e.g. the row count of nonzero's result: no input shape bounds it
            reason = (f"its sizes depend on the data ({', '.join(unranged)}), and a TensorRT optimisation profile "
                      "needs each size's range")
            verdicts[node.id] = Fallback(node.id, node.op, source, reason)
            continue
        match = next((m for m in (match_at(g, node.id, rs, ctx.ops) for rs in rulesets) if m is not None), None)
        if match is not None:
            verdicts[node.id] = _replaceable(ctx, node, match)
            continue
        # explain_no_match reports "no rule has this root op" as the pseudo-rule "*": that is an op-level reason.
        candidates = [c for rs in rulesets for c in explain_no_match(g, node.id, rs, ctx.ops) if c[0] != "*"]
        reason = "no converter rule matched" if candidates else f"no converter rule handles {node.op}"
        verdicts[node.id] = Fallback(node.id, node.op, source, reason, candidates)
    return verdicts


def _replaceable(ctx: PassContext, node: Any, match: Any) -> Fallback | None:
    """None when the matched converter can build its replacement. It is built (not committed) first: a right side
    whose type inference fails (a size an op needs static, with symbolic sizes; or operands the TensorRT layer
    refuses, such as inputs of different dtypes to a concatenation) leaves the node to PyTorch with that reason,
    since leaving it there works where the compile would otherwise fail."""
    try:
        check_applicable(ctx.graph, match, ctx.ops)
    except RuleApplicationError as e:
        cause: BaseException | None = e
        while cause is not None and not isinstance(cause, SymbolicError):
            cause = cause.__cause__
        if cause is not None:
            return Fallback(node.id, node.op, node.provenance.source,
                            f"rule {match.rule.name} cannot build its replacement with run-time sizes: {cause}")
        detail = e.detail.splitlines()[0]
        return Fallback(node.id, node.op, node.provenance.source,
                        f"rule {match.rule.name} cannot build its replacement: {detail}")
    return None


def _symbols_of(g: Graph, node: Any) -> set[str]:
    """The symbols of a node's input and output types and attributes."""
    types = [*node.outputs, *(g.type(v) for v in g.inputs(node.id))]
    return symbols_in(types) | symbols_in(list(node.attrs.values()))


def group_supported(g: Graph, supported: set[int]) -> dict[int, int]:
    """Assign each supported node a segment id so that contracting segments keeps the graph acyclic.

    The contracted graph (segments and unsupported nodes) is kept as we go. A node may join a producer's segment S
    unless S already reaches one of the node's other producers: the join would add an edge back into S. Checking
    only the paths into the node is not enough, since a contracted segment can be entered at one member and left at
    another.
    """
    segment: dict[int, int] = {}
    label: dict[int, tuple[str, int]] = {}
    contracted = nx.DiGraph()
    next_id = 0
    for nid in g.topo_order():
        producers = sorted({v.node for v in g.inputs(nid)})
        producer_labels = {label[p] for p in producers}
        target: tuple[str, int] | None = None
        if nid in supported:
            for s in sorted({segment[p] for p in producers if p in segment}):
                candidate = ("segment", s)
                others = [o for o in producer_labels - {candidate} if contracted.in_degree(o) > 0]
                if not any(nx.has_path(contracted, candidate, o) for o in others):
                    target = candidate
                    break
            if target is None:
                target = ("segment", next_id)
                next_id += 1
            segment[nid] = target[1]
        else:
            target = ("node", nid)
        label[nid] = target
        contracted.add_node(target)
        contracted.add_edges_from((pl, target) for pl in producer_labels if pl != target)
    merged = merge_adjacent_segments(contracted)
    return {nid: merged.get(s, s) for nid, s in segment.items()}


def merge_adjacent_segments(contracted: nx.DiGraph) -> dict[int, int]:
    """Merge segments joined by a direct edge when no other path joins them (so contracting stays acyclic).

    Greedy grouping starts a new segment at a node whose producers are all inputs or constants, so a segment can
    feed another with nothing in PyTorch between them (position ids feeding an encoder); one engine is better.
    Returns a map from merged-away segment ids to the id that absorbed them.
    """
    renamed: dict[int, int] = {}
    changed = True
    while changed:
        changed = False
        for a, b in sorted(contracted.edges()):
            if a[0] != "segment" or b[0] != "segment":
                continue
            contracted.remove_edge(a, b)
            other_path = nx.has_path(contracted, a, b)
            contracted.add_edge(a, b)
            if other_path:
                continue
            nx.contracted_nodes(contracted, a, b, self_loops=False, copy=False)
            renamed[b[1]] = a[1]
            changed = True
            break
    # Follow chains (c merged into b, b into a) to the final id.
    for old in list(renamed):
        new = renamed[old]
        while new in renamed:
            new = renamed[new]
        renamed[old] = new
    return renamed


def _size_carriers(g: Graph, body: Graph, outer_inputs: list[Value]) -> list[Value]:
    """Values to pass into the segment only for their sizes: for each symbol the body's attributes compute with
    (a slice to a run-time length) that no body input has as a dim, a graph input that has it. The engine reads
    the size off that input's shape, the reference runtime binds the symbol from it."""
    have = {str(d) for v in outer_inputs for d in g.type(v).shape if isinstance(d, SymDim)}
    wanted = sorted(symbols_in([list(n.attrs.values()) for n in body.nodes()]) - have)
    carriers: list[Value] = []
    for sym in wanted:
        if sym in have:  # an earlier carrier brought it
            continue
        for nid in g.graph_inputs():
            shape = g.node(nid).type.shape
            if sym in [str(d) for d in shape if isinstance(d, SymDim)]:
                carriers.append(Value(nid))
                have |= {str(d) for d in shape if isinstance(d, SymDim)}
                break
    return carriers


def extract_segment(g: Graph, members: list[int], name: str) -> int:
    """Replace ``members`` (topologically ordered) by one ``segment`` node whose body holds them."""
    member_set = set(members)
    body = Graph()
    inner: dict[Value, Value] = {}
    outer_inputs: list[Value] = []
    for nid in members:
        for v in g.inputs(nid):
            if v.node in member_set or v in inner:
                continue
            producer = g.node(v.node)
            if producer.op == "constant":
                assert producer.value is not None
                inner[v] = Value(body.add_constant(producer.value, producer.name, producer.provenance))
            else:
                inner[v] = Value(body.add_input(f"in{len(outer_inputs)}", g.type(v), len(outer_inputs),
                                                source=producer.provenance.source))
                outer_inputs.append(v)
        node = g.node(nid)
        new = body.add(node.op, [inner[v] for v in g.inputs(nid)], node.attrs, node.outputs, node.provenance,
                       node.value, node.name)
        for i in range(len(node.outputs)):
            inner[Value(nid, i)] = Value(new, i)
    for v in _size_carriers(g, body, outer_inputs):
        body.add_input(f"in{len(outer_inputs)}", g.type(v), len(outer_inputs), source="size")
        outer_inputs.append(v)
    escaping = sorted({Value(nid, idx) for nid in members
                       for _, dst, idx in g.nx.out_edges(nid, data="index") if dst not in member_set})
    body.set_outputs([inner[v] for v in escaping])
    used = symbols_in([t for n in body.nodes() for t in n.outputs]) | symbols_in(
        [list(n.attrs.values()) for n in body.nodes()])
    if used:  # the body carries its symbols' ranges: emission makes TensorRT's optimisation profile from them
        ranges = g.meta.get("symbols", {})
        body.meta["symbols"] = {s: ranges[s] for s in sorted(used) if s in ranges}
        # Run-time size errors in the body name the model's inputs and axes, not the body's or the symbols.
        labels = dict(zip(g.graph_inputs(), input_labels(g)))
        body.meta["input_labels"] = [labels.get(v.node) if v.index == 0 else None for v in outer_inputs]
        origins = symbol_origins(g)
        body.meta["symbol_origins"] = {s: origins[s] for s in sorted(used) if s in origins}
    seg = g.add("segment", outer_inputs, {"name": name, "body": body}, [g.type(v) for v in escaping],
                Provenance(source=g.node(members[0]).provenance.source))
    for i, v in enumerate(escaping):
        g.replace_uses(v, Value(seg, i))
    for nid in reversed(members):
        g.remove(nid)
    return seg


def run(ctx: PassContext, params: dict[str, str]) -> str:
    g = ctx.graph
    rulesets = ctx.converter_pool(params.get("rulesets", DEFAULT_RULESETS))
    verdicts = classify(ctx, rulesets)
    supported = {nid for nid, v in verdicts.items() if v is None}
    assignment = group_supported(g, supported)
    groups: dict[int, list[int]] = {}
    for nid in g.topo_order():
        if nid in assignment:
            groups.setdefault(assignment[nid], []).append(nid)
    min_size = ctx.settings.min_block_size
    fallbacks = [v for v in verdicts.values() if v is not None]
    # With require_full_compilation a model that converts whole is one engine however few ops it has (as in
    # Torch-TensorRT): min_block_size trades engines against PyTorch ops, and then there is no PyTorch op to trade.
    whole = ctx.settings.require_full_compilation and not fallbacks and len(groups) == 1
    kept: list[list[int]] = []
    for members in groups.values():
        if len(members) >= min_size or whole:
            kept.append(members)
            continue
        for nid in members:
            node = g.node(nid)
            fallbacks.append(Fallback(nid, node.op, node.provenance.source,
                                      f"its TensorRT segment has {len(members)} ops, fewer than "
                                      f"min_block_size={min_size}", segment_size=len(members)))
    position = {nid: i for i, nid in enumerate(g.topo_order())}
    fallbacks.sort(key=lambda f: (position[f.node], f.node))  # model order: rewrites give new nodes higher ids
    if ctx.settings.require_full_compilation and (fallbacks or len(kept) > 1):
        lines = [f"  {f.source or f'%{f.node}'} ({f.op}): {f.reason}" for f in fallbacks]
        if not fallbacks:
            lines = [f"  the supported ops form {len(kept)} segments separated by data dependencies"]
        raise FullCompilationError("require_full_compilation=True, but the model does not convert into one "
                                   "TensorRT engine:\n" + "\n".join(lines))
    if whole and len(kept[0]) < min_size:
        ctx.report.notes.append(f"min_block_size={min_size} was not applied: require_full_compilation=True and the "
                                f"whole model ({len(kept[0])} ops) converts to one TensorRT engine")
    ctx.report.fallbacks.extend(fallbacks)  # the report suggests a min_block_size for the small segments
    origins = symbol_origins(g)
    for name, r in sorted(g.meta.get("symbols", {}).items()):
        if name in origins:
            ctx.report.notes.append(f"size {name} is {origins[name]}, compiled for {r} "
                                    "(min..opt..max)")
    for k, members in enumerate(sorted(kept, key=lambda m: m[0])):
        name = f"trt_{k}"
        ops = [g.node(n).op for n in members]
        seg = extract_segment(g, members, name)
        ctx.report.partitions.append(Partition(name, ops, [str(g.type(v)) for v in g.inputs(seg)],
                                               [str(t) for t in g.node(seg).outputs], nodes=list(members)))
    return f"{len(kept)} segments, {len(fallbacks)} ops left to PyTorch"
