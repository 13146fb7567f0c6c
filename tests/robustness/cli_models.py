"""Models the bad-input tests load from the command line (``tests/robustness/cli_models.py:NAME``)."""

import torch


def token_classifier() -> torch.nn.Module:
    """Takes int64 token ids of shape [batch, 16] (an embedding, then a linear layer over the flattened rows)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Embedding(100, 8), torch.nn.Flatten(), torch.nn.Linear(16 * 8, 4)).eval()
