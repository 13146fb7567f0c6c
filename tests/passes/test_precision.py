"""enabled_precisions: float32 compute runs in f16/bf16, numerically sensitive ops stay float32, callers see no change.

Parity tolerances. Every op that rounds its result to the reduced dtype adds at most about one unit roundoff
(epsilon / 2) of the output's magnitude when the network is well conditioned, so a chain of ``depth`` rounding
layers stays within ``depth * epsilon / 2`` relative to the output's largest magnitude (the measure of
:func:`trt_passes.tools.parity.max_relative_error`). epsilon is 2**-10 ~ 9.8e-4 for f16 (10 stored significand bits) and
2**-7 ~ 7.8e-3 for bf16 (7 bits). Measured errors are about one epsilon or less (see the test bodies); a wrong cast
(an input reinterpreted, a weight left uncast, bf16 read as f16) gives errors of order 1.
"""

from __future__ import annotations

import copy
import warnings
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import trt_passes
from trt_passes.backend.registry import default_ops
from trt_passes.compiler import load_library, run_passes
from trt_passes.frontends import get_frontend
from trt_passes.inputs import example_inputs
from trt_passes.ir import Graph, Value
from trt_passes.passes import precision
from trt_passes.passes.precision import PrecisionTable, PrecisionTableError, parse_table, reduce_precision
from trt_passes.passes.settings import CompileSettings
from trt_passes.tools.cli import main
from trt_passes.tools.explain_graph import explain_with_graph
from trt_passes.tools.parity import max_relative_error

EPS = {"f16": 2.0**-10, "bf16": 2.0**-7}
TORCH = {"f16": torch.float16, "bf16": torch.bfloat16}


def tolerance(dtype: str, depth: int) -> float:
    """``depth`` unit roundoffs: see the module docstring."""
    return depth * EPS[dtype] / 2


# ---- models ----------------------------------------------------------------------------------------------------------
class ConvNet(nn.Module):
    """conv-BN-ReLU-conv-ReLU, global average pool (a mean), linear, log-softmax. Rounding layers on the longest path:
    the input cast, two convolutions, the linear layer and its bias: depth 5 (mean and log-softmax are float32)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(8, 10), nn.LogSoftmax(-1))
        with torch.no_grad():  # batch-norm statistics that are not the identity, so folding them is exercised
            bn = self.body[1]
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Block(nn.Module):
    """A pre-norm transformer block, then a mean over the sequence. Rounding layers on the longest path: q/k/v, the
    scaled scores, attention times values, the output projection and its residual add, the MLP's two linear layers,
    GELU and the second residual add, the final cast: depth 10 (layer norms, softmax and the mean are float32)."""

    def __init__(self, d: int = 32) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)  # a float32 result read by three reduced-precision projections: cast once, not three times
        q, k, v = self.q(h), self.k(h), self.v(h)
        att = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)
        x = x + self.out(att @ v)
        x = x + self.mlp(self.ln2(x))
        return x.mean(dim=1)


class Mixed(nn.Module):
    """Every kind of op the pass treats differently, and integer and bool results next to float ones."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3)
        self.linear = nn.Linear(16, 8)
        self.norm = nn.LayerNorm(8)

    def forward(self, x: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h = self.norm(self.linear(torch.relu(self.conv(x)).flatten(2)))      # [1, 4, 8]
        scores = torch.softmax(h @ h.transpose(-1, -2), dim=-1)            # [1, 4, 4]
        pooled = scores.sum(-1) + h.mean(-1)                               # [1, 4]
        return pooled, h.argmax(-1) + ids, h > 0


def mixed_inputs() -> list[torch.Tensor]:
    return [torch.randn(1, 3, 6, 6), torch.arange(4).reshape(1, 4)]


# ---- helpers ---------------------------------------------------------------------------------------------------------
PIPELINE = """pipeline through_precision
functionalize
fold_constants
lower rulesets=lower.*
decompose lower=lower.* convert=convert.*
fold_constants
reduce_precision
eliminate_dead_code
"""


def aten_graph_after_pass(model: nn.Module, inputs: list[torch.Tensor], tmp_path: Path, **options: object) -> Graph:
    """The ATen graph as the partitioner receives it: the default pipeline's passes up to and including
    reduce_precision (and the dead-code elimination after it)."""
    path = tmp_path / "through_precision.pipeline"
    path.write_text(PIPELINE)
    graph = get_frontend("dynamo").import_model(model, example_inputs(inputs))
    return run_passes(graph, CompileSettings(pipeline=str(path), **options)).graph  # type: ignore[arg-type]


def float_dtypes(g: Graph, nid: int) -> set[str]:
    """The float dtypes a node reads and writes."""
    types = [g.type(v) for v in g.inputs(nid)] + list(g.node(nid).outputs)
    return {t.dtype for t in types if t.dtype in ("f32", "f16", "bf16", "f64")}


SENSITIVE = ("aten._softmax.", "aten.native_layer_norm.", "aten.sum.", "aten.mean.", "aten._log_softmax.")
HEAVY = ("aten.convolution.", "aten.mm.", "aten.bmm.", "aten.matmul.", "aten.addmm.")


def sensitive_ops_not_in_f32(g: Graph) -> list[str]:
    return [f"%{n.id} {n.op} {sorted(float_dtypes(g, n.id))}" for n in g.all_nodes()
            if n.op.startswith(SENSITIVE) and float_dtypes(g, n.id) != {"f32"}]


def heavy_ops_not_in(g: Graph, dtype: str) -> list[str]:
    return [f"%{n.id} {n.op} {sorted(float_dtypes(g, n.id))}" for n in g.all_nodes()
            if n.op.startswith(HEAVY) and float_dtypes(g, n.id) != {dtype}]


def compile_quietly(model: nn.Module, inputs: list[torch.Tensor], **options: object) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "running TensorRT segments with the reference runtime": no GPU here
        return trt_passes.compile(model, ir="dynamo", inputs=inputs, runtime="reference", **options)


# ---- the option ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("given_value, normalised", [
    ({torch.float16}, ("f32", "f16")),
    ([torch.float32, torch.bfloat16], ("f32", "bf16")),
    (("f16", "f32"), ("f32", "f16")),
    (torch.float16, ("f32", "f16")),
    ("bf16", ("f32", "bf16")),
    ({"f32"}, ("f32",)),
])
def test_enabled_precisions_takes_torch_dtypes_or_ir_names_and_normalises_them(given_value, normalised):
    settings = CompileSettings.from_options({"enabled_precisions": given_value})
    assert settings.enabled_precisions == normalised
    assert settings.reduced_precision == (normalised[1] if len(normalised) > 1 else None)
    assert CompileSettings().enabled_precisions == ("f32",) and CompileSettings().reduced_precision is None


@pytest.mark.parametrize("given_value, error, message", [
    ({"fp16"}, ValueError, r"'fp16' is not a precision; use torch.float32, torch.float16, torch.bfloat16 or 'f32'"),
    ({torch.float64}, ValueError, r"torch.float64 is not a precision"),
    ({torch.int8}, ValueError, r"torch.int8 is not a precision"),
    ({torch.float16, torch.bfloat16}, ValueError, r"both f16 and bf16; choose one"),
    ((), ValueError, r"enabled_precisions is empty"),
    (16, TypeError, r"takes a collection of dtypes"),
])
def test_enabled_precisions_rejects_what_it_cannot_honour_saying_what_it_accepts(given_value, error, message):
    with pytest.raises(error, match=message):
        CompileSettings.from_options({"enabled_precisions": given_value})


def test_default_precision_leaves_the_graph_exactly_as_without_the_pass(tmp_path):
    model, inputs = Mixed().eval(), mixed_inputs()
    default = aten_graph_after_pass(model, inputs, tmp_path)
    explicit = aten_graph_after_pass(model, inputs, tmp_path, enabled_precisions={torch.float32})
    without = tmp_path / "without.pipeline"
    without.write_text(PIPELINE.replace("reduce_precision\n", ""))
    graph = get_frontend("dynamo").import_model(model, example_inputs(inputs))
    reference = run_passes(graph, CompileSettings(pipeline=str(without))).graph
    assert str(default) == str(explicit) == str(reference)


# ---- what the pass does to the graph ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_heavy_ops_compute_reduced_sensitive_ops_float32_and_the_boundaries_keep_their_dtypes(tmp_path, dtype):
    g = aten_graph_after_pass(Mixed().eval(), mixed_inputs(), tmp_path, enabled_precisions={TORCH[dtype]})
    ops = Counter(n.op.rsplit(".", 1)[0] for n in g.all_nodes())
    assert ops["aten.convolution"] and ops["aten._softmax"] and ops["aten.native_layer_norm"]  # the model has them
    assert heavy_ops_not_in(g, dtype) == []
    assert sensitive_ops_not_in_f32(g) == []
    # Selections and comparisons of the float32 layer-norm result run in float32: no cast down, nothing to cast up.
    for n in g.all_nodes():
        if n.op.startswith(("aten.argmax.", "aten.gt.")):
            assert float_dtypes(g, n.id) == {"f32"}, n
    assert [str(g.type(Value(i))) for i in g.graph_inputs()] == ["f32[1, 3, 6, 6]", "i64[1, 4]"]
    assert [str(g.type(v)) for v in g.outputs()] == ["f32[1, 4]", "i64[1, 4]", "bool[1, 4, 8]"]


def test_an_empty_keep_f32_table_puts_the_sensitive_ops_in_f16_so_the_check_above_can_fail(tmp_path, monkeypatch):
    shipped = precision.shipped_table(default_ops())
    monkeypatch.setattr(precision, "shipped_table", lambda ops: PrecisionTable(frozenset(), shipped.follow))
    g = aten_graph_after_pass(Mixed().eval(), mixed_inputs(), tmp_path, enabled_precisions={torch.float16})
    assert len(sensitive_ops_not_in_f32(g)) >= 4  # softmax, layer norm, sum, mean


def test_only_float32_values_change_dtype_each_value_is_cast_once_and_nothing_is_cast_down_and_up(tmp_path):
    without = tmp_path / "without.pipeline"
    without.write_text(PIPELINE.replace("reduce_precision\n", "").replace("eliminate_dead_code\n", ""))
    graph = get_frontend("dynamo").import_model(Block().eval(), example_inputs([torch.randn(2, 8, 32)]))
    g = run_passes(graph, CompileSettings(pipeline=str(without))).graph
    before = g.copy()
    stats = reduce_precision(g, default_ops(), "f16", precision.shipped_table(default_ops()))
    assert stats.kept_f32 == 4 and stats.reduced > 0 and stats.casts > 0  # 2 layer norms, the softmax, the mean
    for node in before.all_nodes():
        for old, new in zip(node.outputs, g.node(node.id).outputs):
            assert new == old or (old.dtype == "f32" and new.dtype == "f16" and new.shape == old.shape), node
    casts = [n for n in g.all_nodes() if n.op == "aten._to_copy.default"]
    sources = [(g.inputs(c.id)[0], c.outputs[0].dtype) for c in casts]
    assert len(sources) == len(set(sources))  # one cast per value and dtype, shared by all readers
    for c in casts:
        src = g.node(g.inputs(c.id)[0].node)
        assert src.op != "aten._to_copy.default", f"%{c.id} casts the cast %{src.id}"


class ScaledArgmax(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = x * 2.0
        return y, y.argmax(-1)


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_argmax_over_more_elements_than_the_reduced_dtype_counts_exactly_gives_the_exact_index(dtype):
    # Lowering writes argmax as the smallest index (an arange constant) where the value equals the max: those
    # indices must stay float32, as f16 holds integers exactly only up to 2048 and bf16 up to 256 (2999 -> 3000).
    x = torch.randn(1, 3000)
    x[0, 2999] = 10.0
    compiled = compile_quietly(ScaledArgmax(), [x], enabled_precisions={dtype}, min_block_size=1)
    y, index = compiled(x)
    assert index.tolist() == [2999] and y.dtype == torch.float32


class Spread(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * 300.0).var(-1)


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_a_sensitive_op_that_lowering_decomposes_still_computes_in_f32(tmp_path, dtype):
    # Lowering writes var as sum((x - mean)**2) / (n - 1) before this pass runs. Deviations of ~1000 square to ~1e6,
    # past float16's 65504: in f16 the variance would be inf. The table's [keep_f32_rules] keeps those ops float32.
    x = torch.randn(2, 64)
    g = aten_graph_after_pass(Spread(), [x], tmp_path, enabled_precisions={dtype})
    from_var = [n for n in g.all_nodes() if n.provenance.rule == "var_one_dim" and n.op != "constant"]
    assert {n.op.rsplit(".", 1)[0] for n in from_var} >= {"aten.sub", "aten.mul", "aten.sum", "aten.div"}
    assert all(float_dtypes(g, n.id) == {"f32"} for n in from_var), [str(n) for n in from_var]
    compiled = compile_quietly(Spread(), [x], enabled_precisions={dtype}, min_block_size=1)
    with torch.no_grad():
        # depth 3: x * 300 rounds, its cast up is exact, then float32 (whose roundoff is far below this)
        assert max_relative_error(compiled(x), Spread()(x.double())) <= tolerance(dtype, 3)


def test_constants_are_cast_into_new_tensors_and_the_models_weights_are_untouched(tmp_path):
    model = ConvNet().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = aten_graph_after_pass(model, [torch.randn(1, 3, 8, 8)], tmp_path, enabled_precisions={torch.float16})
    weights = {id(v) for v in model.state_dict().values()}
    constants = [n for n in g.all_nodes() if n.op == "constant"]
    assert any(n.value.dtype == torch.float16 and n.provenance.rule == "reduce_precision" for n in constants)
    assert not any(id(n.value) in weights and n.value.dtype == torch.float16 for n in constants)
    for k, v in model.state_dict().items():
        assert v.dtype == before[k].dtype and torch.equal(v, before[k]), k


# ---- the compiled program: converters, engines, parity --------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_the_tensorrt_network_computes_in_the_reduced_dtype_and_keeps_its_f32_interface(dtype):
    report, g = explain_with_graph(Block().eval(), [torch.randn(2, 8, 32)], enabled_precisions={dtype})
    assert report.fallbacks == [] and len(report.partitions) == 1
    assert report.partitions[0].emission_error is None  # TensorRT accepted every cast of the strongly typed network
    assert report.partitions[0].inputs == ["f32[2, 8, 32]"] and report.partitions[0].outputs == ["f32[2, 32]"]
    body = next(n for n in g.all_nodes() if n.op == "segment").attrs["body"]
    by_op: dict[str, set[str]] = {}
    for n in body.all_nodes():
        by_op.setdefault(n.op, set()).update(t.dtype for t in n.outputs)
    assert by_op["trt.matrix_multiply"] == {dtype}
    assert by_op["trt.softmax"] == {"f32"} and by_op["trt.normalization"] == {"f32"}
    assert by_op["trt.cast"] == {"f32", dtype}
    assert "reduce_precision" in str(report) and "casts inserted" in str(report)


_compiled: dict[tuple[str, str], tuple[nn.Module, nn.Module]] = {}
SMALL = {"convnet": (ConvNet, (2, 3, 16, 16), 5), "block": (Block, (2, 8, 32), 10)}


def small_compiled(name: str, dtype: str) -> tuple[nn.Module, nn.Module]:
    """(the model in float64, the compiled float32 model), compiled once per test session: engines included."""
    if (name, dtype) not in _compiled:
        cls, shape, _ = SMALL[name]
        model = cls().eval()
        compiled = compile_quietly(model, [torch.randn(shape)], enabled_precisions={TORCH[dtype]},
                                   require_full_compilation=True, min_block_size=1)
        assert compiled.compile_report.partitions[0].engine_bytes  # the real engine built
        _compiled[name, dtype] = (copy.deepcopy(model).double(), compiled)
    return _compiled[name, dtype]


# Measured (20 inputs each, scales 0.25..4): convnet f16 8.7e-5, bf16 1.1e-3; block f16 7.1e-4, bf16 5.3e-3.
@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.25, 1.0, 4.0]))
def test_small_models_in_reduced_precision_match_eager_float64_within_depth_unit_roundoffs(name, dtype, seed,
                                                                                             scale):
    model64, compiled = small_compiled(name, dtype)
    shape = SMALL[name][1]
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale  # never all zeros
    with torch.no_grad():
        got, expected = compiled(x), model64(x.double())
    assert got.dtype == torch.float32  # the caller's dtype comes back
    assert max_relative_error(got, expected) <= tolerance(dtype, SMALL[name][2])


def _bert() -> tuple[nn.Module, list[torch.Tensor]]:
    from benchmarks.zoo import bert

    return bert(), [torch.randint(0, 1000, (2, 16), generator=torch.Generator().manual_seed(0))]


def _resnet18() -> tuple[nn.Module, list[torch.Tensor]]:
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval(), [torch.randn(1, 3, 64, 64)]


# Depth: resnet18 has 18 rounding layers (17 convolutions and the classifier) plus residual adds and casts, ~30;
# the 2-layer BERT ~10 per layer (projections, attention products, residual adds, GELU), ~24 with the pooler.
# Measured (5 inputs): resnet18 f16 1.3e-3 (bf16 7.3e-3), BERT f16 1.6e-3 (bf16 1.1e-2).
@pytest.mark.parametrize("build, depth", [(_resnet18, 30), (_bert, 24)], ids=["resnet18", "bert"])
def test_real_models_compile_to_one_f16_engine_and_match_eager_float64(build, depth):
    model, inputs = build()
    compiled = compile_quietly(model, inputs, enabled_precisions={torch.float16}, require_full_compilation=True)
    report = compiled.compile_report
    assert report.fallbacks == [] and len(report.partitions) == 1
    assert report.partitions[0].engine_bytes and report.partitions[0].engine_bytes > 1000
    model64 = copy.deepcopy(model).double()
    gen = torch.Generator().manual_seed(1)
    for _ in range(2):
        x = [torch.randn(t.shape, generator=gen) if t.is_floating_point() else
             torch.randint(0, 1000, t.shape, generator=gen) for t in inputs]
        with torch.no_grad():
            got = compiled(*x)
            expected = model64(*[t.double() if t.is_floating_point() else t for t in x])
        dtypes = {t.dtype for t in torch.utils._pytree.tree_leaves(got) if isinstance(t, torch.Tensor)}
        assert dtypes == {torch.float32}
        assert max_relative_error(got, expected) <= tolerance("f16", depth)


def test_reduced_precision_with_a_dynamic_batch_dimension():
    model = Block().eval()
    batch = trt_passes.Input(min_shape=(1, 8, 32), opt_shape=(2, 8, 32), max_shape=(4, 8, 32))
    compiled = compile_quietly(model, [batch], enabled_precisions={torch.float16}, min_block_size=1)
    model64 = copy.deepcopy(model).double()
    for n in (1, 3):
        x = torch.randn(n, 8, 32)
        with torch.no_grad():
            assert max_relative_error(compiled(x), model64(x.double())) <= tolerance("f16", SMALL["block"][2])


def test_engine_cache_never_serves_a_float32_engine_for_a_reduced_precision_compile(tmp_path):
    model, inputs = Block().eval(), [torch.randn(2, 8, 32)]

    def cached(**options: object) -> bool:
        report = compile_quietly(model, inputs, cache_dir=tmp_path, min_block_size=1, **options).compile_report
        return report.partitions[0].cached

    assert not cached()
    assert not cached(enabled_precisions={torch.float16})  # a different network (casts, f16 weights): a new key
    assert cached(enabled_precisions={torch.float16})


# ---- the command line ------------------------------------------------------------------------------------------------
def test_the_command_line_takes_precision_and_explain_shows_what_the_pass_did(capsys):
    mlp = f"{Path(__file__).parents[1] / 'models_for_tests.py'}:mlp"
    assert main(["explain", mlp, "--input", "4x8", "--precision", "f16", "--min-block-size", "1", "-q"]) == 0
    out = capsys.readouterr().out
    assert "reduce_precision" in out and "ops in f16" in out and "casts inserted" in out
    assert "inputs:  f32[4, 8]" in out and "outputs: f32[4, 4]" in out
    assert main(["list", "passes"]) == 0
    assert "reduce_precision: requires folded, lowered" in capsys.readouterr().out


# ---- the table -------------------------------------------------------------------------------------------------------
def test_the_shipped_table_names_real_ops_and_keeps_the_sensitive_families_in_f32():
    table = precision.shipped_table(default_ops())
    for op in ("aten._softmax.default", "aten.native_layer_norm.default", "aten.sum.dim_IntList", "aten.mean.dim",
               "aten.var.correction", "aten._native_batch_norm_legit_no_training.default", "aten.exp.default"):
        assert table.treatment(op) == "keep_f32", op
    assert table.treatment("aten.view.default") == "follow" and table.treatment("aten.amax.default") == "follow"
    assert table.treatment("aten.convolution.default") == "reduce"


def test_every_rule_in_keep_f32_rules_is_a_shipped_lowering_rule_and_a_misspelt_one_is_an_error():
    library = load_library((), default_ops())
    table = precision.shipped_table(default_ops())
    precision.check_rules(table, library)
    assert "var_one_dim" in table.keep_f32_rules
    assert table.treatment("aten.mul.Tensor", "var_one_dim") == "keep_f32"
    assert table.treatment("aten.mul.Tensor", "batch_norm_as_scale_shift") == "reduce"
    with pytest.raises(PrecisionTableError, match=r"\[keep_f32_rules\] names no lowering rule var_one_dimm"):
        precision.check_rules(PrecisionTable(frozenset(), frozenset(), frozenset({"var_one_dimm"})), library)


@pytest.mark.parametrize("text, message", [
    ("[keep_f32]\naten.softmx\n", r"t.ops:2: no op 'aten.softmx'"),
    ("[keep_f32]\naten._softmax.default\n", r"no op 'aten._softmax.default' \(write aten.NAME, no overload\)"),
    ("[keep_f32]\naten.sum\n[follow]\naten.sum\n", r"t.ops:4: aten.sum is listed twice"),
    ("[keep_f32_rules]\nvar_one_dim var_one_dim\n", r"t.ops:2: var_one_dim is listed twice"),
    ("[fast]\naten.mm\n", r"unknown section \[fast\]"),
    ("aten.mm\n", r"ops before the first \[section\]"),
])
def test_a_malformed_table_is_an_error_naming_the_line(text, message):
    with pytest.raises(PrecisionTableError, match=message):
        parse_table(text, "t.ops", default_ops())
