#!/usr/bin/env bash
# Set up, then compile a real model: the pipeline, the partition, the rules fired, a real TensorRT engine, parity.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/trt-passes compile torchvision:resnet18 --input 1x3x224x224 --check "$@"
