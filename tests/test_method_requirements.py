"""Methods say what they need, and refuse instead of lying: applicability per model kind, refusals with reasons,
and no method returning another method's map under its own name."""
from __future__ import annotations

import copy
import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from interpret.attribution import REGISTRY, Target, attribute
from interpret.attribution.base import Context
from interpret.attribution.baselines import baseline_of
from interpret.attribution.requirements import MethodUnavailable, applicable, split_applicable
from interpret.models import load_model
from interpret.models.loaded import LoadedModel, freeze
from interpret.preprocess import Preprocessing

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.(script|save|load)` is deprecated:FutureWarning")
RELU_RULES = {"guided_backprop", "deconvolution", "guided_gradcam", "deeplift"}
CAMS = {name for name, method in REGISTRY.items() if method.uses_layer}
ATTENTION = {"attention_rollout", "chefer", "legrad"}  # a ViT's own attention: refused on every other model
ONE_RESOLUTION = {"layercam_fusion"}  # fuses maps of several resolutions: refused where every map has one (ViTs)
LRP = {"lrp_epsilon_plus_flat", "lrp_epsilon_gamma_box"}  # zennit's rules: layers they cover, additions canonized
# cheap settings: the maps only need to be real maps of each method
CHEAP = {"scorecam": {"channels": 8}, "rise": {"masks": 32}, "occlusion": {"window": 32, "stride": 32},
         "integrated_gradients": {"steps": 4}, "expected_gradients": {"samples": 2}, "smoothgrad": {"samples": 2},
         "smoothgrad_sq": {"samples": 2}, "vargrad": {"samples": 2}, "lime": {"segments": 10, "samples": 16},
         "kernel_shap": {"segments": 10, "samples": 16}}


class SmallCNN(nn.Module):
    """A ReLU network small enough to script and run in milliseconds."""

    def __init__(self, functional: bool = False):
        super().__init__()
        self.functional = functional
        self.conv1, self.conv2 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1, stride=2)
        self.act1, self.act2 = nn.ReLU(), nn.ReLU()
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.functional:
            x = F.relu(self.conv2(F.relu(self.conv1(x))))
        else:
            x = self.act2(self.conv2(self.act1(self.conv1(x))))
        return self.head(x.mean((2, 3)))


def small(model: nn.Module, spec: str) -> LoadedModel:
    return LoadedModel(spec=spec, model=freeze(model), preprocessing=Preprocessing(crop_size=32, resize_size=32),
                       class_names=("a", "b", "c", "d"), device=torch.device("cpu"))


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ts") / "small.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(SmallCNN().eval()), str(path))
    return load_model(str(path), trust_code=True)


def refused(lm: LoadedModel) -> dict[str, str]:
    return split_applicable(lm, list(REGISTRY))[1]


def test_every_method_applies_to_relu_and_relu6_networks(resnet18, bundled):
    for lm in (resnet18, bundled):  # EfficientNet-Lite0: ReLU6 only, no squeeze-excitation
        reasons = refused(lm)
        # LRP: EfficientNet-Lite0's batch norms are one timm layer with their ReLU6, which no canonizer merges
        assert set(reasons) == ATTENTION | (LRP if lm is bundled else set())
        assert all("no attention blocks it can read" in reasons[method] for method in ATTENTION)
        assert all("batch norm" in reasons[method] for method in LRP & set(reasons))


@pytest.mark.parametrize("fixture,activation", [("silu_effnet", "silu"), ("gelu_vit", "gelu")])
def test_relu_rules_are_refused_where_the_model_has_other_activations(request, fixture, activation):
    lm = request.getfixturevalue(fixture)
    reasons = refused(lm)
    assert set(reasons) == RELU_RULES | LRP | (ATTENTION if fixture == "silu_effnet" else ONE_RESOLUTION)
    for method, reason in reasons.items():
        if method in ATTENTION | ONE_RESOLUTION:
            continue
        assert reason.startswith(REGISTRY[method].label + ":") and activation in reason and "\n" not in reason
    # and attribute() refuses with the same reason, before any work
    with pytest.raises(MethodUnavailable, match=activation):
        attribute(lm, torch.zeros(1, 3, 224, 224), "guided_backprop", 0)


def test_a_torchscript_model_runs_the_gradient_methods_and_refuses_the_rest(scripted):
    reasons = refused(scripted)
    assert set(reasons) == RELU_RULES | CAMS | ATTENTION | LRP
    assert all("TorchScript" in reason for reason in reasons.values())
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    cheap = {**CHEAP, "occlusion": {"window": 16, "stride": 16}}
    smooth = F.interpolate(torch.randn(1, 3, 6, 6, generator=torch.Generator().manual_seed(3)), size=(32, 32),
                           mode="bilinear")  # SLIC (LIME, KernelSHAP) leaves pixel noise in one superpixel
    for method in set(REGISTRY) - set(reasons):
        image = smooth if method in ("lime", "kernel_shap") else x
        # LIME's Lasso (alpha 0.01) may zero every superpixel of this tiny random CNN: a blank map is LIME's answer
        allowed = ("ok", "blank") if method == "lime" else ("ok",)
        assert attribute(scripted, image, method, 1, params=cheap.get(method)).status in allowed, method
    with pytest.raises(MethodUnavailable, match="TorchScript"):  # it used to be the plain gradient, captioned so
        attribute(scripted, x, "guided_backprop", 1)


def test_guided_backprop_covers_functional_relus():
    """F.relu calls get the rule as nn.ReLU modules do: the same weights give the same map either way."""
    torch.manual_seed(0)
    modules = SmallCNN()
    functional = copy.deepcopy(modules)
    functional.functional = True
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    for method in ("guided_backprop", "deconvolution"):
        a = attribute(small(modules, "modules"), x, method, 2).values
        b = attribute(small(functional, "functional"), x, method, 2).values
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, attribute(small(modules, "modules"), x, "gradient", 2).values)


def test_a_model_without_relus_is_refused_by_the_relu_rules():
    lm = small(nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 4)), "linear")
    ok, reason = applicable(lm, "guided_backprop")
    assert not ok and "no ReLU-type activation" in reason
    assert applicable(lm, "deeplift") == (True, "")  # a linear model: DeepLIFT is exact


def test_no_method_returns_another_methods_map(resnet18, coffee):
    """On a ReLU ResNet every pair of methods gives different maps (Guided Backprop is not the gradient, ...).

    CAMs on layer3: on the last layer before global average pooling the gradient is the same at every position, and
    XGrad-CAM and HiResCAM are then Grad-CAM exactly (Fu et al. 2020; Draelos & Carin 2020), as they should be.
    """
    x = F.interpolate(resnet18.preprocessing.to_tensor(coffee.image), size=(96, 96), mode="area")
    maps = {m: attribute(resnet18, x, m, 3, layer="layer3", params=CHEAP.get(m)).values
            for m in set(REGISTRY) - ATTENTION}
    for (a, va), (b, vb) in itertools.combinations(maps.items(), 2):
        scale = max(float(np.abs(va).max()), float(np.abs(vb).max()))
        assert not np.allclose(va, vb, rtol=1e-3, atol=1e-4 * scale), (a, b)
    assert abs(np.corrcoef(maps["guided_backprop"].ravel(), maps["gradient"].ravel())[0, 1]) < 0.9


def test_the_cli_lists_applicability_for_a_model(scripted, capsys):
    from interpret.cli import main

    assert main(["methods", "--model", scripted.spec, "--trust-code", "--json"]) == 0
    import json

    listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert listed["gradient"]["applicable"] is True and listed["gradient"]["reason"] is None
    assert listed["gradcam"]["applicable"] is False and "TorchScript" in listed["gradcam"]["reason"]
    assert listed["guided_backprop"]["requires"]


def test_a_refusal_found_only_when_running_is_remembered():
    """torch.fx cannot trace data-dependent control flow: DeepLIFT is refused when it runs, and from then on the
    model's method list shows it as not available, with that reason."""
    class Branchy(SmallCNN):
        def forward(self, x):
            if x.sum() > 0:  # data-dependent: fx cannot trace it
                x = -x
            return super().forward(x)

    lm = small(Branchy(), "branchy")
    assert applicable(lm, "deeplift") == (True, "")  # the cheap checks pass: ReLUs only
    with pytest.raises(MethodUnavailable, match="torch.fx cannot trace"):
        attribute(lm, torch.randn(1, 3, 32, 32), "deeplift", 0)
    ok, reason = applicable(lm, "deeplift")
    assert not ok and reason.startswith("DeepLIFT: torch.fx cannot trace this model")
    assert applicable(lm, "guided_backprop") == (True, "")  # the other methods are not affected


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """SmallCNN as a torch.export program (dynamic batch) and the same network in eager mode."""
    torch.manual_seed(0)
    model = SmallCNN().eval()
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(model, (torch.randn(2, 3, 32, 32),), dynamic_shapes=({0: batch},))
    path = tmp_path_factory.mktemp("export") / "small.pt2"
    torch.export.save(program, str(path))
    return load_model(str(path), trust_code=True), small(model, "eager")


def test_a_torch_export_program_gets_the_guided_rule_on_its_aten_relus(exported):
    """torch.export graphs call aten.relu_ ops, not nn.ReLU modules: the rule reaches them, and the maps are those
    of the same network in eager mode. DeepLIFT's torch.fx rewrite cannot trace the program: refused up front."""
    program, eager = exported
    assert set(refused(program)) == {"deeplift"} | ATTENTION | LRP and "torch.export" in refused(program)["deeplift"]
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    for method in ("guided_backprop", "deconvolution", "gradient"):
        np.testing.assert_allclose(attribute(program, x, method, 1).values, attribute(eager, x, method, 1).values,
                                   rtol=1e-5, atol=1e-7)


def test_transformers_models_get_what_their_activations_allow(tmp_path):
    import transformers

    resnet = transformers.ResNetForImageClassification(transformers.ResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3)).eval()
    vit = transformers.ViTForImageClassification(transformers.ViTConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=32, patch_size=8,
        num_labels=3)).eval()
    for name, model, processor in (("resnet", resnet, transformers.ConvNextImageProcessor(size={"shortest_edge": 32})),
                                   ("vit", vit, transformers.ViTImageProcessor(size={"height": 32, "width": 32}))):
        model.save_pretrained(tmp_path / name)
        processor.save_pretrained(tmp_path / name)
    reasons = refused(load_model(f"hf:{tmp_path / 'resnet'}"))
    assert set(reasons) == {"deeplift"} | ATTENTION | LRP and "transformers" in reasons["deeplift"]
    assert "add" in reasons["lrp_epsilon_plus_flat"]  # its residual additions: no zennit canonizer rewrites them
    reasons = refused(load_model(f"hf:{tmp_path / 'vit'}"))
    assert set(reasons) == RELU_RULES | LRP | ONE_RESOLUTION and "gelu" in reasons["guided_backprop"]


def test_deeplift_explains_the_class_score_only(resnet18, coffee):
    """A probability or a loss is a softmax of every score, which no rescale rule propagates (the loss map summed to
    -0.21 where the loss changed by -0.57): refused with the reason; the score's map still sums to the difference."""
    for objective in ("probability", "loss"):
        ok, reason = applicable(resnet18, "deeplift", objective)
        assert not ok and reason.startswith("DeepLIFT: its rules hold for the class score only") and objective in reason
        assert split_applicable(resnet18, ["gradient", "deeplift"], objective) == (["gradient"], {"deeplift": reason})
        with pytest.raises(MethodUnavailable, match="class score only"):
            attribute(resnet18, torch.zeros(1, 3, 64, 64), "deeplift", Target(1, objective))
        assert applicable(resnet18, "integrated_gradients", objective) == (True, "")
    assert applicable(resnet18, "deeplift", "logit") == applicable(resnet18, "deeplift") == (True, "")
    x = resnet18.preprocessing.to_tensor(coffee.image)
    result = attribute(resnet18, x, "deeplift", Target(1, "logit", contrast=2))
    assert result.summation_gap is not None and "WARNING" not in result.note
    black = baseline_of(Context(resnet18, x, Target(1)), "black")
    with torch.inference_mode():
        scores = resnet18.model(torch.cat([x, black]))
    delta = float((scores[0, 1] - scores[0, 2]) - (scores[1, 1] - scores[1, 2]))
    assert abs(float(result.values.astype(np.float64).sum()) - delta) <= 1e-4 * max(1.0, abs(delta))


def test_the_cli_refuses_deeplift_of_a_loss_with_the_reason(capsys):
    from interpret.cli import main

    assert main(["explain", "sample:coffee", "--method", "deeplift", "--objective", "loss"]) == 1
    assert "DeepLIFT: its rules hold for the class score only" in capsys.readouterr().err
