"""The shipped rules' extern helpers (spec/rule_support.py): what the guards they serve rely on."""

from __future__ import annotations

import math

import pytest
import torch

from trt_passes.ir import SymDim, TensorType
from trt_passes.spec.rule_support import (
    einsum_matmul,
    end_padding,
    infinity,
    inverse,
    inverse_sqrt,
    next_pad_pair,
    pair_cols,
    pair_rows,
    static_dim,
    static_from,
    transposition,
)


@pytest.mark.parametrize(("rank", "a", "b"), [(2, 0, 1), (3, 1, 2), (4, -1, -2), (4, 0, -1), (3, 1, 1)])
def test_transposition_is_the_permutation_transpose_applies(rank: int, a: int, b: int) -> None:
    x = torch.randn(*range(2, 2 + rank))
    assert torch.equal(x.permute(transposition(rank, a, b)), x.transpose(a, b))


@pytest.mark.parametrize(("rank", "a", "b"), [(2, 2, 0), (3, 0, -4), (0, 0, 0)])
def test_transposition_of_dims_out_of_range_is_empty(rank: int, a: int, b: int) -> None:
    assert transposition(rank, a, b) == []


@pytest.mark.parametrize(("equation", "kind"), [
    ("ij,jk->ik", "nn"),
    ("bij,bjk->bik", "nn"),
    ("B G H I D, B G H J D -> B G H I J", "nt"),
    ("id,jd->ij", "nt"),
])
def test_einsum_matmul_recognises_batched_products(equation: str, kind: str) -> None:
    assert einsum_matmul(equation) == kind


@pytest.mark.parametrize("equation", [
    "ij,jk->ki",          # the result transposed
    "bij,bjk->bki",       # batch letter moved in the result
    "bij,cjk->bik",       # different batch letters
    "ij,jk",              # implicit output
    "...ij,...jk->...ik",  # ellipsis
    "ij,jk,kl->il",       # three operands
    "ii,ik->ik",          # a repeated letter (a diagonal)
    "ij,ij->ij",          # elementwise
    "ij,jk->ik,",         # malformed
])
def test_einsum_matmul_rejects_everything_else(equation: str) -> None:
    assert einsum_matmul(equation) == ""


def test_einsum_matmul_agrees_with_torch_on_what_it_accepts() -> None:
    a, b = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    assert einsum_matmul("bik,bjk->bij") == "nt"
    torch.testing.assert_close(torch.einsum("bik,bjk->bij", a, b), a @ b.transpose(-2, -1))


def test_inverse_sqrt_is_attentions_default_scale() -> None:
    q = torch.randn(1, 1, 3, 64, dtype=torch.float64)
    k, v = torch.randn(1, 1, 5, 64, dtype=torch.float64), torch.randn(1, 1, 5, 2, dtype=torch.float64)
    assert inverse_sqrt(64) == 0.125
    torch.testing.assert_close(torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=inverse_sqrt(64)),
                               torch.nn.functional.scaled_dot_product_attention(q, k, v))


def test_inverse_sqrt_of_no_size_is_zero_rather_than_an_error() -> None:
    assert inverse_sqrt(0) == 0.0


def test_infinity_is_positive_infinity() -> None:
    assert infinity() == math.inf


def test_static_from_looks_only_at_the_dims_from_start() -> None:
    t = TensorType("f32", (SymDim("s0"), 3, 4, 6))
    assert static_from(t, 1) and static_from(t, 2) and not static_from(t, 0)
    assert not static_from(TensorType("f32", (1, 3, SymDim("s1"))), 2)


def test_static_dim_looks_at_one_dim() -> None:
    t = TensorType("f32", (SymDim("s0"), 3, 4))
    assert static_dim(t, 1) and static_dim(t, -1) and not static_dim(t, 0) and not static_dim(t, -3)


def test_static_dim_out_of_range_is_false_rather_than_an_error() -> None:
    assert not static_dim(TensorType("f32", (2, 3)), 2)
    assert not static_dim(TensorType("f32", (2, 3)), -3)


@pytest.mark.parametrize(("pad", "pair"), [([1, 2], [0, 1, 2]), ([0, 0, -1, 3], [1, -1, 3]),
                                           ([0, 0, 0, 2, 4, 5], [1, 0, 2]), ([0, 0, 0, 0, 0, -1], [2, 0, -1])])
def test_next_pad_pair_is_the_first_pair_with_a_nonzero_size(pad: list, pair: list) -> None:
    assert next_pad_pair(pad) == pair


@pytest.mark.parametrize("pad", [[], [0, 0], [0, 0, 0, 0], [0, 0, 0]])
def test_next_pad_pair_of_zeros_or_an_odd_list_is_none(pad: list) -> None:
    assert next_pad_pair(pad) == [-1, 0, 0]


def test_end_padding_pads_the_end_of_each_dim_in_pad_list_order() -> None:
    x = torch.ones(1, 2, 3, 4)
    padded = torch.nn.functional.pad(x, end_padding([1, 2]))
    assert padded.shape == (1, 2, 4, 6)
    assert torch.equal(padded[:, :, :3, :4], x)
    assert padded[:, :, 3:, :].abs().sum() == 0 and padded[:, :, :, 4:].abs().sum() == 0


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_pair_rows_and_cols_list_the_pairs_in_pdists_order(n: int) -> None:
    x = torch.randn(n, 3, dtype=torch.float64)
    rows, cols = pair_rows(n), pair_cols(n)
    assert len(rows) == len(cols) == n * (n - 1) // 2
    if n >= 2:
        picked = (x[rows] - x[cols]).norm(dim=-1)
        torch.testing.assert_close(picked, torch.nn.functional.pdist(x))


def test_inverse_is_one_over_x_and_zero_rather_than_an_error_at_zero() -> None:
    assert inverse(4.0) == 0.25 and inverse(-0.5) == -2.0 and inverse(0.0) == 0.0
