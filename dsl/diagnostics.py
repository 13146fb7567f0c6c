"""Diagnostics of the `.rw` language: stable codes, one renderer, and the error that carries a whole load's problems.

Codes (the reference with an example for each is spec/LANGUAGE.md):

* ``RW0xx`` syntax and file structure
* ``RW1xx`` names: ops, overloads, enums, builtins, captures, rules
* ``RW2xx`` arity and types: of arguments, of guard expressions (typed from the pattern), of right sides
* ``RW3xx`` rule-set kinds (what a lowering or converter rule may match and emit)
* ``RW4xx`` test domains
* ``RW5xx`` whole-library analyses: unreachable, overlapping, shadowed and non-terminating rules, unused captures;
  RW506-RW510 see the library in the pipeline that runs it (``trt-passes check``)
* ``RW6xx`` property tests: a rule run on examples of its domain against eager PyTorch (``trt-passes check --test``)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from trt_passes.dsl.ast import Span

#: Every code with a one-line summary; tests assert each has an example in spec/LANGUAGE.md.
CODES: dict[str, str] = {
    "RW001": "syntax error: unexpected token",
    "RW002": "syntax error: unexpected character",
    "RW003": "syntax error: missing `=>` between pattern and replacement",
    "RW004": "rule before any `ruleset` declaration",
    "RW005": "unknown rule-set kind (wants lowering or converter)",
    "RW006": "file cannot be read",
    "RW007": "rule set declared with two different kinds",
    "RW101": "unknown op or overload",
    "RW102": "ATen op without an overload",
    "RW103": "unknown enum or enum member",
    "RW104": "unknown builtin function",
    "RW105": "unbound name (capture not bound by the pattern, or let used before definition)",
    "RW106": "duplicate rule name",
    "RW107": "capture bound incompatibly twice, or a let shadowing a capture",
    "RW108": "alternatives `p | q` bind different captures",
    "RW109": "rule family problem: unknown or duplicate family, or a row with the wrong number of values",
    "RW110": "bad extern declaration (type, import, or a signature that does not match)",
    "RW111": "unknown or malformed requirement in `requires`",
    "RW201": "too many positional arguments",
    "RW202": "unknown keyword argument",
    "RW203": "required argument not given",
    "RW204": "argument given twice",
    "RW205": "wrong number of arguments to a builtin or const()",
    "RW206": "bad type annotation (unknown dtype or scalar type, or a type that does not fit the argument)",
    "RW207": "pattern does not fit the argument (op pattern or tensor capture in a non-tensor slot)",
    "RW208": "right side does not produce a tensor, or an op constructor outside the right side",
    "RW209": "multi-output rule: more names than outputs, or a right side with the wrong number of values",
    "RW210": "comparison that is never true: the two sides' types can never be equal or ordered",
    "RW211": "builtin or extern called with an argument of the wrong type",
    "RW212": "index out of range of a list whose length the pattern's types fix",
    "RW213": "operator applied to values it does not take, or a guard part that is not true or false",
    "RW214": "right-side op constructor or const() given an argument of the wrong type for the op's schema",
    "RW215": "right side does not build, or not with the root's type, on an example (found at check time)",
    "RW301": "lowering rule emits a non-ATen op",
    "RW302": "rule root is not an ATen op",
    "RW303": "converter rule emits an ATen op",
    "RW401": "domain names a capture the pattern does not bind",
    "RW402": "domain misses a tensor capture of the pattern",
    "RW403": "bad domain range or dims (lo > hi, unknown dim name, unknown dtype)",
    "RW404": "rule has neither a test domain nor `untested`",
    "RW405": "domain draws dtypes, ranks or dims the pattern excludes, or an input where the guard needs a constant",
    "RW406": "domain value of the wrong type for its capture",
    "RW407": "rule matches none of the examples drawn from its domain (found at check time)",
    "RW501": "rule can never match (its constraints contradict each other)",
    "RW502": "two rules of equal priority match the same nodes and neither is more specific",
    "RW503": "rule shadowed by a more general rule of higher priority (it never fires)",
    "RW504": "lowering rules on an op cycle without a decreasing measure (may not terminate)",
    "RW505": "capture never used (warning)",
    "RW506": "what a lowering rule emits is rewritten back by rule sets that run after it (warning, check)",
    "RW507": "lowering rule emits an op only rule sets run before it lower: the op stays (warning, check)",
    "RW508": "across rule sets, a rule never fires or ties: another rule set's rule takes its nodes (warning, check)",
    "RW509": "rule set no step of the pipeline runs (warning, check)",
    "RW510": "rule's root op never reaches the rules: every frontend removes it before they run (warning, check)",
    "RW601": "rule changes the result on an example from its domain (check --test)",
    "RW602": "rewriting or running an example from the rule's domain fails (check --test)",
}


@dataclass(frozen=True)
class Diagnostic:
    """One problem, with the source range it concerns and optional notes (hints, candidates)."""

    code: str
    message: str
    span: Span
    notes: tuple[str, ...] = ()
    severity: str = "error"  # or "warning": reported, but the load succeeds
    #: other places the problem involves (the other rule of an overlap), each shown with its source line
    related: tuple[tuple[str, Span], ...] = ()

    def render(self, source: str | None = None) -> str:
        """``file:line:col: error[CODE]: message``, then the source line with a ``^~~~`` underline, then notes and
        the related places, each with its own source line."""
        lines = [f"{self.span.file}:{self.span.line}:{self.span.col}: {self.severity}[{self.code}]: {self.message}"]
        lines.extend(_excerpt(self.span, source))
        lines.extend(f"  = note: {n}" for n in self.notes)
        for label, span in self.related:
            lines.append(f"  = {label} at {span.file}:{span.line}:{span.col}")
            lines.extend(_excerpt(span, source if span.file == self.span.file else None))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _excerpt(span: Span, source: str | None) -> list[str]:
    text = _source_line(span, source)
    if text is None:
        return []
    width = span.end_col - span.col if span.end_line == span.line else len(text) + 1 - span.col
    width = max(1, width)
    return [f"  | {text}", "  | " + " " * (span.col - 1) + "^" + "~" * (width - 1)]


def _source_line(span: Span, source: str | None) -> str | None:
    if span.line <= 0:
        return None
    if source is None:
        try:
            with open(span.file, encoding="utf-8") as f:
                source = f.read()
        except OSError:
            return None
    all_lines = source.splitlines()
    if span.line > len(all_lines):
        return None
    return all_lines[span.line - 1].expandtabs(1)


class RuleLoadError(Exception):
    """Loading rules failed; ``diagnostics`` lists every problem found, in file and position order."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.span.file, d.span.line, d.span.col, d.code))
        self.sources = dict(sources or {})
        super().__init__(self.render())

    @property
    def codes(self) -> list[str]:
        return [d.code for d in self.diagnostics]

    def render(self) -> str:
        n = sum(d.severity == "error" for d in self.diagnostics)
        w = len(self.diagnostics) - n
        body = "\n\n".join(d.render(self.sources.get(d.span.file)) for d in self.diagnostics)
        also = f" (and {w} warning{'s' if w != 1 else ''})" if w else ""
        return f"{n} error{'s' if n != 1 else ''}{also} in rules:\n{body}"

    def __str__(self) -> str:
        return self.render()
