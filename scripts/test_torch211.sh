#!/usr/bin/env bash
# The oldest torch we support (what GPU machines carry): a second venv with torch 2.11, running the tests that
# exercise torch's APIs (export, fx, TorchScript, torch.compile, saving, symbolic shapes) end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-torch2.11 TORCH="2.11.*" TORCHVISION="0.26.*" bash scripts/setup.sh
.venv-torch2.11/bin/python -m pytest -q -p no:cacheprovider tests/ir tests/passes tests/frontends \
  tests/test_models.py tests/test_api.py tests/test_serialize.py tests/test_dynamic_shapes.py "$@"
