"""The TensorRT dialect's catalogue is ARCHITECTURE.md's op table, and it plugs into the shared op registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from trt_passes.backend import enums, reference
from trt_passes.backend.dialect import trt_dialect
from trt_passes.backend.emit import EMITTERS
from trt_passes.backend.layers import LAYERS
from trt_passes.backend.registry import default_ops
from trt_passes.ir.graph import Graph, Slot, Value
from trt_passes.ir.interpreter import run_graph
from trt_passes.ir.types import TensorType

ARCHITECTURE = (Path(__file__).parents[2] / "ARCHITECTURE.md").read_text()


def _table() -> dict[str, tuple[list[str], list[str]]]:
    """``{op: (tensor arg names, attribute names)}`` from the op table in ARCHITECTURE.md."""
    rows = {}
    for line in ARCHITECTURE.splitlines():
        m = re.match(r"\| `(trt\.\w+)` \| (.*?) \| (.*?) \|$", line)
        if not m:
            continue
        tensors = [re.match(r"`?(\w+)", p.strip()).group(1) for p in m.group(2).split(",")]  # type: ignore[union-attr]
        column = re.sub(r"\([^)]*\)", "", m.group(3)).strip()  # drop the parenthesised remarks
        attrs = [] if column == "-" else [
            re.match(r"`?(\w+)", p.strip()).group(1) for p in column.split(", ")]  # type: ignore[union-attr]
        rows[m.group(1)] = (tensors, attrs)
    return rows


TABLE = _table()


def test_the_table_was_read() -> None:
    assert len(TABLE) == 24 and all(op in TABLE for op in (
        "trt.topk", "trt.resize", "trt.grid_sample", "trt.scatter", "trt.attention"))


def test_the_catalogue_is_exactly_the_architecture_table() -> None:
    assert sorted(trt_dialect().op_names()) == sorted(TABLE)


def test_each_layer_is_declared_once_and_gives_the_catalogue_the_reference_and_the_emitter() -> None:
    ops = [layer.op for layer in LAYERS]
    assert len(ops) == len(set(ops)), sorted(op for op in ops if ops.count(op) > 1)
    assert list(trt_dialect().op_names()) == ops
    for layer in LAYERS:
        assert trt_dialect().schema(layer.op) == layer.schema
        assert reference.OPS[layer.op] is layer.reference and EMITTERS[layer.op] is layer.emit
    assert set(reference.OPS) == set(EMITTERS) == set(ops)


@pytest.mark.parametrize("op", sorted(TABLE))
def test_each_schema_lists_tensor_args_first_then_the_tables_attributes(op: str) -> None:
    schema = trt_dialect().schema(op)
    assert schema is not None and schema.doc
    tensors, attrs = TABLE[op]
    names = [a.name for a in schema.args]
    assert names == tensors + attrs
    assert all(a.is_tensor for a in schema.args[:len(tensors)])
    assert not any(a.is_tensor for a in schema.args[len(tensors):])
    for a in schema.args:
        if a.type[0].isupper() and not a.is_tensor:  # an enum-typed attribute names its enum class
            assert a.type in trt_dialect().enums()
            if a.has_default:
                assert isinstance(a.default, trt_dialect().enums()[a.type])


def test_enums_are_named_and_populated_as_architecture_says() -> None:
    section = ARCHITECTURE[ARCHITECTURE.index("Enums: "):]
    for name, cls in trt_dialect().enums().items():
        listed = re.search(rf"`{name}` \(([A-Z_\s]+)\)", section)
        assert listed is not None, name
        assert list(cls.__members__) == listed.group(1).split()


def test_enum_members_exist_in_tensorrt_under_the_same_names() -> None:
    trt = pytest.importorskip("trt_passes.backend.tensorrt_import").import_tensorrt()
    for name, cls in trt_dialect().enums().items():
        for member in cls:
            assert enums.to_tensorrt(trt, member).name == member.name, f"{name}.{member.name}"


def test_no_schema_claims_commutativity_but_the_elementwise_ops_that_commute_are_listed() -> None:
    assert not any(trt_dialect().schema(op).commutative for op in trt_dialect().op_names())  # type: ignore[union-attr]
    E = enums.ElementWiseOperation
    assert {E.SUM, E.PROD, E.MAX, E.MIN} <= enums.COMMUTATIVE_ELEMENTWISE
    assert not {E.SUB, E.DIV, E.POW, E.FLOOR_DIV, E.GREATER, E.LESS} & enums.COMMUTATIVE_ELEMENTWISE


def test_evaluate_fills_defaults_and_rejects_missing_or_unknown_arguments() -> None:
    d = trt_dialect()
    a, b = torch.randn(2, 3), torch.randn(3, 4)
    torch.testing.assert_close(d.evaluate("trt.matrix_multiply", {"a": a, "b": b})[0], a @ b)
    with pytest.raises(TypeError, match="missing argument 'axis'"):
        d.evaluate("trt.softmax", {"input": a})
    with pytest.raises(TypeError, match="unknown arguments"):
        d.evaluate("trt.softmax", {"input": a, "axis": 0, "dim": 1})


def test_infer_uses_types_only() -> None:
    out = trt_dialect().infer("trt.cast", {"input": TensorType("f32", (2, 3)), "to": "bf16"})
    assert out == (TensorType("bf16", (2, 3)),)


def test_the_registry_runs_mixed_aten_and_trt_graphs() -> None:
    ops = default_ops()
    assert ops.enums()["ActivationType"] is enums.ActivationType
    g = Graph()
    x = g.add_input("x", TensorType("f32", (2, 3)), 0)
    neg = g.add("aten.neg.default", [Value(x)], {"self": Slot(0)}, [TensorType("f32", (2, 3))])
    act = g.add("trt.activation", [Value(neg)], {"input": Slot(0), "type": enums.ActivationType.RELU, "alpha": 0.0,
                                                 "beta": 0.0}, [TensorType("f32", (2, 3))])
    g.set_outputs([Value(act)])
    t = torch.randn(2, 3)
    torch.testing.assert_close(run_graph(g, [t], ops)[0], torch.relu(-t))
