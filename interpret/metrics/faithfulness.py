"""Deletion and insertion curves (RISE, Petsiuk et al. 2018), batched.

The score is the probability (softmax, or sigmoid for a sigmoid head) of the map's own target class (by default
the class predicted on the clean image); for a contrast "why c rather than b" it is the probability of c rather
than b, sigmoid(f_c - f_b) (for a softmax head p_c / (p_c + p_b)). Deletion replaces
the most relevant pixels by zero after normalisation (the dataset mean); insertion starts from a
blurred copy (11 x 11 kernel, sigma 5) and puts the most relevant pixels back. Every step of a curve
goes through the model in a few large batches (as many images as MASKED_BATCH_BYTES allows); the
clean image's probability, which both curves share (deletion at 0 %, insertion at 100 %), is computed
once per image and reused by every map.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..attribution.perturbation import masked_rows
from ..attribution.scoring import scoring_model
from ..models import LoadedModel
from ..signs import select
from ..spatial import gaussian_blur
from .ranking import pixel_rank

BLUR_KERNEL = 11
BLUR_SIGMA = 5.0
DEFAULT_STEPS = 28
DEFAULT_BATCH = 32  # images per forward of the hand-written loop benchmarks/trust.py compares the probe with


@dataclass(frozen=True)
class Curve:
    """Probability of the clean prediction against the fraction of pixels deleted or inserted."""

    kind: str  # "deletion" or "insertion"
    fractions: np.ndarray
    probs: np.ndarray

    @property
    def auc(self) -> float:
        """Trapezoid area under the curve; fractions span [0, 1] so the area lies in [0, 1]."""
        return float(np.trapezoid(self.probs, self.fractions))


class FaithfulnessProbe:
    """One image under one model: its prediction, its blurred copy, and batched class probabilities.

    Build it once per image and score every map (methods and reference maps) with it, so that the
    work they share is done once.
    """

    def __init__(self, lm: LoadedModel, x: torch.Tensor, batch_size: int | None = None, target: int | None = None,
                 contrast: int | None = None):
        self.lm = lm
        self.x = lm.input_tensor(x[:1]).detach()
        # images per forward: as many as MASKED_BATCH_BYTES allows (Occlusion's and RISE's budget), unless given
        self.batch_size = max(1, int(batch_size)) if batch_size else masked_rows(self.x)
        self.model = scoring_model(lm, self.x)  # channels-last where measured faster (attribution/scoring.py)
        with torch.inference_mode():
            logits = self.model(self.x)
        self.target = int(logits[0].argmax()) if target is None else int(target)
        self.contrast = None if contrast is None else int(contrast)
        self.clean_prob = float(self.followed(logits)[0])
        self.fill = torch.zeros_like(self.x)  # zero after normalisation = the dataset mean
        self.blurred = gaussian_blur(self.x, BLUR_SIGMA, radius=BLUR_KERNEL // 2, padding="reflect")  # 11 taps, mirrored borders
        self.forwards = 1  # images passed through the model so far (cost accounting)

    @property
    def shape(self) -> tuple[int, int]:
        height, width = self.x.shape[-2:]
        return int(height), int(width)

    def followed(self, logits: torch.Tensor) -> torch.Tensor:
        """What the curves follow, per image of a batch of logits: the target's probability, or with a contrast
        the probability of the target rather than the contrast class."""
        if self.contrast is None:
            return self.lm.probabilities(logits)[:, self.target]
        return torch.sigmoid(logits[:, self.target].float() - logits[:, self.contrast].float())

    def describe(self) -> str:
        """What the curves follow, in words: "probability of 'tabby'" or "... of 'tabby' rather than 'tiger cat'"."""
        text = f"probability of '{self.lm.label(self.target)}'"
        return text if self.contrast is None else f"{text} rather than '{self.lm.label(self.contrast)}'"

    def probs(self, images: torch.Tensor) -> np.ndarray:
        """What the curves follow (`followed`) for every image of a batch (in chunks)."""
        out = []
        with torch.inference_mode():
            for start in range(0, images.shape[0], self.batch_size):
                logits = self.model(images[start:start + self.batch_size])
                out.append(self.followed(logits).cpu())
        self.forwards += images.shape[0]
        return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)

    def step_masks(self, values: np.ndarray, counts: np.ndarray, mode: str = "absolute", seed: int = 0) -> torch.Tensor:
        """Boolean K x 1 x H x W masks of the `counts[k]` most relevant pixels."""
        rank = torch.from_numpy(pixel_rank(select(values, mode, np.float64), seed)).to(self.x.device)
        limits = torch.as_tensor(np.asarray(counts), device=self.x.device).view(-1, 1, 1, 1)
        return rank[None, None] < limits

    def curves(self, values: np.ndarray, steps: int = DEFAULT_STEPS, mode: str = "absolute",
               seed: int = 0) -> tuple[Curve, Curve]:
        """Deletion and insertion curves of one map, `steps` steps each, in one batched pass.

        Step k touches round(k / steps * H * W) pixels. Deletion at step 0 and insertion at the last
        step are the clean image, whose probability is already known: 2 * steps new images in all.
        """
        values = np.asarray(values)
        if values.shape != self.shape:
            raise ValueError(f"map shape {values.shape} does not match the image {self.shape}")
        steps = max(1, int(steps))
        total = values.size
        counts = np.round(np.arange(steps + 1) / steps * total).astype(np.int64)
        masks = self.step_masks(values, counts, mode, seed)
        deleted = torch.where(masks[1:], self.fill, self.x)  # steps 1..steps
        inserted = torch.where(masks[:-1], self.x, self.blurred)  # steps 0..steps-1
        probs = self.probs(torch.cat([deleted, inserted]))
        fractions = counts / total
        deletion = np.concatenate([[self.clean_prob], probs[:steps]])
        insertion = np.concatenate([probs[steps:], [self.clean_prob]])
        return Curve("deletion", fractions, deletion), Curve("insertion", fractions, insertion)
