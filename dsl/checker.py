"""Static checks of one parsed rule against the op catalogues (an injected :class:`OpRegistry`).

Every problem becomes a :class:`Diagnostic`; the checker never stops at the first one, so a load reports all of them.
It also records what each capture is bound to (a tensor, a list of tensors, or a plain value), which the domain checks
and the right-side checks need.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from trt_passes.dsl import ast as A
from trt_passes.dsl.builtins import BUILTINS
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.domain_check import domain_fits_pattern, domain_values_fit
from trt_passes.dsl.evaluate import show_expr
from trt_passes.dsl.exprtypes import ANY, TENSOR, ExprTyper, Ty, annotated_type, list_of, optional, schema_type
from trt_passes.dsl.parser import DTYPES
from trt_passes.dsl.signature import bind_args
from trt_passes.ir.ops import ArgSpec, OpRegistry, OpSchema

SCALAR_TYPES = frozenset({"int", "float", "bool", "int[]", "float[]", "bool[]"})
#: what `requires` may name: a version compared with `>= > <= < == !=`, or a flag
REQUIREMENTS = {"trt": "version", "static_shapes": "flag", "dynamic_shapes": "flag"}


@dataclass
class Capture:
    """What the pattern binds a name to: ``tensor`` (incl. an optional tensor), ``tensors`` (a ``Tensor[]``),
    ``node`` (``name @ OP(...)``, a tensor too) or ``value`` (a non-tensor argument); ``type`` is the schema type."""

    kind: str
    type: str
    ann: A.TypeAnn | None
    span: A.Span

    @property
    def is_tensor(self) -> bool:
        return self.kind in ("tensor", "node")

    def static_type(self, enums: dict) -> Ty:
        """The type guards and right sides see for this capture (:mod:`trt_passes.dsl.exprtypes`)."""
        if self.ann is not None:
            return annotated_type(self.ann)
        if self.kind == "node":
            return TENSOR
        if self.kind == "tensors":
            return list_of(TENSOR)
        if self.kind in ("tensor", "value"):
            t = schema_type(self.type, enums)
            return optional(TENSOR) if self.kind == "tensor" and t.kind == "opt" else t
        return ANY


class RuleChecker:
    def __init__(self, decl: A.RuleDecl, kind: str, ops: OpRegistry,
                 externs: dict[str, A.ExternDecl] | None = None) -> None:
        self.decl, self.kind, self.ops = decl, kind, ops
        self.externs = externs or {}
        self.enums = ops.enums()
        self.captures: dict[str, Capture] = {}
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, span: A.Span, *notes: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, tuple(notes)))

    def check(self) -> list[Diagnostic]:
        d = self.decl
        root_dialect = d.pattern.op.split(".", 1)[0]
        if root_dialect in self.ops.dialects and root_dialect != "aten":  # library ops (the fallback) may be roots
            self.error("RW302", f"the root of {self.kind} rule `{d.name}` is `{d.pattern.op}`; rules rewrite ATen ops",
                       d.pattern.op_span, "lowering rules rewrite ATen to ATen, converter rules ATen to trt.*; "
                       "a custom op (mylib.scale.default) may be a root too")
        outs = d.pattern.outputs
        if outs is not None:
            schema = self.ops.schema(d.pattern.op) if self.ops.has(d.pattern.op) else None
            # an op returning Tensor[] has one output per list element: the count is checked per node when matching
            variadic = schema is not None and any(r.endswith("[]") for r in schema.returns)
            if schema is not None and not variadic and len(outs) > len(schema.returns):
                self.error("RW209", f"the pattern names {len(outs)} outputs; {d.pattern.op} has "
                           f"{len(schema.returns)}", d.pattern.span, f"signature: {schema.signature()}")
            if all(name is None for name in outs):
                self.error("RW209", "a multi-output pattern must name at least one output to replace",
                           d.pattern.span)
            for name in outs:
                if name is not None:
                    self.capture(name, Capture("node", "Tensor", None, d.pattern.span))
        self.op_pattern(d.pattern)
        names = set(self.captures)
        if d.guard is not None:
            self.expr(d.guard, names, in_rhs=False)
        self.rhs(d.rhs)
        for dom in d.domains:
            self.domain(dom)
        for req in d.requires:
            self.requirement(req)
        typer = ExprTyper({n: c.static_type(self.enums) for n, c in self.captures.items()}, self.ops, self.externs)
        typer.guard(d.guard)
        typer.rhs(d.rhs)
        self.diagnostics.extend(typer.diagnostics)
        if not d.domains and d.untested_reason is None:
            self.error("RW404", f"rule `{d.name}` has neither a `domain {{...}}` nor `untested \"reason\"`",
                       d.name_span, 'add a test domain, or say why it is untested: untested "covered by model tests"')
        return self.diagnostics

    def requirement(self, req: A.Requirement) -> None:
        if req.name not in REQUIREMENTS:
            self.error("RW111", f"unknown requirement `{req.name}`", req.span,
                       f"requirements: {', '.join(f'{k} ({v})' for k, v in REQUIREMENTS.items())}")
        elif (req.op is None) != (REQUIREMENTS[req.name] == "flag"):
            want = "a flag (no comparison)" if REQUIREMENTS[req.name] == "flag" else "a version: trt >= 10.1"
            self.error("RW111", f"requirement `{req}` should be {want}", req.span)
        elif req.version is not None and not re.fullmatch(r"\d+(\.\d+)*", req.version):
            self.error("RW111", f"`{req.version}` is not a version (digits and dots)", req.span)

    # ---- ops -------------------------------------------------------------------------------------------------
    def schema(self, op: str, span: A.Span) -> OpSchema | None:
        parts = op.split(".")
        if parts[0] not in self.ops.dialects and not self.ops.has(op):
            dialects = f"dialects: {', '.join(sorted(self.ops.dialects))}"
            if self.ops.fallback is None:
                self.error("RW101", f"unknown op `{op}`: no dialect `{parts[0]}`", span, dialects)
            else:
                self.error("RW101", f"unknown op `{op}`: no dialect `{parts[0]}`, and no library loaded in this "
                           f"process registers it with torch", span, dialects,
                           "a custom op can be a root once the module registering it is imported (before the "
                           "rules are loaded)")
            return None
        if self.ops.has(op):
            return self.ops.schema(op)
        dialect = self.ops.dialects[parts[0]]
        overloads = getattr(dialect, "overloads", None)
        if parts[0] == "aten" and len(parts) == 2 and overloads is not None and overloads(parts[1]):
            listed = overloads(parts[1])
            shown = ", ".join(listed[:12]) + (", ..." if len(listed) > 12 else "")
            self.error("RW102", f"`{op}` needs an overload", span, f"overloads: {shown}")
            return None
        suggestions = self.ops.suggest(op)
        notes = [f"did you mean {', '.join(f'`{s}`' for s in suggestions)}?"] if suggestions else []
        self.error("RW101", f"unknown op `{op}`", span, *notes)
        return None

    def bind(self, schema: OpSchema, args: tuple[A.Arg, ...], span: A.Span,
             in_pattern: bool) -> dict[str, A.Arg]:
        bound, problems = bind_args(schema, args, span, in_pattern=in_pattern)
        for p in problems:
            self.error(p.code, p.message, p.span, *p.notes)
        return bound

    # ---- patterns --------------------------------------------------------------------------------------------
    def op_pattern(self, p: A.POp) -> None:
        if p.binder is not None:
            self.capture(p.binder, Capture("node", "Tensor", None, p.span))
        schema = self.schema(p.op, p.op_span)
        if schema is None:
            for a in p.args:  # still learn the captures, so later uses are not reported as unbound
                self.sub_pattern(a.value, None)
            return
        bound = self.bind(schema, p.args, p.span, in_pattern=True)
        for a in p.args:
            spec = None
            if a.keyword is not None:
                spec = schema.arg(a.keyword)
            else:
                spec = next((schema.arg(n) for n, b in bound.items() if b is a), None)
            self.sub_pattern(a.value, spec)

    def sub_pattern(self, p: A.Pattern, spec: ArgSpec | None, elem_of: ArgSpec | None = None) -> None:
        """Check pattern ``p`` against argument ``spec`` (``elem_of``: the list argument ``p`` is an item of)."""
        what = f"argument `{spec.name}` ({spec.type})" if spec is not None else "this argument"
        tensor = spec is not None and spec.is_tensor and not spec.is_tensor_list
        if isinstance(p, A.PWildcard):
            return
        if isinstance(p, A.PAlt):
            before = set(self.captures)
            for alt in p.items:
                self.sub_pattern(alt, spec, elem_of)
            # a name bound before the alternatives is a use (an equality), not a new binding
            bound_by = [_names(alt) - before for alt in p.items]
            if any(b != bound_by[0] for b in bound_by[1:]):
                first, other = bound_by[0], next(b for b in bound_by[1:] if b != bound_by[0])
                diff = sorted(first ^ other)
                self.error("RW108", f"alternatives bind different captures ({', '.join(diff)})", p.span,
                           "every alternative of `p | q` must bind the same names, so later uses are defined")
            return
        if isinstance(p, A.POp):
            if spec is not None and not tensor:
                self.error("RW207", f"an op pattern cannot match {what}", p.span, "op patterns match tensor inputs")
            self.op_pattern(p)
            return
        if isinstance(p, A.PList):
            if spec is not None and (tensor or "[]" not in spec.type):
                self.error("RW207", f"a list cannot match {what}", p.span)
            item_spec = None
            if spec is not None and spec.is_tensor_list:
                item_spec = ArgSpec(spec.name, spec.type.replace("[]", ""))
            elif spec is not None:
                item_spec = ArgSpec(spec.name, spec.type.replace("[]", "").rstrip("?"))
            for item in p.items:
                self.sub_pattern(item, item_spec if spec is not None else None, elem_of=spec)
            return
        if isinstance(p, A.PLiteral):
            lit = p.value
            if isinstance(lit, A.EnumLit):
                self.enum(lit)
            number = isinstance(lit, A.Literal) and isinstance(lit.value, (int, float)) \
                and not isinstance(lit.value, bool)
            if tensor and not (isinstance(lit, A.Literal) and lit.value is None) and not number:
                self.error("RW207", f"a literal cannot match {what}; capture it and test it in a `where` guard",
                           p.span)
            return
        assert isinstance(p, A.PCapture)
        kind = "value"
        if spec is not None and spec.is_tensor:
            kind = "tensors" if spec.is_tensor_list else "tensor"
        elif spec is None:
            kind = "unknown"
        if p.type is not None:
            self.annotation(p.name, p.type, spec, what)
        self.capture(p.name, Capture(kind, spec.type if spec else "?", p.type, p.span))

    def annotation(self, name: str, ann: A.TypeAnn, spec: ArgSpec | None, what: str) -> None:
        if isinstance(ann, A.TensorAnn):
            for dt in ann.dtypes or ():
                if dt not in DTYPES:
                    close = difflib.get_close_matches(dt, sorted(DTYPES), n=1)
                    self.error("RW206", f"unknown dtype `{dt}` in the type of `{name}`", ann.span,
                               *( [f"did you mean `{close[0]}`?"] if close else []),
                               f"dtypes: {' '.join(sorted(DTYPES))}")
            for d in ann.dims or ():
                if isinstance(d, A.DimName) and d.name in DTYPES:
                    self.error("RW206", f"`{d.name}` in the dims of `{name}` is a dtype", d.span,
                               f"dtypes go in angle brackets: `{name}: Tensor<{d.name}>[...]`")
            if ann.rank_range is not None and ann.rank_range[0] > ann.rank_range[1]:
                self.error("RW206", f"empty rank range {{{ann.rank_range[0]}..{ann.rank_range[1]}}} for `{name}`",
                           ann.span)
            if ann.dims is not None and sum(isinstance(d, A.DimEllipsis) for d in ann.dims) > 1:
                self.error("RW206", f"the type of `{name}` has more than one `...`", ann.span)
            if spec is not None and not (spec.is_tensor and not spec.is_tensor_list):
                self.error("RW206", f"`{name}: Tensor` annotates {what}, which is not a tensor", ann.span)
        else:
            if ann.name not in SCALAR_TYPES:
                self.error("RW206", f"unknown type `{ann.name}` for `{name}`", ann.span,
                           "types: Tensor<...>[...], int, float, bool, int[]")
            elif spec is not None and spec.is_tensor:
                self.error("RW206", f"`{name}: {ann.name}` annotates {what}, which is a tensor", ann.span,
                           "write `Tensor` or `Tensor<f32|f16>[dims]`")

    def capture(self, name: str, cap: Capture) -> None:
        prev = self.captures.get(name)
        if prev is None:
            self.captures[name] = cap
            return
        if "unknown" in (prev.kind, cap.kind):
            return
        if prev.is_tensor != cap.is_tensor or (not prev.is_tensor and prev.kind != cap.kind):
            self.error("RW107", f"`{name}` is bound to a {_describe(prev)} and to a {_describe(cap)}", cap.span,
                       f"first bound at {prev.span.line}:{prev.span.col}")
        elif prev.ann is not None and cap.ann is not None and prev.ann != cap.ann:
            self.error("RW107", f"`{name}` has two different type annotations", cap.span,
                       f"first annotated at {prev.span.line}:{prev.span.col}; annotate one occurrence only")
        elif cap.kind == "node" and prev.kind == "node":
            self.error("RW107", f"`{name} @` names two different op patterns", cap.span)

    # ---- expressions -----------------------------------------------------------------------------------------
    def enum(self, lit: A.EnumLit) -> None:
        if len(lit.parts) != 2 or lit.parts[0] not in self.enums:
            close = difflib.get_close_matches(lit.parts[0], sorted(self.enums), n=1)
            self.error("RW103", f"unknown enum `{lit.parts[0]}` in `{lit.text}`" if len(lit.parts) == 2 else
                       f"`{lit.text}` is neither an enum literal (Enum.MEMBER) nor followed by `(`", lit.span,
                       *([f"did you mean `{close[0]}`?"] if close and len(lit.parts) == 2 else []),
                       f"enums: {', '.join(sorted(self.enums)) or '(none)'}")
            return
        members = list(self.enums[lit.parts[0]].__members__)
        if lit.parts[1] not in members:
            close = difflib.get_close_matches(lit.parts[1], members, n=1)
            self.error("RW103", f"`{lit.parts[0]}` has no member `{lit.parts[1]}`", lit.span,
                       *([f"did you mean `{lit.parts[0]}.{close[0]}`?"] if close else []),
                       f"members: {' '.join(members)}")

    def expr(self, e: A.Expr, names: set[str], in_rhs: bool) -> None:
        if isinstance(e, A.Name):
            if e.name not in names:
                close = difflib.get_close_matches(e.name, sorted(names), n=1)
                where = "right side" if in_rhs else "guard"
                self.error("RW105", f"`{e.name}` in the {where} is not bound by the pattern", e.span,
                           *([f"did you mean `{close[0]}`?"] if close else []))
        elif isinstance(e, A.EnumLit):
            self.enum(e)
        elif isinstance(e, A.ListExpr):
            for i in e.items:
                self.expr(i, names, in_rhs)
        elif isinstance(e, A.BinOp):
            self.expr(e.left, names, in_rhs)
            self.expr(e.right, names, in_rhs)
        elif isinstance(e, A.UnaryOp):
            self.expr(e.operand, names, in_rhs)
        elif isinstance(e, A.Index):
            self.expr(e.value, names, in_rhs)
            self.expr(e.index, names, in_rhs)
        elif isinstance(e, A.Call):
            self.call(e, names, in_rhs)
        elif isinstance(e, A.OpExpr):
            self.op_expr(e, names, in_rhs)
        elif isinstance(e, A.TupleExpr):
            self.error("RW209", "a tuple `(a, b)` is only the whole right side of a multi-output rule", e.span)
        elif isinstance(e, A.ConstExpr):
            if not in_rhs:
                self.error("RW208", "const() creates a node; it is only allowed on the right side", e.span)
            self.expr(e.value, names, in_rhs)
            self.expr(e.dtype, names, in_rhs)

    def call(self, e: A.Call, names: set[str], in_rhs: bool) -> None:
        b = BUILTINS.get(e.func)
        ext = self.externs.get(e.func)
        if b is None and ext is not None:
            if len(e.args) != len(ext.params) or any(a.keyword for a in e.args):
                self.error("RW205", f"extern `{e.func}` takes {len(ext.params)} positional argument"
                           f"{'s' if len(ext.params) != 1 else ''}, got {len(e.args)}", e.span,
                           f"declared at {ext.span}: {e.func}({', '.join(ext.params)}) -> {ext.returns}")
            for a in e.args:
                self.expr(a.value, names, in_rhs)
            return
        if b is None:
            close = difflib.get_close_matches(e.func, sorted(BUILTINS), n=1)
            self.error("RW104", f"unknown builtin `{e.func}`", e.span,
                       *([f"did you mean `{close[0]}`?"] if close else []),
                       f"builtins: {', '.join(sorted(BUILTINS))}")
        else:
            if any(a.keyword for a in e.args):
                self.error("RW205", f"`{e.func}` takes positional arguments only", e.span, b.doc)
            elif not b.min_args <= len(e.args) <= b.max_args:
                want = str(b.min_args) if b.min_args == b.max_args else f"{b.min_args} to {b.max_args}"
                self.error("RW205", f"`{e.func}` takes {want} argument{'s' if want != '1' else ''}, "
                           f"got {len(e.args)}", e.span, b.doc)
        for a in e.args:
            self.expr(a.value, names, in_rhs)

    def op_expr(self, e: A.OpExpr, names: set[str], in_rhs: bool) -> None:
        if not in_rhs:
            self.error("RW208", f"`{e.op}(...)` creates a node; op constructors are only allowed on the right side",
                       e.span)
        if in_rhs:
            if self.kind == "lowering" and not e.op.startswith("aten."):
                self.error("RW301", f"lowering rule `{self.decl.name}` emits `{e.op}`; lowering rules emit ATen ops",
                           e.op_span, "TensorRT ops belong in a converter rule set")
            if self.kind == "converter" and e.op.startswith("aten."):
                self.error("RW303", f"converter rule `{self.decl.name}` emits `{e.op}`; converter rules emit trt.*",
                           e.op_span, "decompose ATen in a lowering rule set first")
        schema = self.schema(e.op, e.op_span)
        if schema is not None:
            self.bind(schema, e.args, e.span, in_pattern=False)
        for a in e.args:
            self.expr(a.value, names, in_rhs)

    # ---- right side --------------------------------------------------------------------------------------------
    def rhs(self, rhs: A.Rhs) -> None:
        names = set(self.captures)
        tensors = {n for n, c in self.captures.items() if c.is_tensor}
        for let in rhs.lets:
            self.expr(let.value, names, in_rhs=True)
            if let.name in names:
                what = "capture" if let.name in self.captures else "let"
                self.error("RW107", f"`let {let.name}` shadows the {what} `{let.name}`", let.span,
                           "pick a new name")
            names.add(let.name)
            if _tensorish(let.value, tensors):
                tensors.add(let.name)
        outs = self.decl.pattern.outputs
        result = rhs.result
        if isinstance(result, A.TupleExpr) or outs is not None:
            n = len(result.items) if isinstance(result, A.TupleExpr) else 1
            if outs is None or n != len(outs):
                want = f"{len(outs)} values, one per output of the pattern" if outs is not None else \
                    "one value (a tuple replaces several outputs of a `(a, b) = OP(...)` pattern)"
                self.error("RW209", f"the right side gives {n} value{'s' if n != 1 else ''}; the rule wants {want}",
                           result.span)
                return
            for item in result.items:  # type: ignore[union-attr]
                self.expr(item, names, in_rhs=True)
                if not _tensorish(item, tensors) and not isinstance(item, A.Index) and not self.diagnostics:
                    self.error("RW208", f"`{_short(item)}` does not produce a tensor", item.span)
            return
        self.expr(rhs.result, names, in_rhs=True)
        if not _tensorish(rhs.result, tensors) and not self.diagnostics:
            self.error("RW208", f"the right side `{_short(rhs.result)}` does not produce a tensor", rhs.result.span,
                       "end the right side with an op constructor, const(...), or a tensor capture")

    # ---- domains ------------------------------------------------------------------------------------------------
    def domain(self, dom: A.Domain) -> None:
        seen: set[str] = set()
        dims: set[str] = set()
        for entry in dom.entries:
            cap = self.captures.get(entry.name)
            if entry.name in seen:
                self.error("RW401", f"domain gives `{entry.name}` twice", entry.span)
            seen.add(entry.name)
            if cap is None:
                close = difflib.get_close_matches(entry.name, sorted(self.captures), n=1)
                self.error("RW401", f"domain names `{entry.name}`, which the pattern does not bind", entry.span,
                           *([f"did you mean `{close[0]}`?"] if close else []))
                continue
            if cap.kind == "unknown":
                continue  # the op it is an argument of is unknown (reported): nothing to compare with
            if isinstance(entry, A.DomainTensor):
                if not cap.is_tensor:
                    self.error("RW403", f"`{entry.name}` is a {_describe(cap)}, the domain gives it a tensor type",
                               entry.span, f"write `{entry.name}: v1 | v2`")
                self.tensor_entry(entry, dims)
                if cap.is_tensor:
                    self.diagnostics.extend(domain_fits_pattern(entry, cap.ann, self.decl.guard,
                                                                optional=cap.type.endswith("?")))
            else:
                if cap.is_tensor:
                    self.error("RW403", f"`{entry.name}` is a tensor, the domain gives it values", entry.span,
                               f"write `{entry.name}: f32 [dims]`")
                for v in entry.values:
                    self.expr(v, set(), in_rhs=False)
                if not cap.is_tensor:
                    self.diagnostics.extend(domain_values_fit(entry, cap.static_type(self.enums), self.ops,
                                                              f"it matches a `{cap.type}` argument"))
        for name, cap in self.captures.items():
            if cap.kind in ("tensor", "value") and name not in seen:
                self.error("RW402", f"domain does not give `{name}` (a {_describe(cap)})", dom.span,
                           f"add e.g. `{name}: f32 [2, 3]`" if cap.is_tensor else f"add e.g. `{name}: 1 | 2`")

    def tensor_entry(self, entry: A.DomainTensor, dims: set[str]) -> None:
        for dt in entry.dtypes:
            if dt not in DTYPES:
                self.error("RW403", f"unknown dtype `{dt}` for `{entry.name}`", entry.span,
                           f"dtypes: {' '.join(sorted(DTYPES))}")
        for d in entry.dims:
            if isinstance(d, A.DRange):
                if d.lo > d.hi:
                    self.error("RW403", f"empty dim range {d.lo}..{d.hi}", d.span)
                if d.name is not None:
                    if d.name in dims:
                        self.error("RW403", f"dim `{d.name}` defined twice in one domain", d.span,
                                   f"refer to it by name: `{d.name}`")
                    dims.add(d.name)
            elif isinstance(d, A.DimName) and d.name not in dims:
                self.error("RW403", f"dim `{d.name}` is used before it is defined", d.span,
                           f"define it once as `{d.name}=LO..HI`, earlier in the block")
        names = [b for b in entry.value_range or () if isinstance(b, str)]
        if names:
            self.error("RW403", f"value range bound `{names[0]}` is not a number", entry.span,
                       "a name there must be a parameter of the family the rule is over")
        elif entry.value_range is not None and entry.value_range[0] > entry.value_range[1]:
            self.error("RW403", f"empty value range {entry.value_range[0]}..{entry.value_range[1]}", entry.span)


def _names(p: A.Pattern) -> set[str]:
    """Capture names a pattern binds."""
    if isinstance(p, A.PCapture):
        return {p.name}
    if isinstance(p, A.POp):
        out = {p.binder} if p.binder else set()
        return out.union(*[_names(a.value) for a in p.args])
    if isinstance(p, (A.PList, A.PAlt)):
        return set().union(*[_names(i) for i in p.items])
    return set()


def _describe(cap: Capture) -> str:
    return {"tensor": "tensor", "node": "tensor", "tensors": "list of tensors"}.get(cap.kind, f"`{cap.type}` value")


def _tensorish(e: A.Expr, tensors: set[str]) -> bool:
    if isinstance(e, (A.OpExpr, A.ConstExpr)):
        return True
    if isinstance(e, A.Index):  # `t[1]`: output 1 of a node the right side creates
        return _tensorish(e.value, tensors)
    return isinstance(e, A.Name) and e.name in tensors


def _short(e: A.Expr) -> str:
    text = show_expr(e)
    return text if len(text) < 40 else text[:37] + "..."
