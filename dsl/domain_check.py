"""Static checks of a test domain against the pattern it draws examples for (the checker calls them per entry):

* RW405: a tensor entry draws dtypes, a rank or a dim the capture's annotation excludes, or a graph input where the
  guard needs a constant (``is_const(w)``): those examples can never match;
* RW406: a value entry offers a value of the wrong type for its capture (``1.5`` for an ``int``, ``2`` for an
  ``int[]``, a member of another enum, ``none`` for a value that is never none, ``| none`` for a tensor that is
  never none).

What only drawing can show (values the guard always rejects) is RW407, found at check time
(:mod:`trt_passes.dsl.examples`).
"""

from __future__ import annotations

from trt_passes.dsl import ast as A
from trt_passes.dsl.diagnostics import Diagnostic
from trt_passes.dsl.exprtypes import ExprTyper, Ty, accepts, describe
from trt_passes.ir.ops import OpRegistry


def domain_fits_pattern(entry: A.DomainTensor, ann: A.TypeAnn | None, guard: A.Expr | None,
                        optional: bool) -> list[Diagnostic]:
    """RW405 (and RW406 for ``| none``) for tensor entry ``entry`` of a capture annotated ``ann`` (``optional``:
    it matches a ``Tensor?`` argument)."""
    out: list[Diagnostic] = []

    def bad(message: str, *notes: str, span: A.Span = entry.span) -> None:
        out.append(Diagnostic("RW405", message, span, notes))

    if entry.or_none and (not optional or ann is not None):
        why = "its annotation makes it a tensor" if optional else "it matches a `Tensor` argument"
        out.append(Diagnostic("RW406", f"the domain may give `{entry.name}` none, but {why}, never none",
                              entry.span, ("drop `| none`",)))

    if _needs_constant(entry.name, guard) and not entry.const:
        bad(f"the guard needs `is_const({entry.name})`, but the domain draws `{entry.name}` as a graph input",
            f"write `{entry.name}: const {'|'.join(entry.dtypes)} [...]`")
    if not isinstance(ann, A.TensorAnn):
        return out
    if ann.dtypes is not None:
        excluded = [d for d in entry.dtypes if d not in ann.dtypes]
        if excluded:
            bad(f"the domain draws `{entry.name}` as {', '.join(excluded)}, which its type "
                f"`Tensor<{'|'.join(ann.dtypes)}>` excludes", f"draw only {'|'.join(ann.dtypes)}")
    rank = len(entry.dims)
    wanted = _ranks(ann)
    if wanted is not None and not (wanted[0] <= rank and (wanted[1] is None or rank <= wanted[1])):
        lo, hi = wanted
        want = f"rank {lo}" if lo == hi else f"rank {lo} or more" if hi is None else f"rank {lo} to {hi}"
        bad(f"the domain draws `{entry.name}` with rank {rank}, its type wants {want}",
            f"the pattern's type: `{_show_ann(ann)}`")
        return out
    for i, want_dim in _fixed_dims(ann, rank):
        have = entry.dims[i]
        if isinstance(have, A.DimInt) and have.value != want_dim:
            bad(f"the domain draws dim {i} of `{entry.name}` as {have.value}, its type wants {want_dim}",
                span=have.span)
        elif isinstance(have, A.DRange) and have.lo != have.hi and have.lo <= want_dim <= have.hi:
            bad(f"the domain draws dim {i} of `{entry.name}` from {have.lo}..{have.hi}, its type wants "
                f"{want_dim} (other sizes never match)", f"write {want_dim}", span=have.span)
        elif isinstance(have, A.DRange) and not have.lo <= want_dim <= have.hi:
            bad(f"the domain draws dim {i} of `{entry.name}` from {have.lo}..{have.hi}, its type wants {want_dim}",
                span=have.span)
    return out


def domain_values_fit(entry: A.DomainValues, want: Ty, ops: OpRegistry, what: str) -> list[Diagnostic]:
    out = []
    typer = ExprTyper({}, ops, {})
    for v in entry.values:
        have = typer.infer(v)
        if not accepts(want, have):
            out.append(Diagnostic("RW406", f"the domain gives `{entry.name}` {describe(have)}, but `{entry.name}` "
                                  f"is {describe(want)} ({what})", v.span,
                                  ("a drawn example holds values a model's graph could hold there",)))
    return out


def _needs_constant(name: str, guard: A.Expr | None) -> bool:
    return any(isinstance(c, A.Call) and c.func == "is_const" and len(c.args) == 1
               and isinstance(c.args[0].value, A.Name) and c.args[0].value.name == name
               for c in A.guard_conjuncts(guard))


def _ranks(ann: A.TensorAnn) -> tuple[int, int | None] | None:
    if ann.rank_range is not None:
        return ann.rank_range
    if ann.dims is None:
        return None
    n = len(ann.dims)
    if any(isinstance(d, A.DimEllipsis) for d in ann.dims):
        return n - 1, None
    return n, n


def _fixed_dims(ann: A.TensorAnn, rank: int) -> list[tuple[int, int]]:
    """(index in the drawn dims, the size the annotation fixes) for each int dim of the annotation."""
    if ann.dims is None:
        return []
    ell = next((i for i, d in enumerate(ann.dims) if isinstance(d, A.DimEllipsis)), None)
    out = []
    for i, d in enumerate(ann.dims):
        if isinstance(d, A.DimInt):
            out.append((i if ell is None or i < ell else rank - (len(ann.dims) - i), d.value))
    return out


def _show_ann(ann: A.TensorAnn) -> str:
    dtypes = f"<{'|'.join(ann.dtypes)}>" if ann.dtypes else ""
    if ann.rank_range is not None:
        lo, hi = ann.rank_range
        return f"Tensor{dtypes}{{{lo}..{hi}}}" if lo != hi else f"Tensor{dtypes}{{{lo}}}"
    dims = ", ".join("_" if isinstance(d, A.DimWild) else "..." if isinstance(d, A.DimEllipsis)
                     else str(getattr(d, "value", getattr(d, "name", "?"))) for d in ann.dims or ())
    return f"Tensor{dtypes}[{dims}]"
