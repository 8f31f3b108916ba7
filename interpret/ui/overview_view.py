"""Predictions for the loaded images, and the exact tensor the model sees."""
from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from ..images import InputImage, fit_notice
from ..models import LoadedModel
from ..models.outputs import describe_pick, pick_of
from ..predict import Prediction
from ..preprocess import Preprocessing
from .plain import plain
from .predictions import cached_top_k
from .report_view import note_photos


def model_summary(lm: LoadedModel) -> None:
    pre = lm.preprocessing
    params = sum(p.numel() for p in lm.model.parameters())
    head = "softmax" if lm.activation == "softmax" else "sigmoid: independent probabilities"
    st.caption(
        f"**{plain(lm.spec)}** on `{lm.device}` · {params / 1e6:.1f} M parameters · {lm.num_classes} classes ({head}) · "
        f"{plain(pre.describe())}"
    )
    if lm.report:
        st.caption(f"Weights: {plain(lm.report)}")
    picked = describe_pick(pick_of(lm.model))
    if picked:
        st.caption(f"The model returns more than its scores: they are read from `{picked}`.")


CROP_COLOUR = (255, 196, 0)
OUTSIDE_SHADE = 0.4  # what is left of the brightness of the photo's parts the model does not see


def photo_with_crop(image: Image.Image, pre: Preprocessing) -> np.ndarray:
    """The photo (uint8 HxWx3) with the part the model sees framed and the rest shaded.

    The frame is `pre.crop_box` in the photo's own pixels; where the crop adds a border it reaches past the
    photo's edges and is drawn clipped there."""
    photo = np.asarray(image.convert("RGB"), dtype=np.float32)
    h, w = photo.shape[:2]
    left, top, right, bottom = pre.crop_box(w, h)
    inside = np.zeros((h, w), dtype=bool)
    inside[max(0, round(top)):max(0, round(bottom)), max(0, round(left)):max(0, round(right))] = True
    shaded = np.where(inside[..., None], photo, photo * OUTSIDE_SHADE).round().astype(np.uint8)
    framed = Image.fromarray(shaded)
    line = max(2, round(min(w, h) / 150))
    ImageDraw.Draw(framed).rectangle((round(left), round(top), round(right) - 1, round(bottom) - 1),
                                     outline=CROP_COLOUR, width=line)
    return np.asarray(framed)


def image_and_model_view(lm: LoadedModel, image: InputImage) -> None:
    """The photo with the crop the model sees framed on it, next to the de-normalised tensor the model is fed."""
    pre = lm.preprocessing
    left, right = st.columns(2)
    w, h = image.image.size
    rw, rh = pre.resized_size(w, h)
    how = (f"resized to {rw}×{rh}, then the framed {pre.crop_size}×{pre.crop_size} crop" if pre.crops
           else f"squashed whole to {pre.crop_size}×{pre.crop_size}")
    left.image(photo_with_crop(image.image, pre), caption=plain(f"{image.name} · {w}×{h} · {how}"), width="stretch")
    fit_notice_view(lm, image, left)
    seen = pre.denormalize(pre.to_tensor(image.image))
    right.image(seen, caption=f"What the model sees: {seen.shape[1]}×{seen.shape[0]} (de-normalised input tensor)",
                width="stretch")


def fit_notice_view(lm: LoadedModel, image: InputImage, target: Any = None) -> None:
    """One st.info line when the model sees the photo much enlarged (an 8×8 icon) or a small part of it (a panorama)."""
    notice = fit_notice(*image.image.size, lm.preprocessing)
    if notice:
        (st if target is None else target).info(plain(notice), icon="🔍")


def all_images_table(lm: LoadedModel, images: list[InputImage]) -> None:
    """The top class of every loaded photo, one row each (each photo in the page's report with its top classes)."""
    note_photos(images)
    table = [{"image": im.name, "prediction": top.label, "probability": top.prob}
             for im in images for top in cached_top_k(lm, im, 5)[:1]]
    st.dataframe(table, hide_index=True, width="stretch")


def predictions_table(predictions: tuple[Prediction, ...]) -> None:
    st.dataframe(
        [{"class": p.label, "index": p.index, "probability": p.prob} for p in predictions],
        column_config={"probability": st.column_config.ProgressColumn("probability", min_value=0.0, max_value=1.0,
                                                                      format="%.3f")},
        hide_index=True, width="stretch",
    )
