"""How the benchmarks time things and call the peers, once: each peer is called as its users call it.

pytorch-grad-cam back-propagates into parameters, so it gets a trainable copy (`trainable`); Captum and
torchcam get the frozen model itself.
"""
from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def synchronize() -> None:
    """Wait for queued GPU work, so that a wall-clock time covers it (nothing to wait for on a CPU)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def seconds(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call, the GPU work it queued included."""
    synchronize()
    start = time.perf_counter()
    fn()
    synchronize()
    return time.perf_counter() - start


def machine_load() -> str:
    """The machine's load averages, noted beside every ratio (the ratios are measured side by side)."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count() or 0} cores"


def trainable_copy(model: nn.Module) -> nn.Module:
    """A copy whose parameters take gradients, for pytorch-grad-cam (it calls backward() on the model)."""
    trainable = copy.deepcopy(model)
    for p in trainable.parameters():
        p.requires_grad_(True)
    return trainable


def pgc_cam(name: str, trainable: nn.Module, x: torch.Tensor, layer: str, target: int) -> Callable[[], object]:
    """pytorch-grad-cam's CAM `name` (GradCAM, GradCAMPlusPlus, ...) at `layer`, built once, called per map."""
    import pytorch_grad_cam as pgc
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cam = getattr(pgc, name)(model=trainable, target_layers=[trainable.get_submodule(layer)])
    return lambda: cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(target)])


def torchcam_cam(name: str, frozen: nn.Module, x: torch.Tensor, layer: str, target: int) -> Callable[[], torch.Tensor]:
    """torchcam's CAM `name` at `layer`: an extractor per map, its hooks removed after, resized to the input."""
    import torchcam.methods as tc

    def run() -> torch.Tensor:
        extractor = getattr(tc, name)(frozen, target_layer=layer, input_shape=tuple(x.shape[1:]))
        try:
            with torch.enable_grad():
                scores = frozen(x.clone().requires_grad_())
                cam = extractor(target, scores)[0]
            return F.interpolate(cam[None], size=x.shape[-2:], mode="bilinear", align_corners=False)
        finally:
            extractor.remove_hooks()
    return run


def noise_tunnel(kind: str, frozen: nn.Module, x: torch.Tensor, target: int, samples: int) -> Callable[[], torch.Tensor]:
    """Captum's NoiseTunnel over Saliency (smoothgrad, smoothgrad_sq, vargrad) with the project's noise level."""
    from captum.attr import NoiseTunnel, Saliency

    sigma = 0.15 * float(x.max() - x.min())
    return lambda: NoiseTunnel(Saliency(frozen)).attribute(x.clone(), nt_type=kind, nt_samples=samples,
                                                           nt_samples_batch_size=8, stdevs=sigma, target=target, abs=False)
