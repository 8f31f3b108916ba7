"""Perturbation methods: Occlusion (sliding window) and RISE (random masks); forward passes only.

Own code rather than Captum's Occlusion: the same windows and averaging (tests compare the maps),
but occluded images are scored in bounded batches with a progress callback after each batch, the
fill can be the mean, black or a blurred copy, and no hooks are involved. RISE has no maintained
implementation in the peer libraries.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import limits
from ..devices import free_memory
from ..progress import report
from .base import AttributionMethod, Context, Param, register
from .baselines import BLUR, baseline_of
from .gradients import SEED, generator
from .scoring import scoring_model

RISE_DRAW = 32  # RISE masks drawn per call of the generator: fixed, so the masks do not depend on the batch size


def masked_rows(x: torch.Tensor) -> int:
    """Masked copies of `x` (1 x C x H x W) one forward-only pass may hold: MASKED_BATCH_BYTES (or a quarter of
    a GPU's free memory, if less) over FORWARD_EXPANSION x the input's bytes, between 1 and MAX_MASKED_ROWS."""
    per_row = max(1, x[0].numel() * x.element_size() * limits.FORWARD_EXPANSION)
    free = free_memory(x.device) if x.device.type == "cuda" else 0  # a CPU's budget is MASKED_BATCH_BYTES alone
    budget = min(limits.MASKED_BATCH_BYTES, free // 4) if free else limits.MASKED_BATCH_BYTES
    return int(max(1, min(limits.MAX_MASKED_ROWS, budget // per_row)))


def batched_scores(ctx: Context, count: int, make, batch: int | None = None) -> torch.Tensor:
    """Target scores of `count` perturbed images built `batch` at a time (default: `masked_rows`) by
    make(start, stop); the scores stay on the device (no synchronising copy inside the loop)."""
    batch = batch or masked_rows(ctx.x)
    scores = torch.empty(count, device=ctx.x.device)
    model = scoring_model(ctx.lm, ctx.x)
    with torch.inference_mode():
        for start in range(0, count, batch):
            stop = min(count, start + batch)
            scores[start:stop] = ctx.score(model(make(start, stop))).float()
            report(ctx.progress, stop / count)
    return scores


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Window positions along one axis, as Captum's Occlusion places them: ceil((size - window) / stride) + 1
    starts every `stride` pixels, the last one reaching (or cut at) the border, so that every pixel is covered
    whatever the window and stride (floor(...) + 1 starts left a strip at the far border uncovered)."""
    window = min(window, size)
    return [k * stride for k in range(-(-(size - window) // stride) + 1)]


@register
class Occlusion(AttributionMethod):
    name = "occlusion"
    masked_forwards = True
    cheaper = "a larger stride or window"
    label = "Occlusion"
    family = "perturbation"
    description = ("How much the score drops when a square window is covered, averaged over the windows that cover "
                   "each pixel (Zeiler & Fergus 2014). One forward per window position.")
    params = (
        Param("window", "int", 32, 2, 512, help="Side of the square window in pixels."),
        Param("stride", "int", 16, 1, 512, help="Step between window positions in pixels."),
        Param("fill", "choice", "mean", choices=("mean", "black", "blurred"),
              help="What covers the window: the dataset mean (grey), black, or a blurred copy of the image."),
        BLUR,
    )

    def passes(self, window: int = 32, stride: int = 16, size: tuple[int, int] = (224, 224), **_) -> int:
        """One forward per window position on the input's grid, plus the clean image's."""
        return len(window_starts(size[0], window, stride)) * len(window_starts(size[1], window, stride)) + 1

    def compute(self, ctx: Context, window: int = 32, stride: int = 16, fill: str = "mean", blur: float = 10.0) -> torch.Tensor:
        x = ctx.x
        h, w = x.shape[-2:]
        wh, ww = min(window, h), min(window, w)
        fill_image = baseline_of(ctx, fill, blur)
        positions = [(top, left) for top in window_starts(h, wh, stride) for left in window_starts(w, ww, stride)]
        with torch.inference_mode():
            clean = ctx.score(scoring_model(ctx.lm, x)(x)).float()[0]  # the model that scores the windows

        def make(start: int, stop: int) -> torch.Tensor:
            batch = x.repeat(stop - start, 1, 1, 1)
            for i, (top, left) in enumerate(positions[start:stop]):  # slices end at the border: the last windows are cut
                batch[i, :, top:top + wh, left:left + ww] = fill_image[0, :, top:top + wh, left:left + ww]
            return batch

        drops = clean - batched_scores(ctx, len(positions), make)
        total = torch.zeros(h, w, device=x.device)
        count = torch.zeros(h, w, device=x.device)
        for (top, left), drop in zip(positions, drops, strict=True):
            total[top:top + wh, left:left + ww] += drop
            count[top:top + wh, left:left + ww] += 1
        return torch.where(count > 0, total / count.clamp_min(1), torch.zeros_like(total))


@register
class RISE(AttributionMethod):
    name = "rise"
    masked_forwards = True
    cheaper = "fewer masks"
    label = "RISE"
    family = "perturbation"
    signed = False
    description = ("The average of random smooth masks weighted by the class probability of the masked image "
                   "(Petsiuk et al. 2018). With the 'logit' objective the probability is used, as in the paper.")
    params = (
        Param("masks", "int", 1000, 8, 20000, help="Random masks (more: smoother, slower)."),
        Param("cells", "int", 7, 2, 64, help="Each mask is a cells x cells random grid, upsampled."),
        Param("keep", "float", 0.5, 0.05, 0.95, help="Probability that a grid cell keeps the image."),
        SEED,
    )

    def passes(self, masks: int = 1000, **_) -> int:
        """One forward per mask."""
        return masks

    def compute(self, ctx: Context, masks: int = 1000, cells: int = 7, keep: float = 0.5, seed: int = 0) -> torch.Tensor:
        x = ctx.x
        h, w = x.shape[-2:]
        ch, cw = math.ceil(h / cells), math.ceil(w / cells)
        gen = generator(ctx, seed)
        total = torch.zeros(h, w, device=x.device)
        objective = ctx.target.objective

        def score(logits: torch.Tensor) -> torch.Tensor:
            if objective == "logit" and ctx.target.contrast is None:
                return ctx.lm.probabilities(logits)[:, ctx.target.index]
            return ctx.score(logits).float()

        def draw(n: int) -> tuple[torch.Tensor, list[int]]:
            """n masks' random cells and shifts (small): the masks themselves are made a batch at a time."""
            grid = (torch.rand((n, 1, cells, cells), generator=gen, device=x.device) < keep).float()
            return grid, torch.randint(0, ch * cw, (n,), generator=gen, device=x.device).tolist()

        def masks_of(grid: torch.Tensor, shifts: list[int]) -> torch.Tensor:
            up = F.interpolate(grid, size=((cells + 1) * ch, (cells + 1) * cw), mode="bilinear", align_corners=False)
            return torch.stack([up[i, 0, s // cw:s // cw + h, s % cw:s % cw + w] for i, s in enumerate(shifts)])

        # masks are drawn RISE_DRAW at a time whatever the batch, so the same seed gives the same masks; full-size
        # masks exist only for the batch being scored (MASKED_BATCH_BYTES: at 1024 px 32 of them were 300 MB)
        rows = masked_rows(x)
        step = max(RISE_DRAW, rows // RISE_DRAW * RISE_DRAW)
        model = scoring_model(ctx.lm, x)
        with torch.inference_mode():
            for start in range(0, masks, step):
                stop = min(masks, start + step)
                drawn = [draw(min(RISE_DRAW, stop - s)) for s in range(start, stop, RISE_DRAW)]
                grid, shifts = torch.cat([g for g, _ in drawn]), [s for _, chunk in drawn for s in chunk]
                for first in range(0, len(shifts), rows):
                    batch = masks_of(grid[first:first + rows], shifts[first:first + rows])
                    total += (score(model(x * batch[:, None])).view(-1, 1, 1) * batch).sum(0)
                report(ctx.progress, stop / masks)
        return total / (masks * keep)
