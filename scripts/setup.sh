#!/usr/bin/env bash
# Create a venv (once) and install trt-passes with TensorRT for RTX and the test tools. Idempotent.
#   VENV=.venv (default)   TORCH=2.14.1 TORCHVISION=0.29.1 (defaults: what this project's machines carry)
# The installers' chatter goes to $VENV/setup.log and is shown only if a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH=${TORCH:-2.14.1}
TORCHVISION=${TORCHVISION:-0.29.1}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
log="$VENV/setup.log"
: > "$log"
quietly() {
  if ! "$@" >> "$log" 2>&1; then
    cat "$log" >&2
    echo "setup failed: $*" >&2
    exit 1
  fi
}
quietly "$VENV/bin/pip" install --upgrade pip
# torch first and pinned, so the project's own requirement (torch>=2.11) never pulls another build.
"$VENV/bin/python" -c "import torch, torchvision, sys; sys.exit(not torch.__version__.startswith('${TORCH%.\*}'))" \
  2>/dev/null || quietly "$VENV/bin/pip" install "torch==$TORCH" "torchvision==$TORCHVISION"
quietly "$VENV/bin/pip" install -e ".[rtx,test]"
echo "setup: $VENV ready ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
