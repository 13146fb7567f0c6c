"""Dynamic shapes: a model compiled for a range of shapes runs, and matches eager, at any shape in the range.

``trt_passes.Input(min_shape, opt_shape, max_shape)`` becomes ``torch.export`` dynamic dims, symbolic dims in the IR
and a TensorRT optimisation profile; the engines built here are real TensorRT-RTX engines, parity runs on the
reference runtime (no GPU), which computes the engines' TF32 rounding too. Tolerance as in tests/test_models.py:
TF32's (``trt_passes.tools.parity``), and float32's 1e-5 for the small hybrid program compiled with
``disable_tf32=True``.
"""

from __future__ import annotations

import warnings
import weakref

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_passes
from benchmarks.zoo import ZOO
from trt_passes.backend import reference
from trt_passes.backend.emit import profile_shapes
from trt_passes.backend.segment_module import SegmentModule
from trt_passes.dsl import rewriter
from trt_passes.inputs import Input
from trt_passes.ir.symbolic import SymbolicError
from trt_passes.tools.parity import TOLERANCE, max_relative_error

pytestmark = pytest.mark.slow

IMAGES = Input(min_shape=(1, 3, 64, 64), opt_shape=(4, 3, 64, 64), max_shape=(8, 3, 64, 64))
TOKENS = Input(min_shape=(1, 4), opt_shape=(2, 16), max_shape=(8, 64), dtype=torch.int64, low=0, high=1000)
_compiled: dict[str, tuple[torch.nn.Module, torch.nn.Module]] = {}


def compiled(name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    if name not in _compiled:
        model = ZOO[name].build()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = trt_passes.compile(model, inputs=[IMAGES if name == "resnet18" else TOKENS],
                                         runtime="reference", require_full_compilation=True)
        _compiled[name] = (model, program)
    return _compiled[name]


@pytest.mark.parametrize("name", ["resnet18", "bert"])
def test_a_dynamic_model_compiles_to_one_engine_with_nothing_left_to_pytorch(name):
    _, program = compiled(name)
    report = program.compile_report
    assert report.fallbacks == []
    assert len(report.partitions) == 1
    part = report.partitions[0]
    assert part.engine_bytes is not None and part.engine_bytes > 1000
    assert any("s" in str(t) for t in part.inputs)  # the engine's input really is symbolic, not one fixed shape


@settings(max_examples=4)
@given(batch=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_resnet_with_a_dynamic_batch_matches_eager_at_every_batch_size_in_range(batch, seed):
    model, program = compiled("resnet18")
    x = torch.randn(batch, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        assert max_relative_error(program(x), model(x)) <= TOLERANCE["tf32"]


@settings(max_examples=4)
@given(batch=st.integers(1, 8), seq=st.integers(4, 64), seed=st.integers(0, 2**31 - 1))
def test_bert_with_dynamic_batch_and_sequence_length_matches_eager_in_range(batch, seq, seed):
    model, program = compiled("bert")
    ids = torch.randint(0, 1000, (batch, seq), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected, got = model(ids), program(ids)
    assert got.last_hidden_state.shape == (batch, seq, 128)
    assert max_relative_error(got, expected) <= TOLERANCE["tf32"]


def test_a_shape_outside_the_compiled_range_is_refused_naming_the_input_axis_and_range():
    _, program = compiled("resnet18")
    with pytest.raises(SymbolicError, match=r"^input 0 \('x'\), axis 0 is 9, outside the range the program was "
                                            r"compiled for: 1\.\.8$"):
        program(torch.randn(9, 3, 64, 64))


def test_the_engine_profile_is_the_inputs_min_opt_max():
    _, program = compiled("bert")
    (segment,) = [m for m in program.modules() if isinstance(m, SegmentModule)]
    assert profile_shapes(segment.body) == [((1, 4), (2, 16), (8, 64))]


def test_dynamic_inputs_need_the_dynamo_frontend():
    with pytest.raises(ValueError, match="ir='dynamo'"):
        trt_passes.compile(ZOO["resnet18"].build(), ir="fx", inputs=[IMAGES])


def test_a_rule_needing_a_static_dim_does_not_match_and_explain_quotes_its_guard():
    class Pool(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.pool = torch.nn.AdaptiveAvgPool2d(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.pool(self.conv(x))

    spatial = Input(min_shape=(1, 3, 10, 10), opt_shape=(1, 3, 18, 18), max_shape=(1, 3, 34, 34))
    report = trt_passes.explain(Pool(), inputs=[spatial], min_block_size=1)
    assert [f.op for f in report.fallbacks] == ["aten._adaptive_avg_pool2d.default"]
    assert "guard `is_static(x)" in str(report)  # the candidate rule and the condition that failed


def test_a_dynamic_program_saves_and_loads_and_still_takes_any_shape_in_range(tmp_path):
    model, program = compiled("resnet18")
    path = tmp_path / "resnet_dynamic.ep"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trt_passes.save(program, path, inputs=[IMAGES])
        loaded = trt_passes.load(path)
    for batch in (1, 6):
        x = torch.randn(batch, 3, 64, 64, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            assert max_relative_error(loaded(x), model(x)) <= TOLERANCE["tf32"]


def test_the_cli_input_syntax_gives_min_opt_max():
    spec = Input.parse("1..4..8x3x64x64")
    assert (spec.min_shape, spec.opt_shape, spec.max_shape) == ((1, 3, 64, 64), (4, 3, 64, 64), (8, 3, 64, 64))
    assert Input.parse("2..16x8:i64").opt_shape == (16, 8)
    with pytest.raises(ValueError, match="min <= opt <= max"):
        Input(min_shape=(4,), opt_shape=(2,), max_shape=(8,))


class _CountsPositives(torch.nn.Module):
    """nonzero's row count depends on the data: a size no input shape determines."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.linear(x).relu()
        where = torch.nonzero(y > 0.1)
        return y * 2, where.float().sum(0) * 3 + 1


def test_an_op_with_a_data_dependent_size_stays_in_pytorch_and_explain_says_why():
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    report = trt_passes.explain(_CountsPositives().eval(), inputs=[x], min_block_size=1)
    reasons = {f.op: f.reason for f in report.fallbacks}
    assert "its sizes depend on the data" in reasons["aten.nonzero.default"]
    assert report.partitions  # the rest still runs in TensorRT


@settings(max_examples=5)
@given(seed=st.integers(0, 2**31 - 1))
def test_the_hybrid_program_follows_the_data_dependent_size_on_every_call(seed):
    model = _CountsPositives().eval()
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = trt_passes.compile(model, inputs=[x], min_block_size=1, runtime="reference", disable_tf32=True)
    fresh = torch.randn(4, 8, generator=torch.Generator().manual_seed(seed))  # another count of positives
    with torch.no_grad():
        assert max_relative_error(program(fresh), model(fresh)) <= 1e-5


def test_an_exported_program_with_dynamic_dims_keeps_them_with_its_range():
    model = ZOO["resnet18"].build()
    example = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    ep = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=6)},))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = trt_passes.compile(ep, inputs=[example], runtime="reference")
    (segment,) = [m for m in program.modules() if isinstance(m, SegmentModule)]
    (symbol,) = segment.body.meta["symbols"].values()
    assert (symbol.min, symbol.opt, symbol.max) == (1, 3, 6)  # export's range, tuned for the example's size
    x = torch.randn(6, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert max_relative_error(program(x), model(x)) <= TOLERANCE["tf32"]


def test_a_converter_whose_replacement_needs_a_static_size_leaves_the_op_to_pytorch(monkeypatch):
    """A guard cannot foresee every op that needs a size static; building the replacement tells, and the op falls
    back with that reason instead of failing the compile. Simulated by a relu whose semantics read a size as int."""

    def relu_reading_an_int_size(input, type, alpha=0.0, beta=0.0):
        int(input.shape[0])  # pins a symbolic size to one value
        return (torch.relu(input),)

    monkeypatch.setitem(reference.OPS, "trt.activation", relu_reading_an_int_size)
    monkeypatch.setattr(rewriter, "_INFER_MEMO", weakref.WeakKeyDictionary())  # no type inferred before the patch
    model = torch.nn.Sequential(torch.nn.Linear(13, 13), torch.nn.ReLU(), torch.nn.Linear(13, 13)).eval()
    rows = Input(min_shape=(1, 13), opt_shape=(3, 13), max_shape=(5, 13))
    report = trt_passes.explain(model, inputs=[rows], min_block_size=1)
    (fallback,) = [f for f in report.fallbacks if f.op == "aten.relu.default"]
    assert "cannot build its replacement with run-time sizes" in fallback.reason
    assert "needs a static size" in fallback.reason


@pytest.mark.parametrize(("decompositions", "rules"), [
    ("rules", ("linear_with_bias_as_matmul_add", "matmul_same_rank")),  # torch.export's linear: never flattened
    ("pytorch", ("flattened_matmul_as_batched_matmul", "flattened_bmm_as_matmul")),  # core ATen's flattened addmm
])
def test_linear_layers_of_a_dynamic_bert_need_no_flatten_and_unflatten(decompositions: str, rules: tuple[str, ...]):
    """Guards compute with symbolic sizes (shape(x)[0] * shape(x)[1] is s0*s1), so the rules lowering BERT's linear
    layers to batched products fire with a dynamic batch and sequence as they do with static shapes, on either
    decompositions path."""
    model = ZOO["bert"].build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dynamic = trt_passes.explain(model, inputs=[TOKENS], decompositions=decompositions).rule_fires
        static = trt_passes.explain(model, inputs=ZOO["bert"].inputs(), decompositions=decompositions).rule_fires
    for rule in rules:
        assert dynamic[rule] == static[rule] > 0, rule
