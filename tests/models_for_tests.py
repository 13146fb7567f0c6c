"""Small models used by the API and CLI tests (also loadable as tests/models_for_tests.py:NAME from the CLI)."""

import torch


class WithUnsupportedOp(torch.nn.Module):
    """Linear -> i0 (a Bessel function no converter handles) -> Linear -> ReLU."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Linear(8, 8)
        self.b = torch.nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.b(torch.special.i0(self.a(x))) * 2.0)


class Mlp(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Linear(8, 16)
        self.b = torch.nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def unsupported() -> torch.nn.Module:
    return WithUnsupportedOp().eval()


def mlp() -> torch.nn.Module:
    return Mlp().eval()
