"""Model configs (transformers' and timm's `config.json`) checked before anything they declare is built.

A config of 1 KB can declare 50 M labels (transformers builds an id2label dict of 50 M entries while parsing
it), a 19 GB position table or 100 000 layers. So the file is read with a size bound and its JSON checked
first (`check_config`: labels, layers, tokens), then the model is built on torch's meta device, where
parameters take no memory, and counted (`check_parameters`) before it is built for real.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from .. import limits
from ..errors import InterpretError, ModelLoadError
from ..files import read_regular_file

# Keys whose integers (or lists of integers, summed) count layers or blocks.
LAYER_KEYS = ("num_hidden_layers", "num_layers", "depth", "depths", "num_blocks", "encoder_layers", "layers",
              "num_encoder_layers", "block_repeats", "num_stages")
LABEL_COUNT_KEYS = ("num_labels", "num_classes")
LABEL_MAP_KEYS = ("id2label", "label2id", "label_names", "label_descriptions")


def read_config(path: str | os.PathLike[str], name: str) -> dict[str, Any]:
    """A config.json's mapping, read as a regular file of at most MODEL_CONFIG_BYTES."""
    data = read_regular_file(path, limits.MODEL_CONFIG_BYTES, "MODEL_CONFIG_BYTES", ModelLoadError, "a model config")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelLoadError(f"The config.json of '{name}' is not readable JSON ({str(exc)[:120]}).") from exc
    if not isinstance(value, dict):
        raise ModelLoadError(f"The config.json of '{name}' holds a JSON {type(value).__name__}, not a mapping.")
    return value


def _mappings(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """A config and every mapping nested in it (timm's model_args, a vision_config, ...)."""
    if depth > 8 or not isinstance(value, dict):
        return
    yield value
    for item in value.values():
        yield from _mappings(item, depth + 1)


def _whole(value: Any) -> int:
    """A config integer (a bool is not one); 0 for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _side(value: Any) -> int:
    """An image or patch size: an integer, or the larger side of a pair."""
    if isinstance(value, (list, tuple)) and value:
        return max(_whole(v) for v in value)
    return _whole(value)


def _check_mapping(mapping: dict[str, Any], name: str) -> int:
    """Check one mapping's labels and tokens; return the layers it declares."""
    layers = 0
    for key, value in mapping.items():
        if key in LABEL_COUNT_KEYS and _whole(value) > limits.MAX_CLASSES:
            raise ModelLoadError(f"'{name}' declares {_whole(value):,} classes ({key}); models of up to "
                                 f"{limits.MAX_CLASSES:,} classes are loaded (limit MAX_CLASSES).")
        if key in LABEL_MAP_KEYS and isinstance(value, (dict, list)) and len(value) > limits.MAX_CLASSES:
            raise ModelLoadError(f"'{name}' lists {len(value):,} labels ({key}); models of up to "
                                 f"{limits.MAX_CLASSES:,} classes are loaded (limit MAX_CLASSES).")
        if key in LAYER_KEYS:
            layers += sum(max(0, _whole(v)) for v in value) if isinstance(value, list) else max(0, _whole(value))
    image, patch = _side(mapping.get("image_size", mapping.get("img_size"))), _side(mapping.get("patch_size"))
    if image > 0 and patch > 0 and (image // patch) ** 2 > limits.MODEL_CONFIG_TOKENS:
        raise ModelLoadError(f"'{name}' declares {(image // patch) ** 2:,} patches per image (image_size / patch_size); "
                             f"up to {limits.MODEL_CONFIG_TOKENS:,} are loaded (limit MODEL_CONFIG_TOKENS).")
    return layers


def check_config(config: dict[str, Any], name: str) -> None:
    """Refuse a config whose labels, layers or tokens exceed MAX_CLASSES, MODEL_CONFIG_LAYERS or MODEL_CONFIG_TOKENS."""
    layers = sum(_check_mapping(mapping, name) for mapping in _mappings(config))
    if layers > limits.MODEL_CONFIG_LAYERS:
        raise ModelLoadError(f"'{name}' declares {layers:,} layers; models of up to {limits.MODEL_CONFIG_LAYERS:,} are "
                             "loaded (limit MODEL_CONFIG_LAYERS).")


def check_parameters(build: Callable[[], nn.Module], name: str) -> None:
    """Build the model on the meta device (no memory) and refuse it above MODEL_PARAMETERS parameters or with one
    tensor above CHECKPOINT_TENSOR_BYTES (in float32), before it is built for real. A model whose code cannot run on
    the meta device is not counted (logged): its config's sizes were checked by `check_config`."""
    try:
        with torch.device("meta"):
            skeleton = build()
    except InterpretError:
        raise
    except Exception as exc:  # code that needs real values while building (an .item()): the config's checks stand
        logging.getLogger(__name__).info("%s cannot be built on the meta device (%s); its parameters are not "
                                         "counted before it is built", name, exc)
        return
    total, largest, where = 0, 0, ""
    for tensor_name, tensor in [*skeleton.named_parameters(), *skeleton.named_buffers()]:
        total += tensor.numel()
        if tensor.numel() > largest:
            largest, where = tensor.numel(), tensor_name
    del skeleton
    if total > limits.MODEL_PARAMETERS:
        raise ModelLoadError(f"'{name}' would have {total:,} parameters; models of up to {limits.MODEL_PARAMETERS:,} "
                             "are built (limit MODEL_PARAMETERS).")
    if largest * 4 > limits.CHECKPOINT_TENSOR_BYTES:
        raise ModelLoadError(f"'{name}' would have a tensor of {largest * 4 / 2**30:,.1f} GB ('{where}'); tensors of up "
                             f"to {limits.CHECKPOINT_TENSOR_BYTES / 2**30:g} GB are built (limit CHECKPOINT_TENSOR_BYTES).")
