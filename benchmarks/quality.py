"""Ground-truth quality benchmark: every registered method on synthetic shapes with known masks.

For each seed: generate the shapes data (train / test), train the small CNN on the CPU, refuse to
report if its test accuracy is below 0.95, then score every method and the reference maps (random,
centre, Sobel, true mask) on the first 150 correctly classified test images (randomisation Spearman
on the first 40). Prints one Markdown table per seed.

    python benchmarks/quality.py                # two seeds in parallel processes, full size
    python -m benchmarks.quality --help         # the same, as a module
    python benchmarks/quality.py --seeds 0 --images 30 --sanity-images 10
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks.shapes import evaluate, format_table, make_dataset, train_shapes  # noqa: E402
from interpret.attribution import REGISTRY  # noqa: E402

MIN_ACCURACY = 0.95


def load() -> str:
    """The machine's load averages (1, 5, 15 min) and core count: a run's times mean little without them."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def parts(timings: dict[str, float]) -> str:
    """Where one seed's time went: the maps, the metrics and the sanity checks, RISE and DeepLIFT apart."""
    def total(prefix: str) -> float:
        return sum(v for k, v in timings.items() if k.startswith(prefix))

    def method(name: str) -> str:
        return f"{name} {timings.get('map:' + name, 0.0):.0f} + {timings.get('sanity:' + name, 0.0):.0f} s"

    return (f"Time by part: maps {total('map:'):.0f} s, localisation {timings.get('localisation', 0.0):.0f} s, "
            f"deletion/insertion {timings.get('curves', 0.0):.0f} s, ROAD {timings.get('road', 0.0):.0f} s, "
            f"randomisation {timings.get('sanity', 0.0):.0f} s; of these (maps + randomisation) "
            f"{method('rise')}, {method('deeplift')}.")


def run_seed(seed: int, args: argparse.Namespace) -> tuple[str, int]:
    """Data, training and scores for one seed: the report's text and an exit status."""
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):  # ROAD's banded solves: a BLAS thread per core, not per process
        return scored_seed(seed, args)


def scored_seed(seed: int, args: argparse.Namespace) -> tuple[str, int]:
    start = time.perf_counter()
    train = make_dataset(args.train, seed=1000 + seed)
    test = make_dataset(args.test, seed=2000 + seed)
    trained = train_shapes(train, test, seed=seed, epochs=args.epochs)
    head = (f"## seed {seed}: {len(train)} training images, test accuracy {trained.test_accuracy:.3f} "
            f"after {trained.seconds:.0f} s of training")
    if trained.test_accuracy < args.min_accuracy:
        return f"{head}\n\nRefusing to report: test accuracy {trained.test_accuracy:.3f} < {args.min_accuracy}.", 1
    timings: dict[str, float] = {}
    results = evaluate(trained.lm, test, args.methods or list(REGISTRY), images=args.images,
                       sanity_images=args.sanity_images, timings=timings)
    title = (f"seed {seed}: {args.images} images, randomisation on {args.sanity_images} "
             f"({time.perf_counter() - start:.0f} s in all)")
    return f"{head}\n\n{format_table(results, title)}\n\n{parts(timings)} ({load()} at the end)", 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--train", type=int, default=2500, help="training images")
    parser.add_argument("--test", type=int, default=600, help="test images")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--images", type=int, default=150, help="correctly classified test images scored")
    parser.add_argument("--sanity-images", type=int, default=40)
    parser.add_argument("--methods", nargs="*", default=None, help="default: every registered method")
    parser.add_argument("--min-accuracy", type=float, default=MIN_ACCURACY, help="refuse to report below this")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per seed (1 is fastest for this CNN)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="seeds run in parallel processes")
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"Started with {load()}.", flush=True)
    jobs = max(1, min(args.jobs, len(args.seeds)))
    if jobs == 1:
        reports = [run_seed(seed, args) for seed in args.seeds]
    else:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(run_seed, seed, args): seed for seed in args.seeds}
            for future in as_completed(futures):
                print(f"seed {futures[future]} done after {time.perf_counter() - start:.0f} s", flush=True)
            reports = [future.result() for future in futures]
    for text, _ in reports:
        print(f"\n{text}")
    print(f"\n{len(args.seeds)} seed(s) in {time.perf_counter() - start:.0f} s with {jobs} process(es); {load()} "
          "at the end (target: under 240 s for both seeds on 2 idle cores).")
    print("Columns: pointing game hit rate (3 px tolerance / exact), AUROC of the map against the mask, relevance rank "
          "and mass accuracy, insertion and deletion AUC (28 steps), ROAD combined, Spearman (absolute maps) with the "
          "original after randomising the classifier (rand_top, median of 3 random draws) and every layer (rand_all). "
          "Reference maps in italics.")
    return max(status for _, status in reports)


if __name__ == "__main__":
    sys.exit(main())
