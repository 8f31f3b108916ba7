"""`features IMAGE --layer NAME`: one layer's channels as a mosaic, raw activations and per-channel stats."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import CliError, add_model_arguments, add_progress_argument, model_from_args, read_image, wants_progress
from .output import OutputPath, output_path, print_json, write_npy, write_png

if TYPE_CHECKING:  # --help and argument errors need no torch
    import numpy as np
    import torch

    from ..models import LoadedModel

# interpret.features.SORTS, spelled out so that --help needs no torch (tests/test_cli_edge.py checks they agree)
SORTS = ("index", "mean", "max", "grad")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("features", help="a layer's feature maps: mosaic PNG, activations .npy, channel stats")
    parser.add_argument("image", metavar="IMAGE", help="an image file, or sample:NAME")
    parser.add_argument("--layer", required=True, help="layer name (see `python -m interpret layers`)")
    add_model_arguments(parser)
    parser.add_argument("--sort", choices=SORTS, default="index",
                        help="channel order, top first: index, mean or max activation, or grad "
                             "(gradient x activation for --target, summed over space)")
    parser.add_argument("--target", help="class index or name for --sort grad (default: the predicted class)")
    parser.add_argument("--top", type=int, default=16, help="how many channels to list (default 16)")
    parser.add_argument("--out", help="write the mosaic of all channels (in the chosen order) to this PNG")
    parser.add_argument("--shared-scale", action="store_true", help="one colour scale for every tile of the mosaic")
    parser.add_argument("--npy", help="write the layer's activations (float32, channels first) to this file, whose "
                                      "name must end in .npy")
    parser.add_argument("--json", action="store_true", help="print per-channel statistics of the top channels as JSON")
    parser.add_argument("--visualize", type=int, metavar="CHANNEL",
                        help="also optimise an image that makes this channel as active as possible (needs --vis-out)")
    parser.add_argument("--vis-out", help="the PNG for --visualize")
    parser.add_argument("--steps", type=int, default=128, help="optimisation steps for --visualize (default 128)")
    add_progress_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    from ..features import channel_order
    from ..layers import layer_info

    out = output_path(args.out, "--out") if args.out else None
    npy = output_path(args.npy, "--npy", suffix=".npy") if args.npy else None
    vis_out = output_path(args.vis_out, "--vis-out") if args.vis_out else None
    image = read_image(args.image)
    lm = model_from_args(args)
    info = layer_info(lm, args.layer)
    acts, target, scores = sorted_activations(lm, lm.preprocessing.to_tensor(image.image), args)
    values = acts.image(0)
    order = channel_order(values, args.sort, scores)
    if out and not acts.spatial:
        raise CliError(f"The layer '{args.layer}' has no spatial output ({info.output_shape}): there is no mosaic to draw.")
    write_outputs(values, order, npy, out, args.shared_scale)
    rows = channel_rows(values, order[:args.top], scores)
    summary = {"image": args.image, "layer": args.layer, "type": info.type, "shape": list(values.shape),
               "sort": args.sort, "target": target, "target_label": lm.label(target) if target is not None else None,
               "channels": rows}
    if args.visualize is not None:
        assert vis_out is not None  # --visualize and --vis-out go together (checked above)
        summary["visualization"] = visualise(lm, args, vis_out)
    if args.json:
        print_json(summary)
        return 0
    print_summary(summary, lm.label(target) if target is not None else None)
    for path, what in ((out, "mosaic"), (npy, "activations"), (vis_out, "visualisation")):
        if path:
            print(f"wrote the {what} to {path}")
    return 0


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse contradictory or out-of-range flags before the model loads."""
    if args.top < 1:
        raise CliError("--top must be at least 1.")
    if args.target is not None and args.sort != "grad":
        raise CliError("--target only applies to --sort grad.")
    for flag, path in (("--out", args.out), ("--vis-out", args.vis_out)):
        if path and not path.lower().endswith(".png"):
            raise CliError(f"{flag} must name a .png file.")
    if (args.visualize is None) != (args.vis_out is None):
        raise CliError("--visualize CHANNEL and --vis-out FILE.png go together.")
    if args.steps < 1:
        raise CliError("--steps must be at least 1.")


def sorted_activations(lm: LoadedModel, x: torch.Tensor, args: argparse.Namespace):
    """(activations, target, per-channel grad x activation scores) for --sort; the target and scores only for
    --sort grad, where the target defaults to the class the same forward pass predicts."""
    from ..features import grad_x_activation, layer_activations

    if args.sort != "grad":
        return layer_activations(lm, x, args.layer), None, None
    target = None if args.target is None else lm.find_class(args.target)
    acts, all_scores = grad_x_activation(lm, x, args.layer, target)
    if target is None:
        assert acts.logits is not None  # grad_x_activation always returns them
        target = int(acts.logits[0].argmax())
    return acts, target, all_scores[0]


def write_outputs(values: np.ndarray, order: np.ndarray, npy: OutputPath | None, out: OutputPath | None,
                  shared_scale: bool) -> None:
    """The raw activations (--npy) and the mosaic of every channel in order (--out), where asked."""
    from ..features import channel_mosaic

    if npy:
        write_npy(npy, values)
    if out:
        write_png(out, channel_mosaic(values, order, per_page=len(order), shared_scale=shared_scale))


def channel_rows(values: np.ndarray, channels: np.ndarray, scores: np.ndarray | None) -> list[dict]:
    """Each listed channel's statistics (and grad x activation score), rounded for printing."""
    from ..features import all_channel_stats

    stats = all_channel_stats(values)
    rows = []
    for c in channels:
        row = stats[int(c)].as_dict()
        if scores is not None:
            row["grad_x_activation"] = float(scores[int(c)])
        rows.append({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()})
    return rows


def visualise(lm: LoadedModel, args: argparse.Namespace, vis_out: OutputPath) -> dict:
    """Optimise an image for --visualize's channel, write it to --vis-out, and say how the activation grew."""
    from ..features import visualize_channel
    from ..progress import tqdm_progress

    with tqdm_progress(f"Visualising channel {args.visualize}", enabled=wants_progress(args)) as progress:
        vis = visualize_channel(lm, args.layer, args.visualize, steps=args.steps, progress=progress)
    write_png(vis_out, vis.image)
    return {"channel": vis.channel, "steps": len(vis.objective), "out": str(vis_out),
            "first_activation": round(vis.objective[0], 6), "last_activation": round(vis.objective[-1], 6),
            "seconds": round(vis.seconds, 3)}


def print_summary(summary: dict, target_label: str | None) -> None:
    shape = " x ".join(map(str, summary["shape"]))
    print(f"{summary['image']} · {summary['layer']} ({summary['type']}) · activations {shape} · sorted by "
          f"{summary['sort']}" + (f" for '{target_label}' ({summary['target']})" if target_label is not None else ""))
    for row in summary["channels"]:
        extra = f"  grad x act {row['grad_x_activation']:+.4g}" if "grad_x_activation" in row else ""
        print(f"  channel {row['channel']:>4}  mean {row['mean']:+.4g}  max {row['max']:+.4g}  zeros {row['zeros']:.1%}{extra}")
    vis = summary.get("visualization")
    if vis is not None:
        print(f"channel {vis['channel']}: mean activation {vis['first_activation']:+.4g} -> "
              f"{vis['last_activation']:+.4g} after {vis['steps']} steps")
