"""One request for many maps (six CAMs, Gradient, Gradient x Input, SmoothGrad, SmoothGrad², VarGrad) next to
the sum of the fastest peer for each map, in one process, side by side.

    python benchmarks/comparison.py [--models bundled:efficientnet_lite0,torchvision:resnet50] [--device cuda] [--quick]

Ours: `attribute_many` (each shared pass once). Peers, called as their users call them (as in
benchmarks/attribution.py): pytorch-grad-cam and torchcam for the CAMs, Captum for Guided Grad-CAM, Saliency,
InputXGradient and NoiseTunnel (16 samples, batches of 8). Per map the fastest peer is taken; their sum is
compared with ours. Target: ours / peers <= 0.4. Rounds are interleaved; the machine load is printed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from benchmarks.peer_calls import machine_load, noise_tunnel, pgc_cam, seconds, torchcam_cam, trainable_copy  # noqa: E402
from interpret.attribution.planner import attribute_many  # noqa: E402
from interpret.layers import default_cam_layer  # noqa: E402
from interpret.models import load_model  # noqa: E402

TARGET = 3
CAMS = ["gradcam", "gradcam_pp", "xgradcam", "layercam", "hirescam", "guided_gradcam"]
METHODS = CAMS + ["gradient", "grad_x_input", "smoothgrad", "smoothgrad_sq", "vargrad"]
GOAL = 0.4


def peer_calls(lm, x: torch.Tensor, layer: str, samples: int) -> dict[str, dict[str, callable]]:
    """map -> {peer: a call computing it as the peer's users do}."""
    from captum.attr import GuidedGradCam, InputXGradient, Saliency

    frozen = lm.model
    trainable = trainable_copy(lm.model)

    def pgc_call(name):
        return pgc_cam(name, trainable, x, layer, TARGET)

    def torchcam_call(name):
        return torchcam_cam(name, frozen, x, layer, TARGET)

    def noise(kind):
        return noise_tunnel(kind, frozen, x, TARGET, samples)

    return {
        "gradcam": {"pytorch-grad-cam": pgc_call("GradCAM"), "torchcam": torchcam_call("GradCAM")},
        "gradcam_pp": {"pytorch-grad-cam": pgc_call("GradCAMPlusPlus"), "torchcam": torchcam_call("GradCAMpp")},
        "xgradcam": {"pytorch-grad-cam": pgc_call("XGradCAM"), "torchcam": torchcam_call("XGradCAM")},
        "layercam": {"pytorch-grad-cam": pgc_call("LayerCAM"), "torchcam": torchcam_call("LayerCAM")},
        "hirescam": {"pytorch-grad-cam": pgc_call("HiResCAM")},
        "guided_gradcam": {"Captum GuidedGradCam": lambda: GuidedGradCam(frozen, frozen.get_submodule(layer)).attribute(
            x.clone(), target=TARGET, interpolate_mode="bilinear")},
        "gradient": {"Captum Saliency": lambda: Saliency(frozen).attribute(x.clone(), target=TARGET, abs=False)},
        "grad_x_input": {"Captum InputXGradient": lambda: InputXGradient(frozen).attribute(x.clone(), target=TARGET)},
        "smoothgrad": {"Captum NoiseTunnel": noise("smoothgrad")},
        "smoothgrad_sq": {"Captum NoiseTunnel": noise("smoothgrad_sq")},
        "vargrad": {"Captum NoiseTunnel": noise("vargrad")},
    }


def measure(spec: str, size: int, samples: int, repeats: int,
            device: str = "cpu") -> tuple[float, float, dict[str, tuple[str, float]], list[str]]:
    weights = {} if spec.startswith("bundled:") else {"weights": "random"}
    lm = load_model(spec, device=device, **weights)
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(lm.device)
    layer = default_cam_layer(lm)
    methods = [m for m in METHODS if m != "guided_gradcam" or _guided_ok(lm)]
    params = {m: {"samples": samples} for m in ("smoothgrad", "smoothgrad_sq", "vargrad")}
    calls = peer_calls(lm, x, layer, samples)
    ours = lambda: attribute_many(lm, x, methods, TARGET, layer=layer, params=params)  # noqa: E731
    flat = {"ours": ours, **{f"{m}|{p}": fn for m in methods for p, fn in calls[m].items()}}
    for fn in flat.values():  # warm-up round
        fn()
    rounds = []
    for r in range(repeats):
        names = list(flat) if r % 2 == 0 else list(reversed(flat))
        rounds.append({name: seconds(flat[name]) for name in names})
    ratios, fastest = [], {}
    for rnd in rounds:
        peers_sum = 0.0
        for m in methods:
            best = min((k for k in rnd if k.startswith(m + "|")), key=rnd.get)
            peers_sum += rnd[best]
            fastest.setdefault(m, []).append((best.split("|", 1)[1], rnd[best]))
        ratios.append(rnd["ours"] / peers_sum)
    best_peer = {m: (statistics.mode(p for p, _ in v), statistics.median(t for _, t in v)) for m, v in fastest.items()}
    ours_s = statistics.median(r["ours"] for r in rounds)
    skipped = [m for m in METHODS if m not in methods]
    return ours_s, statistics.median(ratios), best_peer, skipped


def _guided_ok(lm) -> bool:
    from interpret.attribution import applicable

    return applicable(lm, "guided_gradcam")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="bundled:efficientnet_lite0,torchvision:resnet50")
    parser.add_argument("--quick", action="store_true", help="ResNet-18 at 64 px, 4 samples, 1 round: a smoke test")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    args = parser.parse_args()
    models, size, samples, repeats = args.models, args.size, args.samples, args.repeats
    if args.quick:
        models, size, samples, repeats = "torchvision:resnet18", 64, 4, 1
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, {size} px, "
          f"{samples} noisy samples, "
          f"repeats {repeats}; {machine_load()}")
    met = True
    for spec in models.split(","):
        ours, ratio, best, skipped = measure(spec, size, samples, repeats, args.device)
        peers_total = sum(t for _, t in best.values())
        ok = ratio <= GOAL
        met &= ok
        print(f"\n## {spec}: all maps in one request {ours:.2f} s; sum of the fastest peers {peers_total:.2f} s; "
              f"ours / peers = {ratio:.2f} (target <= {GOAL}: {'met' if ok else 'NOT met'}); {machine_load()}")
        if skipped:
            print(f"(not offered on this model, left out on both sides: {', '.join(skipped)})")
        print("| map | fastest peer | peer (s) |\n|---|---|---|")
        for m, (peer, t) in best.items():
            print(f"| {m} | {peer} | {t:.3f} |")
    print(f"\nall targets met: {met}")


if __name__ == "__main__":
    main()
