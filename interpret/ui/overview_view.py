"""Predictions for the loaded images, and the exact tensor the model sees."""
from __future__ import annotations

import streamlit as st

from ..images import InputImage
from ..models import LoadedModel
from ..predict import Prediction
from .plain import plain
from .predictions import cached_top_k


def model_summary(lm: LoadedModel) -> None:
    pre = lm.preprocessing
    params = sum(p.numel() for p in lm.model.parameters())
    st.caption(
        f"**{plain(lm.spec)}** on `{lm.device}` · {params / 1e6:.1f} M parameters · {lm.num_classes} classes · "
        f"input {pre.crop_size}×{pre.crop_size} (resize {pre.resize_size}, {pre.interpolation}, mean {pre.mean}, std {pre.std})"
    )


def image_and_model_view(lm: LoadedModel, image: InputImage) -> None:
    """The photo as given, next to the de-normalised tensor the model is fed."""
    left, right = st.columns(2)
    left.image(image.image, caption=plain(f"{image.name} · {image.image.size[0]}×{image.image.size[1]}"), width="stretch")
    seen = lm.preprocessing.denormalize(lm.preprocessing.to_tensor(image.image))
    right.image(seen, caption=f"What the model sees: {seen.shape[1]}×{seen.shape[0]} (de-normalised input tensor)",
                width="stretch")


def all_images_table(lm: LoadedModel, images: list[InputImage]) -> None:
    """The top class of every loaded photo, one row each."""
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
