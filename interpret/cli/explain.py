"""`explain`: one attribution map for one image, as an overlay PNG, a raw .npy array and/or JSON."""
from __future__ import annotations

import argparse
import sys

from ..signs import MODES
from .common import CliError, add_model_arguments, add_progress_argument, model_from_args, read_image, wants_progress
from .output import output_path, print_json, write_npy, write_png

# interpret.attribution.OBJECTIVES, spelled out so that --help needs no torch (tests/test_cli_fast.py checks they agree)
OBJECTIVES = ("logit", "probability", "loss")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("explain", help="compute an attribution map (saliency, CAM, ...) for one image")
    parser.add_argument("image", help="an image file, or sample:NAME")
    parser.add_argument("--method", default="gradient", help="attribution method (default gradient; see `interpret methods`)")
    parser.add_argument("--layer", help="layer for CAM methods (default: the last spatial layer)")
    parser.add_argument("--target", help="class index or name (default: the predicted class)")
    parser.add_argument("--objective", default="logit", choices=OBJECTIVES, help="what is explained (default logit)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a method parameter (repeatable)")
    parser.add_argument("--out", help="write the map over the photo as a PNG")
    parser.add_argument("--npy", help="write the raw map (float32, the model's input resolution) as .npy")
    parser.add_argument("--mode", choices=MODES,
                        help="sign shown in the PNG (default absolute for signed maps, positive otherwise)")
    parser.add_argument("--cmap", default="inferno", help="colour map of the PNG (default inferno)")
    parser.add_argument("--alpha", type=float, default=0.5, help="opacity of the map over the photo, 0 to 1 (default 0.5)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_progress_argument(parser)
    add_model_arguments(parser)
    parser.set_defaults(run=run)


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--param expects KEY=VALUE, got '{pair}'.")
        params[key.strip()] = value.strip()
    return params


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..attribution import Target, attribute, get_method
    from ..attribution.requirements import require
    from ..layers import layer_info
    from ..predict import top_k
    from ..progress import tqdm_progress
    from ..render import check_alpha, check_cmap, colorize, overlay

    method = get_method(args.method)
    params = method.resolve_params(parse_params(args.param))  # bad parameters fail before the model loads
    check_cmap(args.cmap)
    check_alpha(args.alpha)
    npy = output_path(args.npy, "--npy", suffix=".npy") if args.npy else None
    out = output_path(args.out, "--out") if args.out else None
    image = read_image(args.image)
    lm = model_from_args(args)
    x = lm.preprocessing.to_tensor(image.image)
    require(lm, method.name)  # a method that cannot run on this model says why, before any layer lookup or work
    index = lm.find_class(args.target) if args.target is not None else top_k(lm, x, 1)[0][0].index
    layer = layer_info(lm, args.layer).name if args.layer and method.uses_layer else None
    with tqdm_progress(method.label, enabled=wants_progress(args)) as progress:
        result = attribute(lm, x, method.name, Target(index, args.objective), layer=layer, params=params, progress=progress)
    if npy:
        write_npy(npy, result.values)
    if out:
        mode = args.mode or ("absolute" if result.signed else "positive")
        photo = lm.preprocessing.model_view(image.image)
        write_png(out, overlay(photo, colorize(result.values, mode, args.cmap), args.alpha))
    if result.status != "ok":
        sys.stderr.write(f"warning: the map is {result.status} ({'not finite' if result.status == 'nan' else 'no signal'}).\n")
    if args.json:
        finite = result.values[np.isfinite(result.values)]
        print_json({
            "image": image.name, "model": lm.spec, "method": result.method, "target": result.target,
            "target_label": result.target_label, "objective": result.objective, "layer": result.layer,
            "params": dict(result.params), "signed": result.signed, "seconds": round(result.seconds, 4),
            "status": result.status, "shape": list(result.values.shape), "note": result.note or None,
            "summation_gap": result.summation_gap,
            "min": float(finite.min()) if finite.size else None, "max": float(finite.max()) if finite.size else None,
            "out": str(out) if out else None, "npy": str(npy) if npy else None,
        })
    else:
        print(result.caption() + ("" if result.status == "ok" else f" · {result.status}"))
    return 0
