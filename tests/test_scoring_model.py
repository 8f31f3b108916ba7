"""The module that scores masked images: a channels-last twin where measured faster, the same scores, and the
shared model never converted."""
from __future__ import annotations

import torch

from interpret.attribution.scoring import CHANNELS_LAST_GAIN, faster, scoring_model


def test_the_twin_is_kept_only_where_it_saves_at_least_the_stated_share():
    assert faster(1.0, CHANNELS_LAST_GAIN)
    assert not faster(1.0, 0.95)  # a few per cent is noise, not worth a second copy of the weights


def test_masked_images_get_the_shared_model_s_scores_and_the_shared_model_stays_as_it_was(bundled):
    x = torch.randn(4, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    before = {n: (p.stride(), p.data_ptr()) for n, p in bundled.model.named_parameters()}
    model = scoring_model(bundled, x[:1])
    assert scoring_model(bundled, x[:1]) is model  # measured once per model
    with torch.inference_mode():
        ours, shared = model(x), bundled.model(x)
    torch.testing.assert_close(ours, shared, rtol=1e-4, atol=1e-4 * float(shared.abs().max()))
    assert {n: (p.stride(), p.data_ptr()) for n, p in bundled.model.named_parameters()} == before
    assert not bundled.model.training and not any(p.requires_grad for p in model.parameters())


def test_where_the_twin_is_not_faster_the_shared_model_scores(resnet18, monkeypatch):
    from interpret.models.private import private_copy

    monkeypatch.setattr("interpret.attribution.scoring.faster", lambda plain, twin: False)
    lm = private_copy(resnet18)  # a model measured for the first time
    assert scoring_model(lm, torch.zeros(1, 3, 64, 64)) is lm.model
