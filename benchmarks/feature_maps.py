"""Feature-map speed, side by side in one process (torchvision ResNet-50, random weights, one 224 px photo, CPU).

    python benchmarks/feature_maps.py [--repeats 7]

1. capturing one layer (`layer_activations`: hook, clone, channels-first numpy) vs one plain forward
   pass (target: <= 1.1 x);
2. capturing every module's output of ResNet-50 in one forward pass (and how much memory that holds,
   which is why the page captures only the layer it shows);
3. a 512-channel mosaic as one PNG (`channel_mosaic` + PNG encoding) vs the straightforward way of the
   usual tutorial, one matplotlib subplot per channel saved as a PNG (target: >= 20 x faster).
Capture ratios are medians of per-round ratios of interleaved runs; other processes slow both sides alike.
"""
from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from PIL import Image


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(functions: dict, repeats: int) -> dict[str, list[float]]:
    """Seconds of each function per round, run round-robin so that load changes hit all alike."""
    for fn in functions.values():  # warm-up
        fn()
    samples = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            samples[name].append(timed(fn))
    return samples


def paired_ratio(samples: list[float], base: list[float]) -> float:
    """Median of per-round ratios: robust when other processes load the machine unevenly."""
    return statistics.median(a / b for a, b in zip(samples, base, strict=True))


def matplotlib_subplots(values: np.ndarray) -> bytes:
    """The tutorial way: one subplot per channel, imshow, axis off, savefig."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = values.shape[0]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns, rows))
    for i, ax in enumerate(axes.flat):
        if i < count:
            ax.imshow(values[i], cmap="viridis")
            ax.set_title(str(i), fontsize=5)
        ax.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    plt.close(fig)
    return buffer.getvalue()


def our_mosaic(values: np.ndarray) -> bytes:
    from interpret.features import channel_mosaic

    buffer = io.BytesIO()
    Image.fromarray(channel_mosaic(values, per_page=len(values))).save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from interpret.capture import capture_layers
    from interpret.features import layer_activations
    from interpret.layers import list_layers
    from interpret.models import load_model
    from interpret.samples import load_sample

    lm = load_model("torchvision:resnet50", weights="random")
    x = lm.preprocessing.to_tensor(load_sample("coffee").image)
    every = [layer.name for layer in list_layers(lm)]

    def plain():
        with torch.inference_mode():
            lm.model(x)

    times = interleaved({
        "plain forward": plain,
        "capture layer3 (one layer)": lambda: layer_activations(lm, x, "layer3"),
        "capture layer2 (one layer)": lambda: layer_activations(lm, x, "layer2"),
        f"capture all {len(every)} modules": lambda: capture_layers(lm, x, every),
    }, args.repeats)
    captured, _ = capture_layers(lm, x, every)
    every_mb = sum(t.numel() * t.element_size() for t in captured.values()) / 2**20
    one_mb = layer_activations(lm, x, "layer3").values.nbytes / 2**20
    del captured

    values = layer_activations(lm, x, "layer2").image(0)  # 512 x 28 x 28
    ours = statistics.median(timed(lambda: our_mosaic(values)) for _ in range(args.repeats))
    tutorial = statistics.median(timed(lambda: matplotlib_subplots(values)) for _ in range(max(2, args.repeats // 3)))

    base = times["plain forward"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, ResNet-50 random weights, 1x3x224x224, CPU")
    print(f"{'':34} {'median s':>9} {'x plain (paired)':>17}")
    for name, seconds in times.items():
        print(f"{name:34} {statistics.median(seconds):9.4f} {paired_ratio(seconds, base):17.2f}")
    print(f"memory held: one layer (layer3) {one_mb:.1f} MB, all {len(every)} modules {every_mb:.1f} MB")
    print(f"512-channel mosaic of layer2 (28x28 tiles) as PNG: ours {ours:.3f} s, one matplotlib subplot per channel "
          f"{tutorial:.2f} s -> {tutorial / ours:.1f} x faster (target >= 20 x)")
    one = paired_ratio(times["capture layer3 (one layer)"], base)
    print(f"one-layer capture: {one:.2f} x a plain forward (target <= 1.1 x)")


if __name__ == "__main__":
    main()
