#!/usr/bin/env bash
# Create .venv (once) and install trt-passes with TensorRT for RTX and the test tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# torch first and pinned: 2.14.1 is what this project's machines carry (the code also supports >= 2.11).
.venv/bin/python -c "import torch, torchvision" 2>/dev/null \
  || .venv/bin/pip install -q "torch==2.14.1" "torchvision==0.29.1"
.venv/bin/pip install -q -e ".[rtx,test]"
