"""Estimates against actual times: each masked method's estimate before it starts (what decides whether a map
starts by itself or waits for a Compute click) next to its real run, side by side in one process.

    python benchmarks/estimates.py [--size 64] [--repeats 3]

Per method (Score-CAM at the default CAM layer, Occlusion, RISE) on the default model at `--size` px and the
coffee photo: the estimate (ui/maps.map_estimate), the least of `--repeats` runs, and estimate / actual
(target: within 2x either way, 0.5-2.0). The machine's load (os.getloadavg) is printed before and after.
This was a test (within 3x); a duration belongs here, where a loaded machine shows in the load column.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from interpret.attribution import Target, attribute  # noqa: E402
from interpret.layers import default_cam_layer  # noqa: E402
from interpret.models import load_model  # noqa: E402
from interpret.samples import load_sample  # noqa: E402
from interpret.ui import maps  # noqa: E402

CASES = (("scorecam", {}), ("occlusion", {"window": 16, "stride": 4}), ("rise", {"masks": 256}))
TARGET = (0.5, 2.0)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} / {five:.1f}"


def least_seconds(run, repeats: int) -> float:
    """The least of `repeats` timings of `run()`: the one least disturbed by other work on the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    lm = load_model("bundled:efficientnet_lite0",
                    preprocessing=lambda p: p.replace(crop_size=args.size, resize_size=args.size))
    coffee = load_sample("coffee")
    x = lm.preprocessing.to_tensor(coffee.image)
    print(f"default model at {args.size} px, {load()}")
    print(f"{'method':<10} {'estimate s':>10} {'actual s':>9} {'est/actual':>10}  within {TARGET[0]}-{TARGET[1]}")
    misses = 0
    for method, params in CASES:
        layer = default_cam_layer(lm) if method == "scorecam" else None
        estimate = maps.map_estimate(lm, coffee, method, params, layer)
        actual = least_seconds(partial(attribute, lm, x, method, Target(0), layer=layer, params=params), args.repeats)
        ratio = estimate / actual
        inside = TARGET[0] <= ratio <= TARGET[1]
        misses += not inside
        print(f"{method:<10} {estimate:>10.3f} {actual:>9.3f} {ratio:>10.2f}  {'yes' if inside else 'NO'}")
    print(load())
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
