"""Resolving the CLI's MODEL argument: ``torchvision:NAME``, ``module:callable`` or ``path.py:callable``.

Models are always built with random weights; nothing is downloaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import torch


class ModelSpecError(ValueError):
    """A MODEL argument that names no loadable model (the CLI prints it as one line)."""


def load_model(spec: str) -> torch.nn.Module:
    kind, sep, name = spec.partition(":")
    if not sep or not name:
        raise ModelSpecError(f"bad MODEL {spec!r}: expected torchvision:NAME, module:callable or path.py:callable")
    if kind == "torchvision":
        try:
            import torchvision
        except ImportError:
            raise ModelSpecError("torchvision is not installed: pip install torchvision") from None
        try:
            model = torchvision.models.get_model(name, weights=None)
        except ValueError:
            known = ", ".join(sorted(torchvision.models.list_models())[:12])
            raise ModelSpecError(f"torchvision has no model {name!r} (some it has: {known}, ...)") from None
        return model.eval()
    if kind.endswith(".py"):
        path = Path(kind)
        if not path.is_file():
            raise ModelSpecError(f"no file {path}")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(kind)
        except ImportError as e:
            raise ModelSpecError(f"cannot import {kind!r}: {e}") from None
    factory: Any = getattr(module, name, None)
    if factory is None:
        raise ModelSpecError(f"{kind} has no attribute {name!r}")
    model = factory() if not isinstance(factory, torch.nn.Module) and callable(factory) else factory
    if not isinstance(model, torch.nn.Module):
        raise ModelSpecError(f"{spec} gave a {type(model).__name__}, not a torch.nn.Module")
    return model.eval()
