"""The Dataset page on a large store: how long until its first view is drawn, and each other view's first draw.

    python benchmarks/dataset_page.py [--rows 10000] [--classes 50] [--channels 80] [--store DIR]

A store of `--rows` rows (one method, the predicted class; 64 rows a shard, as explain-set writes them) is written
with synthetic maps and statistics (the page's reading and drawing do not depend on how the maps were made), its
images absent (the page says so and draws the rest). Timed, each in the app as a user opens it (AppTest, the
default model loaded beforehand): the run that opens the store and draws the Summary (target: under 3 s on 2
cores), then the first draw of Mean maps, Where it looks, Strategies, Gallery and Channel examples (each row keeps
`--channels` synthetic channel maxima, as `explain-set --channels` writes them: the view reads and ranks them all);
and, outside Streamlit, reading the Summary's columns against reading every column (the page reads only what a view
needs). Load is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from interpret.dataset import Store  # noqa: E402
from interpret.dataset import analysis as an  # noqa: E402


def synthetic_rows(start: int, count: int, classes: int, rng: np.random.Generator, channels: int = 0) -> list[dict]:
    rows = []
    for i in range(start, start + count):
        label = f"class{i % classes:03d}"
        right = bool(rng.random() < 0.8)
        values = rng.random((56, 56)).astype(np.float16)
        rows.append({"image_id": f"{i:016x}", "path": f"{label}/{i}.jpg", "label": label, "label_index": i % classes,
                     "predicted": i % classes if right else (i + 1) % classes, "predicted_label": label,
                     "probability": float(rng.random()), "top_indices": [i % classes], "top_probabilities": [0.5],
                     "correct": right, "method": "gradient", "params": "{}", "layer": None, "target_kind": "predicted",
                     "target": i % classes, "target_label": label, "objective": "logit",
                     **{s: float(rng.random()) for s in an.STATS}, "peak_row": 0.5, "peak_col": 0.5,
                     "map": values.tobytes(), "map_side": 56, "seconds": 0.01,
                     "channel_max": rng.random(channels, np.float32).tolist() if channels else None})
    return rows


def write_store(folder: Path, rows: int, classes: int, channels: int = 0) -> Store:
    store = Store(folder)
    settings = {"methods": ["gradient"], "map_side": 56, **({"channels": "blocks.3.2"} if channels else {})}
    store.prepare({"schema": 1, "model": {"spec": "bundled:efficientnet_lite0", "key": "synthetic"},
                   "settings": settings, "listing": {"name": "synthetic"}})
    rng = np.random.default_rng(0)
    for shard, start in enumerate(range(0, rows, 64)):
        store.write_shard(shard, synthetic_rows(start, min(64, rows - start), classes, rng, channels))
    return store


def timed(action) -> float:  # noqa: ANN001
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=50)
    parser.add_argument("--channels", type=int, default=80, help="channel maxima per row (0: none)")
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args()
    folder = args.store or Path(tempfile.mkdtemp()) / "store"
    if not (folder / "manifest.json").exists():
        print(f"writing {args.rows} rows: {timed(lambda: write_store(folder, args.rows, args.classes, args.channels)):.1f} s")
    store = Store(folder)
    print(f"load {os.getloadavg()[0]:.2f}")
    print(f"read the Summary's columns: {timed(lambda: an.summary(an.read_rows(store, an.SUMMARY_COLUMNS))):.3f} s; "
          f"every column: {timed(lambda: store.read()):.3f} s")

    from app_support import open_app

    at = open_app("pages/dataset.py")
    at.radio(key="dataset-source").set_value("path").run()
    first = timed(lambda: at.text_input(key="dataset-path").input(str(folder)).run())
    images = {m.label: m.value for m in at.metric}.get("Images")
    print(f"open the store and draw the Summary: {first:.2f} s (target < 3 s) · Images shown: {images} · "
          f"errors: {[e.value for e in at.error]}")
    for view in ("Mean maps", "Where it looks", "Strategies", "Gallery", "Channel examples"):
        seconds = timed(lambda v=view: at.radio(key="dataset-view").set_value(v).run())
        print(f"first draw of {view}: {seconds:.2f} s · exception: {bool(at.exception)}")
    print(f"load {os.getloadavg()[0]:.2f}")
    print(json.dumps({"rows": args.rows, "first_view_seconds": round(first, 3)}))


if __name__ == "__main__":
    main()
