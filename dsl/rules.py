"""Loaded, checked rules: what the matcher, rewriter and domain sampler consume."""

from __future__ import annotations

import fnmatch
import weakref
from dataclasses import dataclass, field
from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.normal_form import NormalRule
from trt_passes.ir.ops import OpRegistry


@dataclass(frozen=True)
class Rule:
    """One checked rule. ``location`` is ``"file.rw:LINE"`` (the file's base name and the rule's first line).
    ``pattern``, ``guard`` and ``rhs`` are the syntax as written; ``normal`` is the form the engine reads
    (:mod:`trt_passes.dsl.normal_form`), computed when the rule was loaded."""

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
    normal: NormalRule = field(compare=False, repr=False)
    untested_reason: str | None = field(compare=False, default=None)
    recursive: str | None = field(compare=False, default=None)
    exclusive: bool = field(compare=False, default=False)
    requires: tuple[A.Requirement, ...] = field(compare=False, default=())

    def applies_to(self, trt_version: str | None = None, static_shapes: bool | None = None) -> bool:
        """Whether the rule's ``requires`` hold for a target (an unknown property satisfies any requirement)."""
        for req in self.requires:
            if req.name == "static_shapes" and static_shapes is False:
                return False
            if req.name == "dynamic_shapes" and static_shapes is True:
                return False
            if req.name == "trt" and trt_version is not None and req.version is not None:
                have, want = _version(trt_version), _version(req.version)
                n = max(len(have), len(want))
                have, want = have + (0,) * (n - len(have)), want + (0,) * (n - len(want))
                ok = {">=": have >= want, ">": have > want, "<=": have <= want, "<": have < want,
                      "==": have == want, "!=": have != want}[req.op or "=="]
                if not ok:
                    return False
        return True

    @property
    def root_op(self) -> str:
        return self.normal.root_op


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".") if x.isdigit())


class RuleSetCaches:
    """What a rule set works out on demand and keeps while the process lives: its rules indexed by root op and its
    compiled matchers per op registry (filled by :func:`trt_passes.dsl.compiled.compiled_matcher`). Owned by one
    :class:`RuleSet`; never stored (a rule set read from the disk cache starts with empty caches)."""

    def __init__(self) -> None:
        self.by_root: dict[str, list[Rule]] | None = None
        self.matchers: weakref.WeakKeyDictionary[OpRegistry, Any] = weakref.WeakKeyDictionary()
        self.profiled_matchers: weakref.WeakKeyDictionary[OpRegistry, Any] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class RuleSet:
    """The rules of one rule set, highest priority first, then in source order (files sorted by path)."""

    name: str
    kind: str
    rules: tuple[Rule, ...]
    caches: RuleSetCaches = field(default_factory=RuleSetCaches, init=False, compare=False, repr=False)

    def by_root(self) -> dict[str, list[Rule]]:
        """Rules indexed by root op (each list in rule-set order); computed once per rule set."""
        found = self.caches.by_root
        if found is None:
            found = self.caches.by_root = {}
            for r in self.rules:
                found.setdefault(r.root_op, []).append(r)
        return found

    def for_target(self, trt_version: str | None = None, static_shapes: bool | None = None) -> RuleSet:
        """The rules whose ``requires`` hold for this target, in the same order (a new rule set)."""
        kept = tuple(r for r in self.rules if r.applies_to(trt_version, static_shapes))
        return self if len(kept) == len(self.rules) else RuleSet(self.name, self.kind, kept)

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"rule set {self.name} has no rule {name!r}")


@dataclass(frozen=True)
class RuleLibrary:
    rulesets: dict[str, RuleSet]
    #: diagnostics of severity "warning" from the load-time analyses (the load succeeded)
    warnings: tuple[Diagnostic, ...] = field(default=(), compare=False)
    externs: tuple[A.ExternDecl, ...] = field(default=(), compare=False)
    pools: dict[tuple[str, str], list[RuleSet]] = field(default_factory=dict, compare=False, repr=False)
    """Pools made so far (:meth:`pool`), kept with the library so each compile reuses their compiled matchers."""

    def pool(self, pattern: str, kind: str) -> list[RuleSet]:
        """The rule sets of ``kind`` whose names match the glob ``pattern``, as ONE rule set named ``pattern`` when
        there are several: at each node the rules compete, higher priority first, then rule-set name, then source
        order (a list of one rule set, or none, otherwise)."""
        key = (kind, pattern)
        found = self.pools.get(key)
        if found is None:
            chosen = [rs for name, rs in sorted(self.rulesets.items())
                      if fnmatch.fnmatchcase(name, pattern) and rs.kind == kind]
            if len(chosen) > 1:
                rules = sorted((r for rs in chosen for r in rs.rules), key=lambda r: -r.priority)  # stable
                chosen = [RuleSet(pattern, kind, tuple(rules))]
            found = self.pools[key] = chosen
        return found

    def rule(self, name: str) -> Rule:
        for rs in self.rulesets.values():
            for r in rs.rules:
                if r.name == name:
                    return r
        raise KeyError(f"no rule {name!r}")

    def all_rules(self) -> list[Rule]:
        return [r for rs in self.rulesets.values() for r in rs.rules]
