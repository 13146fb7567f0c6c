"""Matrix multiply, convolution and deconvolution (backend/layers/linear.py) against independent formulations in
float64: einsum, torch.nn.functional, and the adjoint identity of convolution."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.backend.builders import run, tensors
from trt_passes.backend.enums import MatrixOperation

dims = st.integers(1, 4)


@given(batch_a=st.lists(st.sampled_from([1, 2, 3]), max_size=2), batch_b=st.lists(st.sampled_from([1, 2, 3]),
       max_size=2), m=dims, k=dims, n=dims, op_a=st.sampled_from(MatrixOperation),
       op_b=st.sampled_from(MatrixOperation), data=st.data())
def test_matrix_multiply_is_einsum_with_broadcast_batches(batch_a: list[int], batch_b: list[int], m: int, k: int,
                                                          n: int, op_a: MatrixOperation, op_b: MatrixOperation,
                                                          data: st.DataObject) -> None:
    # Make the batch dims broadcastable: where both have a dim (aligned from the right), one of them is 1 or equal.
    for i in range(1, min(len(batch_a), len(batch_b)) + 1):
        if batch_a[-i] != batch_b[-i] and 1 not in (batch_a[-i], batch_b[-i]):
            batch_b[-i] = 1
    shape_a = {MatrixOperation.NONE: [m, k], MatrixOperation.TRANSPOSE: [k, m], MatrixOperation.VECTOR: [k]}[op_a]
    shape_b = {MatrixOperation.NONE: [k, n], MatrixOperation.TRANSPOSE: [n, k], MatrixOperation.VECTOR: [k]}[op_b]
    a = data.draw(tensors(tuple(batch_a + shape_a)))
    b = data.draw(tensors(tuple(batch_b + shape_b)))
    (out,) = run("trt.matrix_multiply", a=a, b=b, op_a=op_a, op_b=op_b)
    spec_a = {MatrixOperation.NONE: "mk", MatrixOperation.TRANSPOSE: "km", MatrixOperation.VECTOR: "k"}[op_a]
    spec_b = {MatrixOperation.NONE: "kn", MatrixOperation.TRANSPOSE: "nk", MatrixOperation.VECTOR: "k"}[op_b]
    result = ("m" if op_a is not MatrixOperation.VECTOR else "") + ("n" if op_b is not MatrixOperation.VECTOR else "")
    expected = torch.einsum(f"...{spec_a},...{spec_b}->...{result}", a, b)
    torch.testing.assert_close(out, expected)


def test_matrix_multiply_rejects_mismatched_inner_dims() -> None:
    with pytest.raises(ValueError, match="inner dims"):
        run("trt.matrix_multiply", a=torch.ones(2, 3), b=torch.ones(2, 3))


@st.composite
def conv_case(draw: st.DrawFn) -> dict:
    spatial = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    window = [draw(st.integers(1, 3)) for _ in range(spatial)]
    dilation = [draw(st.integers(1, 2)) for _ in range(spatial)]
    size = [draw(st.integers((w - 1) * d + 1, (w - 1) * d + 4)) for w, d in zip(window, dilation)]
    return {"spatial": spatial, "groups": groups, "c_in": c_in, "c_out": c_out, "window": window,
            "stride": [draw(st.integers(1, 2)) for _ in range(spatial)],
            "padding": [draw(st.integers(0, w - 1)) for w in window], "dilation": dilation, "size": size,
            "batch": draw(st.integers(1, 2)), "bias": draw(st.booleans())}


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@given(case=conv_case(), data=st.data())
def test_convolution_is_torchs_convnd(case: dict, data: st.DataObject) -> None:
    x = data.draw(tensors((case["batch"], case["c_in"], *case["size"])))
    w = data.draw(tensors((case["c_out"], case["c_in"] // case["groups"], *case["window"])))
    b = data.draw(tensors((case["c_out"],))) if case["bias"] else None
    (out,) = run("trt.convolution", input=x, kernel=w, bias=b, stride=case["stride"], padding=case["padding"],
                 dilation=case["dilation"], groups=case["groups"])
    expected = _CONV[case["spatial"]](x, w, b, case["stride"], case["padding"], case["dilation"], case["groups"])
    torch.testing.assert_close(out, expected)


@given(case=conv_case(), data=st.data())
def test_deconvolution_is_the_adjoint_of_convolution(case: dict, data: st.DataObject) -> None:
    """<conv(x, w), y> == <x, deconv(y, w)>: a definition of transposed convolution that does not use torch's."""
    x = data.draw(tensors((case["batch"], case["c_in"], *case["size"])))
    w = data.draw(tensors((case["c_out"], case["c_in"] // case["groups"], *case["window"])))
    conv_args = {"stride": case["stride"], "padding": case["padding"], "dilation": case["dilation"],
                 "groups": case["groups"]}
    (y_shape_probe,) = run("trt.convolution", input=x, kernel=w, bias=None, **conv_args)
    y = data.draw(tensors(tuple(y_shape_probe.shape)))
    # output_padding recovers the input rows the strided convolution did not reach.
    out_pad = [s - ((o - 1) * st_ - 2 * p + d * (k - 1) + 1) for s, o, st_, p, d, k in zip(
        case["size"], y.shape[2:], case["stride"], case["padding"], case["dilation"], case["window"])]
    assume(all(0 <= q < max(st_, d) for q, st_, d in zip(out_pad, case["stride"], case["dilation"])))
    (back,) = run("trt.deconvolution", input=y, kernel=w, bias=None, output_padding=out_pad, **conv_args)
    assert back.shape == x.shape
    torch.testing.assert_close((y_shape_probe * y).sum(), (x * back).sum())


def test_deconvolution_bias_and_output_padding_follow_torch() -> None:
    x, w, b = torch.randn(1, 4, 5, 5, dtype=torch.float64), torch.randn(4, 3, 3, 3, dtype=torch.float64), \
        torch.randn(6, dtype=torch.float64)
    (out,) = run("trt.deconvolution", input=x, kernel=w, bias=b, stride=[2, 2], padding=[1, 1], dilation=[1, 1],
                 groups=2, output_padding=[1, 0])
    torch.testing.assert_close(out, F.conv_transpose2d(x, w, b, 2, 1, [1, 0], 2))
