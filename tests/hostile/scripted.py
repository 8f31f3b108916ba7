"""Tiny models saved as TorchScript: the program a TorchScript file is (scripting needs them in a source file)."""
from __future__ import annotations

import io
import threading

import torch
from torch import nn


class Tiny(nn.Module):
    """A well-behaved 10-class model: mean colour through a linear layer."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.fc = nn.Linear(3, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean((2, 3)))


class Raises(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("hostile forward raised")


class NanOutput(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0], 10), float("nan"))


class HugeOutput(nn.Module):
    """30 M class scores per image (120 MB a row, and every softmax and top-k on it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 30_000_000)


class NeverReturns(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        while bool(y.sum() > -1.0e30):
            y = y + 0.0
        return y.flatten(1)


class WrongRows(nn.Module):
    """Two rows of scores for every image."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0] * 2, 10)


class OneDimensional(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten()


class Prints(nn.Module):
    """Runs visible code when its forward pass runs: proof that loading ran the program."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print("HOSTILE-CODE-RAN")
        return torch.zeros(x.shape[0], 10)


def script_bytes(module: nn.Module) -> bytes:
    """The module scripted and saved as TorchScript, in memory."""
    import warnings

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch 2.14 deprecates torch.jit; files still exist
        torch.jit.save(torch.jit.script(module), buffer)
    return buffer.getvalue()


def first_pass_running(name: str) -> bool:
    """Whether a model's first forward pass is still running in its worker thread (models/first_pass.py): the
    loader stopped waiting at its bound instead of waiting for the pass to end."""
    return any(t.name.startswith("interpret-first-pass:") and name in t.name and t.is_alive() for t in threading.enumerate())


class Slow(nn.Module):
    """A forward that takes far longer than any first-pass bound (about 15 s here) and then returns.

    Unlike NeverReturns it ends, so a thread left running after the bound cut it off stops by itself
    (the app runs in the test process: a forward spinning forever would take a core for the rest of the suite).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.zeros(1)
        for _ in range(1_500_000):
            y = y + 1.0
        return torch.zeros(x.shape[0], 10) + y * 0.0
