"""Rule families: a rule declared ``over`` a family is a template, instantiated once per row of the family's table.

In the template a family parameter may stand for an op (``op(x)`` in the pattern or on the right side), for a value
(an enum member, a number, a dtype: anywhere a name may appear in a pattern or an expression). Instance ``ROW`` of
rule ``NAME`` is called ``NAME_ROW``. A substituted value keeps the span of its cell in the row, so a problem with
the value (an unknown op, an enum member of the wrong enum) is reported at the row; other problems of an instance
are reported at the template, with a note naming the row.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic

Cell = A.Literal | A.DtypeLit | A.EnumLit | A.Name


def instantiate(rule: A.RuleDecl, fam: A.FamilyDecl) -> tuple[list[tuple[A.RuleDecl, A.FamilyRow]], list[Diagnostic]]:
    out: list[tuple[A.RuleDecl, A.FamilyRow]] = []
    diags: list[Diagnostic] = []
    for row in fam.rows:
        if len(row.cells) != len(fam.params):
            diags.append(Diagnostic("RW109", f"row `{row.label}` of family `{fam.name}` has {len(row.cells)} "
                                    f"value{'s' if len(row.cells) != 1 else ''}, the family has "
                                    f"{len(fam.params)} parameters", row.span,
                                    (f"family {fam.name}({', '.join(fam.params)})",)))
            continue
        env = dict(zip(fam.params, row.cells))
        inst = _subst(rule, env)
        name = f"{rule.name}_{row.label}" if rule.name else row.label
        out.append((dataclasses.replace(inst, name=name, over=None, doc=_fill(rule.doc, env)), row))
    return out, diags


def _bound(b: Any, env: dict[str, Cell]) -> Any:
    cell = env.get(b) if isinstance(b, str) else None
    return cell.value if isinstance(cell, A.Literal) else b


def _fill(doc: str, env: dict[str, Cell]) -> str:
    """``{param}`` in a template's docstring becomes the row's value."""
    for k, v in env.items():
        doc = doc.replace("{" + k + "}", _text(v))
    return doc


def _text(c: Cell) -> str:
    if isinstance(c, A.EnumLit):
        return c.text
    if isinstance(c, (A.DtypeLit, A.Name)):
        return c.name
    return "none" if c.value is None else str(c.value)


def _as_op(c: Cell) -> str:
    return c.text if isinstance(c, A.EnumLit) else _text(c)


def _subst(node: Any, env: dict[str, Cell]) -> Any:
    if isinstance(node, tuple):
        return tuple(_subst(x, env) for x in node)
    if isinstance(node, A.POp) and node.op in env:
        node = dataclasses.replace(node, op=_as_op(env[node.op]), op_span=env[node.op].span)
    elif isinstance(node, A.Call) and node.func in env:
        return A.OpExpr(_as_op(env[node.func]), _subst(node.args, env), node.span, env[node.func].span)
    elif isinstance(node, A.Name) and node.name in env:
        return env[node.name]
    elif isinstance(node, A.PCapture) and node.name in env:
        return A.PLiteral(env[node.name], env[node.name].span)  # type: ignore[arg-type]
    if isinstance(node, A.DomainTensor) and node.value_range is not None:
        bounds = tuple(_bound(b, env) for b in node.value_range)
        node = dataclasses.replace(node, value_range=bounds)  # type: ignore[arg-type]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        # identifiers (rule, capture, keyword, builtin names) and spans are not substituted; everything else is
        changes = {f.name: _subst(getattr(node, f.name), env) for f in dataclasses.fields(node)
                   if f.name not in _NOT_SUBSTITUTED}
        return dataclasses.replace(node, **changes)
    return node


_NOT_SUBSTITUTED = frozenset({"span", "op_span", "name_span", "name", "keyword", "func", "op", "binder", "over"})
