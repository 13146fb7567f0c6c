"""Loaded, checked rules: what the matcher, rewriter and domain sampler consume."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from trt_passes.dsl import ast as A


@dataclass(frozen=True)
class Rule:
    """One checked rule. ``location`` is ``"file.rw:LINE"`` (the file's base name and the rule's first line)."""

    name: str
    ruleset: str
    kind: str
    doc: str
    priority: int
    location: str
    span: A.Span = field(compare=False)
    pattern: A.POp = field(compare=False)
    guard: A.Expr | None = field(compare=False)
    rhs: A.Rhs = field(compare=False)
    domains: tuple[A.Domain, ...] = field(compare=False)
    untested_reason: str | None = field(compare=False, default=None)

    @property
    def root_op(self) -> str:
        return self.pattern.op


@dataclass(frozen=True)
class RuleSet:
    """The rules of one rule set, highest priority first, then in source order (files sorted by path)."""

    name: str
    kind: str
    rules: tuple[Rule, ...]

    def by_root(self) -> dict[str, list[Rule]]:
        """Rules indexed by root op (each list in rule-set order); computed once per rule set."""
        return self._by_root

    @functools.cached_property
    def _by_root(self) -> dict[str, list[Rule]]:
        out: dict[str, list[Rule]] = {}
        for r in self.rules:
            out.setdefault(r.root_op, []).append(r)
        return out

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"rule set {self.name} has no rule {name!r}")


@dataclass(frozen=True)
class RuleLibrary:
    rulesets: dict[str, RuleSet]

    def rule(self, name: str) -> Rule:
        for rs in self.rulesets.values():
            for r in rs.rules:
                if r.name == name:
                    return r
        raise KeyError(f"no rule {name!r}")

    def all_rules(self) -> list[Rule]:
        return [r for rs in self.rulesets.values() for r in rs.rules]
