"""Local surrogate methods on superpixels: LIME and KernelSHAP, through Captum's own implementations.

The image is cut into SLIC superpixels (scikit-image); Captum's `Lime` / `KernelShap` switch random subsets of them
to a fill image, score each perturbed copy, and fit a linear model (Lasso, alpha 0.01, weighted by an exponential
cosine kernel for LIME; least squares weighted by the Shapley kernel for KernelSHAP) whose coefficients are the
superpixels' attributions. Forward passes only, no hooks: the perturbed copies are scored on the shared model (or its
channels-last twin, interpret.attribution.scoring) in batches of `masked_rows` (MASKED_BATCH_BYTES), with progress
after each batch.

Captum draws its samples from torch's global random generator, which every thread shares: here the same draws come
from a private generator seeded by the `seed` parameter (LIME's Bernoulli(0.5) vectors; KernelSHAP's subset size and
Gaussian threshold), so a seed gives the map Captum gives after `torch.manual_seed(seed)`, whatever other threads do.
"""
from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import torch

from ..errors import ParameterError
from ..progress import report
from .base import AttributionMethod, Context, Param, register
from .baselines import BLUR, baseline_of
from .gradients import SEED
from .perturbation import masked_rows
from .scoring import scoring_model

SEGMENTS = Param("segments", "int", 50, 2, 1000, help="Superpixels SLIC aims for (it may make somewhat fewer or more).")
SAMPLES = Param("samples", "int", 200, 10, 5000, help="Perturbed copies scored (more: a steadier fit, slower).")
FILL = Param("fill", "choice", "mean", choices=("mean", "black", "blurred"),
             help="What replaces a switched-off superpixel: the dataset mean (grey), black, or a blurred copy.")
COMPACTNESS = 10.0  # scikit-image's default balance of colour and space


def superpixels(ctx: Context, segments: int) -> torch.Tensor:
    """SLIC superpixels of ctx.x's first image (on its RGB pixels) as a 1 x 1 x H x W mask of labels 0..M-1."""
    from skimage.segmentation import slic

    rgb = ctx.lm.preprocessing.denormalize(ctx.x[:1])
    labels = slic(rgb, n_segments=segments, compactness=COMPACTNESS, start_label=0)
    found, dense = np.unique(labels, return_inverse=True)  # consecutive labels, as Captum's feature count expects
    if len(found) < 2:
        raise ParameterError(f"SLIC found a single superpixel in this image at segments={segments}: these methods "
                             "compare superpixels and need at least two. Try more segments (a noisy or flat image may "
                             "stay one superpixel).")
    return torch.from_numpy(dense.reshape(labels.shape)).long().to(ctx.x.device)[None, None]


def scorer(ctx: Context, samples: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The forward function handed to Captum: each perturbed row's target score, progress after each batch."""
    model = scoring_model(ctx.lm, ctx.x)
    done = [0]

    def forward(batch: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            scores = ctx.score(model(batch)).float()
        done[0] += len(batch)
        report(ctx.progress, min(1.0, done[0] / samples))
        return scores

    return forward


def private_generator(seed: int) -> torch.Generator:
    """A CPU generator: Captum draws its samples on the CPU, so the same seed gives the same samples."""
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    return gen


def lime_samples(gen: torch.Generator) -> Callable[..., torch.Tensor]:
    """Captum's default LIME sampling (a Bernoulli(0.5) vector of superpixels kept) from `gen`."""

    def perturb(original_inp: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        probs = torch.ones(1, int(kwargs["num_interp_features"])) * 0.5
        return torch.bernoulli(probs, generator=gen).to(device=original_inp.device).long()

    return perturb


def kernel_shap_class(gen: torch.Generator) -> type:
    """Captum's KernelShap whose sampling draws from `gen`: the same steps as its kernel_shap_perturb_generator."""
    from captum.attr import KernelShap

    class PrivateKernelShap(KernelShap):
        def kernel_shap_perturb_generator(self, original_inp, **kwargs: Any) -> Generator[torch.Tensor, None, None]:
            device = original_inp.device
            features = int(kwargs["num_interp_features"])
            probs = kwargs["num_select_distribution"].probs
            yield torch.ones(1, features, device=device, dtype=torch.long)
            yield torch.zeros(1, features, device=device, dtype=torch.long)
            while True:  # Categorical.sample() is one multinomial draw
                selected = int(torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, True, generator=gen))
                values = torch.randn(1, features, generator=gen)
                threshold = torch.kthvalue(values, features - selected).values.item()
                yield (values > threshold).to(device=device).long()

    return PrivateKernelShap


class _Superpixels(AttributionMethod):
    family = "perturbation"
    masked_forwards = True
    cheaper = "fewer samples"
    params = (SEGMENTS, SAMPLES, FILL, BLUR, SEED)

    def passes(self, samples: int = 200, **_) -> int:
        """One forward per perturbed copy."""
        return samples

    def explainer(self, forward: Callable[[torch.Tensor], torch.Tensor], gen: torch.Generator) -> Any:
        raise NotImplementedError

    def compute(self, ctx: Context, segments: int = 50, samples: int = 200, fill: str = "mean", blur: float = 10.0,
                seed: int = 0) -> torch.Tensor:
        x = ctx.x[:1]
        mask = superpixels(ctx, segments)
        explainer = self.explainer(scorer(ctx, samples), private_generator(seed))
        result = explainer.attribute(x, baselines=baseline_of(ctx, fill, blur), feature_mask=mask, n_samples=samples,
                                     perturbations_per_eval=masked_rows(x), return_input_shape=True)
        return result[0, 0].float()  # every channel of a superpixel holds its coefficient


@register
class LIME(_Superpixels):
    name = "lime"
    label = "LIME"
    description = ("A sparse linear model (Lasso) fitted to the scores of copies with random superpixels switched off, "
                   "weighted by their similarity to the image; each superpixel's coefficient (Ribeiro et al. 2016, "
                   "Captum's Lime).")

    def explainer(self, forward, gen):
        from captum.attr import Lime

        return Lime(forward, perturb_func=lime_samples(gen))


@register
class KernelSHAP(_Superpixels):
    name = "kernel_shap"
    label = "KernelSHAP"
    description = ("Shapley values of the superpixels, estimated by a linear fit to the scores of copies with random "
                   "subsets switched off, weighted by the Shapley kernel (Lundberg & Lee 2017, Captum's KernelShap).")

    def explainer(self, forward, gen):
        return kernel_shap_class(gen)(forward)
