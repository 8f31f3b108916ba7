"""The Feature maps page's attention view: a ViT's attention weights per block and head, where the class token looks.

Drawn only when asked (a toggle), for models whose attention can be read (interpret.features.attention_maps); the
weights of every block come from one inference pass, run as a bounded model answer (ui/answers.py) and cached per
(model, photo), so moving between blocks only redraws.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ..features import AttentionMaps, attention_maps, has_attention
from ..images import InputImage
from ..models import LoadedModel
from ..render import mosaic, mosaic_scale
from .answers import answer
from .caching import cache_data
from .downloads import npy_bytes
from .feature_view import CMAPS, channel_overlay
from .map_image import channel_scale, scale_note, show_map
from .url_state import persistent

TILE = 112  # pixels per head tile (a 14 x 14 grid drawn 8 x larger)


@cache_data(max_entries=16, show_spinner="Reading the attention weights…")
def cached_attention(lm: LoadedModel, image: InputImage) -> AttentionMaps:
    """One photo's attention maps of every block and head (NotAnsweredError past the answer bound)."""
    return answer(lm, f"attention|{image.sha256}", "the attention weights of every block",
                  lambda: attention_maps(lm, lm.preprocessing.to_tensor(image.image)),
                  nbytes=lambda maps: int(maps.values.nbytes))


def attention_section(lm: LoadedModel, image: InputImage, key: str = "fm-attn") -> None:
    """For a ViT: a toggle that draws the attention view; nothing for other models."""
    if not lm.hookable or not has_attention(lm):
        return
    st.subheader("Attention maps")
    if st.toggle("Show the attention of each block and head", key=key,
                 help="Where the class token looks in each block: its row of the attention weights over the patches, "
                      "per head and averaged over the heads. One forward pass, computed when shown."):
        attention_view(lm, image, key)


def head_tiles(maps: AttentionMaps, block: int) -> tuple[np.ndarray, list[str]]:
    """The block's heads and their mean as (heads + 1) x h x w tiles, with their labels."""
    tiles = np.concatenate([maps.values[block], maps.head_mean(block)[None]])
    return tiles, [f"head {i}" for i in range(maps.heads)] + ["mean"]


def attention_view(lm: LoadedModel, image: InputImage, key: str = "fm-attn") -> None:
    """A block picker, the grid of its heads and their mean, and the mean large over the photo."""
    maps = cached_attention(lm, image)
    names = list(maps.blocks)
    cols = st.columns([2, 1, 1])
    with cols[0]:
        name = persistent(st.selectbox, "Block", options=names, default=names[-1], url="attention_block",
                          key=f"{key}-block|{lm.spec}", help="The attention block whose weights are shown.")
    shared = cols[1].toggle("Shared scale", value=True, key=f"{key}-shared",
                            help="On: one range for the block's heads. Off: each head on its own range.")
    with cols[2]:
        cmap = persistent(st.selectbox, "Colour map", options=list(CMAPS), default="inferno", key=f"{key}-cmap")
    block = names.index(name)
    tiles, labels = head_tiles(maps, block)
    grid = maps.values.shape[-2:]
    picture = mosaic(tiles, columns=min(len(tiles), 7), shared_scale=shared, cmap=cmap, tile=TILE, labels=labels)
    show_map(picture, mosaic_scale(tiles, shared, cmap, what="head"),
             f"{name}: the class token's attention to each of the {grid[0]}×{grid[1]} patches, {maps.heads} heads and "
             "their mean", lines=1)
    left, right = st.columns(2)
    mean = maps.head_mean(block)
    show_map(channel_overlay(lm, image, mean, cmap), channel_scale(mean, cmap),
             f"{name}, mean over the heads, upsampled onto the photo (bright = attended)", target=left)
    scale_note([mosaic_scale(tiles, shared, cmap, what="head")], target=right)
    right.download_button("Attention .npy", npy_bytes(maps.values), f"{image.name.rsplit('.', 1)[0]}_attention.npy",
                          "application/octet-stream", key=f"{key}-dl",
                          help="float32 blocks × heads × h × w: the class token's attention to each patch.")
