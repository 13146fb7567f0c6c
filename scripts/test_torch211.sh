#!/usr/bin/env bash
# The oldest torch we support (what GPU machines carry): a second venv with torch 2.11, running the tests that
# exercise torch's APIs (export, fx, TorchScript, torch.compile, saving) end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-torch2.11
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
"$VENV/bin/python" -c "import torch; assert torch.__version__.startswith('2.11')" 2>/dev/null \
  || "$VENV/bin/pip" install -q "torch==2.11.*" "torchvision==0.26.*"
"$VENV/bin/pip" install -q -e ".[rtx,test]"
"$VENV/bin/python" -c "import torch; print('torch', torch.__version__)"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/ir tests/passes tests/frontends tests/test_models.py \
  tests/test_api.py tests/test_serialize.py "$@"
