#!/usr/bin/env bash
# On a machine with a GPU TensorRT supports: compile resnet18, mobilenet_v2 and the 2-layer BERT with
# runtime="tensorrt" and print each one's parity (against eager PyTorch in float32 and float64) and median latency
# next to eager's. Arguments go to benchmarks/gpu_check.py (model names, --disable-tf32, --iterations N).
#
# Installs nothing. It needs the venv scripts/setup.sh makes (VENV=.venv by default) with a CUDA build of torch and
# a TensorRT runtime that runs on this GPU: NVIDIA's `tensorrt`, or TensorRT for RTX (compute capability 8.0, 8.6,
# 8.9 or 12.0+; not Hopper). Exits 2 with the reason when there is no such GPU or runtime, 1 when a model's parity
# exceeds its tolerance.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "gpu_check: no venv at $VENV; create it with: bash scripts/setup.sh (and install a CUDA build of torch)" >&2
  exit 2
fi
if ! command -v nvidia-smi > /dev/null 2>&1 || ! nvidia-smi -L > /dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU or driver here (nvidia-smi fails); TensorRT engines need one" >&2
  exit 2
fi
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2> /dev/null; then
  echo "gpu_check: torch in $VENV cannot use the GPU (a CPU-only build?); install a CUDA build of torch" >&2
  exit 2
fi
exec "$VENV/bin/python" -m benchmarks.gpu_check "$@"
