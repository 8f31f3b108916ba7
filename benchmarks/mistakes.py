"""Mistakes evaluation speed: images per second over a labelled set vs a plain batched inference loop.

Both sides start from the same encoded JPEG bytes and include decoding and preprocessing: the plain
loop decodes a batch, preprocesses it, and runs the model under torch.inference_mode(); the Mistakes
path reads the same images from an in-memory zip with `interpret.mistakes.evaluate` (label matching,
prefetching decoder thread, top-k kept). Runs alternate so that load from other processes hits both.
Also reports the peak of Python/numpy allocations (tracemalloc) for 4 batches and for N images: it should not
grow with N beyond the stored predictions.

    python benchmarks/mistakes.py [--images 500] [--batch-size 32] [--device cpu] [--rounds 2]
"""
from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from interpret.images import decode_image  # noqa: E402
from interpret.mistakes import DEMO_LABELS, evaluate, open_zip  # noqa: E402
from interpret.models import DEFAULT_SPEC, load_model  # noqa: E402
from interpret.samples import load_sample  # noqa: E402


def make_images(count: int, size: int = 256, seed: int = 0) -> list[tuple[str, bytes]]:
    """`count` JPEGs (shorter side `size`) cut from the sample photos: random crops and mirrors."""
    rng = random.Random(seed)
    photos = [(label, load_sample(name).image) for name, label in DEMO_LABELS.items()]
    images = []
    for i in range(count):
        label, photo = photos[i % len(photos)]
        w, h = photo.size
        side = rng.randint(min(w, h) * 2 // 3, min(w, h))
        left, top = rng.randint(0, w - side), rng.randint(0, h - side)
        crop = photo.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=90)
        images.append((f"{label}/{i:05d}.jpg", buffer.getvalue()))
    return images


def as_zip(images: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in images:
            archive.writestr(name, data)
    return buffer.getvalue()


def plain_loop(lm, images: list[tuple[str, bytes]], batch_size: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(images), batch_size):
        batch = torch.cat([lm.preprocessing.to_tensor(decode_image(data, name)) for name, data in images[i:i + batch_size]])
        with torch.inference_mode():
            lm.model(batch.to(lm.device)).float().softmax(-1).topk(5, dim=1)[1].cpu()
    return time.perf_counter() - start


def mistakes_path(lm, archive: bytes, batch_size: int) -> float:
    start = time.perf_counter()
    ev = evaluate(lm, open_zip(archive, "bench.zip"), batch_size=batch_size)
    seconds = time.perf_counter() - start
    assert ev.complete and len(ev.ok) == ev.total
    return seconds


def peak_bytes(lm, archive: bytes, batch_size: int) -> int:
    tracemalloc.start()
    evaluate(lm, open_zip(archive, "bench.zip"), batch_size=batch_size)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    lm = load_model(DEFAULT_SPEC, args.device)
    images = make_images(args.images)
    archive = as_zip(images)
    print(f"{args.images} JPEGs (256 px, {len(archive) / 2**20:.1f} MB) -> 224 px on {DEFAULT_SPEC}, {args.device}, "
          f"batch {args.batch_size}, torch threads {torch.get_num_threads()}")
    plain_loop(lm, images[:args.batch_size], args.batch_size)  # warm-up
    plain, ours = [], []
    for _ in range(args.rounds):
        plain.append(args.images / plain_loop(lm, images, args.batch_size))
        ours.append(args.images / mistakes_path(lm, archive, args.batch_size))
        print(f"  round: plain loop {plain[-1]:6.1f} img/s · mistakes.evaluate {ours[-1]:6.1f} img/s")
    p, o = statistics.median(plain), statistics.median(ours)
    print(f"plain inference_mode loop: {p:.1f} images/s (median of {args.rounds})")
    print(f"mistakes.evaluate:         {o:.1f} images/s (median of {args.rounds})")
    print(f"ratio: {o / p:.2f}x (target >= 0.9x)")
    few = 4 * args.batch_size  # whole batches, so that both runs hold full batches at their peak
    small = as_zip(images[:few])
    few_mb, all_mb = peak_bytes(lm, small, args.batch_size) / 2**20, peak_bytes(lm, archive, args.batch_size) / 2**20
    print(f"peak Python/numpy allocations during evaluate: {few_mb:.1f} MB for {few} images, "
          f"{all_mb:.1f} MB for {args.images} images (two batches of pixels in flight)")


if __name__ == "__main__":
    main()
