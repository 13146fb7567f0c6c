"""The `.rw` rewrite language: load checked rules, match them, rewrite graphs with them (ARCHITECTURE.md)."""

from trt_passes.dsl.builtins import BUILTINS, Builtin, GuardError
from trt_passes.dsl.coverage import CoverageReport, converter_coverage
from trt_passes.dsl.diagnostics import CODES, Diagnostic, RuleLoadError
from trt_passes.dsl.domain import DomainError, draw_example, widen_to_f64
from trt_passes.dsl.formatter import format_rules
from trt_passes.dsl.loader import load_rules, load_sources, load_text, rule_files
from trt_passes.dsl.matcher import Failure, Match, match_rule
from trt_passes.dsl.parser import parse
from trt_passes.dsl.profile import RuleProfile, profile_rules
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
    "BUILTINS", "CODES", "Builtin", "CoverageReport", "Diagnostic", "DomainError", "Failure", "GuardError", "Match",
    "RewriteBudgetError", "RewriteEvent", "RewriteStats", "Rule", "RuleApplicationError", "RuleLibrary",
    "RuleLoadError", "RuleProfile", "RuleSet", "apply_match", "converter_coverage", "draw_example",
    "explain_no_match", "format_rules", "load_rules", "load_sources", "load_text", "match_at", "match_rule", "parse",
    "profile_rules", "rewrite", "rule_files", "widen_to_f64",
]
