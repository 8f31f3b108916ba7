"""Models that are not classifiers: their kind is read from what they return, and their targets (a segmentation
region, one detection, an embedding's similarity, a regression output) explain them with the gradient methods and
the gradient CAMs, as pytorch-grad-cam's targets do. Random weights, small inputs, a sample photo."""
from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from interpret.attribution import attribute, get_method
from interpret.attribution.base import Context, model_target, row_scores
from interpret.attribution.cams import activations, principal_projection
from interpret.attribution.kind_targets import (
    TargetError,
    detection_target,
    detections,
    embedding_target,
    regression_target,
    segmentation_target,
)
from interpret.attribution.requirements import MethodUnavailable, applicable
from interpret.errors import InterpretError, LayerError, ModelLoadError
from interpret.limits import MAX_DETECTIONS
from interpret.models import load_model
from interpret.models.classes import default_classes
from interpret.models.first_pass import checked_pass
from interpret.models.kinds import KINDS
from interpret.models.loaded import LoadedModel, freeze
from interpret.predict import top_k
from interpret.preprocess import Preprocessing
from interpret.samples import load_sample

CPU = torch.device("cpu")
PAGES = Path(__file__).resolve().parents[1] / "pages"
SIZE = 96


def loaded(model: nn.Module, name: str, kind: str | None = None, size: int = SIZE) -> LoadedModel:
    """`model` loaded as load_model loads it: frozen, its first pass read for its kind (or checked against `kind`)."""
    pre = Preprocessing(crop_size=size, resize_size=size)
    passed = checked_pass(freeze(model), pre, CPU, name, kind)
    return LoadedModel(spec=name, model=passed.model, preprocessing=pre, class_names=default_classes(passed.outputs),
                       device=CPU, kind=passed.kind)


def photo(size: int = SIZE) -> torch.Tensor:
    return Preprocessing(crop_size=size, resize_size=size).to_tensor(load_sample("astronaut").image)


def state(lm: LoadedModel) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in lm.model.state_dict().items()}


def untouched(lm: LoadedModel, before: dict[str, torch.Tensor]) -> None:
    """The shared model as it was: eval mode, same weights, no gradients, no parameter asking for one, no hooks."""
    model = lm.model
    assert not any(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in model.modules())


class Regressor(nn.Module):
    """A small CNN with one real output per image, returned as a vector (batch,)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((2, 3)))[:, 0]


@pytest.fixture(scope="module")
def deeplab() -> LoadedModel:
    torch.manual_seed(0)
    return loaded(torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=4), "deeplab")


@pytest.fixture(scope="module")
def detector() -> LoadedModel:
    torch.manual_seed(0)  # 3 classes: random scores near 1/3, so boxes are found above the default 0.05
    return loaded(torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=3, min_size=SIZE, max_size=SIZE), "faster-rcnn")


@pytest.fixture(scope="module")
def embedder() -> LoadedModel:
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    model.fc = nn.Identity()
    return loaded(model, "resnet18-no-head")


def test_the_kind_is_read_from_what_each_model_returns(deeplab, detector, embedder):
    torch.manual_seed(0)
    lraspp = loaded(torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=3), "lraspp")
    assert (deeplab.kind, deeplab.num_classes) == ("segmentation", 4)
    assert (lraspp.kind, lraspp.num_classes) == ("segmentation", 3)
    assert lraspp.model(photo()).shape == (1, 3, SIZE, SIZE)  # the dict's 'out', per pixel
    assert (detector.kind, detector.num_classes) == ("detection", 3)
    assert (embedder.kind, embedder.num_classes) == ("embedding", 512)
    regressor = loaded(Regressor(), "regressor")
    assert regressor.kind == "regression" and regressor.model(photo()).shape == (1, 1)
    # a classifier stays one, and a one-output head stays a binary classifier unless named a regression
    assert loaded(torchvision.models.resnet18(num_classes=5), "resnet18").kind == "classifier"
    one = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1))
    assert loaded(one, "one").kind == "classifier"
    assert loaded(copy.deepcopy(one), "one", kind="regression").kind == "regression"


def test_a_kind_named_must_fit_what_the_model_returns(embedder):
    with pytest.raises(ModelLoadError, match="named a semantic segmentation model.*returns one vector per image"):
        loaded(copy.deepcopy(embedder.model), "resnet18-no-head", kind="segmentation")
    with pytest.raises(ModelLoadError, match="must be one of classifier, segmentation"):
        loaded(Regressor(), "regressor", kind="pose")


def as_grad_cam_library(ctx: Context) -> np.ndarray:
    """Our low-resolution Grad-CAM through pytorch-grad-cam's own pipeline: ReLU, scale, cv2 resize, scale again."""
    def unit(v: np.ndarray) -> np.ndarray:
        v = v - v.min()
        return v / (v.max() + 1e-7)

    cam = np.maximum(get_method("gradcam").compute(ctx).detach().numpy(), 0)
    return unit(cv2.resize(unit(cam), tuple(ctx.x.shape[-2:][::-1])))


def peer_of(lm: LoadedModel) -> nn.Module:
    """The same weights, trainable, for pytorch-grad-cam (it hooks the model and back-propagates into parameters)."""
    model = copy.deepcopy(lm.model).eval()
    for p in model.parameters():
        p.requires_grad_(True)
    return model


def library_grad_cam(lm: LoadedModel, layer: str, x: torch.Tensor, target: object) -> np.ndarray:
    from pytorch_grad_cam import GradCAM

    peer = peer_of(lm)
    with GradCAM(model=peer, target_layers=[peer.get_submodule(layer)]) as cam:
        return cam(input_tensor=x.clone(), targets=[target])[0]


def gradient_of_score(lm: LoadedModel, x: torch.Tensor, target) -> torch.Tensor:
    """d score / d input by torch.autograd.grad, summed over colour channels: the Gradient map's definition."""
    leaf = x.clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(target.score(lm.model(leaf)).sum(), leaf)
    return grad[0].sum(0)


def test_a_segmentation_region_equals_semantic_segmentation_target(deeplab):
    from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget

    before, x = state(deeplab), photo()
    predicted = deeplab.model(x)[0].argmax(0)
    cls = int(predicted.flatten().mode().values)
    predicted_mask = segmentation_target(deeplab, x, cls)
    assert np.array_equal(predicted_mask.region.mask, (predicted == cls).numpy())
    assert predicted_mask.region.description == "its predicted mask"
    # random weights label (nearly) every pixel alike: a box is the region that tells a sum from another
    target = model_target(deeplab, segmentation_target(deeplab, x, cls, region=(10, 20, 50, 40)))
    mask = target.region.mask
    assert mask.sum() == 40 * 20 and mask[20:40, 10:50].all()
    expected = library_grad_cam(deeplab, "backbone.16", x, SemanticSegmentationTarget(cls, mask.astype(np.float32)))
    ours = as_grad_cam_library(Context(deeplab, x, target, layer="backbone.16"))
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    result = attribute(deeplab, x, "gradient", target)
    np.testing.assert_allclose(result.values, gradient_of_score(deeplab, x, target).numpy(), rtol=1e-5, atol=1e-9)
    assert result.target_label == f"{deeplab.label(cls)} over the box (10, 20) to (50, 40)"
    assert segmentation_target(deeplab, x, cls, region="image").region.pixels == SIZE * SIZE
    untouched(deeplab, before)


def test_a_detection_equals_faster_rcnn_box_score_target(detector):
    from pytorch_grad_cam.utils.model_targets import FasterRCNNBoxScoreTarget

    before, x = state(detector), photo()
    found = detections(detector, x, threshold=0.0)
    assert found and found[0].score >= found[-1].score
    best = found[0]
    layer = "backbone.fpn.layer_blocks.0"
    library = FasterRCNNBoxScoreTarget([best.label], [np.array(best.box, dtype=np.float32)])
    target = model_target(detector, detection_target(best, add_iou=True))
    with torch.no_grad():
        assert abs(float(target.score(detector.model(x))[0]) - float(library(detector.model(x)[0])[0])) < 1e-5
    expected = library_grad_cam(detector, layer, x, library)
    np.testing.assert_allclose(as_grad_cam_library(Context(detector, x, target, layer=layer)), expected, atol=1e-5)
    plain = model_target(detector, detection_target(best))
    gradient = attribute(detector, x, "gradient", plain).values
    np.testing.assert_allclose(gradient, gradient_of_score(detector, x, plain).numpy(), rtol=1e-4, atol=1e-9)
    untouched(detector, before)


def test_an_embedding_target_is_its_vector_jacobian_product(embedder):
    before, x = state(embedder), photo()
    reference = Preprocessing(crop_size=SIZE, resize_size=SIZE).to_tensor(load_sample("chelsea").image)
    target = model_target(embedder, embedding_target(embedder, reference, "chelsea"))
    r = embedder.model(reference)[0].detach()
    leaf = x.clone().requires_grad_(True)
    with torch.enable_grad():
        e = embedder.model(leaf)[0]
        en, rn = e.detach().norm(), r.norm()
        # d cos(e, r) / d e = r / (|e| |r|) - (e . r) e / (|e|^3 |r|), pulled back through the network
        v = r / (en * rn) - (e.detach() @ r) * e.detach() / (en ** 3 * rn)
        (vjp,) = torch.autograd.grad(e, leaf, grad_outputs=v)
    result = attribute(embedder, x, "gradient", target)
    np.testing.assert_allclose(result.values, vjp[0].sum(0).numpy(), rtol=1e-4, atol=1e-7)
    assert result.target_label == "similarity to chelsea"
    assert float(target.score(embedder.model(reference))[0]) == pytest.approx(1.0, abs=1e-5)
    untouched(embedder, before)


def test_a_regression_target_is_a_value_minus_its_baseline():
    torch.manual_seed(0)
    lm = loaded(Regressor(), "regressor")
    before, x = state(lm), photo()
    target = regression_target(lm, 0, baseline=2.5)
    with torch.no_grad():
        assert torch.allclose(target.score(lm.model(x)), lm.model(x)[:, 0] - 2.5)
    gradient = attribute(lm, x, "gradient", target).values
    np.testing.assert_allclose(gradient, gradient_of_score(lm, x, target).numpy(), rtol=1e-5, atol=1e-9)
    assert attribute(lm, x, "gradient", 0).values.tolist() == gradient.tolist()  # an index is an output there
    untouched(lm, before)


def test_each_method_declares_the_kinds_it_explains(embedder, detector):
    assert applicable(detector, "gradcam") == (True, "")
    ok, reason = applicable(embedder, "occlusion")
    assert not ok and "explains classifier models here, and this is an embedding model" in reason
    with pytest.raises(MethodUnavailable, match="this is an object detection model"):
        attribute(detector, photo(), "integrated_gradients", detection_target(detections(detector, photo(), 0.0)[0]))
    with pytest.raises(TargetError, match="is an embedding model: explain it with a target of its kind"):
        attribute(embedder, photo(), "gradient", 3)


def test_predictions_of_another_kind_are_refused_not_read_as_class_probabilities(deeplab, embedder):
    for lm in (deeplab, embedder):
        with pytest.raises(InterpretError, match=f"is {KINDS[lm.kind].a_model} .*no class probabilities"):
            top_k(lm, photo())



def test_load_model_reads_the_kind_and_takes_a_named_one(monkeypatch):
    spec = "py:torchvision.models.segmentation:lraspp_mobilenet_v3_large"
    lm = load_model(spec, model_kwargs={"weights": None, "weights_backbone": None, "num_classes": 3}, trust_code=True)
    assert (lm.kind, lm.num_classes) == ("segmentation", 3)
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent / "fixtures"))
    one = {"num_classes": 1}
    binary = load_model("py:user_models:build_model", model_kwargs=one, trust_code=True)
    named = load_model("py:user_models:build_model", model_kwargs=one, trust_code=True, kind="regression")
    assert (binary.kind, named.kind) == ("classifier", "regression") and binary.key != named.key
    with pytest.raises(ModelLoadError, match="named an object detection model"):
        load_model("py:user_models:build_model", model_kwargs=one, trust_code=True, kind="detection")


def test_maps_of_every_kind_in_eight_threads_match_sequential_runs(deeplab, detector, embedder):
    """Sessions share each model: Gradient and Grad-CAM maps computed at once in 8 threads are those computed alone."""
    x = photo()
    reference = Preprocessing(crop_size=SIZE, resize_size=SIZE).to_tensor(load_sample("chelsea").image)
    jobs = [(deeplab, segmentation_target(deeplab, x, 0, region=(0, 0, 48, 48)), "backbone.16"),
            (detector, detection_target(detections(detector, x, threshold=0.0)[0]), "backbone.fpn.layer_blocks.0"),
            (embedder, embedding_target(embedder, reference), "layer4")]
    before = [state(lm) for lm, _, _ in jobs]

    def job(i: int) -> np.ndarray:
        lm, target, layer = jobs[i % len(jobs)]
        method = "gradient" if i % 2 else "gradcam"
        return attribute(lm, x, method, target, layer=layer if method == "gradcam" else None).values

    expected = [job(i) for i in range(6)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(job, [*range(6), *range(2)]))
    for i, values in enumerate(results):
        np.testing.assert_allclose(values, expected[i % 6], rtol=1e-5, atol=1e-6 * float(np.abs(values).max()))
    for (lm, _, _), state_before in zip(jobs, before, strict=True):
        untouched(lm, state_before)


def test_every_page_says_in_one_line_that_it_explains_classifiers_only_so_far():
    from app_support import open_app
    from interpret.policy import CONSENT_LABEL

    app = open_app()
    app.sidebar.selectbox(key="sb-source").set_value("python").run()
    app.sidebar.text_input(key="sb-py-spec").set_value("py:torchvision.models.segmentation:lraspp_mobilenet_v3_large")
    app.sidebar.text_input(key="sb-py-kwargs").set_value('{"weights": null, "weights_backbone": null, "num_classes": 3}')
    app.run()
    next(box for box in app.sidebar.checkbox if box.label == CONSENT_LABEL).check().run()
    for page in sorted(str(p.relative_to(Path(__file__).resolve().parents[1])) for p in PAGES.glob("*.py")):
        app.switch_page(page).run()
        assert not app.exception and not app.error, (page, app.exception, app.error)
        said = [e.value for e in app.info]
        assert any("is a semantic segmentation model; the pages explain image classifiers only" in s for s in said), page


@pytest.mark.parametrize("model,layer", [("deeplab", "backbone.16"), ("detector", "backbone.fpn.layer_blocks.0")])
def test_eigen_cam_is_pytorch_grad_cams_projection_on_segmentation_and_detection(request, model, layer):
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

    lm, x = request.getfixturevalue(model), photo()
    target = segmentation_target(lm, x, 0, "image") if model == "deeplab" else detection_target(detections(lm, x, 0.0)[0])
    a = activations(Context(lm, x, model_target(lm, target), layer=layer))
    theirs = torch.from_numpy(get_2d_projection(a.numpy()))[0]
    ours = principal_projection(a)
    sign = 1.0 if float((ours * theirs).sum()) >= 0 else -1.0
    np.testing.assert_allclose(ours.numpy(), sign * theirs.numpy(), rtol=1e-3, atol=1e-3 * float(theirs.abs().max()))
    assert attribute(lm, x, "eigencam", target, layer=layer).status == "ok"


class ManyBoxes(nn.Module):
    """A detector's output shape with `count` boxes per image."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self.conv = nn.Conv2d(3, 1, 3)

    def forward(self, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        score = self.conv(x).mean((1, 2, 3)).sigmoid()
        boxes = torch.tensor([[0.0, 0.0, 8.0, 8.0]]).repeat(self.count, 1)
        return [{"boxes": boxes, "labels": torch.ones(self.count, dtype=torch.long), "scores": s.repeat(self.count)}
                for s in score]


def test_a_detector_returning_more_boxes_than_the_limit_is_refused():
    assert loaded(ManyBoxes(MAX_DETECTIONS), "many").kind == "detection"
    with pytest.raises(ModelLoadError, match=f"'many' returns {MAX_DETECTIONS + 1} boxes for one image; at most"):
        loaded(ManyBoxes(MAX_DETECTIONS + 1), "many")


def test_rows_of_a_batch_are_scored_by_their_own_detection_targets(detector):
    x = torch.cat([photo(), photo().flip(-1)])
    targets = tuple(detection_target(detections(detector, x[i:i + 1], 0.0)[0]) for i in range(2))
    assert targets[0] != targets[1]  # two groups of rows, each scored by its own target
    with torch.no_grad():
        out = detector.model(x)
        alone = [float(t.score([o])[0]) for t, o in zip(targets, out, strict=True)]
        assert row_scores(targets, out).tolist() == pytest.approx(alone, abs=1e-6)


def test_cams_of_segmentation_and_detection_default_to_the_backbones_last_map(deeplab, detector):
    from interpret.layers import default_cam_layer

    assert (default_cam_layer(deeplab), default_cam_layer(detector)) == ("backbone.16", "backbone.body.16")
    x = photo()
    target = detection_target(detections(detector, x, 0.0)[0])
    assert attribute(detector, x, "eigencam", target).layer == "backbone.body.16"
    # a layer run once per feature level is captured through the detector's whole pass (its list of dicts)
    assert attribute(detector, x, "eigencam", target, layer="rpn.head.conv").status == "ok"
    # the region proposal network's outputs are cut from the box scores' graph: said, not a RuntimeError
    with pytest.raises(LayerError, match="does not depend on the output of 'rpn.head.bbox_pred'"):
        attribute(detector, x, "gradcam", target, layer="rpn.head.bbox_pred")


def test_a_transformers_config_with_problem_type_regression_loads_a_regression(tmp_path):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.ViTConfig(image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1,
                                    num_attention_heads=2, intermediate_size=64, num_labels=1, problem_type="regression")
    transformers.ViTForImageClassification(config).save_pretrained(tmp_path)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    lm = load_model(f"hf:{tmp_path}")
    assert lm.kind == "regression" and lm.num_classes == 1
    x = lm.preprocessing.to_tensor(load_sample("coffee").image)
    assert attribute(lm, x, "gradient", regression_target(lm, 0, baseline=1.0)).status == "ok"


def test_a_torchvision_detector_is_fed_pixels_it_normalises_itself():
    spec = "py:torchvision.models.detection:fasterrcnn_mobilenet_v3_large_320_fpn"
    kwargs = {"weights": None, "weights_backbone": None, "num_classes": 3, "min_size": 64, "max_size": 64}
    lm = load_model(spec, model_kwargs=kwargs, trust_code=True)
    assert lm.kind == "detection" and (lm.preprocessing.mean, lm.preprocessing.std) == ((0.0,) * 3, (1.0,) * 3)
    x = lm.preprocessing.to_tensor(load_sample("coffee").image)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0  # the pixels, which its own transform normalises
