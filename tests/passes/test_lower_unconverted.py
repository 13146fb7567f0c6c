"""lower_unconverted: attention a converter takes stays whole for TensorRT's attention layer; attention no converter
takes is lowered by the ``unconverted.*`` rules (offered to the converters again after each normalising rule), with
each node, the rule and the converters' reasons in the report."""

from __future__ import annotations

import warnings

import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import trt_passes
from trt_passes.backend.registry import default_ops
from trt_passes.dsl import load_text, rewrite
from trt_passes.ir import Graph, TensorType, Value
from trt_passes.ir.construct import add_op
from trt_passes.passes.registry import builtin_passes
from trt_passes.tools.parity import max_relative_error

TOLERANCE = 1e-4  # float32 attention against float64 eager: a softmax of a few terms and two small matmuls


class Attention(torch.nn.Module):
    """Scaled-dot-product attention of the inputs as they come (rank 4: [B, H, L, E]; rank 3: [B, L, E])."""

    def __init__(self, enable_gqa: bool = False) -> None:
        super().__init__()
        self.enable_gqa = enable_gqa

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=self.enable_gqa) * 2


def explained(model: torch.nn.Module, inputs: list[torch.Tensor]) -> trt_passes.CompileReport:
    return trt_passes.explain(model, inputs=inputs, min_block_size=1, require_full_compilation=True)


def attention_fires(report: trt_passes.CompileReport) -> int:
    return sum(n for rule, n in report.rule_fires.items() if rule.endswith("_as_attention"))


def tensors(shape: tuple[int, ...]) -> st.SearchStrategy[torch.Tensor]:
    # Magnitudes of 0 or at least 1e-3: float32 products of smaller values go subnormal, where no implementation
    # keeps the relative precision the comparison asks for (Hypothesis found v ~ 1e-42).
    elements = st.floats(-2, 2, width=32).filter(lambda f: f == 0 or abs(f) >= 1e-3)
    return arrays("float32", shape, elements=elements).filter(lambda a: (a != 0).any()).map(torch.from_numpy)


def test_attention_a_converter_takes_is_not_lowered():
    q, k, v = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 6, 8), torch.randn(1, 2, 6, 8)
    report = explained(Attention(), [q, k, v])
    assert attention_fires(report) == 1 and report.lowered_unconverted == []
    assert not [r for r in report.rule_fires if r.startswith("sdpa_") and r.endswith("softmax_attention")]
    assert "aten.scaled_dot_product_attention.default" in report.partitions[0].ops


def test_attention_no_converter_takes_is_lowered_and_explain_says_why():
    q, k, v = torch.randn(2, 5, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 8)  # rank 3: the layer wants rank 4
    report = explained(Attention(), [q, k, v])
    assert attention_fires(report) == 0 and len(report.partitions) == 1 and not report.fallbacks
    assert [u.op for u in report.lowered_unconverted] == ["aten.scaled_dot_product_attention.default"] * 2
    first, last = report.lowered_unconverted
    assert first.rule == "sdpa_default_scale" and last.rule == "sdpa_as_softmax_attention"
    assert first.converters and all(why != "matches" for _, why in first.converters)
    assert "sdpa_default_scale_as_attention" in dict(first.converters)
    assert "aten.scaled_dot_product_attention.default" not in report.partitions[0].ops
    text = str(report)
    assert f"%{first.node} aten.scaled_dot_product_attention.default" in text
    assert "no converter takes it; lowered by rule sdpa_as_softmax_attention" in text
    assert report.to_dict()["decompositions"]["lowered_unconverted"][1]["rule"] == "sdpa_as_softmax_attention"


def test_a_normalised_attention_is_offered_to_the_converters_again():
    # grouped-query attention: 4 query heads share 2 key/value heads, which the attention converters refuse; the
    # rule repeating the key/value heads makes plain attention, which they take
    q, k, v = torch.randn(1, 4, 5, 8), torch.randn(1, 2, 6, 8), torch.randn(1, 2, 6, 8)
    report = explained(Attention(enable_gqa=True), [q, k, v])
    rules = [u.rule for u in report.lowered_unconverted]
    assert rules[-1] == "sdpa_grouped_query_as_repeated_heads" and set(rules) <= {"sdpa_default_scale", rules[-1]}
    assert attention_fires(report) == 1


@given(q=tensors((2, 3, 4)), k=tensors((2, 5, 4)), v=tensors((2, 5, 3)))
def test_lowered_attention_computes_what_eager_does(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference runtime's notice: no GPU here
        compiled = trt_passes.compile(Attention(), inputs=[q, k, v], runtime="reference", min_block_size=1,
                                      disable_tf32=True)  # exact float32: TF32 rounding would hide a rule's error
    assert compiled.compile_report.lowered_unconverted
    with torch.no_grad():
        want = Attention()(q.double(), k.double(), v.double())
        assert max_relative_error(compiled(q, k, v), want) <= TOLERANCE


def test_rewrite_applies_rules_only_where_it_is_told():
    ops = default_ops()
    text = ('ruleset lower.t : lowering\nrule relu_as_clamp aten.relu.default(x) => aten.clamp_min.default(x, 0.0)'
            ' untested "a test rule"\n')
    rs = load_text(text, ops).rulesets["lower.t"]
    g = Graph()
    x = Value(g.add_input("x", TensorType("f32", (2, 3)), 0))
    a = add_op(g, ops, "aten.relu.default", {"self": x})
    b = add_op(g, ops, "aten.relu.default", {"self": x})
    g.set_outputs([Value(a), Value(b)])
    assert rewrite(g, rs, ops, where=lambda nid: nid == b).total == 1
    assert a in g and b not in g


def test_the_pass_is_declared_with_the_rule_sets_it_runs():
    spec = builtin_passes()["lower_unconverted"]
    assert spec.rules == ("lowering", "unconverted.*") and "lowered" in spec.requires
