"""The model's layers with their output shapes, how each output maps onto the image, and default layers.

A layer's output is offered as a spatial map (for CAMs and feature maps) when it can be read as
channels-first N x C x h x w without guessing: NCHW outputs (CNNs, ConvNeXt), NHWC outputs (timm's
Swin stages, the channels-last insides of ConvNeXt blocks) and token sequences N x (prefix + h*w) x C
(ViT, DeiT, transformers' Swin), whose prefix tokens (class, distillation, register) are counted from the
model itself (timm's `num_prefix_tokens`, or its `cls_token` / `dist_token` / `register_tokens`
parameters) and dropped only from the layers whose sequences hold them: a layer whose token count is a whole
patch grid (a patch embedding, before the class token is prepended) keeps every token. Everything else (pooled
and linear outputs, attention heads, window partitions) is listed with the reason it is not a map.
"""
from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .capture import SCRIPTED, capture
from .errors import LayerError
from .models import LoadedModel

LAYOUTS = ("nchw", "nhwc", "tokens")
# Parameters that hold tokens prepended to the patch tokens (timm and transformers names), 1 x k x C each.
PREFIX_PARAMETERS = ("cls_token", "class_token", "dist_token", "distillation_token", "reg_token", "register_tokens")
MAX_GUESSED_PREFIX = 8  # without such parameters: class + register tokens tried when a grid side confirms them


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
    prefix: int = 0  # tokens before the patch tokens (class, distillation, registers), dropped from the grid
    grid: tuple[int, int] | None = None  # h x w of the map at the model's input size
    reason: str = ""  # why the output is not a map (when spatial is None)

    @property
    def label(self) -> str:
        return f"{self.name} · {self.type} · {tuple(self.output_shape)}"

    @property
    def channels(self) -> int | None:
        """Channels of the map (the embedding width for tokens); None for a layer that is not a map."""
        if self.spatial is None:
            return None
        return self.output_shape[0] if self.spatial == "nchw" else self.output_shape[-1]

    def as_grid(self, output: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """This layer's raw output (N x ...) as N x C x h x w, differentiably (a gradient flows back through it).

        `size`: the input's h x w, for the token grid's aspect (the listing's input size by default).
        A LayerError says why a layer that is not a map, or an output that does not fit its layout, is refused.
        """
        if self.spatial is None:
            raise LayerError(f"The layer '{self.name}' has no spatial output ({self.reason}); "
                             "choose a convolutional layer or a transformer block.")
        if self.spatial == "nchw" and output.ndim == 4:
            return output
        if self.spatial == "nhwc" and output.ndim == 4:
            return output.permute(0, 3, 1, 2)
        if self.spatial == "tokens" and output.ndim == 3:
            aspect = size if size is not None else self.grid
            grid = token_grid(int(output.shape[1]) - self.prefix, aspect or (1, 1))
            if grid is not None:
                tokens = output[:, self.prefix:, :]
                return tokens.transpose(1, 2).reshape(output.shape[0], output.shape[2], *grid)
        raise LayerError(f"The output of '{self.name}' (shape {tuple(output.shape[1:])}) does not fit its "
                         f"{self.spatial} layout at this input size.")


def token_grid(tokens: int, size: tuple[int, int]) -> tuple[int, int] | None:
    """(h, w) with h * w = tokens, h, w > 1 and h / w the aspect of `size` (a square for a square input)."""
    if tokens < 4:
        return None
    height, width = size
    h = max(1, round(math.sqrt(tokens * height / width)))
    for candidate in (h, h - 1, h + 1):
        if candidate > 1 and tokens % candidate == 0 and tokens // candidate > 1 and _fits(candidate, tokens // candidate, size):
            return candidate, tokens // candidate
    return None


def _fits(h: int, w: int, size: tuple[int, int]) -> bool:
    """Whether an h x w map has the input's aspect (within the rounding of strided layers)."""
    height, width = size
    return h > 1 and w > 1 and abs(h * width - w * height) <= 0.15 * max(h * width, w * height)


def prefix_tokens(model: nn.Module) -> int | None:
    """How many tokens precede the patch tokens in this model's sequences; None when it does not say.

    timm says it (`num_prefix_tokens`); otherwise the class, distillation and register token parameters
    (timm and transformers names, also after torch.export) are counted."""
    for module in model.modules():
        count = module.__dict__.get("num_prefix_tokens")
        if isinstance(count, int) and not isinstance(count, bool):
            return count
    counts = [int(p.shape[1]) for name, p in model.named_parameters()
              if name.rsplit(".", 1)[-1] in PREFIX_PARAMETERS and p.ndim == 3 and p.shape[0] == 1]
    return sum(counts) if counts else None


def _channels_last_hint(module: nn.Module) -> bool | None:
    """What the module type says of a 4-D output whose three sizes are equal: True NHWC, False NCHW, None unsure."""
    data_format = getattr(module, "data_format", None)
    if data_format in ("channels_last", "channels_first"):
        return data_format == "channels_last"
    if isinstance(module, nn.Linear) or (isinstance(module, nn.LayerNorm) and "2d" not in type(module).__name__.lower()):
        return True  # acts on the last dimension: channels last
    if isinstance(module, (nn.Conv2d, nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.MaxPool2d, nn.AvgPool2d)):
        return False
    return None


@dataclass(frozen=True)
class _Layout:
    spatial: str | None
    prefix: int = 0
    grid: tuple[int, int] | None = None
    reason: str = ""


def _layouts(modules: dict[str, nn.Module], order: list[str], shapes: dict[str, tuple[int, ...]],
             size: tuple[int, int], prefix: int | None,
             measure: Callable[[list[str]], dict[str, bool]]) -> dict[str, _Layout]:
    """Each captured layer's layout, from its shape (batch included) at input `size` and the model's prefix.

    `measure(names)` says which of the 4-D outputs whose three sizes are equal, and whose module type says
    nothing, are channels last. The 4-D layers are read first: their sides confirm guessed token grids."""
    token_counts = {s[1] for s in shapes.values() if len(s) == 3 and s[0] == 1}
    result: dict[str, _Layout] = {}
    unsure: list[str] = []
    for name in (n for n in order if len(shapes[n]) == 4):
        layout = _map_layout(shapes[name], modules[name], size, token_counts)
        if layout is None:
            unsure.append(name)
        else:
            result[name] = layout
    for name, last in (measure(unsure) if unsure else {}).items():
        h, w = shapes[name][2:]
        result[name] = _Layout("nhwc" if last else "nchw", grid=(h, w))
    sides = {r.grid for r in result.values() if r.grid}
    patches = _patch_counts(sides, {s[1] for s in shapes.values() if len(s) == 3}, prefix)
    for name in (n for n in order if len(shapes[n]) != 4):
        result[name] = _other_layout(shapes[name], size, prefix, sides, patches)
    return result


def _map_layout(shape: tuple[int, ...], module: nn.Module, size: tuple[int, int],
                token_counts: set[int]) -> _Layout | None:
    """A 4-D output's layout: channels first or last by which sides fit the input, or by the module type where
    both do (C = h = w); None where neither says and a measurement must."""
    a, b, c = shape[1:]
    if shape[0] != 1:
        return _Layout(None, reason=f"its output {shape} holds windows or heads, not the batch, first")
    first = _fits(b, c, size) and not (b == c and b in token_counts)  # N x tokens x tokens: attention weights
    last = _fits(a, b, size)
    if first and last:
        hint = _channels_last_hint(module)
        if hint is None:
            return None
        first = not hint
    if first:
        return _Layout("nchw", grid=(b, c))
    if last:
        return _Layout("nhwc", grid=(a, b))
    if (b, c) == (1, 1) or (a, b) == (1, 1):
        return _Layout(None, reason=f"shape {shape[1:]}: pooled to 1 × 1")
    return _Layout(None, reason=f"shape {shape[1:]} is not an image grid (attention heads × tokens?)")


def _other_layout(shape: tuple[int, ...], size: tuple[int, int], prefix: int | None, sides: set[tuple[int, int]],
                  patches: set[int]) -> _Layout:
    """The layout of an output that is not 4-D: tokens on a grid (after the model's prefix, or a guessed one that
    leaves a grid some 4-D layer has), or no image layout and why."""
    if len(shape) != 3:
        what = "one value per unit" if len(shape) == 2 else "no image layout"
        return _Layout(None, reason=f"shape {shape[1:]}: {what}")
    if shape[0] != 1:
        return _Layout(None, reason=f"its output {shape} holds windows, not the batch, first")
    tokens = shape[1]
    candidates = [(p, False) for p in dict.fromkeys((prefix or 0, 0))]
    if prefix is None:
        candidates += [(p, True) for p in range(1, MAX_GUESSED_PREFIX + 1)]
    candidates.sort(key=lambda c: tokens - c[0] not in patches)  # a whole patch grid left: this layer's prefix
    for p, guessed in candidates:
        grid = token_grid(tokens - p, size) if tokens > p else None
        if grid is not None and (not guessed or grid in sides):
            return _Layout("tokens", prefix=p, grid=grid)
    after = f" after {prefix} class/register tokens" if prefix else ""
    return _Layout(None, reason=f"shape {shape[1:]}: its {tokens} tokens do not form an image grid{after}")


def _patch_counts(sides: set[tuple[int, int]], token_counts: set[int], prefix: int | None) -> set[int]:
    """Token counts that are a whole patch grid: a 4-D layer's h * w, or a sequence's length that another sequence
    has with the model's prefix tokens added (a patch embedding's output before the class token is prepended)."""
    counts = {h * w for h, w in sides}
    if prefix:
        counts |= {t for t in token_counts if t + prefix in token_counts}
    return counts


def _measure_channels_last(lm: LoadedModel, size: tuple[int, int], names: list[str]) -> dict[str, bool]:
    """Whether each named 4-D layer (C = h = w) is channels last, measured: the top-left quarter of the input
    is changed, and the spatial dimension is the one whose change stays in its first half (a channel
    dimension changes evenly). Two forward passes; most models never need them."""
    outputs = []
    for corner in (0.0, 1.0):
        x = torch.zeros(1, 3, *size, device=lm.device)
        x[..., : size[0] // 2, : size[1] // 2] = corner
        with lm.lock, torch.inference_mode(), capture(lm.model, names) as captured:
            captured.run(x)
        outputs.append(captured)
    result = {}
    for name in names:
        if name not in outputs[0] or name not in outputs[1]:
            result[name] = False
            continue
        change = (outputs[1][name] - outputs[0][name]).abs().double()
        half = change.shape[2] // 2
        shares = [float(p[:half].sum() / p.sum()) if float(p.sum()) > 0 else 0.5
                  for p in (change.sum((0, 2, 3)), change.sum((0, 1, 2)))]
        result[name] = shares[0] > shares[1]
    return result


def _input_size(lm: LoadedModel) -> tuple[int, int]:
    crop = lm.preprocessing.crop_size
    return (int(crop[0]), int(crop[1])) if isinstance(crop, (tuple, list)) else (int(crop), int(crop))


_CACHE: weakref.WeakKeyDictionary[LoadedModel, tuple[LayerInfo, ...]] = weakref.WeakKeyDictionary()


def list_layers(lm: LoadedModel) -> tuple[LayerInfo, ...]:
    """Every named module that returns a tensor, in the order its output is produced, with its layout."""
    if lm in _CACHE:
        return _CACHE[lm]
    if not lm.hookable:
        return ()
    modules = dict(lm.model.named_modules())
    size = _input_size(lm)
    with lm.lock, torch.inference_mode(), capture(lm.model, [n for n in modules if n], keep="shape") as captured:
        captured.run(torch.zeros(1, 3, *size, device=lm.device))
    shapes, order, calls = captured.shapes, captured.order, captured.calls
    layouts = _layouts(modules, order, shapes, size, prefix_tokens(lm.model),
                       lambda names: _measure_channels_last(lm, size, names))
    layers = tuple(
        LayerInfo(
            name=name,
            type=type(modules[name]).__name__,
            output_shape=shapes[name][1:],
            params=sum(p.numel() for p in modules[name].parameters()),
            spatial=layouts[name].spatial,
            order=i,
            depth=name.count("."),
            calls=calls[name],
            prefix=layouts[name].prefix,
            grid=layouts[name].grid,
            reason=layouts[name].reason,
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


def _is_list(module: nn.Module) -> bool:
    """A plain Sequential/ModuleList, or a module holding only numbered children (one after torch.export.unflatten)."""
    if type(module) in (nn.Sequential, nn.ModuleList):
        return True
    names = [name for name, _ in module.named_children()]
    return bool(names) and all(name.isdigit() for name in names)


def _is_block(model: nn.Module, name: str) -> bool:
    """A module held directly by a list of modules: a network 'block'."""
    parent_name, _, _ = name.rpartition(".")
    module = model.get_submodule(name)
    parent = model.get_submodule(parent_name) if parent_name else model
    return _is_list(parent) and not _is_list(module)


def _outer_blocks(lm: LoadedModel) -> list[LayerInfo]:
    """Spatial blocks that are not inside another block (a ResNet's layerN.i, not its downsample.0)."""
    blocks = [info for info in list_layers(lm) if info.spatial and _is_block(lm.model, info.name)]
    names = {b.name for b in blocks}
    return [b for b in blocks if not any(b.name.startswith(n + ".") for n in names)]


def stage_ends(lm: LoadedModel) -> list[LayerInfo]:
    """Where the network's resolution stages end, in forward order: the last outer block at each map resolution
    (layer1.1 ... layer4.1 on a ResNet-18), or the last spatial layer at each one in a model without blocks."""
    layers = _outer_blocks(lm) or [info for info in list_layers(lm) if info.spatial]
    ends: list[LayerInfo] = []
    for info in layers:
        if ends and ends[-1].grid == info.grid:
            ends[-1] = info
        else:
            ends.append(info)
    return ends


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
    layers = _backbone(lm, layers) or layers
    if not layers:
        return None
    last = layers[-1]
    if last.spatial == "tokens" and last.prefix > 0:
        blocks = [info for info in _outer_blocks(lm) if info.spatial == "tokens"]
        inside = [info for info in layers if blocks and info.name.startswith(blocks[-1].name + ".")]
        if inside:
            return min(inside, key=lambda info: info.order).name
    return last.name


def _backbone(lm: LoadedModel, layers: list[LayerInfo]) -> list[LayerInfo]:
    """A segmentation or detection model's maps inside its feature extractor (torchvision's `backbone`, an FPN's
    `backbone.body`), where CAMs are computed: the heads after it score per pixel or per box, and a detector's
    region proposals are cut from the gradient's path (their maps get none). [] for other models."""
    if lm.kind not in ("segmentation", "detection"):
        return []
    for prefix in ("backbone.body.", "backbone."):
        inside = [info for info in layers if info.name.startswith(prefix)]
        if inside:
            return inside
    return []


def layer_info(lm: LoadedModel, name: str) -> LayerInfo:
    """The listed layer called `name`, or a LayerError (TorchScript models list none)."""
    for layer in list_layers(lm):
        if layer.name == name:
            return layer
    if not lm.hookable:
        raise LayerError(SCRIPTED)
    raise LayerError(f"The model has no layer named '{name}' that returns a tensor.")


def layer_grid(lm: LoadedModel, name: str, output: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    """A captured output of layer `name` as N x C x h x w (tokens as their patch grid, prefix dropped).

    Differentiable, so gradients reach `output`; a LayerError with the reason for a layer that is not a map."""
    return layer_info(lm, name).as_grid(output, size)


def classifier_layers(lm: LoadedModel) -> set[str]:
    """Layers after the last map with one unit per class (the head and its wrappers): their units are classes."""
    layers = list_layers(lm)
    last_map = max((info.order for info in layers if info.spatial), default=-1)
    return {info.name for info in layers if info.order > last_map and info.output_shape == (lm.num_classes,)}
