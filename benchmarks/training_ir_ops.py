"""Which ops ``torch.export.export`` gives for the zoo (its training IR, before any decomposition), per model.

    python -m benchmarks.training_ir_ops [--write] [resnet18 bert ...]

Prints, for each op, how many zoo models contain it; ``--write`` stores that list as
``spec/coverage/training_ir.ops``, which ``trt-passes coverage`` reads to say how each op is handled (by a rule, by
PyTorch's table through the ``decompose`` pass, or left to PyTorch). Exporting every model takes a few minutes.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import torch

from benchmarks.zoo import MODELS, ZOO

OUT = Path(__file__).resolve().parent.parent / "spec" / "coverage" / "training_ir.ops"
HEADER = """\
# The ops torch.export.export gives for the models of benchmarks/zoo.py (its training IR, before decompositions),
# with how many of those models contain each. Written by `python -m benchmarks.training_ir_ops --write` with
# torch {torch}; read by `trt-passes coverage`. One op a line: the op, then the number of models.
"""


def export_ops(name: str) -> Counter[str]:
    entry = ZOO[name]
    model, inputs = entry.build(), entry.inputs()
    ep = torch.export.export(model, tuple(inputs))
    return Counter(str(n.target) for n in ep.graph.nodes if n.op == "call_function")


def main(argv: list[str]) -> None:
    names = [a for a in argv if not a.startswith("-")] or [*MODELS, "maxvit_t"]
    models: Counter[str] = Counter()
    for name in names:
        start = time.perf_counter()
        ops = export_ops(name)
        models.update(set(ops))
        print(f"{name}: {len(ops)} distinct ops, exported in {time.perf_counter() - start:.1f} s", flush=True)
    lines = [f"{op:<48}{n:>3}" for op, n in sorted(models.items(), key=lambda kv: (-kv[1], kv[0]))]
    print("\n".join(lines))
    if "--write" in argv:
        OUT.write_text(HEADER.format(torch=torch.__version__) + "\n".join(lines) + "\n")
        print(f"written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
