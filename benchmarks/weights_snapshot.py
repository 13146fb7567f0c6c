"""What the compiled program's own copy of its constants costs (backend/snapshot.py), per model.

    python -m benchmarks.weights_snapshot [resnet50 bert ...]      # default: resnet50

Columns: the model's parameters and buffers; the constants the compiled program holds (segment bodies for the
reference runtime and saving, and the PyTorch part; each tensor counted once); of those, the bytes that are the
model's own tensors until the snapshot copies them (the steady-state cost: the rest, constants computed while
compiling such as folded batch norms, only the compile held, and their copies replace them); and the serialised
engines, which hold TensorRT's copy. Engines are built (the engine column needs them); no GPU is used.
"""

from __future__ import annotations

import sys
import warnings

import torch

from benchmarks.zoo import ZOO
from trt_passes.backend.snapshot import snapshot_constants
from trt_passes.compiler import run_passes
from trt_passes.frontends import get_frontend
from trt_passes.ir import Graph
from trt_passes.passes.settings import CompileSettings

MB = 1e6


def _constants(graph: Graph) -> list[torch.Tensor]:
    out = []
    for node in graph.all_nodes():
        if node.op == "constant" and node.value is not None:
            out.append(node.value)
        elif node.op == "segment":
            out.extend(_constants(node.attrs["body"]))
    return out


def _bytes(tensors: list[torch.Tensor]) -> int:
    seen: dict[int, int] = {}
    for t in tensors:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = max(seen.get(storage.data_ptr(), 0), storage.nbytes())
    return sum(seen.values())


def measure(name: str) -> dict[str, float]:
    entry = ZOO[name]
    model, inputs = entry.build(), entry.inputs()
    own = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = run_passes(get_frontend("dynamo").import_model(model, inputs), CompileSettings(runtime="reference"))
    held = _constants(ctx.graph)
    aliased = [t for t in held if t.untyped_storage().data_ptr() in own]
    snapshot = _constants(snapshot_constants(ctx.graph))
    engines = sum(len(n.attrs["engine"].engine) for n in ctx.graph.all_nodes()
                  if n.op == "segment" and n.attrs.get("engine") is not None)
    return {"model": _bytes([*model.parameters(), *model.buffers()]) / MB, "held": _bytes(held) / MB,
            "aliased": _bytes(aliased) / MB, "snapshot": _bytes(snapshot) / MB, "engines": engines / MB}


def main(names: list[str]) -> None:
    print(f"{'model':<14} {'params+buffers':>15} {'program consts':>15} {'were the model':>15} "
          f"{'snapshot':>10} {'engines':>10}   (MB)")
    for name in names:
        m = measure(name)
        print(f"{name:<14} {m['model']:>15.1f} {m['held']:>15.1f} {m['aliased']:>15.1f} {m['snapshot']:>10.1f} "
              f"{m['engines']:>10.1f}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["resnet50"])
