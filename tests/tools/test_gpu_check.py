"""scripts/gpu_check.sh and benchmarks/gpu_check.py on a machine without a usable GPU: a clear reason, exit status 2,
nothing installed or compiled."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch

from benchmarks import gpu_check

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the GPU-less path")


def test_the_python_check_says_why_it_cannot_run_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_check.main([]) == gpu_check.EXIT_NO_GPU
    assert "cannot run TensorRT engines here: CUDA is not available" in capsys.readouterr().err


def test_the_script_exits_2_with_the_reason() -> None:
    proc = subprocess.run(["bash", "scripts/gpu_check.sh"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("gpu_check: ") and ("GPU" in proc.stderr or "CUDA" in proc.stderr)
