"""Numbers that describe channels: the keys a mosaic is sorted by and the figures shown next to a channel."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChannelStats:
    channel: int
    mean: float
    max: float
    min: float
    zeros: float  # fraction of positions whose value is <= 0 (exactly 0 after a ReLU: inactive)

    def as_dict(self) -> dict:
        return {"channel": self.channel, "mean": self.mean, "max": self.max, "min": self.min, "zeros": self.zeros}


def _per_channel(values: np.ndarray) -> np.ndarray:
    """C x H x W (or C) -> C x positions."""
    return values.reshape(values.shape[0], -1)


def channel_means(values: np.ndarray) -> np.ndarray:
    return _per_channel(values).mean(1)


def channel_maxima(values: np.ndarray) -> np.ndarray:
    return _per_channel(values).max(1)


def channel_stats(values: np.ndarray, channel: int) -> ChannelStats:
    """Mean, max, min and inactive fraction of one channel of a C x H x W (or C) array."""
    flat = _per_channel(values)[channel]
    return ChannelStats(channel, float(flat.mean()), float(flat.max()), float(flat.min()), float((flat <= 0).mean()))


def all_channel_stats(values: np.ndarray) -> list[ChannelStats]:
    flat = _per_channel(values)
    means, maxima, minima, zeros = flat.mean(1), flat.max(1), flat.min(1), (flat <= 0).mean(1)
    return [ChannelStats(c, float(means[c]), float(maxima[c]), float(minima[c]), float(zeros[c])) for c in range(flat.shape[0])]


def histogram(values: np.ndarray, bins: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of every activation of a layer (any shape)."""
    flat = np.nan_to_num(values.reshape(-1).astype(np.float32))
    return np.histogram(flat, bins=bins)
