"""`explain`: attribution maps for one image or several, as overlay PNGs, raw .npy arrays and/or JSON.

Several images are computed together in batched passes (interpret.attribution.batch), one target each (the
predicted class unless --target); --out / --npy then need a `{name}` in the file name (the image's name).
"""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..report.names import file_part
from ..signs import MODES
from .common import CliError, add_model_arguments, add_progress_argument, model_from_args, read_image, wants_progress
from .output import output_path, print_json, write_npy, write_png

if TYPE_CHECKING:
    from ..attribution import Attribution
    from ..images import InputImage
    from ..models import LoadedModel

# interpret.attribution.OBJECTIVES, spelled out so that --help needs no torch (tests/test_cli_fast.py checks they agree)
OBJECTIVES = ("logit", "probability", "loss")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("explain", help="compute attribution maps (saliency, CAM, ...) for one or more images")
    parser.add_argument("image", nargs="+", help="image files, or sample:NAME (several: computed in batched passes)")
    parser.add_argument("--method", default="gradient", help="attribution method (default gradient; see `interpret methods`)")
    parser.add_argument("--layer", help="layer for CAM methods (default: the last spatial layer)")
    parser.add_argument("--target", help="class index or name (default: the predicted class)")
    parser.add_argument("--objective", default="logit", choices=OBJECTIVES, help="what is explained (default logit)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="a method parameter (repeatable)")
    parser.add_argument("--out", help="write the map over the photo as a PNG (several images: a name with {name})")
    parser.add_argument("--npy", help="write the raw map (float32, the model's input resolution) to this file, "
                                      "whose name must end in .npy (several images: a name with {name})")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images (or samples, path points) per batched pass (default: chosen from free memory)")
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


def _paths(template: str | None, flag: str, names: list[str], suffix: str | None = None) -> list:
    """One checked output path per image: the name itself for one image, `{name}` filled in for several."""
    if not template:
        return [None] * len(names)
    if len(names) == 1:
        return [output_path(template.replace("{name}", _safe(names[0])), flag, suffix=suffix)]
    if "{name}" not in template:
        raise CliError(f"{flag} with several images needs '{{name}}' in the file name (e.g. maps/{{name}}.png).")
    filled = [template.replace("{name}", _safe(name)) for name in names]
    if len(set(filled)) < len(filled):
        raise CliError(f"{flag}: two images have the same name; give them different names.")
    return [output_path(text, flag, suffix=suffix) for text in filled]


def _safe(name: str) -> str:
    """An image's name as a file name part: its stem, with separators replaced."""
    from pathlib import Path

    return file_part(Path(name).stem or name, 255)


def check_batch_size(batch_size: int | None) -> None:
    if batch_size is not None and batch_size < 1:
        raise CliError(f"--batch-size must be at least 1, got {batch_size}.")


def attributions(lm: LoadedModel, images: list[InputImage], method_name: str, params: dict[str, Any],
                 target: str | None, objective: str, layer: str | None, batch_size: int | None,
                 progress: bool) -> list[Attribution]:
    """`method`'s map of every image, in batched passes, each for `target` (a class index or name) or its own
    predicted class; refused with the reason first where the method cannot run on this model or costs too much."""
    import torch

    from ..attribution import Target, get_method
    from ..attribution.base import check_cost
    from ..attribution.batch import attribute_batch
    from ..attribution.requirements import require
    from ..layers import layer_info
    from ..predict import top_k
    from ..progress import tqdm_progress

    method = get_method(method_name)
    xs = [lm.preprocessing.to_tensor(image.image) for image in images]
    require(lm, method.name)  # a method that cannot run on this model says why, before any layer lookup or work
    if len({tuple(x.shape) for x in xs}) > 1:
        raise CliError("The images have different sizes after preprocessing; explain them one at a time.")
    check_cost(method, params, (int(xs[0].shape[-2]), int(xs[0].shape[-1])))  # before the target's prediction
    indices = [lm.find_class(target) if target is not None else top_k(lm, x, 1)[0][0].index for x in xs]
    use_layer = layer_info(lm, layer).name if layer and method.uses_layer else None
    with tqdm_progress(method.label, enabled=progress) as bar:
        return attribute_batch(lm, torch.cat(xs), method.name, [Target(i, objective) for i in indices],
                               layer=use_layer, params=params, progress=bar, batch_size=batch_size)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..attribution import get_method
    from ..render import check_alpha, check_cmap, colorize, overlay

    method = get_method(args.method)
    params = method.resolve_params(parse_params(args.param))  # bad parameters fail before the model loads
    check_cmap(args.cmap)
    check_alpha(args.alpha)
    check_batch_size(args.batch_size)
    images = [read_image(text) for text in args.image]
    names = [image.name for image in images]
    npys = _paths(args.npy, "--npy", names, suffix=".npy")
    outs = _paths(args.out, "--out", names)
    lm = model_from_args(args)
    results = attributions(lm, images, method.name, params, args.target, args.objective, args.layer,
                           args.batch_size, wants_progress(args))
    rows = []
    for image, result, npy, out in zip(images, results, npys, outs, strict=True):
        if npy:
            write_npy(npy, result.values)
        if out:
            mode = args.mode or ("absolute" if result.signed else "positive")
            photo = lm.preprocessing.model_view(image.image)
            write_png(out, overlay(photo, colorize(result.values, mode, args.cmap), args.alpha))
        if result.status != "ok":
            sys.stderr.write(f"warning: the map of {image.name} is {result.status} "
                             f"({'not finite' if result.status == 'nan' else 'no signal'}).\n")
        finite = result.values[np.isfinite(result.values)]
        rows.append({
            "image": image.name, "model": lm.spec, "method": result.method, "target": result.target,
            "target_label": result.target_label, "objective": result.objective, "layer": result.layer,
            "params": dict(result.params), "signed": result.signed, "seconds": round(result.seconds, 4),
            "status": result.status, "shape": list(result.values.shape), "note": result.note or None,
            "summation_gap": result.summation_gap,
            "min": float(finite.min()) if finite.size else None, "max": float(finite.max()) if finite.size else None,
            "out": str(out) if out else None, "npy": str(npy) if npy else None,
        })
        if not args.json:
            prefix = f"{image.name}: " if len(images) > 1 else ""
            print(prefix + result.caption() + ("" if result.status == "ok" else f" · {result.status}"))
    if args.json:
        print_json(rows[0] if len(rows) == 1 else rows)
    return 0
