"""Command-line flags that change a model's preprocessing (resize, crop, filter, mean/std, channel order).

The flags are changes to the model's own preprocessing (its zoo's, its image processor's, or ImageNet's for
a file), given as `Preprocessing` field names: `--interpolation bicubic` on a torchvision model keeps the
rest of torchvision's pipeline. Each value is checked here, so a bad one is a one-line usage error.
"""
from __future__ import annotations

import argparse
import math
from typing import Any

from ..limits import PREPROCESS_SIDE_MAX, PREPROCESS_SIDE_MIN

# The choices of interpret/preprocess.py (written out: --help must not import torch; a test keeps them equal).
RESIZE_MODES = ("shorter", "longer", "squash")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")
ROUNDINGS = ("round", "floor")
BACKENDS = ("pil", "tensor")


def _side(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of pixels") from None
    if not PREPROCESS_SIDE_MIN <= value <= PREPROCESS_SIDE_MAX:
        raise argparse.ArgumentTypeError(f"{value} is outside {PREPROCESS_SIDE_MIN}-{PREPROCESS_SIDE_MAX} pixels "
                                         "(limits PREPROCESS_SIDE_MIN and PREPROCESS_SIDE_MAX)")
    return value


def _numbers(text: str) -> tuple[float, ...]:
    """'0.5' or '0.485,0.456,0.406': one value for every channel, or one per channel."""
    try:
        values = tuple(float(part) for part in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not one number or three comma-separated numbers") from None
    if len(values) == 1:
        values = values * 3
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"'{text}' is not one number or three comma-separated finite numbers")
    return values


def _positive(text: str) -> tuple[float, ...]:
    values = _numbers(text)
    if min(values) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive: the input is divided by it")
    return values


def _colour(text: str) -> tuple[int, ...]:
    values = _numbers(text)
    if not all(v.is_integer() and 0 <= v <= 255 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}' is not an RGB colour (three whole numbers from 0 to 255)")
    return tuple(int(v) for v in values)


def add_preprocessing_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "preprocessing", "change the model's own preprocessing (its zoo's or image processor's; ImageNet's for a "
                         "model file); unset flags keep it")
    resize = group.add_mutually_exclusive_group()
    resize.add_argument("--resize", type=_side, metavar="N", help="resize the photo's side to N pixels before the crop")
    resize.add_argument("--no-crop", action="store_true",
                        help="no crop: squash the whole photo to the input size (--crop, else the model's)")
    group.add_argument("--crop", type=_side, metavar="N", help="the model's input: a centre crop of N x N pixels")
    group.add_argument("--resize-mode", choices=RESIZE_MODES,
                       help="shorter: the short side to --resize, keeping the ratio (torchvision, timm 'center'); "
                            "longer: the long side, then a border (timm 'border'); squash: both sides (ratio lost)")
    group.add_argument("--interpolation", choices=INTERPOLATIONS, help="the resize filter")
    group.add_argument("--mean", type=_numbers, metavar="M[,M,M]", help="per-channel mean subtracted from pixels in [0, 1]")
    group.add_argument("--std", type=_positive, metavar="S[,S,S]", help="per-channel standard deviation divided by")
    order = group.add_mutually_exclusive_group()
    order.add_argument("--bgr", action="store_const", const="BGR", dest="channel_order",
                       help="the model takes blue, green, red (mean and std in that order)")
    order.add_argument("--rgb", action="store_const", const="RGB", dest="channel_order", help="red, green, blue")
    group.add_argument("--size-rounding", choices=ROUNDINGS,
                       help="how the side the ratio gives is rounded (torchvision: floor; timm's border: round)")
    group.add_argument("--crop-rounding", choices=ROUNDINGS,
                       help="how the crop offset is rounded (torchvision, timm: round; transformers: floor)")
    group.add_argument("--pad-fill", type=_colour, metavar="R,G,B",
                       help="colour of the border where the crop is larger than the resized photo (default black)")
    group.add_argument("--resize-backend", choices=BACKENDS, dest="backend",
                       help="pil: Pillow resizes (torchvision, timm); tensor: torchvision on the uint8 tensor "
                            "(transformers' image processors)")


FIELDS = {"resize": "resize_size", "crop": "crop_size", "resize_mode": "resize_mode", "interpolation": "interpolation",
          "mean": "mean", "std": "std", "channel_order": "channel_order", "size_rounding": "size_rounding",
          "crop_rounding": "crop_rounding", "pad_fill": "pad_fill", "backend": "backend"}


def preprocessing_from_args(args: argparse.Namespace) -> dict[str, Any] | None:
    """The changes the flags ask for, as Preprocessing fields (for `model.preprocessing.replace(**changes)`), or None."""
    changes = {field: getattr(args, flag) for flag, field in FIELDS.items() if getattr(args, flag, None) is not None}
    if getattr(args, "no_crop", False):  # argparse refuses it with --resize
        changes["resize_mode"] = "squash"
        changes["resize_size"] = None  # the crop size, once the model's own is known: see apply_changes
    return changes or None


def apply_changes(base: Any, changes: dict[str, Any]) -> Any:
    """`base` (a Preprocessing) with the flags' changes; --no-crop resizes straight to the input size."""
    changes = dict(changes)
    if "resize_size" in changes and changes["resize_size"] is None:
        changes["resize_size"] = changes.get("crop_size", base.crop_size)
    return base.replace(**changes)
