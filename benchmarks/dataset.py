"""Dataset runs end to end (files in, stored rows out): the local engine against a bare batched loop over already
decoded tensors, against the same job written with Captum, pytorch-grad-cam and torchcam, and the Ray engine on
a local cluster against the local engine; then memory against the number of images. Side by side in one run.

    python benchmarks/dataset.py [--images 512] [--models bundled:efficientnet_lite0,torchvision:resnet18]
                                 [--methods gradient,gradcam,integrated_gradients] [--no-ray] [--memory 1024,4096]

Images: distinct JPEG files cut from the sample photos (random crops, sizes and flips, seeded). Per model and
method, images per second of: `bare` (our batched attribution over tensors decoded beforehand: the model's work
alone), `engine` (explain_dataset, local), each peer the way its users would write the job (decode, their call
per batch, write the maps), and `ray` (2 actors); ratios engine/bare (target >= 0.9), engine/peer (target > 1),
ray/engine (target >= 0.75; on a local cluster started beforehand, as a user's cluster runs: its actors start and
load the model within the timing), and each actor's share (the on-paper figure per actor). `--memory A,B`: peak RSS of
a Gradient run over A and over B images, each in its own process (target: B's within 10 % of A's); with
`--models ""` those rows alone. The load (os.getloadavg) is printed before and after each row.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a local cluster on loopback (read at Ray's import)

from interpret.attribution import Target  # noqa: E402
from interpret.attribution.batch import attribute_batch, batch_rows  # noqa: E402
from interpret.dataset import ModelArgs, explain_dataset, open_listing  # noqa: E402
from interpret.images import decode_image  # noqa: E402
from interpret.layers import default_cam_layer  # noqa: E402
from interpret.models import load_model  # noqa: E402
from interpret.samples import SAMPLES, load_sample  # noqa: E402

PARAMS = {"integrated_gradients": {"steps": 16}}


def best(run, repeats: int) -> float:
    """The least of `repeats` timings (seconds) of `run()`: the one least disturbed by other work on the machine."""
    return min(run() for _ in range(repeats))


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} / {five:.1f}"


def make_images(folder: Path, count: int, seed: int = 0) -> Path:
    """`count` distinct JPEGs (random crops of the sample photos, 200-400 px, some flipped) in one folder."""
    rng = np.random.default_rng(seed)
    photos = [load_sample(name).image.convert("RGB") for name in SAMPLES]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        photo = photos[i % len(photos)]
        w, h = photo.size
        side = int(rng.integers(min(w, h) // 2, min(w, h)))
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        crop = photo.crop((x, y, x + side, y + side)).resize((int(rng.integers(200, 400)),) * 2)
        if rng.random() < 0.5:
            crop = crop.transpose(0)
        crop.save(folder / f"{i:05d}.jpg", quality=90)
    return folder


def decoded_tensors(lm, folder: Path) -> torch.Tensor:
    listing = open_listing(folder)
    with listing.reader() as read:
        pixels = np.stack([lm.preprocessing.model_view(decode_image(read(i.path), i.path)) for i in listing.items])
    return lm.preprocessing.normalize(pixels)


def bare(lm, xs: torch.Tensor, method: str, layer: str | None) -> float:
    """Our batched attribution over tensors decoded beforehand, predicted class as target: seconds."""
    with torch.inference_mode():
        targets = [int(i) for i in torch.cat([lm.model(xs[s:s + 64]).argmax(1) for s in range(0, len(xs), 64)])]
    start = time.perf_counter()
    attribute_batch(lm, xs, method, [Target(t) for t in targets], layer=layer, params=PARAMS.get(method))
    return time.perf_counter() - start


def engine(model: ModelArgs, folder: Path, method: str, out: Path, kind: str = "local", lm=None) -> float:
    start = time.perf_counter()
    explain_dataset(folder, out, lm if kind == "local" and lm is not None else model, [method], engine=kind,
                    params={method: PARAMS.get(method, {})}, actors=2)
    return time.perf_counter() - start


def cluster() -> float | None:
    """Start the local Ray cluster the engine then joins, once per process: seconds it took, None if it ran already.
    The Ray rows time the engine on a running cluster (its actors start and load the model inside the timing)."""
    import ray

    from interpret.dataset.ray_engine import start_cluster

    if ray.is_initialized():
        return None
    start = time.perf_counter()
    start_cluster(None)
    return time.perf_counter() - start


def _write(out: Path, name: str, maps: np.ndarray) -> None:
    np.save(out / f"{name}.npy", maps.astype(np.float16))


def peer(name: str, lm, folder: Path, method: str, layer: str | None, out: Path) -> float | None:
    """The same job with a peer library, batched as its users would: decode a batch, call, write the maps."""
    model = lm.model
    calls = {
        ("captum", "gradient"): lambda: __import__("captum.attr", fromlist=["Saliency"]).Saliency(model),
        ("captum", "integrated_gradients"): lambda: __import__("captum.attr", fromlist=["IntegratedGradients"])
        .IntegratedGradients(model),
    }
    listing = open_listing(folder)
    out.mkdir(parents=True, exist_ok=True)
    rows = batch_rows(lm)
    start = time.perf_counter()
    for s in range(0, len(listing.items), rows):
        items = listing.items[s:s + rows]
        with listing.reader() as read:
            x = lm.preprocessing.normalize(np.stack([lm.preprocessing.model_view(decode_image(read(i.path), i.path))
                                                     for i in items]))
        with torch.no_grad():
            targets = model(x).argmax(1)
        if name == "captum" and (name, method) in calls:
            tool = calls[(name, method)]()
            kwargs = {"n_steps": 16, "internal_batch_size": rows} if method == "integrated_gradients" else {}
            maps = tool.attribute(x.requires_grad_(), target=targets, **kwargs).abs().amax(1).detach().numpy()
        elif name == "pytorch-grad-cam" and method == "gradcam":
            from pytorch_grad_cam import GradCAM
            from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

            with GradCAM(model=model, target_layers=[model.get_submodule(layer)]) as cam:  # frozen weights: through the input
                maps = cam(input_tensor=x.requires_grad_(), targets=[ClassifierOutputTarget(int(t)) for t in targets])
        elif name == "torchcam" and method == "gradcam":
            from torchcam.methods import GradCAM as TorchCam

            with TorchCam(model, target_layer=layer) as extractor:
                scores = model(x.requires_grad_())  # frozen weights: gradients reach the layer through the input
                maps = extractor(targets.tolist(), scores)[0].detach().numpy()
        else:
            return None
        _write(out, f"batch{s}", np.asarray(maps))
    return time.perf_counter() - start


def peak_rss(images: int) -> int:
    """Peak resident bytes of a Gradient run over `images` images, in a process of its own."""
    code = f"""
import resource, sys, tempfile
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from benchmarks.dataset import make_images
from interpret.dataset import ModelArgs, explain_dataset
work = Path(tempfile.mkdtemp())
folder = make_images(work / "images", {images})
explain_dataset(folder, work / "store", ModelArgs("torchvision:resnet18", weights="random"), ["gradient"])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1]) * 1024


def row(spec: str, method: str, who: str, rate: float, ratio: str = "") -> None:
    print(f"{spec:<28} {method:<22} {who:<18} {rate:7.2f} {ratio:>24}")


def measure(spec: str, lm, model: ModelArgs, xs: torch.Tensor, folder: Path, method: str, work: Path,
            args: argparse.Namespace) -> None:
    """One model and method: bare, engine, each peer that has the method, and Ray; the least of `repeats` each."""
    images, tag = len(xs), f"{spec.replace(':', '_')}-{method}"
    layer = default_cam_layer(lm) if method == "gradcam" else None
    bare(lm, xs[:8], method, layer)  # warm-up: the first pass of a model pays for allocations
    base = images / best(lambda: bare(lm, xs, method, layer), args.repeats)
    runs = iter(range(args.repeats))
    ours = images / best(lambda: engine(model, folder, method, work / f"store-{tag}-{next(runs)}", lm=lm), args.repeats)
    row(spec, method, "bare batched", base)
    row(spec, method, "engine (local)", ours, f"engine/bare {ours / base:.2f}")
    for name in ("captum", "pytorch-grad-cam", "torchcam"):
        job = partial(peer, name, lm, folder, method, layer, work / f"peer-{name}-{method}")
        first = job()
        if first is not None:  # the peer has this method: its least time over the repeats
            theirs = images / min([first] + [job() or first for _ in range(args.repeats - 1)])
            row(spec, method, name, theirs, f"engine/peer {ours / theirs:.2f}")
    if not args.no_ray:
        started = cluster()
        runs = iter(range(args.repeats))
        remote = images / best(lambda: engine(model, folder, method, work / f"ray-{tag}-{next(runs)}", "ray"),
                               args.repeats)
        row(spec, method, "ray (2 actors)", remote, f"ray/engine {remote / ours:.2f}, {remote / 2:.1f}/actor")
        if started is not None:
            print(f"  (the local Ray cluster started in {started:.1f} s, before the timings: a user's cluster runs)")
    print(f"  {load()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--models", default="bundled:efficientnet_lite0,torchvision:resnet18")
    parser.add_argument("--methods", default="gradient,gradcam,integrated_gradients")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--repeats", type=int, default=2, help="timings per row; the least is kept (default 2)")
    parser.add_argument("--memory", default="", help="A,B: peak RSS of Gradient runs over A and B images")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="interpret-dataset-bench-"))
    specs = [spec for spec in args.models.split(",") if spec]  # --models "": the memory rows alone
    folder = make_images(work / "images", args.images if specs else 0)
    print(f"{args.images if specs else 0} distinct JPEG files, {torch.get_num_threads()} torch threads, {load()}")
    print(f"{'model':<28} {'method':<22} {'who':<18} {'img/s':>7} {'ratio':>24}")
    for spec in specs:
        weights = "random" if spec.startswith("torchvision:") else None
        lm = load_model(spec, weights=weights)
        xs = decoded_tensors(lm, folder)
        for method in args.methods.split(","):
            measure(spec, lm, ModelArgs(spec, weights=weights), xs, folder, method, work, args)
    if args.memory:
        small, large = (int(n) for n in args.memory.split(","))
        a, b = peak_rss(small), peak_rss(large)
        print(f"peak RSS, Gradient on resnet18: {small} images {a / 2**20:.0f} MB, {large} images {b / 2**20:.0f} MB, "
              f"ratio {b / a:.3f} (target <= 1.10)")
    print(f"self peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
