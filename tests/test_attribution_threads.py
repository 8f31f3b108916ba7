"""Sharing: every method gives the same map when 8 threads use one cached model at once, and leaves nothing behind."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from interpret.attribution import REGISTRY, attribute
from interpret.attribution.requirements import applicable

CHEAP = {  # enough work per method to overlap, little enough for a quick test
    "smoothgrad": {"samples": 4}, "smoothgrad_sq": {"samples": 4}, "vargrad": {"samples": 4},
    "integrated_gradients": {"steps": 4}, "expected_gradients": {"samples": 4},
    "scorecam": {"channels": 24}, "occlusion": {"window": 32, "stride": 16}, "rise": {"masks": 48},
    "lime": {"segments": 10, "samples": 24}, "kernel_shap": {"segments": 10, "samples": 24},
}


def run(lm, x, method, target):
    return attribute(lm, x, method, target, params=CHEAP.get(method)).values


def test_eight_threads_on_one_model_match_single_runs(resnet18):
    # smooth: SLIC (LIME, KernelSHAP) leaves pixel noise in one superpixel
    x = F.interpolate(torch.randn(1, 3, 6, 6, generator=torch.Generator().manual_seed(3)), size=(48, 48), mode="bilinear")
    jobs = [(name, i % 10) for i, name in enumerate(REGISTRY) if applicable(resnet18, name)[0]]
    eight_threads_match_single_runs(resnet18, x, jobs)


def test_eight_threads_on_one_vit_match_single_runs(gelu_vit):
    """The attention methods (refused on the ResNet) capture a fused ViT's queries and keys under its lock."""
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(4))
    methods = [name for name, method in REGISTRY.items() if method.family == "attention"]
    jobs = [(methods[i % len(methods)], i % 10) for i in range(8)]
    eight_threads_match_single_runs(gelu_vit, x, jobs)


def eight_threads_match_single_runs(lm, x, jobs):
    alone = {job: run(lm, x, *job) for job in jobs}
    start = threading.Barrier(8)

    def worker(job):
        if threading.current_thread().name not in started:
            started.add(threading.current_thread().name)
            start.wait(timeout=60)  # the first eight jobs begin together
        return job, run(lm, x, *job)

    started: set[str] = set()
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = dict(pool.map(worker, jobs))
    for job in jobs:
        np.testing.assert_allclose(together[job], alone[job], rtol=1e-5, atol=1e-6, err_msg=f"{job} changed under threads")

    model = lm.model
    assert not model.training
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks and not module._backward_hooks
        assert not getattr(module, "_backward_pre_hooks", None)
    for p in model.parameters():
        assert p.grad is None and not p.requires_grad
