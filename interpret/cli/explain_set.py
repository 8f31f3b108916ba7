"""`explain-set SOURCE --out STORE`: explain every image of a dataset into a resumable store of Parquet shards.

On this machine by default (`--engine local`) or on a Ray cluster (`--engine ray`, with the `scale` extra).
Ctrl-C keeps every finished shard; the same command again resumes where it stopped.
"""
from __future__ import annotations

import argparse
import sys

from .common import CliError, add_model_arguments, add_progress_argument, model_from_args, wants_progress
from .explain import OBJECTIVES, parse_params

TARGETS_HELP = ("what each map explains: predicted (default), label, both, contrast (why the label rather than the "
                "prediction; for a correct image, rather than the runner-up), or a class index")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("explain-set", help="explain a whole dataset into a resumable store (local or Ray)")
    parser.add_argument("source", metavar="SOURCE",
                        help="a folder (class-named subfolders give labels), a .zip, a path,label CSV, or a CSV / "
                             "Parquet listing with a 'path' column (relative to it) and an optional 'label' column")
    parser.add_argument("--out", required=True, metavar="STORE", help="the store folder (new, empty, or this run's)")
    parser.add_argument("--methods", default="gradient", help="comma-separated methods (default gradient)")
    parser.add_argument("--targets", default="predicted", help=TARGETS_HELP)
    parser.add_argument("--objective", default="logit", choices=OBJECTIVES, help="what is explained (default logit)")
    parser.add_argument("--layer", help="layer for CAM methods (default: the last spatial layer)")
    parser.add_argument("--param", action="append", default=[], metavar="[METHOD:]KEY=VALUE",
                        help="a method parameter (repeatable); without METHOD: for every method that takes KEY")
    parser.add_argument("--scores", action="store_true", help="add deletion / insertion AUC and ROAD per map (slower)")
    parser.add_argument("--full-maps", action="store_true", help="also keep full-resolution maps (float16 .npy per shard)")
    parser.add_argument("--channels", metavar="LAYER",
                        help="also keep every image's per-channel maxima of LAYER (a map; `interpret layers` lists "
                             "them): the Dataset page's channel examples")
    parser.add_argument("--top", type=int, default=5, help="predictions kept per image (default 5)")
    parser.add_argument("--shard-images", type=int, default=None,
                        help="images per shard, the unit written and resumed (default limits.DATASET_SHARD_IMAGES)")
    parser.add_argument("--engine", default="local", choices=("local", "ray"), help="local (default) or ray")
    parser.add_argument("--ray-address", help="a Ray cluster to join (default: RAY_ADDRESS, else a local cluster)")
    parser.add_argument("--actors", type=int, default=None, help="model actors on Ray (default 2)")
    parser.add_argument("--overwrite", action="store_true", help="replace a store made with other settings")
    parser.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    add_progress_argument(parser)
    add_model_arguments(parser)
    parser.set_defaults(run=run)


def method_params(pairs: list[str], methods: list[str]) -> dict[str, dict[str, str]]:
    """`--param` values by method: METHOD:KEY=VALUE for one, KEY=VALUE for every method that takes KEY."""
    from ..attribution import REGISTRY

    params: dict[str, dict[str, str]] = {m: {} for m in methods}
    for text in pairs:
        head, _, _ = text.partition("=")
        method, colon, _ = head.partition(":")
        if colon:
            if method not in params:
                raise CliError(f"--param '{text}' names the method '{method}', which is not in --methods.")
            params[method].update(parse_params([text.split(":", 1)[1]]))
            continue
        ((key, value),) = parse_params([text]).items()
        takers = [m for m in methods if m in REGISTRY and any(p.name == key for p in REGISTRY[m].params)]
        if not takers:
            raise CliError(f"--param '{key}': none of the methods {', '.join(methods)} takes it.")
        for m in takers:
            params[m][key] = value
    return params


def _bar(enabled: bool, images: int):
    """A tqdm bar counting images (rate and time left) fed by the progress protocol's fraction, or None."""
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=images, desc="explain-set", unit="img", leave=False)

    def update(fraction: float) -> None:
        bar.update(round(fraction * images) - bar.n)

    return bar, update


def run(args: argparse.Namespace) -> int:
    if args.top < 1 or any(n is not None and n < 1 for n in (args.actors, args.shard_images)):
        raise CliError("--top, --actors and --shard-images must be at least 1.")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    params = method_params(args.param, methods)

    from ..dataset import ModelArgs, explain_dataset, open_listing
    from ..dataset.engine import check_engine
    from ..models import DEFAULT_SPEC, parse_kwargs
    from ..models.classes import read_class_names_file

    check_engine(args.engine)
    listing = open_listing(args.source)
    lm = model_from_args(args)
    model = lm if args.engine == "local" else ModelArgs(
        spec=args.model or DEFAULT_SPEC, device=args.device, weights=args.weights, trust_code=bool(args.trust_code),
        class_names=read_class_names_file(args.classes) if args.classes else None, preprocessing=lm.preprocessing,
        activation=args.activation, model_kwargs=parse_kwargs(args.model_kwargs), prefer="ema" if args.ema else None)
    bar, progress = _bar(wants_progress(args), len(listing.items))
    try:
        summary = explain_dataset(listing, args.out, model, methods, engine=args.engine, overwrite=args.overwrite,
                                  progress=progress, ray_address=args.ray_address, actors=args.actors,
                                  targets=args.targets, objective=args.objective, layer=args.layer, params=params,
                                  scores=args.scores, full_maps=args.full_maps, top_k=args.top, channels=args.channels,
                                  **({"shard_images": args.shard_images} if args.shard_images else {}))
    finally:
        if bar is not None:
            bar.close()
    report = {"store": str(summary.store), "images": summary.images, "shards": summary.shards,
              "computed_shards": summary.computed, "skipped_shards": summary.skipped,
              "images_per_second": round(summary.images_per_second, 3), "seconds": round(summary.seconds, 3)}
    if args.json:
        from .output import print_json

        print_json(report)
    else:
        sys.stdout.write(f"{summary.store}: {summary.images} images in {summary.shards} shards; {summary.computed} "
                         f"computed now ({summary.images_per_second:.2f} images/s), {summary.skipped} already done.\n")
    return 0
