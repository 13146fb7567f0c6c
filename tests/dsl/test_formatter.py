"""``format_rules``: printing then parsing gives the same rules back (shipped files, the corpus, and random rule
texts from Hypothesis), formatting is idempotent, and comments survive."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trt_passes.spec
from trt_passes.dsl import ast as A
from trt_passes.dsl import format_rules
from trt_passes.dsl.formatter import format_item
from trt_passes.dsl.parser import parse

S = A.NO_SPAN


def _parses(path: Path) -> bool:
    from trt_passes.dsl import RuleLoadError

    try:
        parse(path.read_text())
    except RuleLoadError:
        return False
    return True


# Every shipped file and every corpus file that parses (the corpus also holds deliberate syntax errors, which have
# nothing to format; test_corpus.py checks those are reported).
FILES = [p for p in sorted(Path(trt_passes.spec.__file__).parent.rglob("*.rw")) +
         sorted((Path(__file__).parent / "corpus").rglob("*.rw")) if _parses(p)]


def round_trips(text: str) -> str:
    out = format_rules(text)
    assert parse(out).items == parse(text).items, out
    assert format_rules(out) == out, "formatting is not idempotent"
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_rule_file_round_trips(path: Path) -> None:
    round_trips(path.read_text())


def test_an_infinite_number_prints_as_a_literal_that_reads_back() -> None:
    out = round_trips('ruleset r : lowering\nrule a aten.relu.default(x) where 1e999 > 0.0 and -1e999 < 0.0 => x\n'
                      '    domain { x: f32 [2] }\n')
    assert "1e999" in out and "inf" not in out


def test_comments_are_kept_before_their_item() -> None:
    out = round_trips("# header\nruleset r : lowering\n# about a\nrule a aten.relu.default(x)  # inline\n"
                      '  => x untested "t"\n# trailing\n')
    assert out.splitlines() == ["# header", "ruleset r : lowering", "", "# about a", "# inline", "rule a",
                                "    aten.relu.default(x)", "    => x", '    untested "t"', "", "# trailing"]


# ---- random rules --------------------------------------------------------------------------------------------------
names = st.sampled_from(["x", "y", "z", "a1", "w_2"])
ops = st.sampled_from(["aten.add.Tensor", "aten.relu.default", "trt.activation", "aten.cat.default"])
strings = st.text(alphabet='ab "\\\n', max_size=5)
numbers = st.one_of(st.integers(-5, 10**6), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
literal = st.one_of(numbers.map(lambda v: A.Literal(v, S)), strings.map(lambda v: A.Literal(v, S)),
                    st.sampled_from([True, False, None]).map(lambda v: A.Literal(v, S)),
                    st.sampled_from(["f16", "i64"]).map(lambda d: A.DtypeLit(d, S)),
                    st.just(A.EnumLit(("ActivationType", "RELU"), S)))
dims = st.lists(st.one_of(st.just(A.DimWild(S)), st.integers(0, 9).map(lambda i: A.DimInt(i, S)),
                          st.sampled_from(["N", "K"]).map(lambda n: A.DimName(n, S))), max_size=3)
tensor_ann = st.builds(lambda dt, d, var, rr: A.TensorAnn(dt, tuple(d) if d is not None else None, S, var,
                                                          rr if d is None else None),
                       st.one_of(st.none(), st.lists(st.sampled_from(["f32", "f16", "bf16"]), min_size=1, max_size=3)
                                 .map(tuple)), st.one_of(st.none(), dims), st.sampled_from([None, "T"]),
                       st.sampled_from([None, (2, 2), (1, 4)]))
annot = st.one_of(tensor_ann, st.sampled_from(["int", "float", "int[]"]).map(lambda n: A.ScalarAnn(n, S)))


def _args(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.builds(lambda kw, v: A.Arg(kw, v, S), st.sampled_from([None, None, "alpha"]), children),
                    max_size=3).map(tuple)


patterns = st.recursive(
    st.one_of(st.just(A.PWildcard(S)), names.map(lambda n: A.PCapture(n, None, S)),
              st.builds(lambda n, t: A.PCapture(n, t, S), names, annot), literal.map(lambda v: A.PLiteral(v, S))),
    lambda ch: st.one_of(st.builds(lambda op, a, b: A.POp(op, a, b, S, S), ops, _args(ch),
                                   st.sampled_from([None, "r"])),
                         st.lists(ch, max_size=3).map(lambda i: A.PList(tuple(i), S)),
                         st.lists(ch, min_size=2, max_size=3).map(lambda i: A.PAlt(tuple(i), S))),
    max_leaves=8)
exprs = st.recursive(
    st.one_of(literal, names.map(lambda n: A.Name(n, S))),
    lambda ch: st.one_of(
        st.builds(lambda o, a, b: A.BinOp(o, a, b, S), st.sampled_from(["and", "or", "==", "<", "in", "+", "-", "*",
                                                                          "//", "not in"]), ch, ch),
        st.builds(lambda o, a: A.UnaryOp(o, a, S), st.sampled_from(["not", "-"]), ch),
        st.builds(lambda a, b: A.Index(a, b, S), ch, ch),
        st.builds(lambda f, a: A.Call(f, tuple(A.Arg(None, x, S) for x in a), S), st.sampled_from(["rank", "max"]),
                  st.lists(ch, max_size=2)),
        st.builds(lambda op, a: A.OpExpr(op, a, S, S), ops, _args(ch)),
        st.lists(ch, max_size=3).map(lambda i: A.ListExpr(tuple(i), S))),
    max_leaves=8)
domain = st.lists(st.one_of(
    st.builds(lambda n, c, d, r, o: A.DomainTensor(n, c, ("f32",), d, r, o, S), names, st.booleans(),
              st.lists(st.one_of(st.integers(1, 4).map(lambda i: A.DimInt(i, S)),
                                 st.just(A.DRange(1, 3, None, S)), st.just(A.DRange(1, 2, "M", S))), max_size=3)
              .map(tuple), st.sampled_from([None, (-1.5, 2.0), (0, 3)]), st.booleans()),
    st.builds(lambda n, v: A.DomainValues(n, tuple(v), S), names, st.lists(literal, min_size=1, max_size=3))),
    max_size=3).map(lambda e: A.Domain(tuple(e), S))
rules = st.builds(
    lambda name, prio, rec, doc, root, guard, lets, result, doms, untested: A.RuleDecl(
        name, prio, doc, root, guard, A.Rhs(tuple(A.Let(n, v, S) for n, v in lets), result, S), tuple(doms),
        untested if not doms else None, S, S, rec),
    names, st.integers(-3, 3), st.sampled_from([None, "measure"]), strings,
    st.builds(lambda op, a, b, o: A.POp(op, a, b, S, S, o), ops, _args(patterns), st.sampled_from([None, "r"]),
              st.sampled_from([None, ("v", None), (None, "i", "j")])),
    st.one_of(st.none(), exprs), st.lists(st.tuples(names, exprs), max_size=2), exprs,
    st.lists(domain, max_size=2), strings)


@settings(max_examples=150, deadline=None)
@given(rules)
def test_random_rules_round_trip(rule: A.RuleDecl) -> None:
    text = "ruleset r : lowering\n" + "\n".join(format_item(rule)) + "\n"
    round_trips(text)


def test_fmt_paths_checks_and_rewrites_files(tmp_path: Path) -> None:
    import io

    from trt_passes.dsl.tools import fmt_paths

    f = tmp_path / "a.rw"
    f.write_text('ruleset r : lowering\nrule a aten.relu.default(x)   =>   x untested "t"\n')
    out = io.StringIO()
    assert fmt_paths([tmp_path], check=True, out=out) == 1 and "would reformat" in out.getvalue()
    assert fmt_paths([tmp_path], out=out) == 0 and f.read_text().splitlines()[3] == "    aten.relu.default(x)"
    assert fmt_paths([tmp_path], check=True, out=out) == 0
