"""Settings are defined once; unknown or invalid options are errors, never ignored."""

import pytest

from trt_passes.passes.settings import CompileSettings


def test_unknown_option_suggests_the_nearest_valid_name():
    with pytest.raises(TypeError, match=r"unknown compile option 'min_blok_size'.*'min_block_size'"):
        CompileSettings.from_options({"min_blok_size": 3})


@pytest.mark.parametrize("options, message", [
    ({"min_block_size": 0}, "min_block_size must be a positive int"),
    ({"runtime": "gpu"}, "runtime must be one of"),
    ({"optimization_level": 9}, "optimization_level must be 0..5"),
    ({"torch_executed_ops": "aten.relu"}, "takes a list"),
])
def test_invalid_values_are_rejected_with_the_rule_they_break(options, message):
    with pytest.raises((ValueError, TypeError), match=message):
        CompileSettings.from_options(options)


def test_torch_executed_ops_accepts_an_op_with_or_without_overload():
    s = CompileSettings(torch_executed_ops=("aten.relu",))
    assert s.executes_in_torch("aten.relu.default")
    assert not s.executes_in_torch("aten.relu6.default")
    assert CompileSettings(torch_executed_ops=["aten.add.Tensor"]).executes_in_torch("aten.add.Tensor")


def test_tf32_is_allowed_by_default_as_in_torch_tensorrt_and_disable_tf32_takes_a_bool():
    assert CompileSettings().disable_tf32 is False
    assert CompileSettings.from_options({"disable_tf32": True}).disable_tf32 is True
    with pytest.raises(TypeError, match="disable_tf32 must be True or False"):
        CompileSettings.from_options({"disable_tf32": "yes"})
