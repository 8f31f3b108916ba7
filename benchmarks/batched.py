"""Batched attribution of many images (Gradient, Grad-CAM, IG-16) next to a hand-written batched loop and to
the peers called image by image, in one process.

    python benchmarks/batched.py [--model torchvision:resnet18] [--images 64] [--device cuda] [--quick]

Ours: `attribute_batch` (internal batch from the model's activation size and free memory). The floor: a
hand-written loop over the same tensors, batched forward + backward (to the input for Gradient and IG, to
the layer for Grad-CAM), no checks, no post-processing. Peers: Captum Saliency / IntegratedGradients
(internal batch 16) and torchcam GradCAM, one image per call as their users call them. Targets: our
throughput >= 0.9 x the loop's, and our time <= 0.7 x the peers'. The machine load is printed.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from benchmarks.peer_calls import machine_load, seconds  # noqa: E402
from interpret.attribution.batch import attribute_batch, batch_rows  # noqa: E402
from interpret.attribution.path import gauss_legendre  # noqa: E402
from interpret.capture import capture  # noqa: E402
from interpret.layers import default_cam_layer  # noqa: E402
from interpret.models import load_model  # noqa: E402

FLOOR_GOAL, PEER_GOAL = 0.9, 0.7


def hand_loops(lm, xs, targets, layer, batch, steps):
    model = lm.model
    index = torch.tensor(targets, device=xs.device)

    def gradient():
        for s in range(0, len(xs), batch):
            x = xs[s:s + batch].clone().requires_grad_()
            torch.autograd.grad(model(x).gather(1, index[s:s + batch, None]).sum(), x)

    def gradcam():
        for s in range(0, len(xs), batch):
            with torch.enable_grad(), capture(model, [layer], keep="leaf") as got:
                logits = model(xs[s:s + batch])
            (g,) = torch.autograd.grad(logits.gather(1, index[s:s + batch, None]).sum(), got[layer])
            F.relu((g.mean((2, 3), keepdim=True) * got[layer]).sum(1))

    def ig():
        alphas, weights = gauss_legendre(steps, xs.device, xs.dtype)
        rows = (xs[:, None] * alphas.view(1, -1, 1, 1, 1)).flatten(0, 1)  # black (zero) baseline
        owners = index.repeat_interleave(steps)
        for s in range(0, len(rows), batch):
            x = rows[s:s + batch].clone().requires_grad_()
            torch.autograd.grad(model(x).gather(1, owners[s:s + batch, None]).sum(), x)

    return {"gradient": gradient, "gradcam": gradcam, "integrated_gradients": ig}


def peer_loops(lm, xs, targets, layer, steps):
    import torchcam.methods as tc
    from captum.attr import IntegratedGradients, Saliency

    model = lm.model
    zero = torch.zeros_like(xs[:1])

    def gradient():
        for x, t in zip(xs, targets, strict=True):
            Saliency(model).attribute(x[None].clone(), target=t, abs=False)

    def gradcam():
        for x, t in zip(xs, targets, strict=True):
            extractor = tc.GradCAM(model, target_layer=layer, input_shape=tuple(x.shape))
            try:
                with torch.enable_grad():
                    cam = extractor(t, model(x[None].clone().requires_grad_()))[0]
                F.interpolate(cam[None], size=x.shape[-2:], mode="bilinear", align_corners=False)
            finally:
                extractor.remove_hooks()

    def ig():
        for x, t in zip(xs, targets, strict=True):
            IntegratedGradients(model).attribute(x[None].clone(), baselines=zero, target=t, n_steps=steps,
                                                 internal_batch_size=steps)

    return {"gradient": ("Captum Saliency", gradient), "gradcam": ("torchcam GradCAM", gradcam),
            "integrated_gradients": ("Captum IG", ig)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="torchvision:resnet18")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--batch", type=int, default=None, help="internal batch (default: chosen from memory)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--methods", default="gradient,gradcam,integrated_gradients")
    parser.add_argument("--quick", action="store_true", help="4 images of 64 px, IG-4: a smoke test")
    args = parser.parse_args()
    images, size, steps = (4, 64, 4) if args.quick else (args.images, args.size, args.steps)
    weights = {} if args.model.startswith("bundled:") else {"weights": "random"}
    lm = load_model(args.model, device=args.device, **weights)
    layer = default_cam_layer(lm)
    xs = torch.randn(images, 3, size, size, generator=torch.Generator().manual_seed(0)).to(lm.device)
    targets = [int(t) for t in torch.randint(0, lm.num_classes, (images,), generator=torch.Generator().manual_seed(1))]
    batch = args.batch or batch_rows(lm, (size, size))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; {args.model}, "
          f"{images} images of {size} px, "
          f"internal batch {batch}, IG-{steps}; {machine_load()}")
    hand = hand_loops(lm, xs, targets, layer, batch, steps)
    peers = peer_loops(lm, xs, targets, layer, steps)
    params = {"gradient": {}, "gradcam": {}, "integrated_gradients": {"steps": steps}}
    params = {m: params[m] for m in args.methods.split(",")}
    met = True
    print("| method | ours (s) | hand loop (s) | ours throughput / loop | peer per image (s) | ours / peer | targets |")
    print("|---|---|---|---|---|---|---|")
    for method in params:
        ours = lambda method=method: attribute_batch(lm, xs, method, targets, layer=layer,  # noqa: E731
                                                    params=params[method], batch_size=batch)
        calls = {"ours": ours, "hand": hand[method], "peer": peers[method][1]}
        calls["ours"]()  # warm-up
        first = {k: seconds(f) for k, f in calls.items()}
        second = {k: seconds(calls[k]) for k in reversed(list(calls))}
        t = {k: min(first[k], second[k]) for k in calls}
        floor_ratio = t["hand"] / t["ours"]  # throughput ours / throughput loop
        peer_ratio = t["ours"] / t["peer"]
        ok = floor_ratio >= FLOOR_GOAL and peer_ratio <= PEER_GOAL
        met &= ok
        print(f"| {method} | {t['ours']:.2f} | {t['hand']:.2f} | {floor_ratio:.2f} (>= {FLOOR_GOAL}) | "
              f"{t['peer']:.2f} ({peers[method][0]}) | {peer_ratio:.2f} (<= {PEER_GOAL}) | {'met' if ok else 'NOT met'} |",
              flush=True)
    print(f"\n{machine_load()}; all targets met: {met}")


if __name__ == "__main__":
    main()
