"""``format_rules(text)``: the canonical layout of a `.rw` file. Printing then parsing gives the same rules back.

Layout: one blank line between items; a rule's header (name, ``over``, priority, ``recursive``) on its first line;
docstring, pattern, guard, right side (one ``let`` per line) and test domains each on their own line, indented by
four spaces. Full-line comments are kept: each stays before the item it preceded (a comment inside a rule moves
to just before the rule, since the syntax tree has no place for it).
"""

from __future__ import annotations

import re

from trt_passes.dsl import ast as A
from trt_passes.dsl.evaluate import show_expr
from trt_passes.dsl.parser import parse

IND = "    "
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def _comments(text: str) -> list[tuple[int, str]]:
    """Every comment, full-line or after code, with its line (a `#` inside a string is not a comment)."""
    out = []
    for m in _STRING_OR_COMMENT.finditer(text):
        if m.group().startswith("#"):
            out.append((text.count("\n", 0, m.start()) + 1, m.group().rstrip()))
    return out


def format_rules(text: str, file: str = "<string>.rw") -> str:
    """Reformat a whole file; raises :class:`~trt_passes.dsl.RuleLoadError` if it does not parse."""
    tree = parse(text, file)
    comments = _comments(text)
    out: list[str] = []
    ci = 0
    prev_ruleset = False
    for item in tree.items:
        lead = []
        while ci < len(comments) and comments[ci][0] <= item.span.end_line:
            lead.append(comments[ci][1])
            ci += 1
        if out and not (prev_ruleset and isinstance(item, A.RulesetDecl) and not lead):
            out.append("")
        out.extend(lead)
        out.extend(format_item(item))
        prev_ruleset = isinstance(item, A.RulesetDecl)
    if ci < len(comments):
        if out:
            out.append("")
        out.extend(c for _, c in comments[ci:])
    return "\n".join(out) + "\n"


def format_item(item: A.RulesetDecl | A.RuleDecl | A.FamilyDecl | A.ExternDecl) -> list[str]:
    if isinstance(item, A.ExternDecl):
        return [f"extern {item.name}({', '.join(item.params)}) -> {item.returns} = {quote(item.target)}"]
    if isinstance(item, A.RulesetDecl):
        return [f"ruleset {item.name} : {item.kind}"]
    if isinstance(item, A.FamilyDecl):
        rows = [f"{IND}{r.label}: ({', '.join(show_expr(c) for c in r.cells)})" for r in item.rows]
        return [f"family {item.name}({', '.join(item.params)}) {{", *rows, "}"]
    return format_rule(item)


def format_rule(r: A.RuleDecl) -> list[str]:
    head = "rule" + (f" {r.name}" if r.name else "")
    if r.over is not None:
        head += f" over {r.over}"
    if r.priority:
        head += f" priority {r.priority}"
    if r.exclusive:
        head += " exclusive"
    if r.recursive is not None:
        head += f" recursive {quote(r.recursive)}"
    if r.requires:
        head += " requires " + ", ".join(
            str(q) if q.version is None or (q.version.replace(".", "").isdigit() and q.version.count(".") == 1)
            or q.version.isdigit() else f"{q.name} {q.op} {quote(q.version)}" for q in r.requires)
    lines = [head]
    if r.doc:
        lines.append(IND + quote(r.doc))
    lines.extend(_wrap_pattern(r.pattern))
    if r.guard is not None:
        lines.extend(_wrap_guard(r.guard))
    lets = [f"let {let.name} = {show_expr(let.value)};" for let in r.rhs.lets]
    body = [*lets, show_expr(r.rhs.result)]
    lines.append(f"{IND}=> {body[0]}")
    lines.extend(f"{IND}   {b}" for b in body[1:])
    for d in r.domains:
        lines.extend(format_domain(d))
    if r.untested_reason is not None:
        lines.append(f"{IND}untested {quote(r.untested_reason)}")
    return lines


WIDTH = 118


def _pack(first: str, parts: list[str], cont: str, sep: str, last: str = "") -> list[str]:
    """Greedy line filling: ``first`` then ``parts`` joined by ``sep``, continuing on lines starting with ``cont``."""
    lines, cur = [], first
    for i, part in enumerate(parts):
        piece = part + (sep.rstrip() if sep.strip() == "," and i < len(parts) - 1 else "")
        trial = cur + ("" if cur.endswith(("(", " ")) or cur == first else " ") + piece
        if len(trial) > WIDTH and cur.strip() and cur != first:
            lines.append(cur.rstrip())
            cur = cont + piece
        else:
            cur = trial
    lines.append(cur + last)
    return lines


def _wrap_pattern(p: A.POp) -> list[str]:
    text = IND + show_pattern(p)
    if len(text) <= WIDTH:
        return [text]
    args = [(f"{a.keyword}=" if a.keyword else "") + show_pattern(a.value) for a in p.args]
    head = IND + ("(" + ", ".join(n or "_" for n in p.outputs) + ") = " if p.outputs is not None else "") \
        + (f"{p.binder} @ " if p.binder else "") + f"{p.op}("
    return [head, *_pack(IND * 2, args, IND * 2, ", ", ")")]


def _and_spine(e: A.Expr) -> list[A.Expr]:
    # only the left spine: `a and (b and c)` keeps its parentheses, so re-parsing gives the same tree
    if isinstance(e, A.BinOp) and e.op == "and":
        return [*_and_spine(e.left), e.right]
    return [e]


def _wrap_guard(g: A.Expr) -> list[A.Expr]:
    text = f"{IND}where {show_expr(g)}"
    if len(text) <= WIDTH:
        return [text]
    parts = _and_spine(g)
    shown = [show_expr(parts[0], 2), *[show_expr(x, 3) for x in parts[1:]]]
    lines = [f"{IND}where {shown[0]}"]
    for s in shown[1:]:
        if len(lines[-1]) + len(s) + 5 <= WIDTH:
            lines[-1] += f" and {s}"
        else:
            lines.append(f"{IND}{IND}and {s}")
    return lines


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def show_pattern(p: A.Pattern) -> str:
    if isinstance(p, A.PWildcard):
        return "_"
    if isinstance(p, A.PCapture):
        return p.name if p.type is None else f"{p.name}: {show_type(p.type)}"
    if isinstance(p, A.PLiteral):
        v = p.value
        return quote(v.value) if isinstance(v, A.Literal) and isinstance(v.value, str) else show_expr(v)
    if isinstance(p, A.PList):
        return "[" + ", ".join(show_pattern(i) for i in p.items) + "]"
    if isinstance(p, A.PAlt):
        return " | ".join(show_pattern(i) for i in p.items)
    args = ", ".join((f"{a.keyword}=" if a.keyword else "") + show_pattern(a.value) for a in p.args)
    text = f"{p.op}({args})"
    text = f"{p.binder} @ {text}" if p.binder else text
    if p.outputs is not None:
        text = "(" + ", ".join(n or "_" for n in p.outputs) + f") = {text}"
    return text


def show_type(t: A.TypeAnn) -> str:
    if isinstance(t, A.ScalarAnn):
        return t.name
    text = "Tensor"
    if t.dtype_var is not None and t.dtypes is None:
        text += f"<{t.dtype_var}>"
    elif t.dtypes is not None:
        text += "<" + (f"{t.dtype_var}: " if t.dtype_var else "") + "|".join(t.dtypes) + ">"
    if t.dims is not None:
        text += "[" + ", ".join(_dim(d) for d in t.dims) + "]"
    if t.rank_range is not None:
        lo, hi = t.rank_range
        text += f"{{{lo}}}" if lo == hi else f"{{{lo}..{hi}}}"
    return text


def _dim(d: A.DimAnn) -> str:
    if isinstance(d, A.DimWild):
        return "_"
    if isinstance(d, A.DimEllipsis):
        return "..."
    return str(d.value) if isinstance(d, A.DimInt) else d.name


def format_domain(d: A.Domain) -> list[str]:
    entries = [_entry(e) for e in d.entries]
    one_line = f"{IND}domain {{ {'  '.join(entries)} }}" if entries else f"{IND}domain {{ }}"
    if len(one_line) <= 100 and len(entries) <= 1:
        return [one_line]
    return [f"{IND}domain {{", *[f"{IND}{IND}{e}" for e in entries], f"{IND}}}"]


def _entry(e: A.DomainEntry) -> str:
    if isinstance(e, A.DomainValues):
        return f"{e.name}: " + " | ".join(_domain_value(v) for v in e.values)
    dims = ", ".join(_ddim(x) for x in e.dims)
    text = f"{e.name}: {'const ' if e.const else ''}{'|'.join(e.dtypes)} [{dims}]"
    if e.value_range is not None:
        text += f" in {_num(e.value_range[0])}..{_num(e.value_range[1])}"
    return text + (" | none" if e.or_none else "")


def _domain_value(v: A.Expr) -> str:
    return quote(v.value) if isinstance(v, A.Literal) and isinstance(v.value, str) else show_expr(v)


def _num(x: float | str) -> str:
    return x if isinstance(x, str) else repr(x)


def _ddim(d: A.DomainDim) -> str:
    if isinstance(d, A.DimInt):
        return str(d.value)
    if isinstance(d, A.DimName):
        return d.name
    return f"{d.name}={d.lo}..{d.hi}" if d.name else f"{d.lo}..{d.hi}"
