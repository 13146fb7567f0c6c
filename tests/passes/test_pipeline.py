"""Pipelines are text, validated against each pass's declared requirements before anything runs."""

import pytest

from trt_passes.passes.pipeline import PipelineError, load_pipeline, parse_pipeline, validate_pipeline
from trt_passes.passes.registry import builtin_passes


def test_the_shipped_default_pipeline_is_valid_and_ends_with_emission():
    p = load_pipeline("default")
    assert [s.pass_name for s in p.steps][-3:] == ["partition", "convert", "emit"]


def test_a_pass_before_its_provider_is_an_error_naming_the_pass_the_line_and_the_fix():
    text = "pipeline bad\nfunctionalize\nfold_constants\nlower\nfold_constants\nconvert\npartition\n"
    with pytest.raises(PipelineError) as e:
        validate_pipeline(parse_pipeline(text, "bad.pipeline"))
    msg = str(e.value)
    assert "bad.pipeline:6" in msg and "'convert' requires 'partitioned'" in msg
    assert "'partition' provides it at line 7" in msg


def test_every_pass_reading_values_runs_after_functionalize():
    # In-place ops make a value depend on when it is read; folding before functionalize would be wrong.
    with pytest.raises(PipelineError, match=r"'fold_constants' requires 'functional'.*add one of: functionalize"):
        validate_pipeline(parse_pipeline("pipeline p\nfold_constants\n", "p.pipeline"))


def test_a_requirement_invalidated_by_a_later_pass_must_be_provided_again():
    # lower invalidates 'folded'; partition needs it, so folding must run again after lowering.
    text = "pipeline p\nfunctionalize\nfold_constants\nlower\npartition\n"
    with pytest.raises(PipelineError, match=r"'partition' requires 'folded'.*add one of: fold_constants"):
        validate_pipeline(parse_pipeline(text, "p.pipeline"))


def test_unknown_passes_and_parameters_are_errors_listing_what_exists():
    with pytest.raises(PipelineError, match=r"unknown pass 'fold'.*fold_constants"):
        validate_pipeline(parse_pipeline("pipeline p\nfold\n", "p.pipeline"))
    with pytest.raises(PipelineError, match=r"takes no parameter 'ruleset'.*rulesets"):
        validate_pipeline(parse_pipeline("pipeline p\nlower ruleset=x\n", "p.pipeline"))


def test_pipeline_files_need_a_name_and_key_value_parameters():
    with pytest.raises(PipelineError, match="missing 'pipeline NAME'"):
        parse_pipeline("fold_constants\n", "x.pipeline")
    with pytest.raises(PipelineError, match="must be key=value"):
        parse_pipeline("pipeline p\nlower lower.*\n", "x.pipeline")


def test_an_unknown_pipeline_name_lists_the_shipped_ones():
    with pytest.raises(PipelineError, match=r"shipped pipelines: .*default"):
        load_pipeline("fastest")


def test_every_pass_documents_itself():
    for spec in builtin_passes().values():
        assert len(spec.doc.strip()) > 20, spec.name


def test_the_graph_is_verified_after_every_pass_only_when_asked(monkeypatch):
    import torch

    from trt_passes.compiler import import_graph, run_passes
    from trt_passes.frontends import get_frontend
    from trt_passes.passes import scheduler
    from trt_passes.passes.settings import CompileSettings

    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU()).eval()
    verified: list[int] = []
    monkeypatch.setattr(scheduler, "verify", lambda g: verified.append(len(g)))
    steps = len(load_pipeline("default").steps)
    for env, calls in (("1", steps), ("", 1)):
        monkeypatch.setenv("TRT_PASSES_VERIFY", env)
        verified.clear()
        graph = import_graph(get_frontend("dynamo"), model, [torch.randn(2, 4)])
        run_passes(graph, CompileSettings(build_engines=False))
        assert len(verified) == calls  # without it, once: after the last pass
