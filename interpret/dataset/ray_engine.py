"""The Ray engine: the same shards as the local engine, on a Ray cluster, through Ray Data.

One dataset row per pending shard: `map` decodes and preprocesses its images as tasks, and `map_batches` runs
`ExplainShards`, a class that loads the model once per actor (a pool of `actors`; one GPU each where CUDA is
present, gradients on) and writes each shard it finishes into the store, atomically, as the local engine does.
`RAY_ADDRESS` (or `ray_address`) joins an existing cluster whose workers see the store and the images at the
same paths; otherwise a local cluster is started on this machine's loopback address and shut down after.
"""
from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from ..progress import Cancelled, Progress, report
from .engine import ModelArgs
from .listing import Item, Listing
from .store import Store
from .work import RunSettings, ShardWork, decode_items

DEFAULT_ACTORS = 2


def decode_shard(row: dict[str, Any], listing: Listing, shards: list[list[Item]], args: ModelArgs) -> dict[str, Any]:
    """A Ray task: read and decode one shard's images into the model's view (a failed image: zeros and its error)."""
    index = int(row["shard"])
    assert args.preprocessing is not None  # resolved by the driver: a task never loads the model
    with listing.reader() as read:
        decoded = decode_items(shards[index], read, args.preprocessing.model_view)
    size = next((p.shape for _, p, _ in decoded if p is not None), (1, 1, 3))
    pixels = np.stack([p if p is not None else np.zeros(size, np.uint8) for _, p, _ in decoded])
    return {"shard": index, "pixels": pixels, "errors": [e or "" for _, _, e in decoded]}


class ExplainShards:
    """A Ray actor's work: the model loaded once, then each batch of decoded shards explained and written."""

    def __init__(self, args: ModelArgs, listing: Listing, shards: list[list[Item]], settings: RunSettings, store: str):
        import torch

        device = "cuda" if torch.cuda.is_available() and args.device.startswith("cuda") else args.device
        self.lm = args.load(device)
        self.shards, self.store = shards, Store(store)
        self.work = ShardWork(self.lm, settings, [item.label for item in listing.items])

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        done = []
        for index, pixels, errors in zip(batch["shard"], batch["pixels"], batch["errors"], strict=True):
            items = self.shards[int(index)]
            decoded = [(item, None if error else np.asarray(pixels[i]), error or None)
                       for i, (item, error) in enumerate(zip(items, errors, strict=True))]
            rows, full = self.work.rows(decoded)
            self.store.write_shard(int(index), rows, full)
            done.append(int(index))
        return {"shard": np.array(done, np.int64)}


LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": every Ray process of a local cluster on 127.0.0.1


def start_cluster(address: str | None) -> bool:
    """Join the cluster at `address` (or RAY_ADDRESS), else start a local one on loopback; True if started here.

    Ray reads LOOPBACK_ENV when it is first imported, so it is set before that, for a local cluster only (a
    driver joining a remote cluster must advertise its real address)."""
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        os.environ.setdefault(LOOPBACK_ENV, "0")
    import ray

    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, ignore_reinit_error=True)
        return False
    ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, ignore_reinit_error=True,
             log_to_driver=False, logging_level=logging.WARNING)
    return True


def run_on_ray(args: ModelArgs, listing: Listing, run: RunSettings, store: Store, shards: list[list[Item]],
               pending: list[int], progress: Progress | None, address: str | None,
               actors: int | None) -> tuple[list[int], bool]:
    """The pending shards through Ray Data; returns the shards written and whether the run was stopped."""
    if not pending:
        return [], False
    started = start_cluster(address)
    import ray
    import torch

    total = len(listing.items)
    done_images = total - sum(len(shards[i]) for i in pending)
    computed: list[int] = []
    gpus = 1 if torch.cuda.is_available() and args.device.startswith("cuda") else 0
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the caller's progress (the CLI's bar) counts the images
    context.print_on_execution_start = False
    pool = max(1, min(actors or DEFAULT_ACTORS, len(pending)))
    try:
        items = ray.data.from_items([{"shard": i} for i in pending])
        decoded = items.map(decode_shard, fn_kwargs={"listing": listing, "shards": shards, "args": args})  # type: ignore[arg-type]
        ds = decoded.map_batches(ExplainShards, batch_size=1, num_gpus=gpus,
                            compute=ray.data.ActorPoolStrategy(size=pool),
                            fn_constructor_kwargs={"args": args, "listing": listing, "shards": shards,
                                                   "settings": run, "store": str(store.folder)})
        for row in ds.iter_rows():
            index = int(row["shard"])
            computed.append(index)
            done_images += len(shards[index])
            try:
                report(progress, done_images / total)
            except Cancelled:
                return computed, len(computed) < len(pending)
    finally:
        if started:
            ray.shutdown()
    return computed, False
