"""`layers`: every layer with its type and output shape."""
from __future__ import annotations

import argparse

from .common import add_model_arguments, model_from_args
from .output import print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("layers", help="list the model's layers and output shapes")
    add_model_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..layers import default_cam_layer, default_feature_layer, list_layers

    lm = model_from_args(args)
    layers = list_layers(lm)
    if args.json:
        print_json([{"name": info.name, "type": info.type, "output_shape": list(info.output_shape)} for info in layers])
        return 0
    width = max((len(info.name) for info in layers), default=4)
    for info in layers:
        mark = "*" if info.spatial else " "
        print(f"{mark} {info.name:<{width}}  {info.type:<24} {tuple(info.output_shape)}")
    print(f"\n* spatial output · default feature layer: {default_feature_layer(lm)} · default CAM layer: {default_cam_layer(lm)}")
    return 0
