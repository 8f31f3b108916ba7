"""`features IMAGE --layer NAME`: one layer's channels as a mosaic, raw activations and per-channel stats."""
from __future__ import annotations

import argparse

import numpy as np

from ..features import SORTS, all_channel_stats, channel_mosaic, channel_order, grad_x_activation, layer_activations
from ..layers import layer_info
from .common import CliError, add_model_arguments, model_from_args, print_json, read_image


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
    parser.add_argument("--npy", help="write the layer's activations (float32, channels first) to this .npy file")
    parser.add_argument("--json", action="store_true", help="print per-channel statistics of the top channels as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise CliError("--top must be at least 1.")
    if args.target is not None and args.sort != "grad":
        raise CliError("--target only applies to --sort grad.")
    if args.out and not args.out.lower().endswith(".png"):
        raise CliError("--out must name a .png file.")
    image = read_image(args.image)
    lm = model_from_args(args)
    info = layer_info(lm, args.layer)
    x = lm.preprocessing.to_tensor(image.image)
    scores = None
    if args.sort == "grad":
        target = None if args.target is None else lm.find_class(args.target)
        acts, all_scores = grad_x_activation(lm, x, args.layer, target)
        target = int(acts.logits[0].argmax()) if target is None else target
        scores = all_scores[0]
    else:
        acts, target = layer_activations(lm, x, args.layer), None
    values = acts.image(0)
    order = channel_order(values, args.sort, scores)
    if args.npy:
        np.save(args.npy, values)
    if args.out:
        if not acts.spatial:
            raise CliError(f"The layer '{args.layer}' has no spatial output ({info.output_shape}): there is no mosaic to draw.")
        from PIL import Image

        Image.fromarray(channel_mosaic(values, order, per_page=len(order), shared_scale=args.shared_scale)).save(args.out)
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
    if args.json:
        print_json(summary)
        return 0
    print(f"{args.image} · {args.layer} ({info.type}) · activations {' x '.join(map(str, values.shape))} · sorted by {args.sort}"
          + (f" for '{lm.label(target)}' ({target})" if target is not None else ""))
    for row in rows:
        extra = f"  grad x act {row['grad_x_activation']:+.4g}" if "grad_x_activation" in row else ""
        print(f"  channel {row['channel']:>4}  mean {row['mean']:+.4g}  max {row['max']:+.4g}  zeros {row['zeros']:.1%}{extra}")
    for path, what in ((args.out, "mosaic"), (args.npy, "activations")):
        if path:
            print(f"wrote the {what} to {path}")
    return 0
