"""What ``trt-passes check FILE...`` finds in a rule author's `.rw` files, as a function (the CLI only prints it).

The files are loaded together with the shipped rules, as a compile loads them (each file once, by its resolved
path), which reports every syntax, name, arity, type and analysis error. Then, about the rules of the named files:

* the load's warnings (RW505);
* the pipeline's view (:mod:`trt_passes.dsl.pipeline_checks`, RW506-RW510): rule sets no step runs, rules another
  rule set undoes or always beats, ops lowered only by a rule set that ran before, ops no frontend hands over;
* examples (:mod:`trt_passes.dsl.examples`, RW215 and RW407): each rule of the named files that are not shipped
  is tried on examples drawn from its domain (or its annotations), its right side built and type-checked where it
  matches (the shipped rules' domains are exercised by the project's own property tests);
* with ``test=True`` (``--test``), each rule's property test (:mod:`trt_passes.dsl.property`, RW601/RW602): the
  rewritten example against eager PyTorch in float64, reporting the first counterexample.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from trt_passes.backend.registry import default_ops
from trt_passes.compiler import load_library, shipped_rule_dir
from trt_passes.dsl import Diagnostic, Rule, RuleLibrary, RuleLoadError, cache, rule_files
from trt_passes.dsl.examples import EXAMPLES, try_on_examples
from trt_passes.dsl.pipeline_checks import RuleStep, pipeline_warnings
from trt_passes.dsl.property import PROPERTY_EXAMPLES, check_property
from trt_passes.frontends.dynamo import decomposed_on_import, export_model
from trt_passes.ir.decompositions import check_decompositions
from trt_passes.ir.ops import OpRegistry
from trt_passes.passes.pipeline import Pipeline, load_pipeline
from trt_passes.passes.registry import builtin_passes

WHY_DECOMPOSED = {
    "rules": "it writes in place, and the functionalize pass rewrites every such op into its functional twin before "
             "any rule runs (trt_passes.frontends.dynamo.decomposed_on_import)",
    "pytorch": "with decompositions='pytorch' every frontend imports through run_decompositions(), which "
               "functionalizes in-place ops and applies torch.export's default decomposition table "
               "(trt_passes.frontends.dynamo.decomposed_on_import)",
}
"""Why RW510's ops never reach the rules, per value of the ``decompositions`` setting."""


@dataclass
class CheckResult:
    """``diagnostics``: errors and warnings about the named files, in file and position order. ``library`` is None
    when the load failed."""

    library: RuleLibrary | None
    diagnostics: list[Diagnostic]
    checked: list[Rule] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def render(self) -> str:
        return "\n\n".join(d.render(self._source(d.span.file)) for d in self.diagnostics)

    def _source(self, file: str) -> str | None:
        if file not in self.sources:
            try:
                self.sources[file] = Path(file).read_text(encoding="utf-8")
            except OSError:
                return None
        return self.sources[file]

    def summary(self) -> str:
        e, w = len(self.errors), len(self.warnings)
        counts = f"{e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''}"
        if self.library is None:
            return counts
        n = sum(len(rs.rules) for rs in self.library.rulesets.values())
        return (f"{counts}; {len(self.checked)} rule{'s' if len(self.checked) != 1 else ''} checked "
                f"({n} loaded in {len(self.library.rulesets)} rule sets, with the shipped rules)")


def rule_steps(pipeline: Pipeline) -> list[RuleStep]:
    """The steps of ``pipeline`` that run rule sets, each with the rule sets it selects and their kind."""
    passes = builtin_passes()
    out = []
    for step in pipeline.steps:
        spec = passes.get(step.pass_name)
        if spec is not None and spec.rules is not None:
            kind, default = spec.rules
            relowers = step.params.get("lower", spec.relowers) if spec.relowers else ""
            out.append(RuleStep(step.pass_name, step.params.get("rulesets", default), kind, pipeline.where(step),
                                relowers))
    return out


def check_files(paths: Sequence[str | os.PathLike[str]], ops: OpRegistry | None = None, *, pipeline: str = "default",
                examples: int = EXAMPLES, test: bool = False, test_examples: int = PROPERTY_EXAMPLES,
                decompositions: str = "rules") -> CheckResult:
    """Check the `.rw` files or folders ``paths`` with the shipped rules (see the module docstring), for compiles
    with the ``decompositions`` setting given."""
    ops = ops or default_ops()
    named = {f.resolve() for f in rule_files(paths)}
    shipped = {f.resolve() for f in rule_files([shipped_rule_dir()])}
    try:
        library = load_library(tuple(Path(p) for p in paths), ops)
    except RuleLoadError as e:
        return CheckResult(None, list(e.diagnostics), sources=dict(e.sources))

    def about_named(d: Diagnostic) -> bool:
        return _resolved(d.span.file) in named

    checked = [r for r in library.all_rules() if _resolved(r.span.file) in named]
    found = [w for w in library.warnings if about_named(w)]
    steps = rule_steps(load_pipeline(pipeline))
    decomposed = decomposed_ops(decompositions) if checked else frozenset()
    found += [d for d in pipeline_warnings(library, steps, decomposed, WHY_DECOMPOSED[decompositions])
              if about_named(d)]
    for rule in checked:
        if examples > 0 and _resolved(rule.span.file) not in shipped:
            found += try_on_examples(rule, ops, examples)
    if test and not any(d.severity == "error" for d in found):
        for rule in checked:
            found += check_property(rule, library.rulesets[rule.ruleset], ops, random.Random(rule.name), test_examples)
    found.sort(key=lambda d: (d.span.file, d.span.line, d.span.col, d.code))
    return CheckResult(library, found, checked)


def decomposed_ops(decompositions: str = "rules") -> frozenset[str]:
    """:func:`~trt_passes.frontends.dynamo.decomposed_on_import`, kept in the disk cache (listing torch's in-place
    ops takes over a second, its decomposition table a third of one; a check of one file takes less). The key is what
    the answer depends on: torch's version, the path and the source of the import step and of the function
    answering."""
    check_decompositions(decompositions)
    key = cache.content_key("decomposed_on_import", torch.__version__, decompositions,
                            inspect.getsource(decomposed_on_import), inspect.getsource(export_model))
    blob = cache.read("torch", key, ".json")
    if blob is not None:
        with contextlib.suppress(ValueError):
            return frozenset(json.loads(blob))
    found = decomposed_on_import(decompositions)
    cache.write("torch", key, ".json", json.dumps(sorted(found)).encode())
    return found


def _resolved(file: str) -> Path:
    return Path(file).resolve()
