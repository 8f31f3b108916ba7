"""The whole path a user waits for, per map, and the options that could shorten it, side by side in one run.

    python benchmarks/whole_path.py [--models bundled:efficientnet_lite0,torchvision:resnet18] [--device cpu] [--quick]

Part 1, the path: decoding the photo, preprocessing, the logits forward of the prediction, the method itself,
post-processing (normalise, colour, overlay) and rendering (the PNG with its colour bar), for Gradient,
Grad-CAM and IG-16 on a sample photo; the method's share of the total says how close the wait is to the
method's own cost.

Part 2, options, each against the plain model in the same rounds: `channels_last` (a private copy converted,
never the shared model), `torch.compile` (its compile time reported apart), and the CPU threads of two maps
computed at once by the job workers (JOB_WORKERS threads of 2 torch threads each, against 1 each). The app
keeps an option off unless it helps on every model measured. The machine load is printed with each table.
"""
from __future__ import annotations

import argparse
import copy
import io
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from benchmarks.peer_calls import machine_load, seconds, synchronize  # noqa: E402
from interpret.attribution import attribute  # noqa: E402
from interpret.images import load_image  # noqa: E402
from interpret.layers import default_cam_layer  # noqa: E402
from interpret.models import load_model  # noqa: E402
from interpret.predict import top_k  # noqa: E402
from interpret.render import colorize, map_scale, overlay, with_colour_bar  # noqa: E402
from interpret.samples import sample_bytes  # noqa: E402

METHODS = {"gradient": {}, "gradcam": {}, "integrated_gradients": {"steps": 16}}


def png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def path_steps(lm, data: bytes, method: str, params: dict) -> dict[str, float]:
    """Seconds of each step of one map, from the photo's bytes to the PNG a user downloads."""
    t: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        synchronize()
        now = time.perf_counter()
        t[name] = now - clock
        clock = now

    image = load_image(data, "photo.jpg")
    step("decode")
    x = lm.preprocessing.to_tensor(image.image)
    photo = lm.preprocessing.model_view(image.image)
    step("preprocess")
    target = top_k(lm, x, 5)[0][0].index
    step("predict")
    a = attribute(lm, x, method, target, layer=default_cam_layer(lm) if method == "gradcam" else None, params=params)
    step("method")
    mode = "signed" if a.signed else "absolute"
    heat = colorize(a.values, mode)
    shown = overlay(photo, heat, 0.5)
    step("post-process")
    png(with_colour_bar(shown, map_scale(a.values, mode)))
    step("render")
    return t


def whole_path(lm, data: bytes, rounds: int) -> None:
    print(f"\n### The path of one map, {lm.spec} ({machine_load()})")
    print("| method | decode | preprocess | predict | method | post-process | render | total (s) | method's share |")
    print("|---|---|---|---|---|---|---|---|---|")
    for method, params in METHODS.items():
        path_steps(lm, data, method, params)  # warm-up
        runs = [path_steps(lm, data, method, params) for _ in range(rounds)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        total = sum(med.values())
        cells = " | ".join(f"{med[k] * 1000:.0f} ms" for k in med)
        print(f"| {method} | {cells} | {total:.3f} | {med['method'] / total:.0%} |", flush=True)


def forward_backward(model, x: torch.Tensor) -> None:
    x = x.clone().requires_grad_()
    with torch.enable_grad():
        torch.autograd.grad(model(x)[:, 3].sum(), x)


def forward(model, x: torch.Tensor) -> None:
    with torch.inference_mode():
        model(x)


def options(lm, batch: int, size: int, rounds: int, compile_too: bool) -> None:
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0)).to(lm.device)
    plain = lm.model
    variants = {"plain": (plain, x)}
    variants["channels_last"] = (copy.deepcopy(plain).to(memory_format=torch.channels_last),
                                 x.contiguous(memory_format=torch.channels_last))
    compile_s = None
    if compile_too:
        compiled = torch.compile(copy.deepcopy(plain))
        start = time.perf_counter()
        forward(compiled, x)
        forward_backward(compiled, x)
        compile_s = time.perf_counter() - start
        variants["torch.compile"] = (compiled, x)
    print(f"\n### Options, {lm.spec}, batch {batch} at {size} px ({machine_load()})"
          + (f"; torch.compile took {compile_s:.1f} s to compile" if compile_s is not None else ""))
    print("| variant | forward (s) | ratio | forward + backward (s) | ratio |")
    print("|---|---|---|---|---|")
    times: dict[tuple[str, str], list[float]] = {}
    for model, inp in variants.values():  # warm-up
        forward(model, inp)
        forward_backward(model, inp)
    for r in range(rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            model, inp = variants[name]
            times.setdefault((name, "f"), []).append(seconds(lambda: forward(model, inp)))  # noqa: B023
            times.setdefault((name, "fb"), []).append(seconds(lambda: forward_backward(model, inp)))  # noqa: B023
    base_f, base_fb = min(times[("plain", "f")]), min(times[("plain", "fb")])
    for name in variants:
        f, fb = min(times[(name, "f")]), min(times[(name, "fb")])
        print(f"| {name} | {f:.3f} | {f / base_f:.2f} | {fb:.3f} | {fb / base_fb:.2f} |", flush=True)


def threads(lm, size: int, rounds: int) -> None:
    """Two Gradient maps at once on two worker threads (as the job store runs them) with 2 or 1 torch threads."""
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(lm.device)
    before = torch.get_num_threads()

    def pair() -> None:
        workers = [threading.Thread(target=lambda: [attribute(lm, x, "gradient", 3) for _ in range(4)]) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    results = {}
    try:
        for count in (before, 1):
            torch.set_num_threads(count)
            pair()  # warm-up
            results[count] = min(seconds(pair) for _ in range(rounds))
    finally:
        torch.set_num_threads(before)
    print(f"\n### Threads, {lm.spec}: 2 workers x 4 Gradient maps at {size} px ({machine_load()})")
    print("| torch threads per process | seconds | ratio |\n|---|---|---|")
    for count, s in results.items():
        print(f"| {count} | {s:.3f} | {s / results[before]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="bundled:efficientnet_lite0,torchvision:resnet18")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--no-compile", action="store_true", help="leave torch.compile out (it compiles for minutes)")
    parser.add_argument("--quick", action="store_true", help="ResNet-18, 1 round, batch 2 at 64 px, no compile")
    args = parser.parse_args()
    models, rounds, batch, size = args.models, args.rounds, args.batch, 224
    if args.quick:
        models, rounds, batch, size = "torchvision:resnet18", 1, 2, 64
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}; {machine_load()}")
    data = sample_bytes("coffee")
    for spec in models.split(","):
        weights = {} if spec.startswith("bundled:") else {"weights": "random"}
        lm = load_model(spec, device=args.device, **weights)
        whole_path(lm, data, rounds)
        options(lm, batch, size, rounds, compile_too=not (args.no_compile or args.quick))
        if lm.device.type == "cpu":
            threads(lm, size, rounds)


if __name__ == "__main__":
    main()
