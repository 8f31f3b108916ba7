"""LRP equals zennit called directly with the same composite and canonizers, conserves the score where the model has
no biases, states the gap where it has, refuses the models its rules do not cover (with the reason), and leaves the
shared model as it was."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from zennit.attribution import Gradient
from zennit.canonizers import SequentialMergeBatchNorm
from zennit.composites import EpsilonGammaBox, EpsilonPlusFlat
from zennit.torchvision import ResNetCanonizer

from interpret.attribution import Target, attribute
from interpret.attribution.batch import attribute_batch
from interpret.attribution.deeplift import SUMMATION_TOLERANCE
from interpret.attribution.requirements import MethodUnavailable, applicable
from interpret.models.loaded import LoadedModel, freeze
from interpret.preprocess import Preprocessing

METHODS = ("lrp_epsilon_plus_flat", "lrp_epsilon_gamma_box")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # torchvision's ImageNet statistics (the test models' too)


def zennit_map(model: nn.Module, x: torch.Tensor, method: str, target: int | list[int], canonizer,
               contrast: int | None = None, epsilon: float = 1e-6, gamma: float = 0.25) -> np.ndarray:
    """zennit's documented use on a fresh copy of the model: composite with its canonizers, Gradient attributor, the
    output relevance the score's logits (one-hot x logits; for a contrast, the second class's logit subtracted); a
    list of targets: one per row of the batch."""
    model = copy.deepcopy(model)
    if method == "lrp_epsilon_plus_flat":
        composite = EpsilonPlusFlat(epsilon=epsilon, canonizers=[canonizer])
    else:
        low = ((0 - torch.tensor(MEAN)) / torch.tensor(STD)).view(1, 3, 1, 1)
        high = ((1 - torch.tensor(MEAN)) / torch.tensor(STD)).view(1, 3, 1, 1)
        composite = EpsilonGammaBox(low=low, high=high, epsilon=epsilon, gamma=gamma, canonizers=[canonizer])

    def seed(output: torch.Tensor) -> torch.Tensor:
        weights = torch.zeros_like(output)
        weights[range(len(output)), target] = 1
        if contrast is not None:
            weights[:, contrast] = -1
        return weights * output

    with Gradient(model, composite) as attributor:
        _, relevance = attributor(x.clone(), seed)
    return relevance.sum(1).detach().numpy()


def assert_same(ours: np.ndarray, reference: np.ndarray) -> None:
    scale = float(np.abs(reference).max())
    assert scale > 0
    difference = float(np.abs(ours - reference).max())
    assert difference <= 1e-5 * scale, f"max abs diff {difference:.3g}, relative {difference / scale:.3g}"


def photo(lm: LoadedModel, image, side: int) -> torch.Tensor:
    return F.interpolate(lm.preprocessing.to_tensor(image), size=(side, side), mode="area")


def small(model: nn.Module, spec: str, side: int = 32) -> LoadedModel:
    return LoadedModel(spec=spec, model=freeze(model.eval()), class_names=tuple("abcdefgh"), device=torch.device("cpu"),
                       preprocessing=Preprocessing(crop_size=side, resize_size=side, mean=MEAN, std=STD))


class VGGLike(nn.Module):
    """Convolutions each followed by a batch norm and a ReLU, max pooling, average pooling and a two-layer head."""

    def __init__(self, bias: bool = True, norm: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout in ((3, 8), (8, 16), (16, 16)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=bias)] + ([nn.BatchNorm2d(cout)] if norm else [])
            layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64, 32, bias=bias), nn.ReLU(), nn.Dropout(),
                                        nn.Linear(32, 8, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))


def vgg_like(seed: int, bias: bool = True, norm: bool = True) -> nn.Module:
    torch.manual_seed(seed)
    model = VGGLike(bias, norm)
    for module in model.modules():  # statistics a trained network would have: merging them changes the weights
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.2, 0.2)
    return model


@pytest.mark.parametrize("method", METHODS)
def test_equals_zennit_on_a_torchvision_resnet(resnet18, coffee, method):
    """ResNetCanonizer: batch norms merged, each block's residual addition a sum layer (the Norm rule)."""
    x = photo(resnet18, coffee.image, 64)
    ours = attribute(resnet18, x, method, 3)
    assert_same(ours.values, zennit_map(resnet18.model, x, method, 3, ResNetCanonizer())[0])
    contrast = attribute(resnet18, x, method, Target(3, contrast=7))
    assert_same(contrast.values, zennit_map(resnet18.model, x, method, 3, ResNetCanonizer(), contrast=7)[0])


@pytest.mark.parametrize("method", METHODS)
def test_equals_zennit_on_a_vgg_like_network_with_batch_norms(coffee, method):
    lm = small(vgg_like(0), "vgg-like")
    x = photo(lm, coffee.image, 32)
    params = {"epsilon": 0.01} | ({"gamma": 0.5} if method == "lrp_epsilon_gamma_box" else {})
    ours = attribute(lm, x, method, 5, params=params)
    assert_same(ours.values, zennit_map(lm.model, x, method, 5, SequentialMergeBatchNorm(), **params)[0])


def test_the_batch_form_gives_each_image_its_own_map_target_and_gap(resnet18, coffee):
    from interpret.samples import load_sample

    xs = torch.cat([photo(resnet18, coffee.image, 64), photo(resnet18, load_sample("chelsea").image, 64)])
    results = attribute_batch(resnet18, xs, "lrp_epsilon_plus_flat", [3, 9])
    reference = zennit_map(resnet18.model, xs, "lrp_epsilon_plus_flat", [3, 9], ResNetCanonizer())  # the same batch
    for i, (result, target) in enumerate(zip(results, (3, 9), strict=True)):
        assert result.target == target
        assert_same(result.values, reference[i])
        # alone: the same map up to the rounding of batched convolutions
        alone = attribute(resnet18, xs[i:i + 1], "lrp_epsilon_plus_flat", target)
        np.testing.assert_allclose(result.values, alone.values, rtol=0, atol=1e-6)
        assert "the biases keep their share" in result.note
        assert result.summation_gap == pytest.approx(alone.summation_gap, abs=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_conserves_the_score_on_a_network_without_biases(coffee, method):
    lm = small(vgg_like(1, bias=False, norm=False), "bias-free")
    x = photo(lm, coffee.image, 32)
    for target in range(4):
        result = attribute(lm, x, method, target)
        with torch.inference_mode():
            score = float(lm.model(x)[0, target])
        total = float(result.values.astype(np.float64).sum())
        assert result.summation_gap == pytest.approx(total - score, abs=1e-5)
        assert abs(result.summation_gap) <= SUMMATION_TOLERANCE * max(1.0, abs(score)), (target, total, score)
        assert result.note.startswith("relevance sums to the score") and f"{score:.4g}" in result.note


def test_states_the_share_the_biases_keep(resnet18, coffee):
    x = photo(resnet18, coffee.image, 64)
    result = attribute(resnet18, x, "lrp_epsilon_plus_flat", 3)
    with torch.inference_mode():
        score = float(resnet18.model(x)[0, 3])
    total = float(result.values.astype(np.float64).sum())
    # the score is the canonized copy's (its merged batch norms still divide by sqrt(1 + eps))
    assert result.summation_gap == pytest.approx(total - score, abs=1e-4 * max(1.0, abs(score)))
    assert "the biases keep their share" in result.note and not result.note.startswith("WARNING")
    assert result.note in result.caption()


@pytest.mark.parametrize("fixture,named", [("silu_effnet", "silu"), ("gelu_vit", "scaled_dot_product_attention"),
                                           ("bundled", "batch norm")])
def test_refuses_models_its_rules_do_not_cover(request, fixture, named):
    """SiLU and squeeze-excitation gates (EfficientNet-B0), GELU, layer norms and attention (ViT), batch norms fused
    with their activation into one layer no canonizer merges (the bundled EfficientNet-Lite0)."""
    lm = request.getfixturevalue(fixture)
    for method in METHODS:
        ok, reason = applicable(lm, method)
        assert not ok and named in reason and "\n" not in reason, reason
    with pytest.raises(MethodUnavailable, match=named):
        attribute(lm, torch.zeros(1, 3, 224, 224), METHODS[0], 0)


class Residual(nn.Module):
    """A residual block whose addition is plain `+`: no zennit canonizer rewrites it."""

    def __init__(self):
        super().__init__()
        self.stem, self.conv, self.relu = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()
        self.pool, self.head = nn.AdaptiveAvgPool2d(1), nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.stem(x))
        x = self.relu(x + self.conv(x))
        return self.head(self.pool(x).flatten(1))


class FunctionalPool(VGGLike):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.adaptive_avg_pool2d(self.features(x), 2))


class NormFirst(nn.Module):
    """A batch norm on the input (no layer before it to merge into)."""

    def __init__(self):
        super().__init__()
        self.norm, self.conv, self.relu = nn.BatchNorm2d(3), nn.Conv2d(3, 8, 3), nn.ReLU()
        self.pool, self.head = nn.AdaptiveAvgPool2d(1), nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.relu(self.conv(self.norm(x)))).flatten(1))


@pytest.mark.parametrize("model,named", [
    (Residual(), "add (once)"),
    (FunctionalPool(), "adaptive_avg_pool2d once but its avg pool layers run no times"),
    (NormFirst(), "batch norm 'norm' does not directly follow"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.LocalResponseNorm(2), nn.Flatten(), nn.LazyLinear(8)), "LocalResponseNorm"),
])
def test_refuses_structures_no_rule_or_canonizer_covers(model, named):
    if any(isinstance(m, nn.LazyLinear) for m in model.modules()):
        model(torch.zeros(1, 3, 32, 32))  # materialise the lazy layer
    lm = small(model, f"unfit-{type(model).__name__}-{named}")
    ok, reason = applicable(lm, "lrp_epsilon_gamma_box")
    assert not ok and named in reason, reason


def test_explains_the_class_score_only(resnet18):
    for objective in ("probability", "loss"):
        ok, reason = applicable(resnet18, "lrp_epsilon_plus_flat", objective)
        assert not ok and "class score only" in reason
    with pytest.raises(MethodUnavailable, match="class score only"):
        attribute(resnet18, torch.zeros(1, 3, 64, 64), "lrp_epsilon_plus_flat", Target(1, "probability"))


def test_the_shared_model_is_left_as_it_was(resnet18, coffee):
    """The canonizers merge weights and replace block forwards, the composites hook every layer: on a copy only."""
    model = resnet18.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = photo(resnet18, coffee.image, 64)
    with torch.inference_mode():
        logits = model(x)
    for method in METHODS:
        attribute(resnet18, x, method, 3)
    state = model.state_dict()
    assert state.keys() == before.keys() and all(torch.equal(state[k], before[k]) for k in before)
    assert not model.training
    for module in model.modules():
        assert "forward" not in vars(module) and not hasattr(module, "canonizer_sum")
        assert not module._forward_hooks and not module._forward_pre_hooks and not module._backward_hooks
    for p in model.parameters():
        assert p.grad is None and not p.requires_grad
    with torch.inference_mode():
        assert torch.equal(model(x), logits)
