"""scatter, index_put, topk and sort with their indices: what the rule domains cannot draw, and the whole pipeline.

TensorRT's scatter is undefined for duplicate indices and index outputs are ambiguous for equal values, so the domain
examples (test_rule_properties.py) keep index tensors of size 1 along written dims. Here Hypothesis draws unique
indices of any size (per line along the scatter dim; unique tuples for index_put, some negative) and distinct values
for topk/sort, runs the lowering and converter rule sets, and compares with eager PyTorch in float64. Then a module
using all of them compiles with real TensorRT engines and nothing left to PyTorch, as does one of accumulating writes
with duplicate indices (one-hot reductions), and explain says why the accumulating uses the rules refuse stay in
PyTorch.
"""

from __future__ import annotations

import math
import warnings

import torch
from hypothesis import given
from hypothesis import strategies as st

import trt_passes
from trt_passes.dsl import rewrite
from trt_passes.dsl.property import mismatch, reference
from trt_passes.ir import Graph, TensorType, Value
from trt_passes.ir.construct import add_op
from trt_passes.ir.interpreter import run_graph
from trt_passes.tools.coverage import coverage_report
from trt_passes.tools.parity import check_parity

from .test_rule_properties import LIBRARY, OPS

DTYPES = {"f32": torch.float32, "f16": torch.float16, "i64": torch.int64}


def _gen(data: st.DataObject) -> torch.Generator:
    return torch.Generator().manual_seed(data.draw(st.integers(0, 2**31 - 1)))


def _values(shape: list[int], dtype: str, gen: torch.Generator, lo: float = -3.0, hi: float = 3.0) -> torch.Tensor:
    """Random values in [lo, hi); never all zero."""
    t = (torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo).to(DTYPES[dtype])
    if t.numel() and not t.bool().any():
        t.view(-1)[0] = 1
    return t


def _unique_along(shape: list[int], ishape: list[int], ax: int, gen: torch.Generator) -> torch.Tensor:
    """i64 indices of shape ``ishape``: in each line along ``ax``, distinct positions of ``0..shape[ax]-1``."""
    lines = math.prod(ishape) // ishape[ax]
    picks = torch.argsort(torch.rand(lines, shape[ax], generator=gen), dim=1)[:, :ishape[ax]]
    others = [s for a, s in enumerate(ishape) if a != ax]
    return picks.reshape(*others, ishape[ax]).movedim(-1, ax).contiguous()


def _graph(op: str, tensors: dict[str, torch.Tensor | list[torch.Tensor | None]],
           attrs: dict) -> tuple[Graph, list]:
    """One ``op`` node whose tensor arguments are graph inputs (None in a list stays absent: index_put's `:`);
    every output is a graph output."""
    g = Graph()
    inputs: list[torch.Tensor] = []

    def add(t: torch.Tensor) -> Value:
        inputs.append(t)
        return Value(g.add_input(f"in{len(inputs)}", TensorType.of(t), len(inputs) - 1))

    args = {k: [None if x is None else add(x) for x in v] if isinstance(v, list) else add(v)
            for k, v in tensors.items()}
    nid = add_op(g, OPS, op, {**args, **attrs})
    g.set_outputs([Value(nid, i) for i in range(len(g.node(nid).outputs))])
    return g, inputs


def _lower_convert_and_compare(g: Graph, inputs: list[torch.Tensor], rules: set[str]) -> None:
    """Lower and convert ``g``; one of ``rules`` must fire, no ATen op may be left, results must match eager."""
    out_types = [g.type(v) for v in g.outputs()]
    expected = reference(g, inputs, OPS)
    before = str(g)
    fired = rewrite(g, LIBRARY.rulesets["lower.core"], OPS).fires + rewrite(g, LIBRARY.rulesets["convert.core"],
                                                                            OPS).fires
    assert rules & set(fired), f"none of {sorted(rules)} fired, only {dict(fired)}\n{before}"
    left = [n.op for n in g.all_nodes() if n.op.startswith("aten.")]
    assert not left, f"left to PyTorch: {left}\n{g}"
    actual = run_graph(g, [t.clone() for t in inputs], OPS)
    for i, (a, e, t) in enumerate(zip(actual, expected, out_types)):
        problem = mismatch(a, e, t)
        assert problem is None, f"output {i}: {problem}\nbefore:\n{before}\nafter:\n{g}"


@st.composite
def _shape_and_dim(draw: st.DrawFn, max_rank: int = 3) -> tuple[list[int], int]:
    shape = draw(st.lists(st.integers(1, 5), min_size=1, max_size=max_rank))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


@given(case=_shape_and_dim(), dtype=st.sampled_from(sorted(DTYPES)), larger_src=st.booleans(), data=st.data())
def test_scatter_src_with_unique_indices(case: tuple, dtype: str, larger_src: bool, data: st.DataObject) -> None:
    shape, d = case
    ax = d % len(shape)
    ishape = [data.draw(st.integers(1, s)) for s in shape]
    gen = _gen(data)
    src_shape = [s + (data.draw(st.integers(0, 2)) if larger_src else 0) for s in ishape]
    g, inputs = _graph("aten.scatter.src", {"self": _values(shape, dtype, gen), "index": _unique_along(
        shape, ishape, ax, gen), "src": _values(src_shape, dtype, gen, 5.0, 9.0)}, {"dim": d})
    _lower_convert_and_compare(g, inputs, {"scatter_src_elements", "scatter_src_larger_than_index"})


@given(case=_shape_and_dim(), dtype=st.sampled_from(sorted(DTYPES)), value=st.sampled_from([-2, 0.5, 7.25]),
       data=st.data())
def test_scatter_value_with_unique_indices(case: tuple, dtype: str, value: float, data: st.DataObject) -> None:
    shape, d = case
    ishape = [data.draw(st.integers(1, s)) for s in shape]
    gen = _gen(data)
    g, inputs = _graph("aten.scatter.value", {"self": _values(shape, dtype, gen),
                                              "index": _unique_along(shape, ishape, d % len(shape), gen)},
                       {"dim": d, "value": value})
    _lower_convert_and_compare(g, inputs, {"scatter_value_elements"})


@given(index=st.sampled_from([(0, 1), (0, 2), (0, 3), (1, 1), (2, 1)]), extra=st.integers(0, 2),
       dtype=st.sampled_from(sorted(DTYPES)), values_form=st.sampled_from(["full", "row", "scalar"]), data=st.data())
def test_index_put_with_unique_index_tuples(index: tuple[int, int], extra: int, dtype: str, values_form: str,
                                            data: st.DataObject) -> None:
    """x[:, .., i0, .., ik-1] = v (``nones`` leading `:`s, then k index tensors): unique tuples, about half of the
    coordinates negative (PyTorch wraps them), values of the indexed shape [*x.shape[:nones], *B, *rest], or
    broadcasting from a trailing row or a single number."""
    nones, k = index
    shape = [data.draw(st.integers(1, 4)) for _ in range(nones + k + extra)]
    indexed = shape[nones:nones + k]
    cells = math.prod(indexed)
    count = data.draw(st.integers(1, min(cells, 6)))
    batch = data.draw(st.sampled_from([[count], [1, count], [count, 1]]))
    gen = _gen(data)
    coords = torch.unravel_index(torch.randperm(cells, generator=gen)[:count], tuple(indexed))
    negative = [torch.rand(count, generator=gen) < 0.5 for _ in range(k)]
    idx = [torch.where(neg, c - n, c).reshape(batch) for c, n, neg in zip(coords, indexed, negative)]
    tail = shape[nones + k:]
    vshape = {"full": shape[:nones] + batch + tail, "row": tail, "scalar": []}[values_form]
    g, inputs = _graph("aten.index_put.default", {"self": _values(shape, dtype, gen), "indices": [None] * nones + idx,
                                                  "values": _values(vshape, dtype, gen, 5.0, 9.0)}, {})
    _lower_convert_and_compare(g, inputs, {"index_put_one_index", "index_put_two_indices", "index_put_three_indices"})


@given(case=_shape_and_dim(), dtype=st.sampled_from(["f32", "f16"]), data=st.data())
def test_index_put_of_one_value_under_a_whole_mask_is_a_where(case: tuple, dtype: str, data: st.DataObject) -> None:
    shape, _ = case
    gen = _gen(data)
    mask = torch.rand(shape, generator=gen) < 0.5
    g, inputs = _graph("aten.index_put.default", {"self": _values(shape, dtype, gen), "indices": [mask],
                                                  "values": _values([], dtype, gen, 5.0, 9.0)}, {})
    _lower_convert_and_compare(g, inputs, {"index_put_whole_mask_as_where"})


def _distinct(shape: list[int], ax: int, dtype: str, gen: torch.Generator) -> torch.Tensor:
    """Values distinct along ``ax`` (a shuffled 0..n-1, scaled and shifted: exact in f16), so indices are unique."""
    n = shape[ax]
    lines = math.prod(shape) // n
    perm = torch.argsort(torch.rand(lines, n, generator=gen), dim=1).to(torch.float64) * 0.5 - n / 4
    others = [s for a, s in enumerate(shape) if a != ax]
    return perm.reshape(*others, n).movedim(-1, ax).contiguous().to(DTYPES[dtype])


@given(case=_shape_and_dim(), dtype=st.sampled_from(["f32", "f16"]), largest=st.booleans(), data=st.data())
def test_topk_values_and_indices_on_distinct_values(case: tuple, dtype: str, largest: bool,
                                                    data: st.DataObject) -> None:
    shape, d = case
    k = data.draw(st.integers(1, shape[d % len(shape)]))
    g, inputs = _graph("aten.topk.default", {"self": _distinct(shape, d % len(shape), dtype, _gen(data))},
                       {"k": k, "dim": d, "largest": largest})
    _lower_convert_and_compare(g, inputs, {"topk_with_indices", "bottomk_with_indices"})


@given(case=_shape_and_dim(), dtype=st.sampled_from(["f32", "f16"]), descending=st.booleans(),
       overload=st.sampled_from(["default", "stable=False", "stable=None"]), data=st.data())
def test_sort_values_and_permutation_on_distinct_values(case: tuple, dtype: str, descending: bool, overload: str,
                                                        data: st.DataObject) -> None:
    shape, d = case
    x = _distinct(shape, d % len(shape), dtype, _gen(data))
    if overload == "default":
        g, inputs = _graph("aten.sort.default", {"self": x}, {"dim": d, "descending": descending})
    else:
        stable = {"stable=False": False, "stable=None": None}[overload]
        g, inputs = _graph("aten.sort.stable", {"self": x}, {"stable": stable, "dim": d, "descending": descending})
    _lower_convert_and_compare(g, inputs, {"sort_ascending_with_indices", "sort_descending_with_indices",
                                           "sort_unstable_ascending_with_indices",
                                           "sort_unstable_descending_with_indices"})


def test_unused_indices_take_the_values_only_rule_and_emit_no_cast() -> None:
    g = Graph()
    x = Value(g.add_input("x", TensorType("f32", (2, 6)), 0))
    g.set_outputs([Value(add_op(g, OPS, "aten.topk.default", {"self": x, "k": 3}))])  # only the values are read
    fired = rewrite(g, LIBRARY.rulesets["convert.core"], OPS).fires
    assert dict(fired) == {"topk_values": 1}
    assert [n.op for n in g.nodes() if n.op.startswith("trt.")] == ["trt.topk"]


# ---- the whole pipeline ------------------------------------------------------------------------------------------
class ScatterSortModel(torch.nn.Module):
    def forward(self, x: torch.Tensor, idx: torch.Tensor, src: torch.Tensor, rows: torch.Tensor) -> tuple:
        a = x.scatter(1, idx, src)
        b = x.scatter(1, idx, -1.5)
        c = x.clone()
        c[rows] = 0.25
        d = x.clone()
        d[rows, rows + 1] = src[:2, 0] * 3
        e = x.masked_fill(x > 1, 0.0).clone()
        e[x < -1] = 2.0
        f = x.index_copy(1, idx[0, :2], src[:, :2])  # x[:, i] = v: a `none` before the index tensor
        values, indices = torch.topk(x, 3, dim=-1)
        ordered, order = torch.sort(x, dim=0, descending=True)
        return a + b + c + d + e + f, values, indices, ordered, order


def _model_inputs() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(5)
    x = torch.randperm(40, generator=gen).reshape(5, 8).float() / 7 - 2.5  # distinct values
    idx = torch.stack([torch.randperm(8, generator=gen)[:3] for _ in range(5)])  # unique along dim 1
    return [x, idx, torch.randn(5, 3, generator=gen), torch.tensor([3, -5])]


def test_scatter_index_put_topk_sort_compile_to_tensorrt_engines_and_match_eager() -> None:
    model, inputs = ScatterSortModel().eval(), _model_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference-runtime notice on CPU
        compiled = trt_passes.compile(model, ir="dynamo", inputs=inputs, min_block_size=1)
        parity = check_parity(model, compiled, inputs)
    report = compiled.compile_report
    assert [f"{f.op}: {f.reason}" for f in report.fallbacks] == []
    assert all(p.engine_bytes for p in report.partitions), "every segment is a real TensorRT engine"
    for rule in ("scatter_src_elements", "scatter_value_elements", "index_put_one_index", "index_put_two_indices",
                 "index_put_whole_mask_as_where", "index_put_after_one_none_as_leading", "topk_with_indices",
                 "sort_descending_with_indices"):
        assert report.rule_fires[rule] >= 1, f"{rule} did not fire: {dict(report.rule_fires)}"
    assert parity.vs_eager == 0, str(parity)  # writes, selections, permutations and same-order f32 sums are exact


class Accumulating(torch.nn.Module):
    """Accumulating writes with duplicate indices: one-hot reductions in TensorRT."""

    def forward(self, x: torch.Tensor, idx: torch.Tensor, rows: torch.Tensor) -> tuple:
        dup = torch.cat([idx[:, :2], idx[:, :2]], 1)  # every target position hit twice or more
        added = x.scatter_add(1, dup, x[:, :4] * 2)
        accumulated = torch.index_put(x, (torch.cat([rows, rows]),), x[:4], accumulate=True)
        reduced = x.scatter_reduce(1, dup, x[:, 4:], "amax", include_self=False)
        mean = x.scatter_reduce(1, dup, x[:, 4:], "mean")
        index_added = x.index_add(1, dup[0], x[:, 4:], alpha=2)
        return added, accumulated, reduced, mean, index_added


def test_accumulating_scatters_with_duplicate_indices_compile_to_tensorrt_engines_and_match_eager() -> None:
    x, idx, _, rows = _model_inputs()
    model = Accumulating().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference-runtime notice on CPU
        compiled = trt_passes.compile(model, ir="dynamo", inputs=[x, idx, rows], min_block_size=1)
        parity = check_parity(model, compiled, [x, idx, rows])
    report = compiled.compile_report
    assert [f"{f.op}: {f.reason}" for f in report.fallbacks] == []
    assert all(p.engine_bytes for p in report.partitions), "every segment is a real TensorRT engine"
    for rule in ("scatter_add_as_one_hot_sum", "index_put_accumulate_as_one_hot_sum",
                 "scatter_reduce_amax_excluding_self", "scatter_reduce_mean_float", "index_add_as_one_hot_sum"):
        assert report.rule_fires[rule] >= 1, f"{rule} did not fire: {dict(report.rule_fires)}"
    assert parity.vs_eager < 1e-6, str(parity)  # f32 sums of two or three values, in another order


class StaysInPyTorch(torch.nn.Module):
    def forward(self, x: torch.Tensor, idx: torch.Tensor, mask: torch.Tensor) -> tuple:
        added = x.scatter_add(1, idx[:2], x[:2, :3])  # index has fewer rows than self
        reduced = x.scatter_reduce(1, idx, x, "amax")  # src larger than the index
        accumulated = torch.index_put(x, (mask,), x[0, :1], accumulate=True)  # bool mask
        ordered, order = torch.sort(x, dim=-1, stable=True)
        return added, reduced, accumulated, ordered, order


def test_explain_says_why_some_accumulating_scatters_and_stable_sort_indices_stay_in_pytorch() -> None:
    x, idx, _, _ = _model_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = trt_passes.explain(StaysInPyTorch().eval(), inputs=[x, idx, x > 0], min_block_size=1)
    by_op = {f.op: f for f in report.fallbacks}
    assert {"aten.scatter_add.default", "aten.index_put.default", "aten.scatter_reduce.two",
            "aten.sort.stable"} <= set(by_op)
    for op in ("aten.scatter_add.default", "aten.scatter_reduce.two"):
        assert "an index shaped like src and like self except along the scattered dim" in \
            (by_op[op].on_purpose or ""), op
    put = by_op["aten.index_put.default"]
    assert "a bool mask addresses data-dependent positions" in (put.on_purpose or "")
    stable = by_op["aten.sort.stable"]
    assert "does not order equal values" in (stable.on_purpose or "")
    assert ("sort_unstable_ascending_with_indices", "argument 'stable': true, rule wants false") in stable.candidates
    text = str(report)
    assert "left to PyTorch on purpose: TensorRT's scatter layer only overwrites, so an accumulating scatter" in text
    assert report.to_dict()["fallbacks"][0]["on_purpose"]


def test_an_op_merged_back_for_min_block_size_has_no_on_purpose_reason() -> None:
    """The reason belongs to ops no rule matched: a convertible index_put in a too-small segment could have run in
    TensorRT, so explain must not say it stays in PyTorch on purpose."""
    x, _, _, rows = _model_inputs()

    class Put(torch.nn.Module):
        def forward(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            return torch.index_put(x, (rows,), x[:2])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = trt_passes.explain(Put().eval(), inputs=[x, rows], min_block_size=50)
    put = [f for f in report.fallbacks if f.op == "aten.index_put.default"]
    assert put and put[0].segment_size is not None and put[0].on_purpose is None


def test_coverage_lists_the_scatters_as_converted_and_says_which_accumulating_uses_are_not() -> None:
    report = coverage_report()
    by_op = {o.op: o for o in [*report.ops, *report.non_core]}
    for op in ("aten.scatter.src", "aten.scatter.value", "aten.index_put.default", "aten.topk.default",
               "aten.sort.default", "aten.sort.stable"):
        assert by_op[op].status == "converted", by_op[op]
    for op in ("aten.topk.default", "aten.sort.default", "aten.sort.stable"):  # rules replace both results now
        assert by_op[op].note == "", by_op[op]
    assert "result 0 only" in by_op["aten.max_pool2d_with_indices.default"].note  # still values-only there
    for op in ("aten.scatter_add.default", "aten.scatter_reduce.two", "aten.index_add.default"):
        assert by_op[op].status == "lowered", by_op[op]
    for op in ("aten.scatter_add.default", "aten.scatter_reduce.two"):  # and the uses the rules refuse say why
        assert "one-hot" in by_op[op].on_purpose, by_op[op]
    assert by_op["aten.nonzero.default"].status == "pytorch" and by_op["aten.nonzero.default"].on_purpose
    assert "accumulate=true as a one-hot sum" in by_op["aten.index_put.default"].on_purpose
    text = str(report)
    assert "some uses stay in PyTorch on purpose: a bool mask addresses data-dependent positions" in text
    assert "left to PyTorch on purpose: its result's shape depends on the data" in text
