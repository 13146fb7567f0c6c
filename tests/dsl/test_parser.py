"""The parser: the v1 syntax of ARCHITECTURE.md becomes a typed AST whose nodes keep their source positions."""

from __future__ import annotations

import textwrap

import pytest

from trt_passes.dsl import RuleLoadError, parse
from trt_passes.dsl import ast as A

EXAMPLE = textwrap.dedent('''\
    # A file declares the rule set its rules belong to
    ruleset lower.core : lowering          # kinds: lowering | converter

    rule addmm_as_mm_add
        "addmm with unit scales is a matrix product plus the bias"
        aten.addmm.default(c, a: Tensor<f32|f16|bf16>[_, _], b, beta=1, alpha=1)
        => aten.add.Tensor(aten.mm.default(a, b), c)
        domain {
            a: f32|f16 [M=1..6, K=1..6] in -2.0..2.0
            b: f32|f16 [K, N=1..6]
            c: f32|f16 [N]
        }

    ruleset convert.core : converter

    rule relu priority 1
        "ReLU is TensorRT's RELU activation"
        aten.relu.default(x: Tensor<f32|f16|bf16>)
        => trt.activation(x, type=ActivationType.RELU)
        domain { x: f32|f16|bf16 [1..3, 1..5, 1..4] in -3.0..3.0 }

    rule conv2d
        aten.convolution.default(x: Tensor[_, _, _, _], w, b, s, p, d, false, _, g)
        where is_const(w) and (b == none or is_const(b))
        => let k = w;                      # lets name intermediate values
           trt.convolution(x, k, b, stride=s, padding=p, dilation=d, groups=g)
        domain {
            x: f32 [N=1..2, C=1..4, 5..9, 5..9]
            w: const f32 [K=1..4, C, 3, 3]
            b: const f32 [K] | none
            s: [1, 1] | [2, 2]
            p: [0, 0] | [1, 1]
            d: [1, 1]
            g: 1
        }

    rule no_domain_example
        aten.clone.default(x)
        => x                                # a capture on the right side
        untested "identity; covered by every model test"
''')


def rules() -> dict[str, A.RuleDecl]:
    return {i.name: i for i in parse(EXAMPLE, "ex.rw").items if isinstance(i, A.RuleDecl)}


def test_the_architecture_example_parses_into_rulesets_and_rules_in_source_order():
    items = parse(EXAMPLE, "ex.rw").items
    assert [(type(i).__name__, i.name) for i in items] == [
        ("RulesetDecl", "lower.core"), ("RuleDecl", "addmm_as_mm_add"), ("RulesetDecl", "convert.core"),
        ("RuleDecl", "relu"), ("RuleDecl", "conv2d"), ("RuleDecl", "no_domain_example")]
    assert items[2].kind == "converter"


def test_header_docstring_priority_and_untested_reason():
    r = rules()
    assert r["relu"].priority == 1 and r["addmm_as_mm_add"].priority == 0
    assert r["addmm_as_mm_add"].doc.startswith("addmm with unit scales")
    assert r["no_domain_example"].untested_reason == "identity; covered by every model test"
    assert r["no_domain_example"].domains == ()


def test_spans_keep_file_line_and_column_of_every_node():
    r = rules()["addmm_as_mm_add"]
    assert (r.span.file, r.span.line, r.span.col) == ("ex.rw", 4, 1)
    assert (r.name_span.line, r.name_span.col, r.name_span.end_col) == (4, 6, 21)
    assert (r.pattern.op_span.line, r.pattern.op_span.col) == (6, 5)
    typed = r.pattern.args[1].value
    assert isinstance(typed, A.PCapture) and typed.name == "a"
    assert (typed.span.line, typed.span.col) == (6, 27)
    inner = r.rhs.result.args[0].value
    assert isinstance(inner, A.OpExpr) and inner.op == "aten.mm.default"
    assert (inner.span.line, inner.span.col) == (7, 24)


def test_typed_captures_positional_and_keyword_arguments():
    p = rules()["addmm_as_mm_add"].pattern
    assert p.op == "aten.addmm.default"
    assert [a.keyword for a in p.args] == [None, None, None, "beta", "alpha"]
    ann = p.args[1].value.type
    assert isinstance(ann, A.TensorAnn) and ann.dtypes == ("f32", "f16", "bf16")
    assert [type(d).__name__ for d in ann.dims] == ["DimWild", "DimWild"]
    assert p.args[3].value == A.PLiteral(A.Literal(1, A.NO_SPAN), A.NO_SPAN)


def test_dotted_names_are_ops_when_called_and_enum_literals_otherwise():
    rhs = rules()["relu"].rhs.result
    assert isinstance(rhs, A.OpExpr) and rhs.op == "trt.activation"
    assert rhs.args[1].keyword == "type" and rhs.args[1].value.parts == ("ActivationType", "RELU")


def test_literals_wildcards_lets_and_guard_structure():
    r = rules()["conv2d"]
    args = [a.value for a in r.pattern.args]
    assert isinstance(args[6], A.PLiteral) and args[6].value.value is False
    assert isinstance(args[7], A.PWildcard)
    assert [let.name for let in r.rhs.lets] == ["k"]
    g = r.guard
    assert isinstance(g, A.BinOp) and g.op == "and" and isinstance(g.right, A.BinOp) and g.right.op == "or"


def test_domains_tensor_entries_values_const_and_optional():
    d = rules()["conv2d"].domains[0]
    x, w, b, s = d.entry("x"), d.entry("w"), d.entry("b"), d.entry("s")
    assert isinstance(x, A.DomainTensor) and x.dims[0] == A.DRange(1, 2, "N", A.NO_SPAN)
    assert w.const and w.dims[1] == A.DimName("C", A.NO_SPAN) and w.dims[2] == A.DimInt(3, A.NO_SPAN)
    assert b.const and b.or_none
    assert isinstance(s, A.DomainValues) and len(s.values) == 2
    a = rules()["addmm_as_mm_add"].domains[0].entry("a")
    assert a.value_range == (-2.0, 2.0) and a.dtypes == ("f32", "f16")


def test_domain_blocks_may_repeat():
    text = EXAMPLE.replace("domain { x: f32|f16|bf16 [1..3, 1..5, 1..4] in -3.0..3.0 }",
                           "domain { x: f32 [2] }\n    domain { x: f16 [3, 3] }")
    relu = {i.name: i for i in parse(text).items}["relu"]
    assert len(relu.domains) == 2


@pytest.mark.parametrize("expr, shown", [
    ("-1", A.Literal(-1, A.NO_SPAN)),
    ("-0.5", A.Literal(-0.5, A.NO_SPAN)),
    ("f16", A.DtypeLit("f16", A.NO_SPAN)),
    ("none", A.Literal(None, A.NO_SPAN)),
])
def test_negative_numbers_dtypes_and_none_are_literals(expr, shown):
    text = f"ruleset r : lowering\nrule a aten.relu.default(x) where {expr} == {expr} => x untested \"t\""
    guard = parse(text).items[1].guard
    assert guard.left == shown


def test_operator_precedence_follows_python():
    from trt_passes.dsl.evaluate import show_expr

    text = ("ruleset r : lowering\nrule a aten.relu.default(x) where not a + b * c // 2 % 3 - l[-1] in [1] + [2] * 2"
            " or x != none and y >= 1 => x untested \"t\"")
    guard = parse(text).items[1].guard
    assert guard.op == "or" and guard.right.op == "and"
    assert show_expr(guard.left) == "not a + b * c // 2 % 3 - l[-1] in [1] + [2] * 2"
    assert guard.left.operand.op == "in"


def test_comments_anywhere_and_binders():
    text = ("# header\nruleset r : lowering # kind\nrule a # name\n  m @ aten.relu.default(aten.neg.default(x)) # pat\n"
            "  => m # rhs\n  untested \"t\" # end\n")
    rule = parse(text).items[1]
    assert rule.pattern.binder == "m"
    assert isinstance(rule.pattern.args[0].value, A.POp)


def test_a_syntax_error_is_a_rule_load_error_not_a_lark_exception():
    with pytest.raises(RuleLoadError) as info:
        parse("ruleset r : lowering\nrule a aten.relu.default(x) => (", "bad.rw")
    (d,) = info.value.diagnostics
    assert d.code == "RW001" and d.span.file == "bad.rw"


def test_keywords_are_reserved_so_an_unfinished_rule_does_not_swallow_the_next():
    with pytest.raises(RuleLoadError) as info:
        parse("ruleset r : lowering\nrule a aten.relu.default(x) =>\nrule b aten.relu.default(x) => x untested \"t\"")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("RW001", 3, 1) and "unexpected `rule`" in d.message
