"""Load `.rw` files (or folders of them) into a checked :class:`RuleLibrary`, reporting every problem at once."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path

from trt_passes.dsl import ast as A
from trt_passes.dsl import libcache
from trt_passes.dsl.analysis import analyse
from trt_passes.dsl.checker import RuleChecker
from trt_passes.dsl.diagnostics import Diagnostic, RuleLoadError
from trt_passes.dsl.externs import declare as declare_externs
from trt_passes.dsl.facts import rule_facts
from trt_passes.dsl.family import instantiate
from trt_passes.dsl.normalise import normalise
from trt_passes.dsl.overlap import order_by_specificity
from trt_passes.dsl.parser import parse_with_diagnostics
from trt_passes.dsl.rules import Rule, RuleLibrary, RuleSet
from trt_passes.ir.ops import OpRegistry


def rule_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The `.rw` files named by ``paths``: files as given, folders searched recursively, each folder sorted. A file
    is one file however it is named (relative, absolute, through a link, inside a folder also given): it is listed
    once, as first named, so its rules are not loaded twice."""
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        path = Path(p)
        for f in sorted(path.rglob("*.rw")) if path.is_dir() else [path]:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
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


def _within(span: A.Span, outer: A.Span) -> bool:
    return span.file == outer.file and (outer.line, outer.col) <= (span.line, span.col) \
        and (span.end_line, span.end_col) <= (outer.end_line, outer.end_col)


def _expand_families(items: tuple, families: dict[str, A.FamilyDecl], diags: list[Diagnostic],
                     instance_rows: dict[int, A.FamilyRow]) -> list:
    out: list = []
    for item in items:
        if not (isinstance(item, A.RuleDecl) and item.over is not None):
            out.append(item)
            continue
        fam = families.get(item.over)
        if fam is None:
            diags.append(Diagnostic("RW109", f"rule `{item.name}` is over an unknown family `{item.over}`",
                                    item.name_span, (f"families: {', '.join(sorted(families)) or '(none)'}",)))
            continue
        rules, problems = instantiate(item, fam)
        diags.extend(problems)
        for r, row in rules:
            instance_rows[id(r)] = row
            out.append(r)
    return out


def load_sources(sources: dict[str, str], ops: OpRegistry,
                 diagnostics: list[Diagnostic] | None = None) -> RuleLibrary:
    """Parse, check and analyse ``{file: text}``; a library loaded before from the same texts by the same engine
    comes from the disk cache (:mod:`trt_passes.dsl.libcache`)."""
    if diagnostics:
        return _load_sources(sources, ops, diagnostics)
    key = libcache.library_key(sources)
    found = libcache.fetch(key, ops)
    if found is not None:
        return found
    library = _load_sources(sources, ops, None)
    libcache.store(key, library, ops)
    return library


def _load_sources(sources: dict[str, str], ops: OpRegistry, diagnostics: list[Diagnostic] | None) -> RuleLibrary:
    diags = list(diagnostics or [])
    rules: dict[str, list[tuple[int, int, Rule]]] = {}
    kinds: dict[str, tuple[str, A.Span]] = {}
    first_rule: dict[str, A.Span] = {}
    order = 0
    parsed = []
    families: dict[str, A.FamilyDecl] = {}
    instance_rows: dict[int, A.FamilyRow] = {}  # id of an instantiated rule -> its row (for diagnostics)
    externs: dict[str, A.ExternDecl] = {}
    for file, text in sources.items():
        tree, syntax = parse_with_diagnostics(text, file)
        diags.extend(syntax)
        parsed.append(tree)
        for item in tree.items:
            if isinstance(item, A.ExternDecl):
                if item.name in externs and externs[item.name].target != item.target:
                    diags.append(Diagnostic("RW110", f"extern `{item.name}` is declared twice", item.span,
                                            (f"first declared at {externs[item.name].span}",)))
                externs.setdefault(item.name, item)
            if isinstance(item, A.FamilyDecl):
                if item.name in families:
                    diags.append(Diagnostic("RW109", f"family `{item.name}` is defined twice", item.span,
                                            (f"first defined at {families[item.name].span}",)))
                families.setdefault(item.name, item)
    diags.extend(declare_externs(list(externs.values())))
    for tree in parsed:
        file = tree.file
        current: A.RulesetDecl | None = None
        for item in _expand_families(tree.items, families, diags, instance_rows):
            if isinstance(item, (A.FamilyDecl, A.ExternDecl)):
                continue
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
            found = RuleChecker(item, current.kind, ops, externs).check()
            row = instance_rows.get(id(item))
            if row is not None:  # say which instance: the row (for a problem in the template) or the template
                found = [dataclasses.replace(d, notes=(*d.notes, f"in rule `{item.name}`, instantiated from the "
                                                       f"template at {item.span}" if _within(d.span, row.span) else
                                                       f"in row `{row.label}` ({row.span})")) for d in found]
            diags.extend(found)
            if found:
                continue  # the load fails; only checked rules have a normal form
            rule = Rule(
                name=item.name, ruleset=current.name, kind=current.kind, doc=item.doc, priority=item.priority,
                location=f"{os.path.basename(file)}:{item.span.line}", span=item.span, pattern=item.pattern,
                guard=item.guard, rhs=item.rhs, domains=item.domains,
                normal=normalise(item.pattern, item.guard, item.rhs, item.exclusive, ops),
                untested_reason=item.untested_reason, recursive=item.recursive, exclusive=item.exclusive,
                requires=item.requires)
            rules.setdefault(current.name, []).append((-item.priority, order, rule))
            order += 1
    if diags:
        raise RuleLoadError(diags, sources)
    ordered = {name: [r for _, _, r in sorted(entries, key=lambda t: t[:2])] for name, entries in rules.items()}
    # the analyses need well-formed rules, so they run only once checking found nothing
    all_rules = [r for rs in ordered.values() for r in rs]
    facts = [rule_facts(r) for r in all_rules]
    found = analyse(facts)
    errors = [d for d in found if d.severity == "error"]
    if errors:
        raise RuleLoadError(found, sources)
    by_name = {rf.rule.name: rf for rf in facts}
    rulesets = {name: RuleSet(name, kinds[name][0], tuple(order_by_specificity(rs, by_name)))
                for name, rs in ordered.items()}
    for name, (kind, _) in kinds.items():
        rulesets.setdefault(name, RuleSet(name, kind, ()))
    return RuleLibrary(rulesets, tuple(found), tuple(externs.values()))
