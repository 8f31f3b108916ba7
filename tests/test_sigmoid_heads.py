"""Sigmoid heads end to end: a multi-label model of 5 independent labels and a binary model of one output read
their scores as sigmoid probabilities in predictions, the "probability" and "loss" objectives, RISE, the
faithfulness curves and the Mistakes page, and a one-output model works (or refuses clearly) everywhere."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from interpret.attribution import Target, attribute
from interpret.errors import InterpretError
from interpret.metrics.faithfulness import FaithfulnessProbe
from interpret.mistakes import accuracy, calibration, evaluate, explain_mistake, start
from interpret.mistakes.imageset import open_path
from interpret.models.loaded import LoadedModel, freeze
from interpret.predict import probabilities, top_k
from interpret.preprocess import Preprocessing
from interpret.samples import load_sample, sample_bytes

CPU = torch.device("cpu")
PRE = Preprocessing(crop_size=32, resize_size=32)
LABELS = ("cat", "cup", "person", "rocket", "flower")


class Tiny(nn.Module):
    def __init__(self, outputs: int, bias: float = 0.0) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(6, outputs)
        with torch.no_grad():
            self.fc.bias.fill_(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def loaded(model: nn.Module, names: tuple[str, ...], activation: str) -> LoadedModel:
    return LoadedModel(spec=f"tiny-{len(names)}-{activation}", model=freeze(model), preprocessing=PRE, class_names=names,
                       device=CPU, activation=activation)


@pytest.fixture(scope="module")
def multi() -> LoadedModel:
    torch.manual_seed(0)
    return loaded(Tiny(5, bias=2.0), LABELS, "sigmoid")  # every label likely: the probabilities sum to far over 1


@pytest.fixture(scope="module")
def binary() -> LoadedModel:
    torch.manual_seed(1)
    return loaded(Tiny(1, bias=-0.5), ("defect",), "sigmoid")


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return PRE.to_tensor(load_sample("chelsea").image)


def logits(lm: LoadedModel, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return lm.model(x).float()


def test_predictions_are_independent_probabilities(multi, image):
    expected = logits(multi, image).sigmoid()[0]
    assert torch.allclose(probabilities(multi, image)[0], expected)
    assert float(expected.sum()) > 2  # a softmax would sum to 1
    predictions = top_k(multi, image, k=10)[0]  # k over the head's size gives every label once
    assert [p.index for p in predictions] == expected.argsort(descending=True).tolist()
    assert [p.prob for p in predictions] == pytest.approx(sorted(expected.tolist(), reverse=True), abs=1e-6)


def test_a_one_output_head_shows_its_sigmoid_probability_not_100_percent(binary, image):
    (prediction,) = top_k(binary, image, k=5)[0]
    p = float(logits(binary, image).sigmoid()[0, 0])
    assert prediction.label == "defect" and prediction.prob == pytest.approx(p, abs=1e-6)
    assert 0.05 < prediction.prob < 0.95
    assert float(top_k(loaded(binary.model, ("defect",), "softmax"), image)[0][0].prob) == 1.0  # what it was


@pytest.mark.parametrize("lm_name", ["multi", "binary"])
def test_probability_and_loss_objectives_are_sigmoid_and_binary_cross_entropy(lm_name, request, image):
    """Closed forms for the signed input gradient: d sigmoid(z)/dx = p(1-p) dz/dx, d BCE(z, 1)/dx = -(1-p) dz/dx."""
    lm = request.getfixturevalue(lm_name)
    c = lm.num_classes - 1
    p = float(logits(lm, image).sigmoid()[0, c])
    by_logit = attribute(lm, image, "gradient", Target(c, "logit")).values
    by_probability = attribute(lm, image, "gradient", Target(c, "probability")).values
    by_loss = attribute(lm, image, "gradient", Target(c, "loss")).values
    scale = float(np.abs(by_logit).max())
    assert scale > 0
    assert np.allclose(by_probability, p * (1 - p) * by_logit, atol=1e-5 * scale)
    assert np.allclose(by_loss, -(1 - p) * by_logit, atol=1e-5 * scale)


def test_rise_weighs_masks_by_the_sigmoid_probability():
    """A head that ignores its input gives every mask the probability sigmoid(b): the map is sigmoid(b) times the
    map a probability of 1 gives (a one-output softmax), mask for mask."""
    torch.manual_seed(2)
    model = Tiny(1, bias=0.7)
    with torch.no_grad():
        model.fc.weight.zero_()
    sigmoid, softmax = loaded(model, ("x",), "sigmoid"), loaded(model, ("x",), "softmax")
    x = PRE.to_tensor(load_sample("coffee").image)
    params = {"masks": 64, "cells": 4, "seed": 3}
    a = attribute(sigmoid, x, "rise", 0, params=params).values
    b = attribute(softmax, x, "rise", 0, params=params).values
    assert float(b.std()) > 0
    assert np.allclose(a, torch.tensor(0.7).sigmoid().item() * b, rtol=1e-5, atol=1e-7)


def test_faithfulness_curves_read_sigmoid_probabilities(binary, image):
    probe = FaithfulnessProbe(binary, image, batch_size=8)
    assert probe.target == 0 and probe.clean_prob == pytest.approx(float(logits(binary, image).sigmoid()[0, 0]))
    images = torch.cat([image, torch.zeros_like(image), image.flip(-1)])
    assert np.allclose(probe.probs(images), logits(binary, images).sigmoid()[:, 0].numpy(), atol=1e-6)
    values = np.random.default_rng(0).random(probe.shape)
    deletion, insertion = probe.curves(values, steps=4)
    assert deletion.probs[0] == pytest.approx(probe.clean_prob) and np.ptp(deletion.probs) > 0
    assert insertion.probs[-1] == pytest.approx(probe.clean_prob)


@pytest.fixture(scope="module")
def labelled_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("labelled")
    photos = {"cat": ["chelsea"], "cup": ["coffee"], "person": ["astronaut", "grace_hopper"], "rocket": ["rocket"],
              "flower": ["flower", "china"]}  # china is no flower: at least one mistake is likely
    for label, names in photos.items():
        (root / label).mkdir()
        for name in names:
            data = sample_bytes(name)
            suffix = "png" if data.startswith(b"\x89PNG") else "jpg"
            (root / label / f"{name}.{suffix}").write_bytes(data)
    return open_path(root)


def test_mistakes_metrics_use_the_labels_own_probabilities(multi, labelled_set):
    ev = evaluate(multi, labelled_set, batch_size=3)
    assert ev.complete and len(ev.ok) == 7
    with labelled_set.tree.reader() as read:
        from interpret.images import decode_image

        x = torch.cat([PRE.to_tensor(decode_image(read(path))) for path in ev.paths])
    probs = logits(multi, x).sigmoid()
    assert np.allclose(ev.top_prob, probs.topk(5).values.numpy(), atol=1e-5)
    assert np.allclose(ev.true_prob, probs.gather(1, torch.as_tensor(ev.labels)[:, None])[:, 0].numpy(), atol=1e-5)
    assert ev.top_prob[:, :2].sum(1).min() > 1  # independent labels: not shares of one
    scores = accuracy(ev)
    assert scores.k == 5 and scores.top_k == 1.0  # every one of the 5 labels is in the top 5
    assert scores.top1 == pytest.approx(float((probs.argmax(1).numpy() == ev.labels).mean()))
    cal = calibration(ev, bins=10)  # the predicted label's own sigmoid probability against how often it is right
    confidence, right = ev.top_prob[:, 0].astype(np.float64), ev.top_index[:, 0] == ev.labels
    which = np.minimum((confidence * 10).astype(int) - (confidence * 10 % 1 == 0), 9).clip(0)
    gaps = [abs(right[which == b].mean() - confidence[which == b].mean()) * (which == b).sum() for b in set(which)]
    assert cal.counts.tolist() == np.bincount(which, minlength=10).tolist()
    assert cal.ece == pytest.approx(sum(gaps) / 7)


def test_a_one_output_model_refuses_the_mistakes_page_and_contrasts_clearly(binary, labelled_set, image):
    with pytest.raises(InterpretError, match=r"need a model of at least 2 classes; 'tiny-1-sigmoid' has one output "
                                             r"\('defect', a binary head\)"):
        start(binary, labelled_set)
    with pytest.raises(InterpretError, match="A contrastive map needs two classes"):
        explain_mistake(binary, image, 0, 0, "gradient")


def test_a_contrast_of_a_class_with_itself_is_refused(multi, image):
    with pytest.raises(InterpretError, match="a contrast needs two different classes"):
        explain_mistake(multi, image, 2, 2, "gradient")
    result = explain_mistake(multi, image, 0, 3, "gradient", objective="probability")
    p = logits(multi, image).sigmoid()[0]
    grads = attribute(multi, image, "gradient", Target(0, "logit")).values, \
        attribute(multi, image, "gradient", Target(3, "logit")).values
    expected = float(p[0] * (1 - p[0])) * grads[0] - float(p[3] * (1 - p[3])) * grads[1]
    assert np.allclose(result.contrast.values, expected, atol=1e-5 * float(np.abs(expected).max()))


def test_gradcam_runs_on_a_one_output_head(binary, image):
    cam = attribute(binary, image, "gradcam", 0, layer="features.2")
    assert cam.values.shape == (32, 32) and float(cam.values.max()) > 0
