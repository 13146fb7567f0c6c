#!/usr/bin/env bash
# Set up, lint, and run the whole test suite (what CI runs); then the torch-API tests again on torch 2.11, the
# oldest torch we support (skip that second venv with TRT_PASSES_SKIP_TORCH211=1 when iterating locally).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# setup installs TensorRT for RTX: a test module finding no TensorRT then fails rather than skips (tests/needs_tensorrt.py)
export TRT_PASSES_REQUIRE_TENSORRT=1
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"
if [ "${TRT_PASSES_SKIP_TORCH211:-0}" != "1" ]; then
  bash scripts/test_torch211.sh
fi
