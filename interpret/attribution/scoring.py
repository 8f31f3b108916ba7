"""The module that scores batches of masked images (Score-CAM, Occlusion, RISE, the faithfulness curves).

Those passes are forward-only and have no hooks, so they may run on a channels-last twin of the shared
model (interpret.models.private.shared_variant: a copy converted once, the shared model untouched). Whether
the twin is used is measured once per model on its own device: a few forwards of a batch in both memory
formats, the twin kept only where it is at least CHANNELS_LAST_GAIN faster. On the 2-core CPU both the
default model and ResNet-18 gained (forward 0.68 and 0.74 of the plain model's time at 224 px,
benchmarks/whole_path.py); a small CNN at 48 px did not. The scores are those of the same weights (the
convolutions sum in another order: differences of float rounding).
"""
from __future__ import annotations

import threading
import time
import weakref

import torch
from torch import nn

from ..models import LoadedModel
from ..models.private import private_copy, shared_variant

CHANNELS_LAST_GAIN = 0.9  # the twin must take at most this share of the plain model's time
PROBE_ROWS = 8  # images of the measuring batch
_CHOICE: weakref.WeakKeyDictionary[LoadedModel, bool] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def faster(plain_seconds: float, twin_seconds: float) -> bool:
    """Whether the channels-last twin is worth its memory: at most CHANNELS_LAST_GAIN of the plain time."""
    return twin_seconds <= CHANNELS_LAST_GAIN * plain_seconds


def _convolutional(lm: LoadedModel) -> bool:
    return lm.hookable and isinstance(lm.model, nn.Module) and any(
        isinstance(m, nn.Conv2d) for m in lm.model.modules())


def _twin(lm: LoadedModel) -> LoadedModel:
    return shared_variant(lm, "channels_last", lambda m: m.to(memory_format=torch.channels_last))


def _measure(lm: LoadedModel, size: tuple[int, int]) -> bool:
    """Both formats timed on copies (the shared model runs only the work asked of it)."""
    twin, plain = _twin(lm), private_copy(lm)
    x = torch.randn(PROBE_ROWS, 3, *size, generator=torch.Generator().manual_seed(0)).to(lm.device)
    times: dict[str, list[float]] = {"plain": [], "twin": []}
    with torch.inference_mode():
        for round_ in range(3):  # the first round warms both up and is not counted
            for name, model in (("plain", plain.model), ("twin", twin.model)):
                if lm.device.type == "cuda":
                    torch.cuda.synchronize(lm.device)
                start = time.perf_counter()
                model(x)
                if lm.device.type == "cuda":
                    torch.cuda.synchronize(lm.device)
                if round_:
                    times[name].append(time.perf_counter() - start)
    return faster(min(times["plain"]), min(times["twin"]))


def scoring_model(lm: LoadedModel, x: torch.Tensor) -> nn.Module:
    """The module to score masked copies of `x` (N x C x H x W) with: the channels-last twin where measured
    faster on this model, the shared model otherwise (and for models without convolutions or hooks)."""
    if x.ndim != 4 or not _convolutional(lm):
        return lm.model
    with _GUARD:
        choice = _CHOICE.get(lm)
    if choice is None:
        choice = _measure(lm, (int(x.shape[-2]), int(x.shape[-1])))
        with _GUARD:
            _CHOICE[lm] = choice
    return _twin(lm).model if choice else lm.model
