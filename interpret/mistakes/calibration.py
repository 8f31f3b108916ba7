"""How far the model's confidence can be trusted: reliability bins, expected calibration error, least sure.

Confidence is the top-1 class's probability as the model gives it: its softmax share, or for a sigmoid
(multi-label) head that label's own sigmoid probability. Either way a bin compares the mean confidence
with how often the top-1 class is the image's label, which is what that probability claims (for a sigmoid
head, on a set with one label per image: the probability that the predicted label is present)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .evaluate import Evaluation
from .metrics import correct


@dataclass(frozen=True)
class Calibration:
    edges: np.ndarray  # bins + 1 confidence edges in [0, 1]
    counts: np.ndarray  # images per bin
    confidence: np.ndarray  # mean top-1 probability per bin (nan where empty)
    accuracy: np.ndarray  # top-1 accuracy per bin (nan where empty)
    ece: float  # sum over bins of (images in bin / images) * |accuracy - confidence|

    def rows(self) -> list[dict]:
        return [{"bin": f"{lo:.1f}–{hi:.1f}", "images": int(n), "mean confidence": None if n == 0 else float(c),
                 "accuracy": None if n == 0 else float(a)}
                for lo, hi, n, c, a in zip(self.edges[:-1], self.edges[1:], self.counts, self.confidence, self.accuracy,
                                           strict=True)]


def calibration(ev: Evaluation, bins: int = 10) -> Calibration:
    ok = ev.ok
    conf = ev.top_prob[ok, 0].astype(np.float64)
    right = correct(ev)[ok].astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, conf, bins) / counts
        mean_acc = np.bincount(which, right, bins) / counts
    gaps = np.where(counts > 0, np.abs(np.nan_to_num(mean_acc) - np.nan_to_num(mean_conf)), 0.0)
    ece = float((counts * gaps).sum() / max(1, counts.sum()))
    return Calibration(edges, counts, mean_conf, mean_acc, ece)


def least_sure(ev: Evaluation, count: int = 12) -> np.ndarray:
    """Row indices with the lowest top-1 probability first."""
    ok = ev.ok
    return ok[np.argsort(ev.top_prob[ok, 0], kind="stable")][:count]
