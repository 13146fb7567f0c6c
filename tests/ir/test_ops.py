"""``OpSchema.bind``: the one place that binds arguments to a schema (positionals, keywords, defaults)."""

import pytest

from trt_passes.ir.ops import ArgSpec, OpSchema, SchemaBindError

ADD = OpSchema("aten.add.Tensor", (ArgSpec("self", "Tensor"), ArgSpec("other", "Tensor"),
                                   ArgSpec("alpha", "Scalar", 1, True, kwarg_only=True)), ("Tensor",))


def test_positionals_then_keywords_then_defaults_in_schema_order() -> None:
    assert ADD.bind(("x",), {"other": "y"}) == {"self": "x", "other": "y", "alpha": 1}
    assert list(ADD.bind((), {"alpha": 2, "other": "y", "self": "x"})) == ["self", "other", "alpha"]


@pytest.mark.parametrize(("positional", "keywords", "message"), [
    (("x", "y", 2), {}, "takes 2 positional arguments, got 3"),
    (("x",), {}, "missing argument 'other'"),
    (("x", "y"), {"beta": 1}, "unknown arguments \\['beta'\\]"),
    (("x", "y"), {"other": "z"}, "given both by position and by name"),
])
def test_arguments_that_do_not_fit_name_the_op_and_the_problem(positional: tuple, keywords: dict,
                                                              message: str) -> None:
    with pytest.raises(SchemaBindError, match=message) as e:
        ADD.bind(positional, keywords)
    assert "aten.add.Tensor" in str(e.value)
