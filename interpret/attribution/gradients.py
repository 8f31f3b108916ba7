"""Input-gradient methods without hooks: torch.autograd.grad on fresh inputs, safe on a shared model.

Own code rather than Captum's Saliency / InputXGradient / NoiseTunnel: parameters are frozen, so a
plain autograd.grad only back-propagates to the input (never into parameters), needs no hooks, no
lock and no global random state (noise comes from a seeded private generator), and is batched.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from ..models.kinds import MODEL_KINDS
from ..progress import report
from .base import AttributionMethod, Context, Param, register
from .forward import recorded_forward
from .passes import shared
from .requirements import AUTOGRAD
from .target import Target

GRAD_BATCH = 8  # samples per forward + backward: bounded memory (ResNet-50 at 224 px: +0.8 GB peak), good CPU speed


def input_gradient(ctx: Context, x: torch.Tensor, model: torch.nn.Module | None = None) -> torch.Tensor:
    """d score / d input for a batch (each row its own score); no parameter ever gets a .grad."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        score = ctx.score((model or ctx.lm.model)(x)).sum()
        (grad,) = torch.autograd.grad(score, x)
    return grad


def batched_gradients(ctx: Context, count: int, make: Callable[[int, int], torch.Tensor],
                      consume: Callable[[torch.Tensor, torch.Tensor, int], None], batch: int = GRAD_BATCH) -> None:
    """Gradients at `count` inputs built `batch` at a time by make(start, stop); consume(inputs, grads, start)."""
    for start in range(0, count, batch):
        stop = min(count, start + batch)
        inputs = make(start, stop)
        consume(inputs, input_gradient(ctx, inputs), start)
        report(ctx.progress, stop / count)


def plain_gradient(ctx: Context) -> torch.Tensor:
    """d score / d input at ctx.x (N x 3 x H x W), shared by the maps of one `shared_passes()` block; from the
    batch's planned forward pass where one is kept (forward.planned_forward)."""
    return shared(ctx, "input-gradient", (), lambda: _plain_gradient(ctx))


def _plain_gradient(ctx: Context) -> torch.Tensor:
    run = recorded_forward(ctx.lm, ctx.x, input_grad=True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(ctx.score(run.logits).sum(), run.x, retain_graph=True)
    return grad


@dataclass
class RowJob:
    """One image's part of a batched gradient computation: `count` rows built by make(start, stop) (called
    in order, contiguous), scored by `target`, their gradients handed to consume(inputs, grads, start)."""

    count: int
    target: Target
    make: Callable[[int, int], torch.Tensor]
    consume: Callable[[torch.Tensor, torch.Tensor, int], None]


def gradient_jobs(ctx: Context, jobs: list[RowJob], batch: int) -> None:
    """Gradients of every job's rows, packed `batch` rows per forward + backward across jobs (images)."""
    total = sum(job.count for job in jobs)
    done = 0
    segments: list[tuple[RowJob, int, int]] = []

    def flush() -> None:
        inputs = torch.cat([job.make(a, b) for job, a, b in segments])
        targets = tuple(job.target for job, a, b in segments for _ in range(b - a))
        grads = input_gradient(replace(ctx, row_targets=targets), inputs)
        offset = 0
        for job, a, b in segments:
            job.consume(inputs[offset:offset + b - a], grads[offset:offset + b - a], a)
            offset += b - a
        segments.clear()

    filled = 0
    for job in jobs:
        start = 0
        while start < job.count:
            take = min(job.count - start, batch - filled)
            segments.append((job, start, start + take))
            start += take
            filled += take
            if filled == batch:
                flush()
                done += filled
                filled = 0
                report(ctx.progress, done / total)
    if segments:
        flush()
        report(ctx.progress, 1.0)


def image_contexts(ctx: Context) -> list[Context]:
    """One single-image Context per row of a batch Context (each with its own target)."""
    targets = ctx.row_targets or (ctx.target,) * len(ctx.x)
    return [replace(ctx, x=ctx.x[i:i + 1], target=targets[i], row_targets=None) for i in range(len(ctx.x))]


def generator(ctx: Context, seed: int) -> torch.Generator:
    """A private random generator: results repeat for a seed and never depend on other threads."""
    gen = torch.Generator(device=ctx.x.device)
    gen.manual_seed(int(seed))
    return gen


CHANNELS = Param("channels", "choice", "sum", choices=("sum", "max-abs"),
                 help="How the three colour channels become one map: signed sum, or the largest absolute value.")


def reduce_channels(grad: torch.Tensor, channels: str) -> torch.Tensor:
    return grad.abs().amax(0) if channels == "max-abs" else grad.sum(0)


@register
class Gradient(AttributionMethod):
    name = "gradient"
    label = "Gradient (saliency)"
    description = "The gradient of the target score with respect to the input pixels (Simonyan et al. 2014)."
    params = (CHANNELS,)
    requires = (AUTOGRAD,)
    kinds = MODEL_KINDS  # only ever scores the target (or, Eigen-CAM, none): every kind of model

    batchable = True

    def compute(self, ctx: Context, channels: str = "sum") -> torch.Tensor:
        return reduce_channels(plain_gradient(ctx)[0], channels)

    def compute_batch(self, ctx: Context, channels: str = "sum") -> list[torch.Tensor]:
        return [reduce_channels(grad, channels) for grad in plain_gradient(ctx)]


@register
class GradientXInput(AttributionMethod):
    name = "grad_x_input"
    label = "Gradient × Input"
    description = "Input times its gradient: each pixel's first-order contribution to the score (Shrikumar et al. 2016)."
    requires = (AUTOGRAD,)
    kinds = MODEL_KINDS  # only ever scores the target (or, Eigen-CAM, none): every kind of model

    batchable = True

    def compute(self, ctx: Context) -> torch.Tensor:
        return (plain_gradient(ctx) * ctx.x)[0]

    def compute_batch(self, ctx: Context) -> list[torch.Tensor]:
        return list(plain_gradient(ctx) * ctx.x)


SAMPLES = Param("samples", "int", 16, 1, 512, help="Noisy copies of the image averaged.")
NOISE = Param("noise", "float", 0.15, 0.0, 1.0, help="Noise standard deviation as a fraction of the input's value range.")
SEED = Param("seed", "int", 0, 0, 2**31 - 1, help="Random seed (the same seed gives the same map).")


class _NoisyGradients(AttributionMethod):
    """SmoothGrad family (Smilkov et al. 2017; Adebayo et al. 2018): statistics of gradients at noisy copies."""

    params = (SAMPLES, NOISE, SEED)
    requires = (AUTOGRAD,)
    kinds = MODEL_KINDS  # only ever scores the target (or, Eigen-CAM, none): every kind of model

    def passes(self, samples: int = 16, **_) -> int:
        return samples

    def reduce(self, total: torch.Tensor, squares: torch.Tensor, samples: int) -> torch.Tensor:
        raise NotImplementedError

    batchable = True

    def compute(self, ctx: Context, samples: int = 16, noise: float = 0.15, seed: int = 0) -> torch.Tensor:
        total, squares = shared(ctx, "noisy-gradients", (samples, noise, seed), lambda: self.sums(ctx, samples, noise, seed))
        return self.reduce(total, squares, samples)

    def compute_batch(self, ctx: Context, samples: int = 16, noise: float = 0.15, seed: int = 0) -> list[torch.Tensor]:
        sums = shared(ctx, "noisy-gradients", (samples, noise, seed), lambda: self.batch_sums(ctx, samples, noise, seed))
        return [self.reduce(total, squares, samples) for total, squares in sums]

    @staticmethod
    def job(ctx: Context, samples: int, noise: float, seed: int) -> tuple[RowJob, torch.Tensor, torch.Tensor]:
        """The noisy samples of one image (ctx.x: 1 row) as a RowJob, and the sums it fills."""
        x = ctx.x
        sigma = noise * float(x.max() - x.min())
        stream = NoiseStream(generator(ctx, seed), x, samples, GRAD_BATCH)
        total = torch.zeros_like(x[0])
        squares = torch.zeros_like(x[0])

        def make(start: int, stop: int) -> torch.Tensor:
            return x + sigma * stream.rows(start, stop)

        def consume(inputs: torch.Tensor, grads: torch.Tensor, start: int) -> None:
            total.add_(grads.sum(0))
            squares.add_(grads.square().sum(0))

        return RowJob(samples, ctx.target, make, consume), total, squares

    def sums(self, ctx: Context, samples: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        job, total, squares = self.job(ctx, samples, noise, seed)
        batched_gradients(ctx, samples, job.make, job.consume)
        return total, squares

    def batch_sums(self, ctx: Context, samples: int, noise: float, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        made = [self.job(one, samples, noise, seed) for one in image_contexts(ctx)]
        gradient_jobs(ctx, [job for job, _, _ in made], ctx.batch_rows)
        return [(total, squares) for _, total, squares in made]


class NoiseStream:
    """Gaussian noise for one image's samples, drawn from `gen` in chunks of `chunk` samples, as a single
    image's SmoothGrad draws them: any contiguous run of rows, asked for in order, gets the same values."""

    def __init__(self, gen: torch.Generator, x: torch.Tensor, count: int, chunk: int) -> None:
        self.gen, self.x, self.count, self.chunk = gen, x, count, chunk
        self.drawn = torch.empty((0, *x.shape[1:]), device=x.device, dtype=x.dtype)
        self.start = 0  # sample index of drawn[0]

    def rows(self, start: int, stop: int) -> torch.Tensor:
        if start < self.start:
            raise ValueError("noise rows must be asked for in order")
        while self.start + len(self.drawn) < stop:
            size = min(self.chunk, self.count - self.start - len(self.drawn))
            more = torch.randn((size, *self.x.shape[1:]), generator=self.gen, device=self.x.device, dtype=self.x.dtype)
            keep = self.drawn[start - self.start:]
            self.start = start
            self.drawn = torch.cat([keep, more])
        return self.drawn[start - self.start:stop - self.start]


@register
class SmoothGrad(_NoisyGradients):
    name = "smoothgrad"
    label = "SmoothGrad"
    description = "The gradient averaged over noisy copies of the image (Smilkov et al. 2017)."

    def reduce(self, total, squares, samples):
        return total / samples


@register
class SmoothGradSquared(_NoisyGradients):
    name = "smoothgrad_sq"
    label = "SmoothGrad²"
    signed = False
    description = "The mean squared gradient over noisy copies of the image (Hooker et al. 2019)."

    def reduce(self, total, squares, samples):
        return squares / samples


@register
class VarGrad(_NoisyGradients):
    name = "vargrad"
    label = "VarGrad"
    signed = False
    description = "The variance of the gradient over noisy copies of the image (Adebayo et al. 2018)."

    def reduce(self, total, squares, samples):
        mean = total / samples
        return (squares / samples - mean.square()).clamp_min(0)
