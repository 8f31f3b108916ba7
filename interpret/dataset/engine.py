"""`explain_dataset`: explain every image of a source into a resumable store, on this machine or a Ray cluster.

The listing is cut into shards of `shard_images` images in its fixed order; a shard is the unit of work, of
writing and of resuming (store.py). The local engine decodes the next shard in a background thread while the
model works on the current one; the Ray engine (ray_engine.py) runs the same shards on a cluster. Both call
work.ShardWork, so they write the same rows. Progress goes through the one protocol (interpret.progress): the
fraction of images done; raising Cancelled from it (or Ctrl-C) stops after the shard in hand, which is not
written, and keeps every shard written before.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import platform
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..attribution import REGISTRY
from ..attribution.requirements import applicable
from ..errors import InterpretError, ParameterError
from ..models import DEFAULT_SPEC, LoadedModel, load_model
from ..preprocess import Preprocessing
from ..progress import Cancelled, Progress, report
from .channels import channels_layer
from .listing import Item, Listing, open_listing
from .store import SCHEMA_VERSION, Store
from .work import TARGET_KINDS, RunSettings, ShardWork, decode_items

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class ModelArgs:
    """How to load the model: what a Ray worker needs to load the same model (a LoadedModel does not travel)."""

    spec: str = DEFAULT_SPEC
    device: str = "cpu"
    weights: str | None = None
    class_names: tuple[str, ...] | None = None
    trust_code: bool = False
    preprocessing: Preprocessing | None = None
    activation: str | None = None
    model_kwargs: dict[str, Any] | None = None
    prefer: str | None = None

    def load(self, device: str | None = None) -> LoadedModel:
        return load_model(self.spec, device or self.device, weights=self.weights, class_names=self.class_names,
                          trust_code=self.trust_code, preprocessing=self.preprocessing, activation=self.activation,
                          model_kwargs=self.model_kwargs, prefer=self.prefer)


@dataclass(frozen=True)
class RunSummary:
    """What a run did: the store, the images and rows it holds, the shards computed now and skipped as done."""

    store: Path
    images: int
    shards: int
    computed: int
    skipped: int
    seconds: float
    stopped: bool = False
    computed_images: int = 0

    @property
    def images_per_second(self) -> float:
        return 0.0 if self.seconds <= 0 else self.computed_images / self.seconds


def shards_of(items: list[Item], size: int) -> list[list[Item]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def versions() -> dict[str, str]:
    """The library versions a store's maps depend on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("interpret-image-models", "torch", "torchvision", "numpy", "captum"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def manifest_of(lm: LoadedModel, listing: Listing, settings: RunSettings) -> dict:
    """Everything the store's rows depend on (compared on a rerun: a change is refused, naming it)."""
    return {"schema": SCHEMA_VERSION, "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": {"spec": lm.spec, "key": lm.key, "classes": lm.num_classes, "activation": lm.activation},
            "preprocessing": dataclasses.asdict(lm.preprocessing), "settings": settings.describe(),
            "seeds": "a method with a seed runs each image with (first 8 hex digits of its id + the seed) mod 2**31",
            "listing": {"name": listing.name, "images": len(listing.items), "labelled": listing.labelled,
                        "sha256": listing.fingerprint()},
            "versions": versions()}


def check_settings(lm: LoadedModel, listing: Listing, settings: RunSettings) -> RunSettings:
    """Refuse what cannot run before any image is read; return the settings with every parameter resolved."""
    if not settings.methods:
        raise ParameterError("Name at least one method (--methods).")
    for method in settings.methods:
        if method not in REGISTRY:
            raise ParameterError(f"Unknown method '{method}'; `interpret methods` lists them.")
        can, why = applicable(lm, method, settings.objective)
        if not can:
            raise ParameterError(why)
    if settings.targets not in TARGET_KINDS and not (settings.targets.isascii() and settings.targets.isdigit()):
        raise ParameterError(f"--targets is one of {', '.join(TARGET_KINDS)} or a class index, not '{settings.targets}'.")
    if settings.targets.isdigit() and int(settings.targets) >= lm.num_classes:
        raise ParameterError(f"Class {settings.targets} is out of range: the model has {lm.num_classes} classes.")
    if settings.targets in ("label", "both", "contrast") and not listing.labelled:
        raise ParameterError(f"--targets {settings.targets} needs labels, and '{listing.name}' has none.")
    if settings.shard_images < 1:
        raise ParameterError("A shard holds at least one image.")
    if settings.channels is not None:
        channels_layer(lm, settings.channels)
    params = {m: REGISTRY[m].resolve_params(settings.params.get(m)) for m in settings.methods}
    return dataclasses.replace(settings, params=params)


def explain_dataset(source: str | Path | Listing, out: str | Path, model: str | ModelArgs | LoadedModel = DEFAULT_SPEC,
                    methods: Sequence[str] = ("gradient",), engine: str = "local", overwrite: bool = False,
                    progress: Progress | None = None, ray_address: str | None = None, actors: int | None = None,
                    **settings: Any) -> RunSummary:
    """Explain every image of `source` with `methods` into the store folder `out`; resume it if it was stopped.

    `settings` are RunSettings' fields (targets, objective, layer, params, scores, full_maps, top_k,
    shard_images, channels: a layer whose per-channel maxima every image keeps). `engine="ray"` runs on the
    Ray cluster at `ray_address` (or RAY_ADDRESS; a local one otherwise) with `actors` model actors; `model`
    must then be a spec or ModelArgs (each actor loads it)."""
    check_engine(engine)
    args = ModelArgs(spec=model) if isinstance(model, str) else model if isinstance(model, ModelArgs) else None
    lm = model if isinstance(model, LoadedModel) else args.load() if args is not None else None
    assert lm is not None
    if engine == "ray" and args is None:
        raise ParameterError("The Ray engine loads the model in every actor: give a model spec or ModelArgs, "
                             "not a loaded model.")
    if args is not None and args.preprocessing is None:  # resolved once here: decoding tasks never load the model
        args = dataclasses.replace(args, preprocessing=lm.preprocessing)
    listing = source if isinstance(source, Listing) else open_listing(source)
    run = check_settings(lm, listing, RunSettings(methods=tuple(methods), **settings))
    store = Store(out)
    store.prepare(manifest_of(lm, listing, run), overwrite=overwrite)
    shards = shards_of(listing.items, run.shard_images)
    pending = [i for i in range(len(shards)) if i not in store.done()]
    began = time.perf_counter()
    if engine == "ray":
        from .ray_engine import run_on_ray

        assert args is not None
        computed, stopped = run_on_ray(args, listing, run, store, shards, pending, progress, ray_address, actors)
    else:
        computed, stopped = run_locally(lm, listing, run, store, shards, pending, progress)
    return RunSummary(store.folder, len(listing.items), len(shards), len(computed), len(shards) - len(pending),
                      time.perf_counter() - began, stopped, sum(len(shards[i]) for i in computed))


def run_locally(lm: LoadedModel, listing: Listing, run: RunSettings, store: Store, shards: list[list[Item]],
                pending: list[int], progress: Progress | None) -> tuple[list[int], bool]:
    """The pending shards in order, each decoded in a background thread while the one before is explained."""
    work = ShardWork(lm, run, [item.label for item in listing.items])
    total = len(listing.items)
    done_images = total - sum(len(shards[i]) for i in pending)
    computed: list[int] = []
    with listing.reader() as read, ThreadPoolExecutor(max_workers=1, thread_name_prefix="interpret-decode") as pool:
        def decode(index: int) -> Any:
            return pool.submit(decode_items, shards[index], read, lm.preprocessing.model_view)

        upcoming = decode(pending[0]) if pending else None
        for n, index in enumerate(pending):
            assert upcoming is not None
            decoded = upcoming.result()
            upcoming = decode(pending[n + 1]) if n + 1 < len(pending) else None
            rows, full = work.rows(decoded)
            store.write_shard(index, rows, full)
            computed.append(index)
            done_images += len(shards[index])
            try:
                report(progress, done_images / total)
            except Cancelled:
                if upcoming is not None:
                    upcoming.cancel()
                return computed, n + 1 < len(pending)
    return computed, False


def check_engine(engine: str) -> None:
    """Refuse an unknown engine, and one that is not installed, saying how to install it."""
    if engine not in ENGINES:
        raise ParameterError(f"--engine is one of {', '.join(ENGINES)}, not '{engine}'.")
    if engine == "ray" and importlib.util.find_spec("ray") is None:  # found, not imported: ray_engine imports it
        raise InterpretError("The Ray engine needs Ray: pip install -e \".[scale]\" in a checkout, or "
                             "pip install \"interpret-image-models[scale]\".")
