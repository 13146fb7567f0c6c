"""Every shipped rule (spec/lower, spec/convert) preserves the meaning of what it rewrites.

For each rule with a test domain, one Hypothesis property: draw an example of the rule's left side from its domain,
evaluate it eagerly in float64 (drawn float inputs and constants upcast), apply the rule's whole rule set, check that
this rule fired, evaluate the rewritten graph in the drawn dtypes (TensorRT ops on the reference runtime) and compare
(:mod:`trt_passes.dsl.property`, which ``trt-passes check --test`` runs on a rule author's rules).
Rules without a domain must say why (`untested "..."`) and get a hand-built example here instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import trt_passes.spec
from trt_passes.backend.registry import default_ops
from trt_passes.dsl import Rule, draw_example, explain_no_match, load_rules, rewrite
from trt_passes.dsl.property import check_example
from trt_passes.ir import Graph, Slot, SymbolRange, SymDim, TensorType, Value
from trt_passes.ir.construct import add_op

OPS = default_ops()
SPEC = Path(trt_passes.spec.__file__).parent
LIBRARY = load_rules([SPEC / "lower", SPEC / "convert"], OPS)
RULES: list[Rule] = sorted(LIBRARY.all_rules(), key=lambda r: r.name)
WITH_DOMAIN = [r for r in RULES if r.domains]
UNTESTED = [r for r in RULES if not r.domains]


def check_rewrite(rule: Rule, g: Graph, inputs: list[torch.Tensor]) -> None:
    """Apply the rule's rule set to ``g`` and check the rule fired and the result is unchanged (the property test
    ``trt-passes check --test`` runs too: :func:`trt_passes.dsl.property.check_example`)."""
    outcome = check_example(rule, LIBRARY.rulesets[rule.ruleset], g, inputs, OPS)
    where = f"{rule.name} ({rule.location})"
    assert outcome.fired or outcome.problem, \
        f"{where} did not fire on its own example; fired: {outcome.fires}\n{outcome.before}"
    assert outcome.problem is None, \
        f"{where}: {outcome.problem}\nbefore:\n{outcome.before}\nafter:\n{outcome.after}"


@pytest.mark.parametrize("name", [r.name for r in WITH_DOMAIN])
@given(data=st.data())
def test_rule_preserves_semantics_on_its_domain(name: str, data: st.DataObject) -> None:
    rule = LIBRARY.rule(name)
    g, inputs = draw_example(rule, OPS, data)
    check_rewrite(rule, g, inputs)


# ---- hand-built examples for the rules whose domain the sampler cannot express -------------------------------------
def _masked_rows_example() -> tuple[Graph, list[torch.Tensor]]:
    """`not any(not (s == -inf), -1, keepdim)` on scores where some rows are entirely -inf, some partly."""
    s = torch.randn(2, 3, 5)
    s[0, 1, :] = -torch.inf
    s[1, 2, :3] = -torch.inf
    s[1, 0, 4] = torch.nan
    g = Graph()
    x = Value(g.add_input("s", TensorType.of(s), 0))
    c = Value(g.add_constant(torch.tensor(-torch.inf), "neg_inf"))
    eq = Value(add_op(g, OPS, "aten.eq.Tensor", {"self": x, "other": c}))
    not1 = Value(add_op(g, OPS, "aten.logical_not.default", {"self": eq}))
    any_ = Value(add_op(g, OPS, "aten.any.dim", {"self": not1, "dim": -1, "keepdim": True}))
    g.set_outputs([Value(add_op(g, OPS, "aten.logical_not.default", {"self": any_}))])
    return g, [s]


def _add_zeros_example(shape: tuple[int, ...]) -> Callable[[], tuple[Graph, list[torch.Tensor]]]:
    def build() -> tuple[Graph, list[torch.Tensor]]:
        x = torch.randn(3, *shape)
        g = Graph()
        xv = Value(g.add_input("x", TensorType.of(x), 0))
        z = Value(g.add_constant(torch.zeros(shape), "zeros"))
        g.set_outputs([Value(add_op(g, OPS, "aten.add.Tensor", {"self": xv, "other": z}))])
        return g, [x]

    return build


def _cat_example() -> tuple[Graph, list[torch.Tensor]]:
    """cat of three tensors of different sizes along dim 1 (a domain cannot draw a Tensor[] capture)."""
    xs = [torch.randn(2, n, 3) for n in (1, 2, 3)]
    g = Graph()
    vs = tuple(Value(g.add_input(f"x{i}", TensorType.of(x), i)) for i, x in enumerate(xs))
    g.set_outputs([Value(add_op(g, OPS, "aten.cat.default", {"tensors": vs, "dim": -2}))])
    return g, xs


def _arange_of_runtime_length_example() -> tuple[Graph, list[torch.Tensor]]:
    """arange(3, s0, 2) where s0 is the run-time length of an input (a sampler draws static shapes only), f32."""
    x = torch.randint(-5, 5, (11,))
    g = Graph()
    g.add_input("x", TensorType("i64", (SymDim("s0"),)), 0)
    g.meta["symbols"] = {"s0": SymbolRange(4, 11, 32)}
    args = {"start": 3, "end": SymDim("s0"), "step": 2, "dtype": "f32"}
    g.set_outputs([Value(add_op(g, OPS, "aten.arange.start_step", args))])
    return g, [x]


def _full_of_runtime_size_example() -> tuple[Graph, list[torch.Tensor]]:
    """full([s0, 3], 2.5) where s0 is the run-time length of an input."""
    x = torch.randint(-5, 5, (6,))
    g = Graph()
    g.add_input("x", TensorType("i64", (SymDim("s0"),)), 0)
    g.meta["symbols"] = {"s0": SymbolRange(2, 6, 16)}
    args = {"size": [SymDim("s0"), 3], "fill_value": 2.5, "dtype": "f32"}
    g.set_outputs([Value(add_op(g, OPS, "aten.full.default", args))])
    return g, [x]


def _to_device_example() -> tuple[Graph, list[torch.Tensor]]:
    """x.to("cpu", torch.float16) of an f32 input, typed as torch.export types it (inference on meta tensors cannot
    run a copy to a real device, so the node is added with its output type)."""
    x = torch.randn(2, 3) * 3
    g = Graph()
    xv = Value(g.add_input("x", TensorType.of(x), 0))
    attrs = {"self": Slot(0), "device": "cpu", "dtype": "f16", "non_blocking": False, "copy": False,
             "memory_format": None}
    g.set_outputs([Value(g.add("aten.to.device", [xv], attrs, [TensorType("f16", (2, 3))]))])
    return g, [x]


def _all_true_mask_example(q_batch: int, mask_batch: int | None) -> Callable[[], tuple[Graph, list[torch.Tensor]]]:
    """Attention of [q_batch, 2, 3, 4] queries with a constant all-true bool mask [mask_batch, 1, 3, 5], or [3, 5]
    for mask_batch None."""
    def build() -> tuple[Graph, list[torch.Tensor]]:
        q, k, v = torch.randn(q_batch, 2, 3, 4), torch.randn(q_batch, 2, 5, 4), torch.randn(q_batch, 2, 5, 3)
        g = Graph()
        qv, kv, vv = (Value(g.add_input(n, TensorType.of(t), i)) for i, (n, t) in enumerate(zip("qkv", (q, k, v))))
        shape = (3, 5) if mask_batch is None else (mask_batch, 1, 3, 5)
        m = Value(g.add_constant(torch.ones(shape, dtype=torch.bool), "mask"))
        args = {"query": qv, "key": kv, "value": vv, "attn_mask": m}
        g.set_outputs([Value(add_op(g, OPS, "aten.scaled_dot_product_attention.default", args))])
        return g, [q, k, v]

    return build


def _all_true_mask_attention_example(mask_shape: tuple[int, ...], scale: float | None,
                                     ) -> Callable[[], tuple[Graph, list[torch.Tensor]]]:
    """Attention with a constant bool mask that is true everywhere (BERT's padding mask without padding, folded)."""
    def build() -> tuple[Graph, list[torch.Tensor]]:
        q, k, v = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 8)
        g = Graph()
        qv, kv, vv = (Value(g.add_input(n, TensorType.of(t), i)) for i, (n, t) in enumerate(zip("qkv", (q, k, v))))
        m = Value(g.add_constant(torch.ones(mask_shape, dtype=torch.bool), "mask"))
        args = {"query": qv, "key": kv, "value": vv, "attn_mask": m, "scale": scale}
        g.set_outputs([Value(add_op(g, OPS, "aten.scaled_dot_product_attention.default", args))])
        return g, [q, k, v]

    return build


def _linear_with_zero_bias_example() -> tuple[Graph, list[torch.Tensor]]:
    """linear of a [2, 3, 4] input with a constant weight and a constant bias of zeros (a fresh nn.Linear's)."""
    x = torch.randn(2, 3, 4)
    g = Graph()
    xv = Value(g.add_input("x", TensorType.of(x), 0))
    w = Value(g.add_constant(torch.randn(5, 4), "weight"))
    b = Value(g.add_constant(torch.zeros(5), "bias"))
    g.set_outputs([Value(add_op(g, OPS, "aten.linear.default", {"input": xv, "weight": w, "bias": b}))])
    return g, [x]


def _embedding_bag_example(op: str, mode: int, last: bool, weighted: bool,
                           padding: int | None) -> Callable[[], tuple[Graph, list[torch.Tensor]]]:
    """Bags of 7 indices into 4 rows (so they repeat) with sorted constant offsets, one bag empty; padding row 1
    (None: the embedding_bag.padding_idx overload's "no padding"). tests/spec/test_embedding_bag.py draws more."""
    def build() -> tuple[Graph, list[torch.Tensor]]:
        w, idx = torch.randn(4, 3), torch.tensor([1, 0, 3, 1, 1, 2, 0])
        offsets = torch.tensor([0, 2, 2, 5, 7] if last else [0, 2, 2, 5])
        psw = torch.rand(7) + 0.5
        g = Graph()
        inputs = [w, idx, psw] if weighted else [w, idx]
        wv, iv, *pv = [Value(g.add_input(f"in{k}", TensorType.of(t), k)) for k, t in enumerate(inputs)]
        ov = Value(g.add_constant(offsets, "offsets"))
        args = {"weight": wv, "indices": iv, "offsets": ov, "scale_grad_by_freq": False, "mode": mode,
                "sparse": False, "per_sample_weights": pv[0] if weighted else None, "include_last_offset": last,
                "padding_idx": padding}
        g.set_outputs([Value(add_op(g, OPS, op, args))])
        return g, inputs

    return build


_EMBEDDING_BAG_OPS = {"forward_only": "aten._embedding_bag_forward_only.default",
                      "training": "aten._embedding_bag.default"}
_EMBEDDING_BAG_MODES = {"sum": (0, False), "weighted_sum": (0, True), "mean": (1, False), "max": (2, False)}


HAND_BUILT: dict[str, Callable[[], tuple[Graph, list[torch.Tensor]]]] = {
    "sdpa_all_true_mask_dropped": _all_true_mask_example(2, 2),
    "to_device_as_to_copy": _to_device_example,
    "linear_with_zero_bias_as_matrix_multiply": _linear_with_zero_bias_example,
    "sdpa_all_true_mask_as_attention": _all_true_mask_attention_example((2, 1, 4, 5), 0.25),
    "sdpa_default_scale_all_true_mask_as_attention": _all_true_mask_attention_example((4, 5), None),
    "full_of_runtime_size": _full_of_runtime_size_example,
    "arange_of_runtime_length": _arange_of_runtime_length_example,
    "all_neg_inf_as_amax": _masked_rows_example,
    "add_zeros_is_identity": _add_zeros_example((4,)),
    "cat": _cat_example,
    "embedding_bag_without_padding_as_forward_only": _embedding_bag_example(
        "aten.embedding_bag.padding_idx", 1, False, False, None),
    **{f"embedding_bag_{mode}{'_last_offset' if last else ''}_{row}":
       _embedding_bag_example(op, number, last, weighted, -1 if weighted else 1)
       for row, op in _EMBEDDING_BAG_OPS.items() for mode, (number, weighted) in _EMBEDDING_BAG_MODES.items()
       for last in (False, True)},
}


@pytest.mark.parametrize("name", [r.name for r in UNTESTED])
def test_untested_rule_says_why_and_has_a_hand_built_example(name: str) -> None:
    rule = LIBRARY.rule(name)
    assert rule.untested_reason and len(rule.untested_reason.split()) >= 3, f"{rule.name}: give a real reason"
    assert rule.name in HAND_BUILT, f"{rule.name} has neither a domain nor a hand-built example in this file"
    torch.manual_seed(0)
    g, inputs = HAND_BUILT[rule.name]()
    check_rewrite(rule, g, inputs)


def test_all_true_mask_of_rank_2_is_dropped() -> None:
    """A [L, S] mask broadcasts over batch and heads."""
    torch.manual_seed(0)
    g, inputs = _all_true_mask_example(2, None)()
    check_rewrite(LIBRARY.rule("sdpa_all_true_mask_dropped"), g, inputs)


@pytest.mark.parametrize(("rule", "op", "args"), [
    ("adaptive_avg_pool2d_global_as_mean", "aten.adaptive_avg_pool2d.default", {"output_size": [1, 1]}),
    ("adaptive_avg_pool1d_divisible", "aten.adaptive_avg_pool1d.default", {"output_size": [3]}),
    ("adaptive_max_pool1d_divisible", "aten.adaptive_max_pool1d.default", {"output_size": [2]}),
])
def test_adaptive_pooling_lowers_or_converts_with_a_run_time_batch(rule: str, op: str, args: dict) -> None:
    """Only the pooled (spatial) dims need static sizes: a dynamic batch still converts."""
    x = torch.randn(3, 2, 6) if "1d" in op else torch.randn(3, 2, 4, 6)
    g = Graph()
    xv = Value(g.add_input("x", TensorType("f32", (SymDim("s0"), *x.shape[1:])), 0))
    g.meta["symbols"] = {"s0": SymbolRange(1, 2, 4)}
    g.set_outputs([Value(add_op(g, OPS, op, {"self": xv, **args}))])
    check_rewrite(LIBRARY.rule(rule), g, [x])


def test_rolling_a_static_dim_lowers_with_a_run_time_batch() -> None:
    """Swin rolls its windows' spatial dims; a dynamic batch dim must not stop that."""
    x = torch.randn(3, 4, 5)
    g = Graph()
    xv = Value(g.add_input("x", TensorType("f32", (SymDim("s0"), 4, 5)), 0))
    g.meta["symbols"] = {"s0": SymbolRange(1, 2, 4)}
    g.set_outputs([Value(add_op(g, OPS, "aten.roll.default", {"self": xv, "shifts": [-2], "dims": [2]}))])
    check_rewrite(LIBRARY.rule("roll_one_dim_as_cat"), g, [x])


def test_adaptive_pooling_of_a_run_time_spatial_size_does_not_convert() -> None:
    g = Graph()
    xv = Value(g.add_input("x", TensorType("f32", (1, 2, SymDim("s0"))), 0))
    g.meta["symbols"] = {"s0": SymbolRange(2, 4, 8)}
    pool = add_op(g, OPS, "aten.adaptive_avg_pool1d.default", {"self": xv, "output_size": [1]})
    g.set_outputs([Value(pool)])
    reasons = dict(explain_no_match(g, pool, LIBRARY.rulesets["convert.core"], OPS))
    assert "static_from" in reasons["adaptive_avg_pool1d_divisible"]


def test_add_zeros_is_identity_on_a_rank_4_zero_mask() -> None:
    """BERT's attention mask folds to a [2, 1, 16, 16] constant of zeros: adding it is the identity."""
    torch.manual_seed(0)
    g, inputs = _add_zeros_example((1, 4, 4))()
    check_rewrite(LIBRARY.rule("add_zeros_is_identity"), g, inputs)


# ---- every rule fires ---------------------------------------------------------------------------------------------
def test_every_shipped_rule_fires_on_an_example() -> None:
    """Each rule fires on some example of its own domain (or its hand-built one): no rule is shadowed by a
    higher-priority rule or a guard its domain can never satisfy. Independent of test order (own draws)."""
    never: list[str] = []
    for rule in RULES:
        rng = random.Random(rule.name)
        examples = (draw_example(rule, OPS, rng) for _ in range(8)) if rule.domains else [HAND_BUILT[rule.name]()]
        if not any(rewrite(g, LIBRARY.rulesets[rule.ruleset], OPS).fires[rule.name] for g, _ in examples):
            never.append(f"{rule.name} ({rule.location})")
    assert not never, f"rules that never fired: {never}"


def test_the_library_ships_both_rule_sets() -> None:
    assert {"lower.core", "convert.core"} <= set(LIBRARY.rulesets)
    assert LIBRARY.rulesets["lower.core"].kind == "lowering"
    assert LIBRARY.rulesets["convert.core"].kind == "converter"
    for rule in RULES:
        assert rule.doc, f"{rule.name} ({rule.location}) has no docstring"
