"""Attention (backend/layers/attention.py) against an independent float64 formulation in numpy: einsum products and
an exp-over-sum softmax, with TensorRT's documented masking (bool: true attends; float: added; causal: key j <= query
i) and no scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tests.backend.builders import DIALECT, run, tensors
from trt_passes.ir.symbolic import SymDim
from trt_passes.ir.types import TensorType


def attention_f64(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: np.ndarray | None = None,
                  added: np.ndarray | None = None) -> torch.Tensor:
    s = np.einsum("bhle,bhse->bhls", q.double().numpy(), k.double().numpy())
    if added is not None:
        s = s + added
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return torch.from_numpy(np.einsum("bhls,bhse->bhle", e / e.sum(axis=-1, keepdims=True), v.double().numpy()))


@st.composite
def qkv(draw: st.DrawFn, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    b, h, length, keys, e = (draw(st.integers(1, n)) for n in (2, 3, 5, 5, 6))
    return (draw(tensors((b, h, length, e), dtype)), draw(tensors((b, h, keys, e), dtype)),
            draw(tensors((b, h, keys, e), dtype)))


@st.composite
def mask_shapes(draw: st.DrawFn, q: torch.Tensor, k: torch.Tensor) -> tuple[int, ...]:
    """[.., L, S] with leading dims (none, one or two) each 1 or the scores' size."""
    lead = [draw(st.sampled_from([1, n])) for n in q.shape[:2]]
    return (*lead[draw(st.integers(0, 2)):], q.shape[2], k.shape[2])


@given(data=st.data())
def test_attention_is_softmax_of_unscaled_scores_times_value(data: st.DataObject) -> None:
    q, k, v = data.draw(qkv())
    (out,) = run("trt.attention", query=q, key=k, value=v, mask=None)
    torch.testing.assert_close(out, attention_f64(q, k, v))


@given(data=st.data())
def test_a_bool_mask_lets_a_query_attend_where_it_is_true(data: st.DataObject) -> None:
    q, k, v = data.draw(qkv())
    mask = data.draw(tensors(data.draw(mask_shapes(q, k)), torch.bool))
    mask[..., 0] = True  # every query attends somewhere (the all-false row is its own test)
    (out,) = run("trt.attention", query=q, key=k, value=v, mask=mask)
    torch.testing.assert_close(out, attention_f64(q, k, v, allowed=mask.numpy()))


@given(data=st.data())
def test_a_float_mask_is_added_to_the_scores(data: st.DataObject) -> None:
    q, k, v = data.draw(qkv())
    mask = data.draw(tensors(data.draw(mask_shapes(q, k)), lo=-4.0, hi=2.0))
    (out,) = run("trt.attention", query=q, key=k, value=v, mask=mask)
    torch.testing.assert_close(out, attention_f64(q, k, v, added=mask.numpy()))


@given(data=st.data())
def test_causal_attention_lets_query_i_see_keys_0_to_i_aligned_top_left(data: st.DataObject) -> None:
    q, k, v = data.draw(qkv())
    rows, cols = np.arange(q.shape[2])[:, None], np.arange(k.shape[2])[None, :]
    (out,) = run("trt.attention", query=q, key=k, value=v, mask=None, causal=True)
    torch.testing.assert_close(out, attention_f64(q, k, v, allowed=cols <= rows))


def test_causal_attention_with_more_queries_than_keys_lets_later_queries_see_every_key() -> None:
    torch.manual_seed(0)
    q, k, v = torch.randn(1, 1, 4, 3, dtype=torch.float64), torch.randn(1, 1, 2, 3, dtype=torch.float64), \
        torch.randn(1, 1, 2, 3, dtype=torch.float64)
    (causal,) = run("trt.attention", query=q, key=k, value=v, mask=None, causal=True)
    (plain,) = run("trt.attention", query=q, key=k, value=v, mask=None)
    torch.testing.assert_close(causal[..., 0, :], v[..., 0, :])  # query 0 sees key 0 only
    torch.testing.assert_close(causal[..., 1:, :], plain[..., 1:, :])


@pytest.mark.parametrize(("dtype", "ulps"), [(torch.float16, 1), (torch.bfloat16, 1), (torch.float32, 16)])
@given(data=st.data())
def test_reduced_precision_attention_computes_in_f32_and_rounds_the_result_once(dtype: torch.dtype, ulps: int,
                                                                                data: st.DataObject) -> None:
    """Half inputs: f32 arithmetic (its error is far below a half ulp) and one rounding, so within one ulp of the
    float64 result. f32 has nothing wider: its own roundings of the products and the softmax add a few ulps."""
    q, k, v = data.draw(qkv(dtype))
    mask = data.draw(tensors(data.draw(mask_shapes(q, k)), dtype, lo=-4.0, hi=2.0))
    (out,) = run("trt.attention", query=q, key=k, value=v, mask=mask)
    assert out.dtype == dtype
    exact = attention_f64(q, k, v, added=mask.double().numpy())
    tol = ulps * torch.finfo(dtype).eps
    torch.testing.assert_close(out.double(), exact, rtol=tol, atol=tol * max(1.0, exact.abs().max().item()))


def test_a_query_with_every_key_masked_gets_nan_as_the_formula_gives() -> None:
    """TensorRT does not specify this row; the reference keeps softmax over -inf only (NaN), other rows unaffected."""
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 2, 3, 4, dtype=torch.float64) for _ in range(3))
    mask = torch.ones(3, 3, dtype=torch.bool)
    mask[1] = False
    (out,) = run("trt.attention", query=q, key=k, value=v, mask=mask)
    assert out[:, :, 1].isnan().all()
    torch.testing.assert_close(out[:, :, [0, 2]], attention_f64(q, k, v)[:, :, [0, 2]])


def test_types_are_inferred_with_symbolic_batch_and_tokens() -> None:
    s0, s1 = SymDim("s0"), SymDim("s1")
    q = TensorType("f16", (s0, 4, s1, 32))
    (out,) = DIALECT.infer("trt.attention", {"query": q, "key": q, "value": q, "mask": None, "causal": True})
    assert out == q
    mask = TensorType("bool", (s0, 1, s1, s1))
    (out,) = DIALECT.infer("trt.attention", {"query": q, "key": q, "value": q, "mask": mask, "causal": False})
    assert out == q


def _bad(**changes: object) -> dict[str, object]:
    args: dict[str, object] = {"query": torch.randn(2, 4, 5, 8), "key": torch.randn(2, 4, 6, 8),
                               "value": torch.randn(2, 4, 6, 8), "mask": None, "causal": False}
    args.update(changes)
    return args


@pytest.mark.parametrize(("args", "error", "words"), [
    (_bad(query=torch.randn(4, 5, 8), key=torch.randn(4, 6, 8), value=torch.randn(4, 6, 8)), ValueError,
     "[batch, heads, tokens, head dim]"),
    (_bad(value=torch.randn(2, 4, 6, 3)), ValueError, "must have one shape"),
    (_bad(key=torch.randn(2, 2, 6, 8), value=torch.randn(2, 2, 6, 8)), ValueError, "batch, heads and head dim"),
    (_bad(key=torch.randn(2, 4, 6, 8, dtype=torch.float16)), TypeError, "one dtype"),
    (_bad(query=torch.ones(2, 4, 5, 8, dtype=torch.int32)), TypeError, "floating-point"),
    (_bad(mask=torch.ones(5, 6, dtype=torch.bool), causal=True), ValueError, "takes no mask"),
    (_bad(mask=torch.zeros(5, 6, dtype=torch.float16)), TypeError, "bool or the queries' dtype"),
    (_bad(mask=torch.zeros(2, 4, 1, 6)), ValueError, "[query tokens, key tokens]"),
    (_bad(mask=torch.zeros(3, 1, 5, 6)), ValueError, "broadcast to [2, 4]"),
    (_bad(mask=torch.zeros(6)), ValueError, "[query tokens, key tokens]"),
])
def test_malformed_attention_is_refused_naming_the_op(args: dict[str, object], error: type, words: str) -> None:
    with pytest.raises(error, match=r"trt\.attention") as raised:
        DIALECT.evaluate("trt.attention", args)
    assert words in str(raised.value)
