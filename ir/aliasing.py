"""Which values of a freshly imported graph share memory: what the ``functionalize`` pass needs to know.

``torch.export.export`` gives a program in execution order that may write tensors in place (``relu_``, ``add_``,
``fill_`` on a slice). In such a program a value's meaning depends on when it is read, and a write through one value
changes every value that shares its memory. The importer therefore keeps the node ids in program order and records,
in ``graph.meta["alias_groups"]``, each set of values that share one storage (:class:`AliasGroup`); the
``functionalize`` pass reads both and leaves a graph in which values are immutable and order is only data flow, the
graph every other pass assumes. Once it has run the key is gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from trt_passes.ir.graph import Graph, Value

ALIAS_GROUPS = "alias_groups"
"""``graph.meta`` key: the :class:`AliasGroup` s of an imported graph that may still write tensors in place."""


@dataclass(frozen=True)
class AliasGroup:
    """Values sharing one storage, in program order; the first is the base, the value that allocated it (an op's
    result, a graph input or a constant). Each later member was made from an earlier one: by a view op (``slice``,
    ``transpose``, ...), by an op that returns its input (``contiguous`` of a contiguous tensor, ``dropout`` in eval
    mode), or by an in-place op, whose result is the tensor it wrote.

    ``identities`` are the members whose sizes, strides and offset equal those of the member they were made from:
    the same elements, so a write through one is a write of the whole of the other."""

    members: tuple[Value, ...]
    identities: frozenset[Value] = frozenset()

    @property
    def base(self) -> Value:
        return self.members[0]


def alias_groups(graph: Graph) -> list[AliasGroup]:
    """The graph's alias groups (empty for a graph that has none, or that has been made functional)."""
    return list(graph.meta.get(ALIAS_GROUPS, ()))


def group_index(groups: Iterable[AliasGroup]) -> Mapping[Value, int]:
    """Each member value -> the position of its group in ``groups``."""
    return {v: i for i, group in enumerate(groups) for v in group.members}


__all__ = ["ALIAS_GROUPS", "AliasGroup", "alias_groups", "group_index"]
