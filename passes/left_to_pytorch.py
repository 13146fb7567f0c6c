"""Ops (or uses of ops) left to PyTorch on purpose, with the reason: what TensorRT or the static-shape IR cannot
express, so that no rule is coming.

Data only. ``explain`` prints an op's entry under its fallback when no rule matched it (not when it went back to
PyTorch for ``min_block_size`` or ``torch_executed_ops``), and ``trt-passes coverage`` prints it next to the op. An op
converted in some uses (``index_put``) gets an entry that says which uses stay in PyTorch. A missing entry means only
that nobody has written the rule yet. Ops libraries register with torch (custom ops, torchvision's) have one
entry for all of them: no shipped rule can know what they compute, so they run in PyTorch unless a user's rule
converts them.
"""

from __future__ import annotations

from trt_passes.ir.library_ops import library_overload, qualified_name

_ONE_HOT_SCATTER = (
    "TensorRT's scatter layer only overwrites, so an accumulating scatter converts as a one-hot compare of the "
    "index against every target position and a reduction over the source axis; that needs static shapes, an index "
    "shaped like src and like self except along the scattered dim, int64 indices, float or i64/i32 values (no i32 "
    "mean) and at most 2^22 elements in the one-hot tensor (numel(index) * self.size(dim)). Other uses stay in PyTorch")

_NO_INTEGER_BITWISE = ("on integers: TensorRT's elementwise AND, OR and XOR and unary NOT take bool tensors only, "
                       "and it has no bitwise integer operation to build them from; bool operands convert")

_GRID_SAMPLE = ("nearest and bicubic modes: TensorRT's documentation does not say how its NEAREST grid sample "
                "rounds a position halfway between two pixels (PyTorch rounds half to even), nor the coefficient of "
                "its CUBIC one or how that applies the padding mode to each tap (as PyTorch's bicubic does, with "
                "-0.75), so only bilinear sampling "
                "(every padding mode, both corner conventions) converts")

_ADAPTIVE_POOL = ("an output size that does not divide the input size with an output size above 32 along an axis, or "
                  "run-time input sizes: the windows are then pooled through constant [out, in] window masks, which "
                  "are bounded; output sizes dividing the input convert as strided pooling")

LEFT_TO_PYTORCH: dict[str, str] = {
    "aten.as_strided.default": (
        "it reads its input's storage at the strides given, and the IR holds values, not memory: which element sits "
        "at a storage offset depends on how the input was made (a transpose, a slice, a channels-last copy), which "
        "the graph does not record. What converts: an [N, C, 1, 1] tensor read onto its own shape (channels-last "
        "global pooling), where every layout gives the same order"),
    "aten.nonzero.default": (
        "its result's shape depends on the data (how many elements are nonzero), not on the input shapes; the IR's "
        "sizes must follow from input shapes (the frontend stops at such a size), though TensorRT's NonZero layer "
        "could produce one"),
    "aten.scatter_add.default": _ONE_HOT_SCATTER,
    "aten.scatter_reduce.two": _ONE_HOT_SCATTER,
    "aten.index_put.default": (
        "a bool mask addresses data-dependent positions unless one value is written under a mask of the whole "
        "tensor (a where), and TensorRT's scatter layer only overwrites. What converts: integer index tensors of one "
        "shape on the leading dims (or, without accumulate, one index tensor after one or two `:`s); with "
        "accumulate=true as a one-hot sum (static shapes, float or i64/i32 values, at most 2^22 elements in the "
        "one-hot tensor); or that where"),
    **{op: ("bags convert as a one-hot of each index position's bag and a reduction, which needs static shapes, "
            "1-d indices, float weights, per_sample_weights only in mode sum, at most 2^22 elements in the one-hot "
            "tensor (bags * indices * embedding dim), and with include_last_offset constant offsets ending at "
            "len(indices) (PyTorch's modes disagree otherwise); other uses stay in PyTorch")
       for op in ("aten.embedding_bag.padding_idx", "aten._embedding_bag_forward_only.default",
                  "aten._embedding_bag.default")},
    **{f"aten.bitwise_{name}.{overload}": _NO_INTEGER_BITWISE
       for name in ("and", "or", "xor") for overload in ("Tensor", "Scalar", "Scalar_Tensor")},
    "aten.bitwise_not.default": _NO_INTEGER_BITWISE,
    "aten.pow.Tensor_Tensor": (
        "an integer base to an integer tensor exponent: TensorRT's POW computes in floats, which do not hold large "
        "integer powers exactly, and an exponent known only at run time cannot become products; float powers convert"),
    "aten.sum.dim_IntList": (
        "a float64 result (dtype=torch.float64): TensorRT has no f64 tensors (truncate_double=True sums in float32 "
        "instead); float sums in their own dtype and integer sums convert"),
    "aten.grid_sampler.default": _GRID_SAMPLE,
    "aten.grid_sampler_2d.default": _GRID_SAMPLE,
    **{op: _ADAPTIVE_POOL for op in ("aten._adaptive_avg_pool2d.default", "aten._adaptive_avg_pool3d.default",
                                     "aten.adaptive_max_pool2d.default", "aten.adaptive_max_pool3d.default")},
    "aten.sort.stable": (
        "stable=true with the indices used does not convert: TensorRT's TopK does not order equal values by "
        "position, and a rule cannot know the values are distinct"),
}


def left_to_pytorch_reason(op: str) -> str | None:
    """Why ``op`` (or some uses of it) stays in PyTorch on purpose; None when there is no such decision."""
    if op in LEFT_TO_PYTORCH:
        return LEFT_TO_PYTORCH[op]
    if library_overload(op) is not None:
        return (f"a custom op {qualified_name(op)}: no converter rule has it; it runs in PyTorch (a converter rule "
                f"of yours rooted at {op}, in a .rw file passed as rules=[...], can convert it)")
    return None
