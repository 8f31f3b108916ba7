"""Path methods: Integrated Gradients and Expected Gradients / GradientSHAP.

Own batched autograd.grad code rather than Captum's IntegratedGradients / GradientShap: the same
Gauss-Legendre rule as Captum's default, but hook-free and with a private random generator (Captum's
GradientShap draws from the global RNG, which other sessions' threads share), bounded batches and a
progress callback after each batch.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import AttributionMethod, Context, Param, register
from .baselines import BASELINE, BASELINES, BLUR, baseline_of, uniform_noise
from .gradients import SEED, RowJob, batched_gradients, generator, gradient_jobs, image_contexts
from .requirements import AUTOGRAD

STEPS = Param("steps", "int", 32, 2, 1024, help="Points on the path from the baseline to the image (Gauss-Legendre rule).")


def gauss_legendre(steps: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes in (0, 1) and weights summing to 1 (Captum's default rule for IG)."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (torch.tensor((nodes + 1) / 2, device=device, dtype=dtype),
            torch.tensor(weights / 2, device=device, dtype=dtype))


@register
class IntegratedGradients(AttributionMethod):
    name = "integrated_gradients"
    label = "Integrated Gradients"
    description = ("The gradient averaged along the straight path from a baseline to the image, times the difference; "
                   "attributions sum to f(image) - f(baseline) (Sundararajan et al. 2017).")
    params = (STEPS, BASELINE, BLUR, SEED)
    requires = (AUTOGRAD,)

    def passes(self, steps: int = 32, **_) -> int:
        return steps

    batchable = True

    @staticmethod
    def job(ctx: Context, steps: int, baseline: str, blur: float, seed: int) -> tuple[RowJob, torch.Tensor, torch.Tensor]:
        """The path points of one image (ctx.x: 1 row) as a RowJob, its x - baseline and the weighted sum it fills."""
        x = ctx.x
        base = baseline_of(ctx, baseline, blur, generator(ctx, seed))
        alphas, weights = gauss_legendre(steps, x.device, x.dtype)
        diff = x - base
        total = torch.zeros_like(x[0])

        def make(start: int, stop: int) -> torch.Tensor:
            return base + alphas[start:stop].view(-1, 1, 1, 1) * diff

        def consume(inputs: torch.Tensor, grads: torch.Tensor, start: int) -> None:
            total.add_((grads * weights[start:start + len(grads)].view(-1, 1, 1, 1)).sum(0))

        return RowJob(steps, ctx.target, make, consume), diff, total

    def compute(self, ctx: Context, steps: int = 32, baseline: str = "black", blur: float = 10.0, seed: int = 0) -> torch.Tensor:
        job, diff, total = self.job(ctx, steps, baseline, blur, seed)
        batched_gradients(ctx, steps, job.make, job.consume)
        return diff[0] * total

    def compute_batch(self, ctx: Context, steps: int = 32, baseline: str = "black", blur: float = 10.0,
                      seed: int = 0) -> list[torch.Tensor]:
        made = [self.job(one, steps, baseline, blur, seed) for one in image_contexts(ctx)]
        gradient_jobs(ctx, [job for job, _, _ in made], ctx.batch_rows)
        return [diff[0] * total for _, diff, total in made]


@register
class ExpectedGradients(AttributionMethod):
    name = "expected_gradients"
    label = "Expected Gradients / GradientSHAP"
    description = ("Integrated Gradients averaged over random baselines and random points on each path "
                   "(Erion et al. 2021; Lundberg & Lee 2017, GradientSHAP).")
    params = (
        Param("samples", "int", 32, 1, 1024, help="Random (baseline, point on the path) pairs."),
        Param("baselines", "choice", "noise", choices=BASELINES,
              help="Distribution of baselines: uniform-noise images (a new one per sample), black, blurred or grey."),
        Param("stdev", "float", 0.0, 0.0, 1.0,
              help="Gaussian noise added to the image at each sample (GradientSHAP), as a fraction of its range."),
        BLUR,
        SEED,
    )
    requires = (AUTOGRAD,)

    def passes(self, samples: int = 32, **_) -> int:
        return samples

    def compute(self, ctx: Context, samples: int = 32, baselines: str = "noise", stdev: float = 0.0,
                blur: float = 10.0, seed: int = 0) -> torch.Tensor:
        x = ctx.x
        gen = generator(ctx, seed)
        sigma = stdev * float(x.max() - x.min())
        fixed = None if baselines == "noise" else baseline_of(ctx, baselines, blur)
        total = torch.zeros_like(x[0])
        pending: dict[int, torch.Tensor] = {}

        def make(start: int, stop: int) -> torch.Tensor:
            n = stop - start
            base = uniform_noise(ctx, n, gen) if fixed is None else fixed.expand(n, -1, -1, -1)
            alpha = torch.rand((n, 1, 1, 1), generator=gen, device=x.device, dtype=x.dtype)
            point = x + sigma * torch.randn((n, *x.shape[1:]), generator=gen, device=x.device, dtype=x.dtype) if sigma else x
            pending[start] = point - base
            return base + alpha * (point - base)

        def consume(inputs: torch.Tensor, grads: torch.Tensor, start: int) -> None:
            total.add_((grads * pending.pop(start)).sum(0))

        batched_gradients(ctx, samples, make, consume)
        return total / samples
