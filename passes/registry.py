"""The built-in passes and what each requires and provides.

Properties are plain words: ``aten`` (the graph holds ATen ops; every frontend provides it), ``functional`` (no
in-place op left: values are immutable and node order is only data flow), ``folded`` (no foldable constant
subexpression left), ``lowered``, ``decomposed``, ``partitioned``, ``converted``, ``engines``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trt_passes.passes import (
    convert,
    dce,
    decompose,
    emit,
    fold,
    functionalize,
    lower,
    lower_unconverted,
    partition,
    precision,
    truncate_double,
)
from trt_passes.passes.context import PassContext

INITIAL_PROPERTIES = frozenset({"aten"})


@dataclass(frozen=True)
class PassSpec:
    name: str
    doc: str
    run: Callable[[PassContext, dict[str, str]], str]
    requires: frozenset[str] = frozenset()
    provides: frozenset[str] = frozenset()
    invalidates: frozenset[str] = frozenset()
    params: tuple[str, ...] = ()
    #: for a pass that runs rule sets: (their kind, the glob it runs without a ``rulesets=`` parameter)
    rules: tuple[str, str] | None = None
    #: for a pass that runs the lowering sets again on what its own rules made: the glob it runs without ``lower=``
    relowers: str | None = None

    def describe(self) -> str:
        req = ", ".join(sorted(self.requires)) or "-"
        prov = ", ".join(sorted(self.provides)) or "-"
        inv = f"; invalidates {', '.join(sorted(self.invalidates))}" if self.invalidates else ""
        params = f"; params: {', '.join(self.params)}" if self.params else ""
        return f"{self.name}: requires {req}; provides {prov}{inv}{params}\n    {self.doc}"


def builtin_passes() -> dict[str, PassSpec]:
    """A fresh table each call: nothing global to mutate between compilations."""
    specs = [
        # First: every other pass reads a node's value from its inputs alone, which an in-place op breaks.
        PassSpec("functionalize", functionalize.__doc__ or "", functionalize.run, frozenset({"aten"}),
                 frozenset({"functional"})),
        # Before folding and lowering, so that both see the float32 graph the converters will.
        PassSpec("truncate_double", truncate_double.__doc__ or "", truncate_double.run, frozenset({"functional"})),
        PassSpec("fold_constants", fold.__doc__ or "", fold.run, frozenset({"functional"}), frozenset({"folded"})),
        PassSpec("lower", lower.__doc__ or "", lower.run, frozenset({"functional"}), frozenset({"lowered"}),
                 frozenset({"folded"}), ("rulesets",), (lower.RULE_KIND, lower.DEFAULT_RULESETS)),
        # After lowering, so that the converters see each op the lowering rules leave whole; it lowers what it makes.
        PassSpec("lower_unconverted", lower_unconverted.__doc__ or "", lower_unconverted.run, frozenset({"lowered"}),
                 frozenset({"lowered"}), frozenset({"folded"}), ("rulesets", "lower", "convert"),
                 (lower_unconverted.RULE_KIND, lower_unconverted.DEFAULT_RULESETS), lower.DEFAULT_RULESETS),
        # After lowering, so that it sees only the nodes no lowering rule handles; it lowers what it produces.
        PassSpec("decompose", decompose.__doc__ or "", decompose.run, frozenset({"lowered"}),
                 frozenset({"decomposed", "lowered"}), frozenset({"folded"}), ("lower", "unconverted", "convert")),
        # After lowering and folding (so it sees the ops converters will, and constants it can cast when compiling),
        # before partition (so partition and the converters see one consistently typed graph). It leaves nothing to
        # fold (constants are cast into new constants) and no op a lowering rule was waiting for.
        PassSpec("reduce_precision", precision.__doc__ or "", precision.run, frozenset({"lowered", "folded"})),
        PassSpec("eliminate_dead_code", dce.__doc__ or "", dce.run, frozenset({"functional"})),
        PassSpec("partition", partition.__doc__ or "", partition.run, frozenset({"lowered", "folded"}),
                 frozenset({"partitioned"}), params=("rulesets",), rules=(convert.RULE_KIND, convert.DEFAULT_RULESETS)),
        PassSpec("convert", convert.__doc__ or "", convert.run, frozenset({"partitioned"}), frozenset({"converted"}),
                 params=("rulesets",), rules=(convert.RULE_KIND, convert.DEFAULT_RULESETS)),
        PassSpec("emit", emit.__doc__ or "", emit.run, frozenset({"converted"}), frozenset({"engines"})),
    ]
    return {s.name: s for s in specs}
