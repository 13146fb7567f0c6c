"""The public API: compile, explain, options, and what happens with ops TensorRT cannot take."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_passes
from tests.models_for_tests import mlp, unsupported
from trt_passes.dsl import RuleLoadError
from trt_passes.passes.partition import FullCompilationError
from trt_passes.tools.parity import TOLERANCE, max_relative_error

X = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
# A Linear's matrix product may run in TF32 (TensorRT's default): operands rounded to 10 mantissa bits (epsilon
# 9.8e-4), a few epsilons over an 8- or 16-term sum; 5e-3 as --check accepts with TF32. Enough for these tests,
# which check how inputs reach the program: a misplaced input is off by O(1).
TF32_TOLERANCE = 5e-3


def compile_quietly(model, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trt_passes.compile(model, inputs=[X], runtime="reference", **options)


def test_an_unsupported_op_falls_back_to_pytorch_and_explain_says_why():
    report = trt_passes.explain(unsupported(), inputs=[X], min_block_size=1)
    ops = [f.op for f in report.fallbacks]
    assert ops == ["aten.i0.default"]
    assert "no converter rule handles aten.i0.default" in report.fallbacks[0].reason
    assert "aten.i0.default" in str(report) and "no converter rule" in str(report)
    assert len(report.partitions) == 2  # before and after the Bessel function


@given(st.integers(0, 2**31 - 1))
def test_the_hybrid_program_matches_eager(seed):
    model = unsupported()
    compiled = _hybrid()
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).float()
    with torch.no_grad():  # the linear layers' engines allow TF32 (the default), which the reference computes too
        assert max_relative_error(compiled(x), model(x)) <= TOLERANCE["tf32"]


_cache: dict[str, object] = {}


def _hybrid():
    if "hybrid" not in _cache:
        _cache["hybrid"] = compile_quietly(unsupported(), min_block_size=1)
    return _cache["hybrid"]


def test_require_full_compilation_fails_listing_the_ops_and_reasons():
    with pytest.raises(FullCompilationError, match=r"aten\.i0\.default.*no converter rule"):
        compile_quietly(unsupported(), min_block_size=1, require_full_compilation=True)


class ThreeOps(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) * 2.0 + 1.0


def test_require_full_compilation_makes_a_small_convertible_model_one_engine_whatever_min_block_size():
    # Torch-TensorRT disregards min_block_size when the whole model converts and full compilation is required.
    report = trt_passes.explain(ThreeOps(), inputs=[X], require_full_compilation=True)   # min_block_size=5 > 3 ops
    assert [p.ops for p in report.partitions] == [["aten.relu.default", "aten.mul.Tensor", "aten.add.Tensor"]]
    assert report.fallbacks == []
    assert any("min_block_size=5 was not applied" in n for n in report.notes)
    compiled = compile_quietly(ThreeOps(), require_full_compilation=True)
    assert torch.equal(compiled(X), ThreeOps()(X))  # relu, *2, +1 are exact in float32


def test_without_require_full_compilation_min_block_size_still_keeps_a_small_model_in_pytorch():
    report = trt_passes.explain(ThreeOps(), inputs=[X])
    assert report.partitions == [] and len(report.fallbacks) == 3


def test_torch_executed_ops_forces_an_op_to_pytorch_with_that_reason():
    report = trt_passes.explain(mlp(), inputs=[X], min_block_size=1, torch_executed_ops=["aten.relu"])
    assert [(f.op, f.reason) for f in report.fallbacks] == [("aten.relu.default", "listed in torch_executed_ops")]


def test_small_segments_stay_in_pytorch_and_the_report_suggests_min_block_size():
    report = trt_passes.explain(unsupported(), inputs=[X], min_block_size=1000)
    assert report.partitions == []
    assert any("min_block_size" in f.reason for f in report.fallbacks)
    assert report.suggested_min_block_size is not None and "Suggestion: min_block_size=" in str(report)


class PairAndMask(torch.nn.Module):
    """Nested and keyword inputs: a tuple argument and an optional mask."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(8, 8)

    def forward(self, pair: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None = None) -> torch.Tensor:
        y = torch.relu(self.lin(pair[0])) + pair[1]
        return y if mask is None else y * mask


def test_one_tensor_as_inputs_is_the_models_one_input():
    compiled = compile_quietly_with(mlp(), inputs=X, min_block_size=1)
    with torch.no_grad():
        assert max_relative_error(compiled(X), mlp()(X)) <= TF32_TOLERANCE


@given(st.integers(0, 2**31 - 1))
def test_nested_and_keyword_inputs_compile_and_match_eager(seed):
    gen = torch.Generator().manual_seed(seed)
    a, b, mask = (torch.randn(4, 8, generator=gen, dtype=torch.float64).float() for _ in range(3))
    model = PairAndMask().eval()
    compiled = _nested()
    with torch.no_grad():
        expected = model((a, b), mask=mask)
        assert max_relative_error(compiled((a, b), mask), expected) <= TF32_TOLERANCE
        assert max_relative_error(compiled(mask=mask, pair=(a, b)), expected) <= TF32_TOLERANCE  # as the model is


def _nested():
    if "nested" not in _cache:
        spec = trt_passes.Input((4, 8))
        _cache["nested"] = compile_quietly_with(PairAndMask().eval(), arg_inputs=[(spec, spec)],
                                                kwarg_inputs={"mask": spec}, min_block_size=1)
    return _cache["nested"]


class Scaled(torch.nn.Module):
    """A keyword-only tensor input: it stays a keyword beside the positional one."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(8, 8)

    def forward(self, x: torch.Tensor, *, scale: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.lin(x)) * scale


def test_positional_and_keyword_only_inputs_reach_torch_export_together():
    x, scale = torch.randn(4, 8), torch.rand(4, 8) + 0.5
    compiled = compile_quietly_with(Scaled().eval(), arg_inputs=[x], kwarg_inputs={"scale": scale},
                                    min_block_size=1)
    assert len(compiled.compile_report.partitions) == 1
    with torch.no_grad():
        assert max_relative_error(compiled(x, scale=scale), Scaled().eval()(x, scale=scale)) <= TF32_TOLERANCE


@settings(max_examples=3)
@given(n=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_dynamic_inputs_nested_in_a_tuple_argument_stay_dynamic(n, seed):
    gen = torch.Generator().manual_seed(seed)
    a, b, mask = (torch.randn(n, 8, generator=gen, dtype=torch.float64).float() for _ in range(3))
    if "nested_dynamic" not in _cache:
        batch = trt_passes.Input(min_shape=(1, 8), opt_shape=(4, 8), max_shape=(8, 8))
        _cache["nested_dynamic"] = compile_quietly_with(PairAndMask().eval(), arg_inputs=[(batch, batch)],
                                                        kwarg_inputs={"mask": batch}, min_block_size=1)
    compiled = _cache["nested_dynamic"]
    assert len(compiled.compile_report.partitions) == 1
    with torch.no_grad():
        assert max_relative_error(compiled((a, b), mask=mask), PairAndMask().eval()((a, b), mask)) <= TF32_TOLERANCE


def compile_quietly_with(model, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trt_passes.compile(model, runtime="reference", **kwargs)


def test_an_unknown_option_is_an_error_not_ignored():
    with pytest.raises(TypeError, match="Did you mean 'min_block_size'"):
        trt_passes.compile(mlp(), inputs=[X], min_blocksize=2)


def test_an_unknown_ir_lists_the_valid_ones():
    with pytest.raises(ValueError, match="dynamo"):
        trt_passes.compile(mlp(), ir="onnx", inputs=[X])


def test_a_malformed_user_rule_file_is_refused_with_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.rw"
    bad.write_text("ruleset convert.mine : converter\n\nrule broken\n    aten.relu.default(x\n    => x\n")
    with pytest.raises(RuleLoadError) as e:
        trt_passes.compile(mlp(), inputs=[X], rules=[bad])
    assert "bad.rw:5:" in str(e.value) or "bad.rw:4:" in str(e.value)


def test_an_unknown_op_in_a_user_rule_is_refused_with_a_suggestion(tmp_path):
    bad = tmp_path / "typo.rw"
    bad.write_text('ruleset convert.mine : converter\n\nrule r\n    aten.relu.defualt(x)\n'
                   '    => trt.activation(x, type=ActivationType.RELU)\n    untested "example"\n')
    with pytest.raises(RuleLoadError) as e:
        trt_passes.explain(mlp(), inputs=[X], rules=[bad])
    text = str(e.value)
    assert "typo.rw:4:" in text and "aten.relu.default" in text


def test_a_users_rule_file_adds_a_converter(tmp_path):
    mine = tmp_path / "mine.rw"
    mine.write_text('ruleset convert.mine : converter\n\nrule i0_as_cosh_placeholder\n'
                    '    "deliberately wrong semantics: only to show a user rule converts an op"\n'
                    '    aten.i0.default(x: Tensor<f32>)\n'
                    '    => trt.unary(x, op=UnaryOperation.COSH)\n    untested "demonstration only"\n')
    report = trt_passes.explain(unsupported(), inputs=[X], min_block_size=1, rules=[mine])
    assert report.fallbacks == []
    assert report.rule_fires["i0_as_cosh_placeholder"] == 1


class Softsign(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.softsign(x) * 3.0


SOFTSIGN_RULE = '''ruleset convert.mine : converter

rule softsign priority 1
    "softsign(x) = x / (1 + |x|) is TensorRT's SOFTSIGN activation"
    aten.div.Tensor(x: Tensor<f32|f16>, aten.add.Tensor(aten.abs.default(x), 1.0))
    => trt.activation(x, type=ActivationType.SOFTSIGN)
    domain { x: f32|f16 [1..4, 1..8] in -4.0..4.0 }
'''


def test_a_users_fusion_rule_competes_with_the_shipped_converters_by_priority(tmp_path):
    # Converter rule sets are matched as one pool: the user's three-op pattern (priority 1) wins over the shipped
    # rules for div, add and abs, which would otherwise each convert one op.
    mine = tmp_path / "mine.rw"
    mine.write_text(SOFTSIGN_RULE)
    model = Softsign()
    compiled = compile_quietly(model, min_block_size=1, rules=[mine])
    fires = compiled.compile_report.rule_fires
    assert fires["softsign"] == 1 and "div_tensor" not in fires and "abs" not in fires
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(3)) * 3
    with torch.no_grad():
        assert max_relative_error(compiled(x), model(x)) <= 1e-6
    without = trt_passes.explain(model, inputs=[X], min_block_size=1)
    assert "softsign" not in without.rule_fires and without.rule_fires["div_tensor"] == 1
