"""Binding the arguments written in a rule (positional and keyword) to an op's schema: the checker uses it to report
problems, the normaliser (:mod:`trt_passes.dsl.normalise`) to build the normal form every other part reads, so all
agree on what ``OP(a, b, k=v)`` means.

Positional arguments fill the schema's non-keyword-only arguments in order (as in Python and ATen).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from trt_passes.dsl.ast import Arg, Span
from trt_passes.ir.ops import OpSchema


@dataclass(frozen=True)
class ArgProblem:
    code: str
    message: str
    span: Span
    notes: tuple[str, ...] = ()


def bind_args(schema: OpSchema, args: Sequence[Arg], call_span: Span,
              *, require_all: bool = True, in_pattern: bool = True) -> tuple[dict[str, Arg], list[ArgProblem]]:
    """Map schema argument names to the written arguments; problems use codes RW201-RW204.

    ``require_all``: report schema arguments without a default that are not written (patterns and constructors
    both require them: a pattern must say what it accepts, a constructor cannot invent a value).
    """
    positional_specs = [a for a in schema.args if not a.kwarg_only]
    bound: dict[str, Arg] = {}
    problems: list[ArgProblem] = []
    n_pos = 0
    for arg in args:
        if arg.keyword is None:
            if n_pos >= len(positional_specs):
                given = sum(1 for a in args if a.keyword is None)
                problems.append(ArgProblem(
                    "RW201", f"{schema.name} takes {len(positional_specs)} positional argument"
                    f"{'s' if len(positional_specs) != 1 else ''}, got {given}", arg.span,
                    (f"signature: {schema.signature()}",)))
                n_pos += 1
                continue
            name = positional_specs[n_pos].name
            n_pos += 1
        else:
            name = arg.keyword
            if schema.arg(name) is None:
                close = difflib.get_close_matches(name, [a.name for a in schema.args], n=1)
                notes = (f"did you mean `{close[0]}`?",) if close else ()
                problems.append(ArgProblem("RW202", f"{schema.name} has no argument `{name}`", arg.span,
                                           (*notes, f"signature: {schema.signature()}")))
                continue
        if name in bound:
            problems.append(ArgProblem("RW204", f"argument `{name}` of {schema.name} given twice", arg.span))
            continue
        bound[name] = arg
    if require_all:
        missing = [a.name for a in schema.args if not a.has_default and a.name not in bound]
        if missing:
            problems.append(ArgProblem(
                "RW203", f"{schema.name}: required argument{'s' if len(missing) > 1 else ''} "
                f"{', '.join(f'`{m}`' for m in missing)} not given"
                + (" (write `_` to accept any value)" if in_pattern else ""), call_span,
                (f"signature: {schema.signature()}",)))
    return bound, problems
