"""The model's layers with their output shapes, and sensible default layers."""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch
from torch import nn

from .capture import capture
from .models import LoadedModel
from .spatial import spatial_kind, token_grid_side


@dataclass(frozen=True)
class LayerInfo:
    name: str
    type: str
    output_shape: tuple[int, ...]  # without the batch dimension
    params: int  # parameters of the module and its children
    spatial: str | None  # 'nchw', 'nhwc', 'tokens' or None
    order: int  # position in the forward pass (first output = 0)
    depth: int  # number of dots in the name
    calls: int = 1  # outputs per forward pass (2 for a reused module, e.g. a torchvision BasicBlock's relu)

    @property
    def label(self) -> str:
        return f"{self.name} · {self.type} · {tuple(self.output_shape)}"


_CACHE: weakref.WeakKeyDictionary[LoadedModel, tuple[LayerInfo, ...]] = weakref.WeakKeyDictionary()


def list_layers(lm: LoadedModel) -> tuple[LayerInfo, ...]:
    """Every named module that returns a tensor, in the order its output is produced."""
    if lm in _CACHE:
        return _CACHE[lm]
    if not lm.hookable:
        return ()
    modules = dict(lm.model.named_modules())
    size = lm.preprocessing.crop_size
    with lm.lock, torch.inference_mode(), capture(lm.model, [n for n in modules if n], keep="shape") as captured:
        captured.run(torch.zeros(1, 3, size, size, device=lm.device))
    shapes, order, calls = captured.shapes, captured.order, captured.calls
    layers = tuple(
        LayerInfo(
            name=name,
            type=type(modules[name]).__name__,
            output_shape=shapes[name][1:],
            params=sum(p.numel() for p in modules[name].parameters()),
            spatial=spatial_kind(shapes[name]),
            order=i,
            depth=name.count("."),
            calls=calls[name],
        )
        for i, name in enumerate(order)
    )
    _CACHE[lm] = layers
    return layers


def called_once(lm: LoadedModel, name: str) -> bool:
    """Whether the layer runs exactly once per forward pass, so that a capture may stop right after it.

    A reused module's captured output is its last one; stopping at its first would give another tensor.
    """
    return any(info.name == name and info.calls == 1 for info in list_layers(lm))


def _is_block(model: nn.Module, name: str) -> bool:
    """A module held directly by a plain Sequential/ModuleList: a network 'block'."""
    parent_name, _, _ = name.rpartition(".")
    module = model.get_submodule(name)
    parent = model.get_submodule(parent_name) if parent_name else model
    return type(parent) in (nn.Sequential, nn.ModuleList) and type(module) not in (nn.Sequential, nn.ModuleList)


def _outer_blocks(lm: LoadedModel) -> list[LayerInfo]:
    """Spatial blocks that are not inside another block (a ResNet's layerN.i, not its downsample.0)."""
    blocks = [info for info in list_layers(lm) if info.spatial and _is_block(lm.model, info.name)]
    names = {b.name for b in blocks}
    return [b for b in blocks if not any(b.name.startswith(n + ".") for n in names)]


def default_feature_layer(lm: LoadedModel) -> str | None:
    """A middle block with a spatial output (layer2.1 on ResNet-18, as in the origin article)."""
    layers = _outer_blocks(lm)
    if not layers:
        layers = [info for info in list_layers(lm) if info.spatial]
    return layers[(len(layers) - 1) // 2].name if layers else None


def default_cam_layer(lm: LoadedModel) -> str | None:
    """The last layer whose output is still spatial: where CAMs are usually computed.

    Transformers that classify from a class token are the exception: after the last block only that
    token reaches the head, so gradients at the patch tokens are zero there. Their default is the
    first layer inside the last block (its first norm), as is usual for ViT CAMs.
    """
    layers = [info for info in list_layers(lm) if info.spatial]
    if not layers:
        return None
    last = layers[-1]
    if last.spatial == "tokens" and (token_grid_side(last.output_shape[0]) or (0, 0))[1] > 0:
        blocks = [info for info in _outer_blocks(lm) if info.spatial == "tokens"]
        inside = [info for info in layers if blocks and info.name.startswith(blocks[-1].name + ".")]
        if inside:
            return min(inside, key=lambda info: info.order).name
    return last.name


def layer_info(lm: LoadedModel, name: str) -> LayerInfo:
    from .errors import LayerError

    for layer in list_layers(lm):
        if layer.name == name:
            return layer
    raise LayerError(f"The model has no layer named '{name}' that returns a tensor.")
