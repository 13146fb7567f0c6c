"""Parse `.rw` text into the typed AST of :mod:`trt_passes.dsl.ast`, turning Lark's errors into diagnostics.

Parsing never raises anything but :class:`RuleLoadError`: syntax errors are reported with what the parser expected,
spelled in words, plus example-driven hints for common slips (a missing ``=>``, ``=`` used to compare).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic, RuleLoadError
from trt_passes.ir.types import TORCH_DTYPES

#: Dtype names are reserved words: in patterns and expressions they are dtype literals, never captures.
DTYPES = frozenset(TORCH_DTYPES)
RULESET_KINDS = ("lowering", "converter")
#: Dtype variables are one capital letter, optionally with digits (`T`, `U2`): `Tensor<T>` ... `Tensor<T>` agree.
DTYPE_VAR = re.compile(r"[A-Z][0-9]*")


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    text = resources.files("trt_passes.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", propagate_positions=True)


def parse(text: str, file: str = "<string>") -> A.FileAst:
    """Parse one file's text; raises :class:`RuleLoadError` with every syntax error found."""
    tree, diagnostics = parse_with_diagnostics(text, file)
    if diagnostics:
        raise RuleLoadError(diagnostics, {file: text})
    return tree


def parse_with_diagnostics(text: str, file: str = "<string>") -> tuple[A.FileAst, list[Diagnostic]]:
    """Parse what can be parsed and report the rest.

    LALR cannot resume after an error, so recovery is textual: the broken rule (from its ``rule`` keyword to the
    next line starting with ``rule`` or ``ruleset``) is blanked out, keeping line and column numbers, and the text is
    parsed again. Each broken rule yields its first syntax error; the intact rules are still returned to be checked.
    """
    diagnostics: list[Diagnostic] = []
    current = text
    tree = None
    for _ in range(_MAX_SYNTAX_ERRORS):
        try:
            tree = _lark().parse(current)
            break
        except UnexpectedInput as e:
            d = _syntax_diagnostic(e, current, file)
            if diagnostics and diagnostics[-1].span == d.span:  # blanking did not get past it: give up here
                return A.FileAst(file, ()), diagnostics
            diagnostics.append(d)
            start, end = _broken_region(current, _error_offset(e, current))
            current = current[:start] + re.sub(r"[^\n]", " ", current[start:end]) + current[end:]
    if tree is None:
        return A.FileAst(file, ()), diagnostics
    builder = _Builder(file)
    try:
        items = builder.transform(tree)
    except VisitError as e:  # a builder bug, not a user error: keep the cause visible
        raise e.orig_exc from e
    return A.FileAst(file, tuple(items)), diagnostics + builder.diagnostics


_MAX_SYNTAX_ERRORS = 20
_RULE_START = re.compile(r"^[ \t]*(rule(set)?|family|extern)\b", re.M)


def _error_offset(e: UnexpectedInput, text: str) -> int:
    if isinstance(e, UnexpectedToken) and e.token.type != "$END" and e.token.start_pos is not None:
        return int(e.token.start_pos)
    if isinstance(e, UnexpectedCharacters):
        return int(e.pos_in_stream)
    return len(text)


def _broken_region(text: str, offset: int) -> tuple[int, int]:
    """From the start of the rule containing ``offset`` (the last ``rule``/``ruleset`` line starting before it) to
    the next such line after it, or the end of the text. When the offending token is itself the next rule's
    ``rule`` keyword, the region is the incomplete rule before it."""
    start = 0
    for m in _RULE_START.finditer(text, 0, offset):
        start = m.start()
    line_start = text.rfind("\n", 0, offset) + 1
    if line_start <= start:  # the error is on the rule's first line: the next rule starts on a later line
        newline = text.find("\n", offset)
        line_start = newline + 1 if newline >= 0 else len(text)
    nxt = _RULE_START.search(text, line_start)
    end = nxt.start() if nxt is not None and nxt.start() > start else len(text)
    return start, end


# ---- syntax errors ------------------------------------------------------------------------------------------------
_WORDS = {
    "NAME": "a name",
    "DOTTED": "a dotted op or enum name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": 'a string "..."',
    "COMP_OP": "a comparison (== != < <= > >=)",
    "ADD_OP": "`+`",
    "MINUS": "`-`",
    "MUL_OP": "`*`, `//` or `%`",
    "CONST": "`const`",
    "$END": "the end of the file",
}


def _word(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    for t in _lark().terminals:
        if t.name == terminal and t.pattern.type == "str":
            return f"`{t.pattern.value}`"
    return terminal


_EXPRESSION_START = {"INT", "FLOAT", "STRING", "TRUE", "FALSE", "NONE", "NAME", "DOTTED", "CONST", "LPAR", "LSQB",
                     "MINUS", "NOT"}


def _expected_words(expected: set[str]) -> str:
    if {"NAME", "INT", "LPAR", "NOT"} <= expected:  # an expression may start here: say so, not its 13 first tokens
        rest = expected - _EXPRESSION_START
        words = ["an expression", *sorted({_word(t) for t in rest})]
        return ", ".join(words[:9] + (["..."] if len(words) > 9 else []))
    words = sorted({_word(t) for t in expected})
    if len(words) > 8:
        words = [*words[:8], "..."]
    return ", ".join(words)


def _token_text(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    return f"`{tok.value}`"


def _syntax_diagnostic(e: UnexpectedInput, text: str, file: str) -> Diagnostic:
    line, col = max(1, getattr(e, "line", 1) or 1), max(1, getattr(e, "column", 1) or 1)
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if 0 <= e.pos_in_stream < len(text) else "?"
        if ch == '"':
            return Diagnostic("RW002", "unterminated string", A.Span(file, line, col, line, col + 1),
                              ('strings end on the same line: "like this"',))
        number = _bare_point(text, e.pos_in_stream)
        if number is not None:
            return Diagnostic("RW002", f"`{number[0]}` is not a number: a decimal point needs digits on both sides",
                              A.Span(file, line, col, line, col + 1), (f"write `{number[1]}`",))
        return Diagnostic("RW002", f"unexpected character {ch!r}", A.Span(file, line, col, line, col + 1),
                          ("rules use names, dotted op names, numbers, strings and ( ) [ ] { } , : = @ | operators",))
    if isinstance(e, UnexpectedEOF):
        end = _end_position(text)
        return Diagnostic("RW001", f"unexpected end of file; expected {_expected_words(set(e.expected))}",
                          A.Span(file, *end, end[0], end[1] + 1))
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    expected = set(e.expected)
    if tok.type == "$END":
        line, col = _end_position(text)
    width = max(1, len(str(tok.value))) if tok.type != "$END" else 1
    span = A.Span(file, line, col, line, col + width)
    if str(tok.value) == ">" and 0 < tok.start_pos and text[tok.start_pos - 1] == "=":
        # the contextual lexer split `=>` after a name because `=` (a keyword argument) was acceptable there
        return Diagnostic("RW001", "unexpected `=>`: a `(` or `[` before it is not closed",
                          A.Span(file, line, col - 1, line, col + 1), ("example: aten.relu.default(x) => x",))
    if tok.type == "EQUAL" and "COMP_OP" in expected:
        return Diagnostic("RW001", "unexpected `=`; to compare use `==`", span,
                          ("example: where rank(x) == 4",))
    arrow = _terminal_named("=>")
    if arrow in expected and tok.type != arrow:
        return Diagnostic("RW003", f"expected `=>` after the pattern, found {_token_text(tok)}", span,
                          ("a rule reads: rule NAME  OP(args)  [where GUARD]  => REPLACEMENT",
                           "example: aten.relu.default(x) => trt.activation(x, type=ActivationType.RELU)"))
    word = str(tok.value)
    if word in _HEADER_WORDS and _in_rule_header(text, tok.start_pos):
        return Diagnostic("RW001", f"`{word}` is out of place: the parts of a rule's header come in a fixed order",
                          span, (f"a rule reads: {_HEADER_ORDER}",
                                 "example: rule fast_relu priority 1 requires trt >= 10.1 \"doc\" aten.relu.default(x) "
                                 "=> ..."))
    if word in reserved_words() and word not in _ITEM_STARTS and "NAME" in expected:
        return Diagnostic("RW001", f"`{word}` is a reserved word and cannot be a name", span,
                          (f"rename it, e.g. `{word}_`" if word != "Tensor" else "rename it",
                           f"reserved words: {' '.join(reserved_words())} and the dtype names"))
    notes: tuple[str, ...] = ()
    if tok.type in ("RULE", "RULESET", "$END"):
        notes = ("the previous rule is incomplete",)
    return Diagnostic("RW001", f"unexpected {_token_text(tok)}; expected {_expected_words(expected)}", span, notes)


_ITEM_STARTS = ("rule", "ruleset", "family", "extern")  # the next item: the one before is incomplete
_HEADER_WORDS = ("over", "priority", "exclusive", "recursive", "requires")
_HEADER_ORDER = 'rule NAME [over FAMILY] [priority N] [exclusive] [recursive "why"] [requires ...] ["doc"] PATTERN'


def _in_rule_header(text: str, offset: int) -> bool:
    """Whether ``offset`` is between a ``rule`` keyword and the rule's pattern (no `(` since the keyword)."""
    starts = [m.start() for m in _RULE_START.finditer(text, 0, offset)]
    return bool(starts) and text[starts[-1]:].lstrip().startswith("rule ") and "(" not in text[starts[-1]:offset]


@functools.cache
def reserved_words() -> tuple[str, ...]:
    """The keywords no name may be (read from the NAME token of the grammar, so the two cannot disagree)."""
    name = next(t for t in _lark().terminals if t.name == "NAME")
    m = re.search(r"\(\?!\(\?:([^)]*)\)", name.pattern.value)
    return tuple(m.group(1).split("|")) if m else ()


def _bare_point(text: str, pos: int) -> tuple[str, str] | None:
    """``(".5", "0.5")`` or ``("5.", "5.0")`` when the unexpected `.` at ``pos`` is a number missing a digit."""
    if text[pos:pos + 1] != "." or text[pos:pos + 2] == "..":
        return None
    after = re.match(r"\d+", text[pos + 1:])
    before = re.search(r"(?<![\w.])\d+$", text[:pos])
    if after and not before:
        return f".{after.group()}", f"0.{after.group()}"
    if before and not after:
        return f"{before.group()}.", f"{before.group()}.0"
    return None


@functools.cache
def _terminal_named(literal: str) -> str:
    """The terminal Lark made for an anonymous string token (its name changes as the grammar grows)."""
    for t in _lark().terminals:
        if t.pattern.type == "str" and t.pattern.value == literal:
            return t.name
    return literal


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


# ---- tree -> AST ----------------------------------------------------------------------------------------------------
def _tok_span(file: str, t: Token) -> A.Span:
    return A.Span(file, t.line or 0, t.column or 0, t.end_line or t.line or 0, t.end_column or t.column or 0)


class _Tagged:
    """A rule-header part (priority, doc, guard, tail) passed up to :meth:`_Builder.rule`."""

    def __init__(self, tag: str, value: Any) -> None:
        self.tag, self.value = tag, value


@v_args(meta=True)
class _Builder(Transformer):
    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    def _span(self, meta: Any) -> A.Span:
        if getattr(meta, "empty", True):
            return A.Span(self.file, 0, 0, 0, 0)
        return A.Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _t(self, tok: Token) -> A.Span:
        return _tok_span(self.file, tok)

    # -- file structure
    def start(self, meta: Any, items: list) -> list:
        return items

    def ruleset_decl(self, meta: Any, c: list) -> A.RulesetDecl:
        name, kind = c
        name_text = str(name)
        if str(kind) not in RULESET_KINDS:
            self.diagnostics.append(Diagnostic(
                "RW005", f"unknown rule-set kind `{kind}`; wants `lowering` or `converter`", self._t(kind),
                ("example: ruleset lower.core : lowering",)))
        return A.RulesetDecl(name_text, str(kind), self._span(meta), self._t(kind))

    def priority(self, meta: Any, c: list) -> _Tagged:
        return _Tagged("priority", c[0])

    def over(self, meta: Any, c: list) -> _Tagged:
        return _Tagged("over", str(c[0]))

    def family_decl(self, meta: Any, c: list) -> A.FamilyDecl:
        names = [x for x in c if isinstance(x, Token)]
        rows = tuple(x for x in c if isinstance(x, A.FamilyRow))
        return A.FamilyDecl(str(names[0]), tuple(str(n) for n in names[1:]), rows, self._span(meta))

    def family_row(self, meta: Any, c: list) -> A.FamilyRow:
        return A.FamilyRow(str(c[0]), tuple(c[1:]), self._span(meta))

    def cell_dotted(self, meta: Any, c: list) -> A.EnumLit:
        return A.EnumLit(tuple(str(c[0]).split(".")), self._t(c[0]))

    def cell_name(self, meta: Any, c: list) -> A.Expr:
        name = str(c[0])
        return A.DtypeLit(name, self._t(c[0])) if name in DTYPES else A.Name(name, self._t(c[0]))

    def extern_decl(self, meta: Any, c: list) -> A.ExternDecl:
        types = [x for x in c[1:-1]]
        return A.ExternDecl(str(c[0]), tuple(types[:-1]), types[-1], _unquote(c[-1]), self._span(meta))

    def ext_type(self, meta: Any, c: list) -> str:
        return str(c[0])

    def ext_list(self, meta: Any, c: list) -> str:
        return f"{c[0]}[]"

    def ext_tensor(self, meta: Any, c: list) -> str:
        return "Tensor"

    def requires(self, meta: Any, c: list) -> _Tagged:
        return _Tagged("requires", tuple(c))

    def requirement(self, meta: Any, c: list) -> A.Requirement:
        if len(c) == 1:
            return A.Requirement(str(c[0]), None, None, self._span(meta))
        v = c[2]
        return A.Requirement(str(c[0]), str(c[1]), _unquote(v) if v.type == "STRING" else str(v), self._span(meta))

    def exclusive(self, meta: Any, c: list) -> _Tagged:
        return _Tagged("exclusive", True)

    def recursive(self, meta: Any, c: list) -> _Tagged:
        return _Tagged("recursive", _unquote(c[0]))

    def doc(self, meta: Any, c: list) -> _Tagged:
        return _Tagged("doc", _unquote(c[0]))

    def guard(self, meta: Any, c: list) -> _Tagged:
        return _Tagged("guard", c[0])

    def domains(self, meta: Any, c: list) -> _Tagged:
        return _Tagged("domains", tuple(c))

    def untested(self, meta: Any, c: list) -> _Tagged:
        return _Tagged("untested", _unquote(c[0]))

    def rule(self, meta: Any, c: list) -> A.RuleDecl:
        parts = {x.tag: x.value for x in c if isinstance(x, _Tagged)}
        name = c[0] if isinstance(c[0], Token) else None  # `rule over FAMILY`: instances are named by row label
        pattern = next(x for x in c[1:] if isinstance(x, A.POp))
        rhs = next(x for x in c[1:] if isinstance(x, A.Rhs))
        return A.RuleDecl(
            name=str(name) if name is not None else "", priority=parts.get("priority", 0),
            doc=parts.get("doc", ""), pattern=pattern, guard=parts.get("guard"), rhs=rhs,
            domains=parts.get("domains", ()), untested_reason=parts.get("untested"), span=self._span(meta),
            name_span=self._t(name) if name is not None else self._span(meta), recursive=parts.get("recursive"),
            over=parts.get("over"), exclusive=parts.get("exclusive", False), requires=parts.get("requires", ()))

    # -- patterns
    def bound_op(self, meta: Any, c: list) -> A.POp:
        name, op = c
        return A.POp(op.op, op.args, str(name), self._span(meta), op.op_span)

    def op_pattern(self, meta: Any, c: list) -> A.POp:
        return A.POp(str(c[0]), tuple(c[1:]), None, self._span(meta), self._t(c[0]))

    def parg_pos(self, meta: Any, c: list) -> A.Arg:
        return A.Arg(None, c[0], self._span(meta))

    def parg_kw(self, meta: Any, c: list) -> A.Arg:
        return A.Arg(str(c[0]), c[1], self._span(meta))

    def p_wild(self, meta: Any, c: list) -> A.PWildcard:
        return A.PWildcard(self._span(meta))

    def p_capture(self, meta: Any, c: list) -> A.Pattern:
        name = str(c[0])
        if name in DTYPES:
            return A.PLiteral(A.DtypeLit(name, self._t(c[0])), self._t(c[0]))
        return A.PCapture(name, None, self._t(c[0]))

    def p_typed(self, meta: Any, c: list) -> A.PCapture:
        return A.PCapture(str(c[0]), c[1], self._span(meta))

    def multi_root(self, meta: Any, c: list) -> A.POp:
        names, op = tuple(c[:-1]), c[-1]
        return A.POp(op.op, op.args, op.binder, op.span, op.op_span, names)

    def out_name(self, meta: Any, c: list) -> str:
        return str(c[0])

    def out_wild(self, meta: Any, c: list) -> None:
        return None

    def e_tuple(self, meta: Any, c: list) -> A.TupleExpr:
        return A.TupleExpr(tuple(c), self._span(meta))

    def p_optional(self, meta: Any, c: list) -> A.Pattern:
        """``OP(p, ...)?`` is ``OP(p, ...) | p``: the wrapper op may be there or not (its first argument is the
        value either way)."""
        op = c[0]
        if not op.args or op.args[0].keyword is not None:
            self.diagnostics.append(Diagnostic("RW108", "an optional op pattern `OP(p, ...)?` needs a first "
                                               "positional argument (the value when the op is absent)",
                                               self._span(meta)))
            return op
        return A.PAlt((op, op.args[0].value), self._span(meta))

    def p_alt(self, meta: Any, c: list) -> A.PAlt:
        return A.PAlt(tuple(c), self._span(meta))

    def p_list(self, meta: Any, c: list) -> A.PList:
        return A.PList(tuple(c), self._span(meta))

    def p_literal(self, meta: Any, c: list) -> A.PLiteral:
        v = c[0]
        if isinstance(v, Token):  # a DOTTED enum literal
            v = A.EnumLit(tuple(str(v).split(".")), self._t(v))
        return A.PLiteral(v, self._span(meta))

    # -- types
    def t_tensor(self, meta: Any, c: list) -> A.TensorAnn:
        dtypes = next((x[1] for x in c if isinstance(x, tuple) and x and x[0] == "dtypes"), None)
        dims = next((x[1] for x in c if isinstance(x, tuple) and x and x[0] == "dims"), None)
        var = next((x[2] for x in c if isinstance(x, tuple) and x and x[0] == "dtypes"), None)
        ranks = next((x[1] for x in c if isinstance(x, tuple) and x and x[0] == "rank"), None)
        return A.TensorAnn(dtypes, dims, self._span(meta), var, ranks)

    def rank_range(self, meta: Any, c: list) -> tuple:
        lo = int(c[0])
        return ("rank", (lo, int(c[1]) if len(c) > 1 else lo))

    def t_scalar(self, meta: Any, c: list) -> A.ScalarAnn:
        return A.ScalarAnn(str(c[0]), self._span(meta))

    def t_scalar_list(self, meta: Any, c: list) -> A.ScalarAnn:
        return A.ScalarAnn(f"{c[0]}[]", self._span(meta))

    def dtype_set(self, meta: Any, c: list) -> tuple:
        names = tuple(str(x) for x in c)
        if len(names) == 1 and DTYPE_VAR.fullmatch(names[0]):  # `Tensor<T>`: a dtype variable, any dtype
            return ("dtypes", None, names[0])
        return ("dtypes", names, None)

    def dtype_var_set(self, meta: Any, c: list) -> tuple:
        return ("dtypes", tuple(str(x) for x in c[1:]), str(c[0]))

    def dims(self, meta: Any, c: list) -> tuple:
        return ("dims", tuple(c))

    def d_wild(self, meta: Any, c: list) -> A.DimWild:
        return A.DimWild(self._span(meta))

    def d_int(self, meta: Any, c: list) -> A.DimInt:
        return A.DimInt(int(c[0]), self._span(meta))

    def d_name(self, meta: Any, c: list) -> A.DimName:
        return A.DimName(str(c[0]), self._span(meta))

    def d_ellipsis(self, meta: Any, c: list) -> A.DimEllipsis:
        return A.DimEllipsis(self._span(meta))

    # -- literals
    def literal(self, meta: Any, c: list) -> A.Literal:
        return c[0]

    def signed_num(self, meta: Any, c: list) -> A.Literal:
        tok = c[-1]
        v: int | float = int(tok) if tok.type == "INT" else float(tok)
        return A.Literal(-v if len(c) == 2 else v, self._span(meta))

    def signed_int(self, meta: Any, c: list) -> int:
        return -int(c[-1]) if len(c) == 2 else int(c[-1])

    def l_string(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(_unquote(c[0]), self._span(meta))

    def l_true(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(True, self._span(meta))

    def l_false(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(False, self._span(meta))

    def l_none(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(None, self._span(meta))

    # -- expressions
    def e_or(self, meta: Any, c: list) -> A.BinOp:
        return A.BinOp("or", c[0], c[1], self._span(meta))

    def e_and(self, meta: Any, c: list) -> A.BinOp:
        return A.BinOp("and", c[0], c[1], self._span(meta))

    def e_not(self, meta: Any, c: list) -> A.UnaryOp:
        return A.UnaryOp("not", c[0], self._span(meta))

    def e_compare(self, meta: Any, c: list) -> A.BinOp:
        return A.BinOp(str(c[1]), c[0], c[2], self._span(meta))

    def e_in(self, meta: Any, c: list) -> A.BinOp:
        return A.BinOp("in", c[0], c[1], self._span(meta))

    def e_not_in(self, meta: Any, c: list) -> A.BinOp:
        return A.BinOp("not in", c[0], c[1], self._span(meta))

    def e_binop(self, meta: Any, c: list) -> A.BinOp:
        return A.BinOp(str(c[1]), c[0], c[2], self._span(meta))

    def e_neg(self, meta: Any, c: list) -> A.Expr:
        operand = c[1]
        # fold "-3" into a literal so negative numbers are literals everywhere (patterns and expressions alike)
        if isinstance(operand, A.Literal) and isinstance(operand.value, (int, float)) \
                and not isinstance(operand.value, bool):
            return A.Literal(-operand.value, self._span(meta))
        return A.UnaryOp("-", operand, self._span(meta))

    def e_index(self, meta: Any, c: list) -> A.Index:
        return A.Index(c[0], c[1], self._span(meta))

    def e_int(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(int(c[0]), self._span(meta))

    def e_float(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(float(c[0]), self._span(meta))

    def e_string(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(_unquote(c[0]), self._span(meta))

    def e_true(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(True, self._span(meta))

    def e_false(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(False, self._span(meta))

    def e_none(self, meta: Any, c: list) -> A.Literal:
        return A.Literal(None, self._span(meta))

    def e_name(self, meta: Any, c: list) -> A.Expr:
        name = str(c[0])
        if name in DTYPES:
            return A.DtypeLit(name, self._t(c[0]))
        return A.Name(name, self._t(c[0]))

    def e_enum(self, meta: Any, c: list) -> A.EnumLit:
        return A.EnumLit(tuple(str(c[0]).split(".")), self._t(c[0]))

    def e_call(self, meta: Any, c: list) -> A.Call:
        return A.Call(str(c[0]), tuple(c[1:]), self._span(meta))

    def e_op(self, meta: Any, c: list) -> A.OpExpr:
        return A.OpExpr(str(c[0]), tuple(c[1:]), self._span(meta), self._t(c[0]))

    def e_const(self, meta: Any, c: list) -> A.Expr:
        args = tuple(a for a in c if isinstance(a, A.Arg))  # c[0] is the `const` keyword token
        span = self._span(meta)
        if len(args) != 2 or any(a.keyword for a in args):
            self.diagnostics.append(Diagnostic(
                "RW205", f"const() takes 2 positional arguments (value, dtype), got {len(args)}", span,
                ("example: const(1.0, dtype(x))",)))
            return A.Literal(None, span)
        return A.ConstExpr(args[0].value, args[1].value, span)

    def e_list(self, meta: Any, c: list) -> A.ListExpr:
        return A.ListExpr(tuple(c), self._span(meta))

    def arg_pos(self, meta: Any, c: list) -> A.Arg:
        return A.Arg(None, c[0], self._span(meta))

    def arg_kw(self, meta: Any, c: list) -> A.Arg:
        return A.Arg(str(c[0]), c[1], self._span(meta))

    def rhs(self, meta: Any, c: list) -> A.Rhs:
        return A.Rhs(tuple(c[:-1]), c[-1], self._span(meta))

    def let(self, meta: Any, c: list) -> A.Let:
        return A.Let(str(c[0]), c[1], self._span(meta))

    # -- domains
    def domain(self, meta: Any, c: list) -> A.Domain:
        return A.Domain(tuple(c), self._span(meta))

    def domain_entry(self, meta: Any, c: list) -> A.DomainEntry:
        name = str(c[0])
        rest = list(c[1:])
        const = bool(rest) and isinstance(rest[0], Token) and rest[0].type == "CONST"
        if const:
            rest = rest[1:]
        tensor = rest[-1] if rest and isinstance(rest[-1], tuple) and rest[-1][0] == "tensor" else None
        alts = rest[:-1] if tensor is not None else rest
        span = self._span(meta)
        if tensor is None:
            if const:
                self.diagnostics.append(Diagnostic("RW403", f"const domain entry `{name}` needs dims", span,
                                                   ("example: w: const f32 [4, 3]",)))
            return A.DomainValues(name, tuple(alts), span)
        dtypes = []
        for a in alts:
            if isinstance(a, A.DtypeLit):
                dtypes.append(a.name)
            else:
                dtypes.append(str(getattr(a, "value", getattr(a, "name", a))))
        _, dims, value_range, or_none = tensor
        return A.DomainTensor(name, const, tuple(dtypes), dims, value_range, or_none, span)

    def dalt_name(self, meta: Any, c: list) -> A.Expr:
        name = str(c[0])
        return A.DtypeLit(name, self._t(c[0])) if name in DTYPES else A.Name(name, self._t(c[0]))

    def dalt_enum(self, meta: Any, c: list) -> A.EnumLit:
        return A.EnumLit(tuple(str(c[0]).split(".")), self._t(c[0]))

    def dalt_list(self, meta: Any, c: list) -> A.ListExpr:
        return A.ListExpr(tuple(c), self._span(meta))

    def tensor_part(self, meta: Any, c: list) -> tuple:
        dims = c[0]
        value_range = next((x[1] for x in c[1:] if isinstance(x, tuple) and x[0] == "range"), None)
        or_none = any(isinstance(x, tuple) and x[0] == "none" for x in c[1:])
        return ("tensor", dims, value_range, or_none)

    def or_none(self, meta: Any, c: list) -> tuple:
        return ("none", True)

    def ddims(self, meta: Any, c: list) -> tuple:
        return tuple(c)

    def dd_int(self, meta: Any, c: list) -> A.DimInt:
        return A.DimInt(int(c[0]), self._span(meta))

    def dd_range(self, meta: Any, c: list) -> A.DRange:
        return A.DRange(int(c[0]), int(c[1]), None, self._span(meta))

    def dd_named_range(self, meta: Any, c: list) -> A.DRange:
        return A.DRange(int(c[1]), int(c[2]), str(c[0]), self._span(meta))

    def dd_name(self, meta: Any, c: list) -> A.DimName:
        return A.DimName(str(c[0]), self._span(meta))

    def drange(self, meta: Any, c: list) -> tuple:
        # a family parameter may stand for a bound (`in lo..hi` with lo, hi from the row): kept as its name
        return ("range", tuple(x if isinstance(x, str) else x.value for x in c))

    def range_param(self, meta: Any, c: list) -> str:
        return str(c[0])


def _unquote(tok: Token | str) -> str:
    # one pass, so an escaped backslash before `n` stays a backslash and an `n`
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), str(tok)[1:-1])


