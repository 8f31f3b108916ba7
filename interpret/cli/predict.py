"""`predict IMAGE...`: top-k classes per image."""
from __future__ import annotations

import argparse

from .common import CliError, add_model_arguments, model_from_args, read_image
from .output import print_json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("predict", help="top-k predictions for images")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files, or sample:NAME")
    add_model_arguments(parser)
    parser.add_argument("--top", type=int, default=5, help="how many classes (default 5)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise CliError("--top must be at least 1.")
    from ..predict import top_k

    images = [read_image(text) for text in args.images]
    lm = model_from_args(args)
    results = []
    for text, image in zip(args.images, images, strict=True):
        top = top_k(lm, lm.preprocessing.to_tensor(image.image), args.top)[0]
        results.append({"image": text, "top": [{"index": p.index, "label": p.label, "prob": round(p.prob, 6)} for p in top]})
    if args.json:
        print_json(results)
    else:
        for result in results:
            print(result["image"])
            for p in result["top"]:
                print(f"  {p['prob']:7.2%}  {p['label']} ({p['index']})")
    return 0
