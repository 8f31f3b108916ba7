"""A ViT's attention weights per block and head, read where the class token looks: its row over the patch tokens.

The weights softmax(q k^T * scale) come from `interpret.attribution.attention`, which captures each block's queries
and keys with `interpret.capture.capture` under the model's lock and recomputes them, so fused attention (which
never materialises them) is read the same way, on the shared model, nothing swapped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..attribution.attention import attentions, encoder_of
from ..attribution.base import Context
from ..attribution.target import Target
from ..errors import LayerError
from ..layers import token_grid
from ..models import LoadedModel


@dataclass(frozen=True)
class AttentionMaps:
    """blocks x heads x h x w: block b, head i's attention from the class token to each patch (its row of the
    attention weights without the prefix tokens' columns, so a row sums to 1 minus what goes to those tokens)."""

    blocks: tuple[str, ...]
    values: np.ndarray
    prefix: int  # tokens before the patches (class, distillation, registers), left out of each row

    @property
    def heads(self) -> int:
        return int(self.values.shape[1])

    def head_mean(self, block: int) -> np.ndarray:
        """The block's heads averaged (h x w)."""
        return self.values[block].mean(0)


def has_attention(lm: LoadedModel) -> bool:
    """Whether the model has attention blocks these maps can read (a ViT or DeiT with a class token)."""
    return not isinstance(encoder_of(lm), str)


def attention_maps(lm: LoadedModel, x: torch.Tensor) -> AttentionMaps:
    """The class token's attention per block and head for the first image of a preprocessed batch: one inference
    pass that stops after the last block's queries and keys."""
    encoder = encoder_of(lm)
    if isinstance(encoder, str):
        raise LayerError(f"Attention maps need a ViT or DeiT whose attention can be read: {encoder}.")
    ctx = Context(lm=lm, x=lm.input_tensor(x[:1]), target=Target(0, activation=lm.activation))
    rows = torch.stack([a[:, 0, encoder.prefix:] for a in attentions(ctx, encoder)])  # blocks x heads x patches
    size = (int(x.shape[-2]), int(x.shape[-1]))
    grid = token_grid(int(rows.shape[-1]), size)
    if grid is None:
        raise LayerError(f"The model's {rows.shape[-1]} patch tokens do not form a grid for a {size[0]} x {size[1]} "
                         "input.")
    values = rows.reshape(*rows.shape[:2], *grid).float().cpu().numpy()
    return AttentionMaps(tuple(b.name for b in encoder.blocks), values, encoder.prefix)
