"""`features IMAGE --layer NAME`: one layer's channels as a mosaic, raw activations and per-channel stats."""
from __future__ import annotations

import argparse

from .common import CliError, add_model_arguments, add_progress_argument, model_from_args, read_image, wants_progress
from .output import output_path, print_json, write_npy, write_png

# interpret.features.SORTS, spelled out so that --help needs no torch (tests/test_cli_fast.py checks they agree)
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

    from ..features import (
        all_channel_stats,
        channel_mosaic,
        channel_order,
        grad_x_activation,
        layer_activations,
        visualize_channel,
    )
    from ..layers import layer_info
    from ..progress import tqdm_progress

    out = output_path(args.out, "--out") if args.out else None
    npy = output_path(args.npy, "--npy", suffix=".npy") if args.npy else None
    vis_out = output_path(args.vis_out, "--vis-out") if args.vis_out else None
    image = read_image(args.image)
    lm = model_from_args(args)
    info = layer_info(lm, args.layer)
    x = lm.preprocessing.to_tensor(image.image)
    scores = None
    if args.sort == "grad":
        target = None if args.target is None else lm.find_class(args.target)
        acts, all_scores = grad_x_activation(lm, x, args.layer, target)
        if target is None:  # the predicted class, from the same forward pass
            assert acts.logits is not None  # grad_x_activation always returns them
            target = int(acts.logits[0].argmax())
        scores = all_scores[0]
    else:
        acts, target = layer_activations(lm, x, args.layer), None
    values = acts.image(0)
    order = channel_order(values, args.sort, scores)
    if out and not acts.spatial:
        raise CliError(f"The layer '{args.layer}' has no spatial output ({info.output_shape}): there is no mosaic to draw.")
    if npy:
        write_npy(npy, values)
    if out:
        write_png(out, channel_mosaic(values, order, per_page=len(order), shared_scale=args.shared_scale))
    stats = all_channel_stats(values)
    rows = []
    for c in order[:args.top]:
        row = stats[int(c)].as_dict()
        if scores is not None:
            row["grad_x_activation"] = float(scores[int(c)])
        rows.append({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()})
    summary = {"image": args.image, "layer": args.layer, "type": info.type, "shape": list(values.shape),
               "sort": args.sort, "target": target, "target_label": lm.label(target) if target is not None else None,
               "channels": rows}
    if args.visualize is not None:
        with tqdm_progress(f"Visualising channel {args.visualize}", enabled=wants_progress(args)) as progress:
            vis = visualize_channel(lm, args.layer, args.visualize, steps=args.steps, progress=progress)
        assert vis_out is not None  # --visualize and --vis-out go together (checked above)
        write_png(vis_out, vis.image)
        summary["visualization"] = {"channel": vis.channel, "steps": len(vis.objective), "out": str(vis_out),
                                    "first_activation": round(vis.objective[0], 6),
                                    "last_activation": round(vis.objective[-1], 6), "seconds": round(vis.seconds, 3)}
    if args.json:
        print_json(summary)
        return 0
    print(f"{args.image} · {args.layer} ({info.type}) · activations {' x '.join(map(str, values.shape))} · sorted by {args.sort}"
          + (f" for '{lm.label(target)}' ({target})" if target is not None else ""))
    for row in rows:
        extra = f"  grad x act {row['grad_x_activation']:+.4g}" if "grad_x_activation" in row else ""
        print(f"  channel {row['channel']:>4}  mean {row['mean']:+.4g}  max {row['max']:+.4g}  zeros {row['zeros']:.1%}{extra}")
    if args.visualize is not None:
        vis_info = summary["visualization"]
        print(f"channel {args.visualize}: mean activation {vis_info['first_activation']:+.4g} -> "
              f"{vis_info['last_activation']:+.4g} after {vis_info['steps']} steps")
    for path, what in ((out, "mosaic"), (npy, "activations"), (vis_out, "visualisation")):
        if path:
            print(f"wrote the {what} to {path}")
    return 0
