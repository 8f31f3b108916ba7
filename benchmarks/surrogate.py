"""LIME and KernelSHAP next to Captum's Lime and KernelShap computing the same map, in one process.

    python benchmarks/surrogate.py [--models resnet18,resnet50] [--repeats 5] [--threads 1]

Random weights, the coffee photo at 224 px, CPU, our defaults (50 SLIC superpixels, 200 samples, the mean fill).
Captum is called as its documentation shows, with the same superpixel mask, samples, baseline and seed, and 32
perturbed copies per forward (its default of 1 would make every comparison a win for batching alone). Per row: the
medians and the median of per-round ratios (calls interleaved round by round, benchmarks/attribution.py), and how
far the two maps are apart (0 expected: the tests require 1e-5). Target: ours / Captum <= 1.0.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from benchmarks.attribution import median_times, paired_ratio  # noqa: E402
from benchmarks.peer_calls import machine_load  # noqa: E402
from interpret.attribution import attribute  # noqa: E402
from interpret.attribution.base import Context  # noqa: E402
from interpret.attribution.surrogate import superpixels  # noqa: E402
from interpret.attribution.target import Target  # noqa: E402
from interpret.models import load_model  # noqa: E402
from interpret.samples import load_sample  # noqa: E402

TARGET = 3
GOAL = 1.0
SEGMENTS, SAMPLES, SEED = 50, 200, 0


def captum_call(lm, x: torch.Tensor, method: str):
    """Captum's explainer over the same SLIC superpixels (scikit-image, as ours cuts them), zero = the mean fill."""
    from captum.attr import KernelShap, Lime

    explainer = {"lime": Lime, "kernel_shap": KernelShap}[method](lambda batch: lm.model(batch)[:, TARGET])
    mask = superpixels(Context(lm, x, Target(TARGET)), SEGMENTS)

    def run() -> np.ndarray:
        torch.manual_seed(SEED)
        with torch.no_grad():
            out = explainer.attribute(x, baselines=torch.zeros_like(x), feature_mask=mask, n_samples=SAMPLES,
                                      perturbations_per_eval=32, return_input_shape=True)
        return out[0, 0].numpy()

    return run


def ours_call(lm, x: torch.Tensor, method: str):
    params = {"segments": SEGMENTS, "samples": SAMPLES, "seed": SEED}
    return lambda: attribute(lm, x, method, TARGET, params=params).values


def rows(name: str, repeats: int) -> bool:
    lm = load_model(f"torchvision:{name}", weights="random")
    x = lm.preprocessing.to_tensor(load_sample("coffee").image)
    met = True
    for method in ("lime", "kernel_shap"):
        ours, theirs = ours_call(lm, x, method), captum_call(lm, x, method)
        gap = float(np.abs(ours() - theirs()).max() / max(1e-12, float(np.abs(theirs()).max())))
        medians, rounds = median_times({"ours": ours, "captum": theirs}, repeats)
        ratio = paired_ratio(rounds, "ours", "captum")
        met &= ratio <= GOAL
        print(f"| {name} {method} | {medians['ours']:.3f} | {medians['captum']:.3f} | Captum {method} | "
              f"{ratio:.2f} | {gap:.1e} |")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet18,resnet50")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 is steadier on a loaded machine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, repeats {args.repeats}; {machine_load()}\n")
    print("| map | ours (s) | Captum (s) | peer | ours / peer | map difference |\n|---|---|---|---|---|---|")
    met = all([rows(name, args.repeats) for name in filter(None, args.models.split(","))])
    print(f"\ntarget ours / peer <= {GOAL} on every row: {'met' if met else 'NOT met'}; {machine_load()}")


if __name__ == "__main__":
    main()
