"""Occlusion and RISE score as many masked images per forward as the memory budget (limits.MASKED_BATCH_BYTES)
allows; the maps do not depend on it: one masked image per forward gives the same map, and RISE draws the
same masks whatever the batch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from interpret import limits
from interpret.attribution import attribute
from interpret.attribution.perturbation import masked_rows

CASES = [("occlusion", {"window": 8, "stride": 8}), ("rise", {"masks": 40, "seed": 3})]


@pytest.fixture(scope="module")
def x(resnet18, coffee):
    return F.interpolate(resnet18.preprocessing.to_tensor(coffee.image), size=(32, 32), mode="bilinear")


def test_the_batch_follows_the_memory_budget(x, monkeypatch):
    assert masked_rows(x) == min(limits.MAX_MASKED_ROWS, limits.MASKED_BATCH_BYTES // (x.numel() * 4 * limits.FORWARD_EXPANSION))
    monkeypatch.setattr(limits, "MASKED_BATCH_BYTES", 1)
    assert masked_rows(x) == 1  # at least one image, however small the budget


@pytest.mark.parametrize("method, params", CASES)
def test_batched_maps_equal_one_image_per_forward(resnet18, x, method, params, monkeypatch):
    batched = attribute(resnet18, x, method, 3, params=params)
    monkeypatch.setattr(limits, "MASKED_BATCH_BYTES", 1)
    one_by_one = attribute(resnet18, x, method, 3, params=params)
    scale = float(np.abs(batched.values).max())
    assert scale > 0
    np.testing.assert_allclose(batched.values, one_by_one.values, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_budget_on_a_gpu_is_at_most_a_quarter_of_its_free_memory(x):
    free = torch.cuda.mem_get_info()[0]
    assert masked_rows(x.cuda()) <= max(1, free // 4 // (x.numel() * 4 * limits.FORWARD_EXPANSION))
