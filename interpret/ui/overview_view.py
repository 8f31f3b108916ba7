"""Predictions for the loaded images, and the exact tensor the model sees."""
from __future__ import annotations

import streamlit as st

from ..images import InputImage
from ..models import LoadedModel
from ..predict import top_k


@st.cache_data(max_entries=256, show_spinner=False)
def cached_top_k(model_key: str, sha: str, k: int, _lm: LoadedModel, _image: InputImage) -> list[dict]:
    x = _lm.preprocessing.to_tensor(_image.image)
    return [{"index": p.index, "label": p.label, "prob": p.prob} for p in top_k(_lm, x, k)[0]]


def model_summary(lm: LoadedModel) -> None:
    pre = lm.preprocessing
    params = sum(p.numel() for p in lm.model.parameters())
    st.caption(
        f"**{lm.spec}** on `{lm.device}` · {params / 1e6:.1f} M parameters · {lm.num_classes} classes · "
        f"input {pre.crop_size}×{pre.crop_size} (resize {pre.resize_size}, {pre.interpolation}, mean {pre.mean}, std {pre.std})"
    )


def image_and_model_view(lm: LoadedModel, image: InputImage) -> None:
    """The photo as given, next to the de-normalised tensor the model is fed."""
    left, right = st.columns(2)
    left.image(image.image, caption=f"{image.name} · {image.image.size[0]}×{image.image.size[1]}", width="stretch")
    seen = lm.preprocessing.denormalize(lm.preprocessing.to_tensor(image.image))
    right.image(seen, caption=f"What the model sees: {seen.shape[1]}×{seen.shape[0]} (de-normalised input tensor)", width="stretch")


def predictions_table(rows: list[dict]) -> None:
    st.dataframe(
        [{"class": r["label"], "index": r["index"], "probability": r["prob"]} for r in rows],
        column_config={"probability": st.column_config.ProgressColumn("probability", min_value=0.0, max_value=1.0, format="%.3f")},
        hide_index=True, width="stretch",
    )
