"""Load `.rw` files (or folders of them) into a checked :class:`RuleLibrary`, reporting every problem at once."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from trt_passes.dsl import ast as A
from trt_passes.dsl.checker import RuleChecker
from trt_passes.dsl.diagnostics import Diagnostic, RuleLoadError
from trt_passes.dsl.parser import parse_with_diagnostics
from trt_passes.dsl.rules import Rule, RuleLibrary, RuleSet
from trt_passes.ir.ops import OpRegistry


def rule_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The `.rw` files named by ``paths``: files as given, folders searched recursively, each folder sorted."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(path.rglob("*.rw")))
        else:
            out.append(path)
    return out


def load_rules(paths: Iterable[str | os.PathLike[str]], ops: OpRegistry) -> RuleLibrary:
    """Parse and check every rule under ``paths``; raises :class:`RuleLoadError` listing all problems."""
    sources: dict[str, str] = {}
    diagnostics: list[Diagnostic] = []
    for f in rule_files(paths):
        try:
            sources[str(f)] = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            diagnostics.append(Diagnostic("RW006", f"cannot read {f}: {e}", A.Span(str(f), 0, 0, 0, 0)))
    return load_sources(sources, ops, diagnostics)


def load_text(text: str, ops: OpRegistry, file: str = "<string>.rw") -> RuleLibrary:
    """Load rules from a string (tests, tools)."""
    return load_sources({file: text}, ops)


def load_sources(sources: dict[str, str], ops: OpRegistry,
                 diagnostics: list[Diagnostic] | None = None) -> RuleLibrary:
    diags = list(diagnostics or [])
    rules: dict[str, list[tuple[int, int, Rule]]] = {}
    kinds: dict[str, tuple[str, A.Span]] = {}
    first_rule: dict[str, A.Span] = {}
    order = 0
    for file, text in sources.items():
        tree, syntax = parse_with_diagnostics(text, file)
        diags.extend(syntax)
        current: A.RulesetDecl | None = None
        for item in tree.items:
            if isinstance(item, A.RulesetDecl):
                current = item
                prev = kinds.get(item.name)
                if prev is not None and prev[0] != item.kind:
                    diags.append(Diagnostic(
                        "RW007", f"rule set `{item.name}` declared `{item.kind}` here and `{prev[0]}` before",
                        item.kind_span, (f"first declared at {prev[1]}",)))
                else:
                    kinds.setdefault(item.name, (item.kind, item.span))
                continue
            if current is None:
                diags.append(Diagnostic("RW004", f"rule `{item.name}` comes before any `ruleset` declaration",
                                        item.name_span, ("start the file with e.g. `ruleset lower.core : lowering`",)))
                continue
            if item.name in first_rule:
                prev_span = first_rule[item.name]
                diags.append(Diagnostic("RW106", f"rule `{item.name}` is defined twice", item.name_span,
                                        (f"first defined at {prev_span}",)))
                continue
            first_rule[item.name] = item.name_span
            diags.extend(RuleChecker(item, current.kind, ops).check())
            rule = Rule(
                name=item.name, ruleset=current.name, kind=current.kind, doc=item.doc, priority=item.priority,
                location=f"{os.path.basename(file)}:{item.span.line}", span=item.span, pattern=item.pattern,
                guard=item.guard, rhs=item.rhs, domains=item.domains, untested_reason=item.untested_reason)
            rules.setdefault(current.name, []).append((-item.priority, order, rule))
            order += 1
    if diags:
        raise RuleLoadError(diags, sources)
    rulesets = {
        name: RuleSet(name, kinds[name][0], tuple(r for _, _, r in sorted(entries, key=lambda t: t[:2])))
        for name, entries in rules.items()
    }
    for name, (kind, _) in kinds.items():
        rulesets.setdefault(name, RuleSet(name, kind, ()))
    return RuleLibrary(rulesets)
