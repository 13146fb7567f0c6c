"""The `.rw` rewrite language: load checked rules, match them, rewrite graphs with them (ARCHITECTURE.md)."""

from trt_passes.dsl.builtins import BUILTINS, Builtin, GuardError
from trt_passes.dsl.diagnostics import CODES, Diagnostic, RuleLoadError
from trt_passes.dsl.domain import DomainError, draw_example, widen_to_f64
from trt_passes.dsl.loader import load_rules, load_sources, load_text, rule_files
from trt_passes.dsl.matcher import Failure, Match, match_rule
from trt_passes.dsl.parser import parse
from trt_passes.dsl.rewriter import (
    RewriteBudgetError,
    RewriteEvent,
    RewriteStats,
    RuleApplicationError,
    apply_match,
    explain_no_match,
    match_at,
    rewrite,
)
from trt_passes.dsl.rules import Rule, RuleLibrary, RuleSet

__all__ = [
    "BUILTINS", "CODES", "Builtin", "Diagnostic", "DomainError", "Failure", "GuardError", "Match", "RewriteBudgetError",
    "RewriteEvent", "RewriteStats", "Rule", "RuleApplicationError", "RuleLibrary", "RuleLoadError", "RuleSet",
    "apply_match", "draw_example", "explain_no_match", "load_rules", "load_sources", "load_text", "match_at",
    "match_rule", "parse", "rewrite", "rule_files", "widen_to_f64",
]
