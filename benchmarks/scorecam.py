"""Score-CAM next to pytorch-grad-cam's (the same map), side by side in one process, on the sample photos.

    python benchmarks/scorecam.py [--quick] [--device cuda] [--models bundled:efficientnet_lite0,torchvision:resnet50]

Per model (its default CAM layer) and photo: the share of the layer's channels zero everywhere (they share
one blank mask, scored once: an exact shortcut), our seconds, pytorch-grad-cam's, their ratio (target
<= 0.5 on the default model), and the mean difference of the two maps scaled to [0, 1] (the same map up to
the resize: ours is torch's bilinear, theirs cv2's). The machine's load (os.getloadavg) is printed before
and after each pair. `--quick`: one photo at 40 px, the default model only (a smoke test).
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from interpret.attribution import attribute  # noqa: E402
from interpret.attribution.base import Context  # noqa: E402
from interpret.attribution.cams import activations  # noqa: E402
from interpret.attribution.target import Target  # noqa: E402
from interpret.layers import default_cam_layer  # noqa: E402
from interpret.models import load_model  # noqa: E402
from interpret.samples import load_sample  # noqa: E402

PHOTOS = ("astronaut", "rocket", "coffee", "chelsea")


def load(text: str = "") -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} / {five:.1f}{text}"


def unit(values: np.ndarray) -> np.ndarray:
    values = values - values.min()
    return values / (values.max() + 1e-7)


def their_score_cam(model: torch.nn.Module, layer: str, x: torch.Tensor, target: int) -> np.ndarray:
    """pytorch-grad-cam's Score-CAM as its users call it (its map: ReLU, scaled, resized to the input)."""
    from pytorch_grad_cam import ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    with ScoreCAM(model=model, target_layers=[model.get_submodule(layer)]) as cam:
        return cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(target)])[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=None, help="default: bundled:efficientnet_lite0,torchvision:resnet50")
    parser.add_argument("--photos", default=",".join(PHOTOS))
    parser.add_argument("--size", type=int, default=None, help="input side in px (default: the model's own)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="one photo at 40 px, the default model only")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models = (args.models or ("bundled:efficientnet_lite0" if args.quick else
                              "bundled:efficientnet_lite0,torchvision:resnet50")).split(",")
    photos = args.photos.split(",")[:1] if args.quick else args.photos.split(",")
    size = args.size or (40 if args.quick else None)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, {load()}")
    print("\n| model @ layer | photo | channels zero everywhere | ours (s) | pytorch-grad-cam (s) | ours / peer "
          "| mean map difference | load |")
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for spec in models:
        lm = load_model(spec, device=args.device, weights="random" if spec.startswith("torchvision:") else None)
        layer = default_cam_layer(lm)
        peer = copy.deepcopy(lm.model)
        for p in peer.parameters():
            p.requires_grad_(True)  # pytorch-grad-cam back-propagates into parameters
        for name in photos:
            x = lm.preprocessing.to_tensor(load_sample(name).image)
            if size:
                x = F.interpolate(x, size=(size, size), mode="bilinear")
            x = x.to(lm.device)
            with torch.inference_mode():
                target = int(lm.model(x).argmax(1)[0])
            a = activations(Context(lm, x, Target(target), layer=layer))
            zero = int((~a[0].flatten(1).any(1)).sum())
            before = load()
            start = time.perf_counter()
            ours = attribute(lm, x, "scorecam", target, layer=layer)
            if lm.device.type == "cuda":
                torch.cuda.synchronize()
            ours_s = time.perf_counter() - start
            start = time.perf_counter()
            theirs = their_score_cam(peer, layer, x, target)
            if lm.device.type == "cuda":
                torch.cuda.synchronize()
            theirs_s = time.perf_counter() - start
            ours_unit = F.interpolate(torch.from_numpy(ours.values)[None, None], size=theirs.shape, mode="bilinear")[0, 0]
            difference = float(np.abs(unit(ours_unit.numpy()) - theirs).mean())
            worst = max(worst, difference)
            print(f"| {spec} @ {layer} | {name} | {zero} / {a.shape[1]} ({zero / a.shape[1]:.0%}) | {ours_s:.2f} | "
                  f"{theirs_s:.2f} | {ours_s / theirs_s:.2f} | {difference:.1e} | {before} → {load()} |", flush=True)
    print(f"\nour caption: {ours.caption()}")
    return 0 if worst < 0.02 else 1


if __name__ == "__main__":
    sys.exit(main())
