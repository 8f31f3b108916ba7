"""Speed of the trust scores, measured side by side in one run on ResNet-18 (random weights), 224 px.

1. Deletion + insertion with 28 steps each against 56 images in batched forward passes (same batch
   size): the ratio must be <= 1.2.
2. The sanity check of one method (Gradient, block by block) against its map's cost x the number of
   maps it computes (one per stage, plus the extra random draws of the verdict's stage) + the
   re-initialisation time: the ratio must be <= 1.

    python benchmarks/trust.py [--repeats 5] [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from interpret.attribution import attribute  # noqa: E402
from interpret.metrics import FaithfulnessProbe, cascading_randomisation  # noqa: E402
from interpret.metrics.faithfulness import DEFAULT_BATCH  # noqa: E402
from interpret.models import load_model  # noqa: E402
from interpret.samples import load_sample  # noqa: E402

STEPS = 28


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    lm = load_model("torchvision:resnet18", weights="random")
    x = lm.preprocessing.to_tensor(load_sample("coffee").image)
    probe = FaithfulnessProbe(lm, x)
    values = attribute(lm, x, "gradient", probe.target).values
    batch = x.repeat(2 * STEPS, 1, 1, 1)

    def plain_forwards():
        with torch.inference_mode():
            for start in range(0, batch.shape[0], DEFAULT_BATCH):
                lm.model(batch[start:start + DEFAULT_BATCH]).softmax(-1)

    plain_forwards(), probe.curves(values, STEPS)  # warm up
    forward = curves = 0.0
    for _ in range(2):  # interleaved, so both see the same load
        forward += median_time(plain_forwards, args.repeats)
        curves += median_time(lambda: probe.curves(values, STEPS), args.repeats)
    ratio = curves / forward
    print(f"deletion + insertion, {STEPS} steps each: {curves / 2:.3f} s; {2 * STEPS} images in batches of "
          f"{DEFAULT_BATCH}: {forward / 2:.3f} s; ratio {ratio:.2f} (target <= 1.2)")

    original = attribute(lm, x, "gradient", probe.target)
    map_cost = median_time(lambda: attribute(lm, x, "gradient", probe.target), args.repeats)
    t0 = time.perf_counter()
    result = cascading_randomisation(lm, x, original)
    sanity = time.perf_counter() - t0
    maps = sum(max(1, len(stage.draws)) for stage in result.stages)
    budget = map_cost * maps + result.reinit_seconds
    print(f"sanity check (gradient, {len(result.stages)} stages, {maps} maps): {sanity:.3f} s; map {map_cost:.3f} s x "
          f"{maps} + re-initialisation {result.reinit_seconds:.3f} s = {budget:.3f} s; ratio "
          f"{sanity / budget:.2f} (target <= 1)")
    print(f"torch threads: {torch.get_num_threads()}; verdict for gradient: {result.verdict}")
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
