"""`report`: one self-contained HTML file (and optionally a zip of PNGs, .npy maps and report.json) with the model,
the photos and their predictions, and every chosen method's map of every photo, drawn as the app draws them (the
same display options and defaults), with the commands that reproduce it and the libraries' versions.

The maps are computed by `explain`'s own code (explain.attributions), with `explain`'s model options.
"""
from __future__ import annotations

import argparse
import math
from typing import Any

from ..signs import MODES
from .common import CliError, add_model_arguments, add_progress_argument, model_from_args, read_image, wants_progress
from .explain import OBJECTIVES, attributions, check_batch_size, parse_params
from .output import output_path, write_bytes, write_text

TOP_K = 5


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("report", help="write a self-contained HTML report of maps of one or more images")
    parser.add_argument("image", nargs="+", help="image files, or sample:NAME")
    parser.add_argument("--methods", default="gradient",
                        help="attribution methods, comma-separated (default gradient; see `interpret methods`)")
    parser.add_argument("--out", required=True, help="the HTML file to write (its name ends in .html)")
    parser.add_argument("--zip", help="also write a zip of PNGs fit for a slide, .npy maps and report.json")
    parser.add_argument("--size", type=int, default=None,
                        help="side in pixels of the zip's map PNGs (default: the model's input size; at most the "
                             "photo's own resolution)")
    parser.add_argument("--layer", help="layer for CAM methods (default: the last spatial layer)")
    parser.add_argument("--target", help="class index or name (default: each photo's predicted class)")
    parser.add_argument("--objective", default="logit", choices=OBJECTIVES, help="what is explained (default logit)")
    parser.add_argument("--param", action="append", default=[], metavar="METHOD.KEY=VALUE",
                        help="a parameter of one method, e.g. integrated_gradients.steps=32 (repeatable)")
    parser.add_argument("--mode", choices=MODES, default="absolute", help="sign shown (default absolute, as the app)")
    parser.add_argument("--cmap", default="inferno", help="colour map (default inferno; a signed map gets a diverging one)")
    parser.add_argument("--alpha", type=float, default=0.5, help="opacity of the map over the photo (default 0.5)")
    parser.add_argument("--clip", type=float, default=99.5, help="clip percentile, 90 to 100 (default 99.5)")
    parser.add_argument("--shared-scale", action="store_true", help="one colour scale for every map")
    parser.add_argument("--batch-size", type=int, default=None, help="images per batched pass (default: chosen)")
    add_progress_argument(parser)
    add_model_arguments(parser)
    parser.set_defaults(run=run)


def method_params(methods: list[str], pairs: list[str]) -> dict[str, dict[str, str]]:
    """--param METHOD.KEY=VALUE pairs, by method (a method that is not chosen is refused by name)."""
    by_method: dict[str, dict[str, str]] = {m: {} for m in methods}
    for key, value in parse_params(pairs).items():
        method, dot, name = key.partition(".")
        if not dot or not name:
            raise CliError(f"--param expects METHOD.KEY=VALUE for a report, got '{key}={value}'.")
        if method not in by_method:
            raise CliError(f"--param names '{method}', which is not one of --methods ({', '.join(methods)}).")
        by_method[method][name] = value
    return by_method


def display(args: argparse.Namespace) -> Any:
    from ..render import check_alpha, check_cmap
    from ..report.scales import DisplaySettings

    check_cmap(args.cmap)
    check_alpha(args.alpha)
    if not (math.isfinite(args.clip) and 90 <= args.clip <= 100):
        raise CliError(f"--clip must be from 90 to 100, got {args.clip}.")
    if args.size is not None and args.size < 16:
        raise CliError(f"--size must be at least 16 pixels, got {args.size}.")
    return DisplaySettings(args.mode, args.cmap, args.alpha, args.clip, args.shared_scale)


def run(args: argparse.Namespace) -> int:
    from ..attribution import get_method

    methods = list(dict.fromkeys(m.strip() for m in args.methods.split(",") if m.strip()))
    if not methods:
        raise CliError("--methods names no method.")
    specs = [get_method(m) for m in methods]  # an unknown method fails before the model loads
    raw = method_params([s.name for s in specs], args.param)
    params = {s.name: s.resolve_params(raw[s.name]) for s in specs}
    settings = display(args)
    check_batch_size(args.batch_size)
    out = output_path(args.out, "--out", suffix=".html")
    archive = output_path(args.zip, "--zip", suffix=".zip") if args.zip else None
    images = [read_image(text) for text in args.image]
    if len({image.sha256 for image in images}) < len(images):
        raise CliError("The same photo is given twice; give each photo once.")
    lm = model_from_args(args)
    maps = {s.name: attributions(lm, images, s.name, params[s.name], args.target, args.objective, args.layer,
                                 args.batch_size, wants_progress(args)) for s in specs}
    report = build_report(args, lm, images, [s.name for s in specs], params, maps, settings)
    from ..report import render_html, render_zip

    write_text(out, render_html(report))
    print(f"wrote {out}")
    if archive is not None:
        write_bytes(archive, render_zip(report, args.size))
        print(f"wrote {archive}")
    return 0


def build_report(args: argparse.Namespace, lm: Any, images: list, methods: list[str], params: dict[str, dict],
                 maps: dict[str, list], settings: Any) -> Any:
    """The report of the computed maps: photo by photo, method by method, drawn as the app draws them."""
    from ..predict import top_k
    from ..report import Report
    from ..report import build as b
    from ..report.content import capped

    everything = [a for m in methods for a in maps[m]]
    photos = [b.photo(lm, image, top_k(lm, lm.preprocessing.to_tensor(image.image), TOP_K)[0], export=args.size)
              for image in images]
    left_out = [f"{a.method} on image {i + 1}: the map is {a.status}, so it is not drawn."
                for m in methods for i, a in enumerate(maps[m]) if a.status != "ok"]
    target = args.target if args.target is not None else "each photo's predicted class"
    layer = next((a.layer for a in everything if a.layer), args.layer)
    return capped(Report("Saliency", b.now(), b.model_facts(lm, args.weights or ""), tuple(photos),
                  b.map_settings(methods, params, str(target), args.objective, layer, settings),
                  panels_of(images, methods, maps, settings), reproduce=reproduce(args, lm, images, methods, params,
                                                                                  layer, settings),
                  notes=tuple(left_out)))


def panels_of(images: list, methods: list[str], maps: dict[str, list], settings: Any) -> tuple:
    """Every drawable map as a panel, photo by photo, on the scale the app would draw it with (one shared top)."""
    from ..report import build as b
    from ..report.scales import drawn_scale, shared_top

    drawn = [a for m in methods for a in maps[m] if a.status == "ok"]
    top = shared_top((a.values for a in drawn), settings)
    return tuple(b.panel(a, image, drawn_scale(a.values, settings, top, len(drawn), a.objective), settings.alpha)
                 for i, image in enumerate(images) for a in (maps[m][i] for m in methods) if a.status == "ok")


def reproduce(args: argparse.Namespace, lm: Any, images: list, methods: list[str], params: dict[str, dict],
              layer: str | None, settings: Any) -> Any:
    """The commands that compute the same maps (with the model's options) and the libraries' versions."""
    from ..report import Reproduce
    from ..report import build as b
    from ..report.versions import library_versions

    model = b.model_args(lm, args.weights, bool(getattr(args, "preprocessing", None)), args.activation,
                         args.model_kwargs or "", args.trust_code, args.ema, args.classes or "")
    index = lm.find_class(args.target) if args.target is not None else None
    return Reproduce(commands=b.commands(images, methods, params, index, args.objective, layer, settings, model),
                     versions=library_versions())
