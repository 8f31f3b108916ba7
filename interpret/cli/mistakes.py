"""`mistakes PATH`: accuracy on a labelled set, the confusion pairs, and the most confident mistakes."""
from __future__ import annotations

import argparse

from .common import CliError, add_model_arguments, add_progress_argument, model_from_args, wants_progress
from .output import output_path, print_json, write_text


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("mistakes", help="accuracy, confusions and confident mistakes on a labelled image set")
    parser.add_argument("path", metavar="PATH",
                        help="a folder of class-named subfolders, a .zip of them, a path,label CSV file, or 'demo'")
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=32, help="images per forward pass (default 32)")
    parser.add_argument("--top", type=int, default=10, help="how many confident mistakes to list (default 10)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--csv", metavar="FILE", help="write every image's label, prediction, probability and correctness")
    add_progress_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1 or args.top < 0:
        raise CliError("--batch-size must be at least 1 and --top at least 0.")
    csv_out = output_path(args.csv, "--csv") if args.csv else None

    from ..mistakes import accuracy, demo_set, evaluate, open_path, summary, to_csv
    from ..progress import tqdm_progress

    image_set = demo_set() if args.path == "demo" else open_path(args.path)
    lm = model_from_args(args)
    with tqdm_progress(f"Evaluating {image_set.name}", enabled=wants_progress(args)) as progress:
        ev = evaluate(lm, image_set, batch_size=args.batch_size, progress=progress)
    if csv_out:
        write_text(csv_out, to_csv(ev))
    report = summary(ev, top_mistakes=args.top)
    if args.json:
        print_json(report)
        return 0
    acc = accuracy(ev)
    print(f"{report['set']}: {acc.count} images · top-1 {acc.top1:.1%} · top-{acc.k} {acc.top_k:.1%} · ECE {report['ece']:.3f}")
    for line in report["unmatched_labels"]:
        print(f"left out: {line}")
    for why in report["unreadable"].values():
        print(f"unreadable: {why}")
    if report["skipped"]:
        print("skipped: " + ", ".join(f"{n} {reason}" for reason, n in report["skipped"].items()))
    print("\nconfusion pairs (true -> predicted: count)")
    for pair in report["confusion_pairs"] or [{"true": "none", "predicted": "none", "count": 0}]:
        print(f"  {pair['true']} -> {pair['predicted']}: {pair['count']}")
    print("\nmost confident mistakes")
    for m in report["mistakes"]:
        print(f"  {m['probability']:6.1%}  {m['path']}: {m['true']} taken for {m['predicted']} "
              f"(true class {m['true_class_probability']:.1%})")
    if not report["mistakes"]:
        print("  none")
    return 0
