"""The tensor the app feeds a zoo model is the one the zoo's own pipeline makes, on every sample photo.

torchvision's `weights.transforms()`, timm's `create_transform(**resolve_data_config(...))` and Hugging Face
image processors (both backends) against `Preprocessing.to_tensor`: equal for torchvision and timm, float
rounding (transformers fuses the /255 into the mean and std) for transformers. No weights are downloaded:
torchvision's transforms come from the weights enum, timm's from models built with random weights.
"""
from __future__ import annotations

import pytest
import timm
import torch
import torchvision
import transformers
from timm.data import create_transform, resolve_data_config
from timm.models import get_pretrained_cfg

from interpret.errors import ModelLoadError
from interpret.preprocess import IMAGENET
from interpret.samples import SAMPLES, load_sample
from interpret.zoo_preprocessing import timm_preprocessing, torchvision_preprocessing, transformers_preprocessing


@pytest.fixture(scope="module")
def photos():
    return {name: load_sample(name).image for name in SAMPLES}


def assert_every_photo_matches(pre, reference, photos, atol=0.0):
    for name, photo in photos.items():
        ours, theirs = pre.to_tensor(photo)[0], reference(photo)
        assert ours.shape == theirs.shape, f"{name}: {tuple(ours.shape)} vs {tuple(theirs.shape)}"
        gap = (ours - theirs).abs().max().item()
        assert gap <= atol * max(1.0, theirs.abs().max().item()), f"{name}: differs by up to {gap:.3g}"


# resnet18: 256 -> 224 bilinear (chelsea differed by 0.73, china by 1.56 before); efficientnet_b3: 320 -> 300
# bicubic; convnext_tiny: 236 -> 224 (odd margins, where the crop offset's rounding shows).
@pytest.mark.parametrize("name", ["resnet18", "efficientnet_b3", "convnext_tiny"])
def test_torchvision_models_get_exactly_their_weights_transforms(name, photos):
    weights = torchvision.models.get_model_weights(name).DEFAULT
    assert_every_photo_matches(torchvision_preprocessing(weights), weights.transforms(), photos)


def test_imagenet_default_is_torchvisions_resnet_pipeline(photos):
    assert_every_photo_matches(IMAGENET, torchvision.models.ResNet18_Weights.DEFAULT.transforms(), photos)


# (name, crop mode, interpolation, crop_pct) as timm's pretrained config states them: the test checks the
# config says so, so each row covers what it claims. Built with random weights, except mambaout_femto, read
# from its pretrained config alone (timm_preprocessing takes either; building it costs seconds).
TIMM_MODELS = [
    ("test_resnet.r160_in1k", "center", "bilinear", 0.95),
    ("test_vit.r160_in1k", "center", "bicubic", 0.95),
    ("mambaout_femto.in1k", "center", "bicubic", 1.0),
    ("convnextv2_nano.fcmae_ft_in22k_in1k_384", "squash", "bicubic", 1.0),
]


@pytest.mark.parametrize(("name", "mode", "interpolation", "crop_pct"), TIMM_MODELS, ids=[row[0] for row in TIMM_MODELS])
def test_timm_models_get_exactly_their_eval_transform(name, mode, interpolation, crop_pct, photos):
    if name.startswith("mambaout"):
        source = get_pretrained_cfg(name)
        cfg = resolve_data_config({}, pretrained_cfg=source.to_dict())
    else:
        source = timm.create_model(name, pretrained=False)
        cfg = resolve_data_config({}, model=source)
    assert (cfg["crop_mode"], cfg["interpolation"], cfg["crop_pct"]) == (mode, interpolation, crop_pct)
    assert_every_photo_matches(timm_preprocessing(source), create_transform(**cfg), photos)


def test_timm_border_mode_from_a_pretrained_config(photos):
    """'border' (6 pretrained configs, all large): the long side to size / crop_pct, a border of the mean colour."""
    cfg = {**get_pretrained_cfg("test_vit.r160_in1k").to_dict(), "crop_mode": "border", "crop_pct": 0.9,
           "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
    reference = create_transform(**resolve_data_config({}, pretrained_cfg=cfg))
    pre = timm_preprocessing(cfg)
    assert pre.resize_mode == "longer" and pre.pad_fill == (124, 116, 104)
    assert_every_photo_matches(pre, reference, photos)


PROCESSORS = {
    "vit": lambda: transformers.ViTImageProcessor(),  # squash to 224, bilinear, tensor resize
    "vit-pil": lambda: transformers.ViTImageProcessorPil(),
    "convnext-224": lambda: transformers.ConvNextImageProcessor(size={"shortest_edge": 224}),  # crop_pct 0.875
    "convnext-384": lambda: transformers.ConvNextImageProcessor(),  # squash at 384 and above
    "clip": lambda: transformers.CLIPImageProcessor(),  # shortest edge 224, then do_center_crop
    "deit-pil": lambda: transformers.DeiTImageProcessorPil(),  # squash to 256, crop 224, Pillow
}


@pytest.mark.parametrize("kind", PROCESSORS)
def test_transformers_image_processors_are_matched_to_float_rounding(kind, photos):
    processor = PROCESSORS[kind]()

    def reference(photo):
        return processor(photo, return_tensors="pt")["pixel_values"][0]

    assert_every_photo_matches(transformers_preprocessing(processor), reference, photos, atol=1e-6)


def test_a_processor_the_app_cannot_state_is_refused_with_its_reason():
    with pytest.raises(ModelLoadError, match="square inputs only"):
        transformers_preprocessing(transformers.ViTImageProcessor(size={"height": 224, "width": 320}))
    with pytest.raises(ModelLoadError, match="does not resize"):
        transformers_preprocessing(transformers.ViTImageProcessor(do_resize=False))


def test_a_timm_model_with_a_non_square_input_is_refused():
    with pytest.raises(ModelLoadError, match="768x1024 input"):
        timm_preprocessing(get_pretrained_cfg("vit_base_patch16_sapiens2.fb"))


def test_the_preprocessing_of_a_zoo_model_is_what_a_loaded_model_carries():
    from interpret.models.timm_zoo import build_timm
    from interpret.models.torchvision_zoo import build_torchvision

    assert build_torchvision("resnet18", pretrained=False)[1] == IMAGENET
    model, pre, _ = build_timm("test_resnet.r160_in1k", pretrained=False)
    assert pre == timm_preprocessing(model) and pre.crop_rounding == "round"
    assert torch.is_tensor(pre.to_tensor(load_sample("coffee").image))


def test_a_transformers_model_folder_is_fed_what_its_saved_image_processor_makes(tmp_path, photos):
    from interpret.models import load_model

    config = transformers.ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                                    image_size=64, patch_size=16, num_labels=3)
    transformers.ViTForImageClassification(config).save_pretrained(tmp_path)
    processor = transformers.ViTImageProcessor(size={"height": 64, "width": 64}, resample=3, image_mean=[0.4, 0.5, 0.6])
    processor.save_pretrained(tmp_path)
    lm = load_model(f"hf:{tmp_path}", "cpu")
    assert lm.preprocessing == transformers_preprocessing(processor)

    def reference(photo):
        return processor(photo, return_tensors="pt")["pixel_values"][0]

    assert_every_photo_matches(lm.preprocessing, reference, photos, atol=1e-6)


def test_the_bundled_model_gets_timms_eval_transform(photos):
    """The bundled EfficientNet-Lite0 is timm's efficientnet_lite0: its resize and crop are timm's eval transform for
    it (the short side floor-rounded, not rounded: 4 of 7 photos were 1 px off), with the mean/std 0.5 its weights
    were measured best with (tf_efficientnet_lite0's own config, which this equals whole)."""
    from interpret.models.bundled import PREPROCESSING

    cfg = resolve_data_config({}, pretrained_cfg=get_pretrained_cfg("efficientnet_lite0.ra_in1k").to_dict())
    cfg.update(mean=PREPROCESSING.mean, std=PREPROCESSING.std)
    assert cfg == resolve_data_config({}, pretrained_cfg=get_pretrained_cfg("tf_efficientnet_lite0.in1k").to_dict())
    assert_every_photo_matches(PREPROCESSING, create_transform(**cfg), photos)
