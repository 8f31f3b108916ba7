"""Attribution maps in the app: each computed once for every session, and drawn with the display settings.

Finished maps live in a SharedLRU rather than st.cache_data: computing a map draws a progress bar,
and st calls made inside a cached function are recorded and replayed on every later hit. A map whose
computation was stopped stores nothing; the maps finished before it stay stored.

On the live pages a map is a background job (`map_task`: interpret/jobs.py through ui/jobs_view.py's one store),
keyed by `map_key`: a rerun, a page switch or another session asking for the same map attaches to it. Its
estimate (`map_estimate`) is the method's `passes()` times the measured time of one forward + backward pass on
this model and device (ui/costs.py's `pass_seconds`, measured once per model key), except for the methods that score masked
copies of the photo in batched forward-only passes (Score-CAM, Occlusion, RISE: their `masked_forwards`): their count of
masked images times the measured forward-only time of one image in a batch (ui/costs.py's `forward_seconds`).
Score-CAM's count is its distinct masks (channels zero everywhere share one), read from the layer's activations:
one forward up to the layer, once per model, photo, layer and channel setting.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
import torch

from ..attribution import REGISTRY, Attribution, Target, attribute
from ..attribution.batch import attribute_batch
from ..attribution.cams import distinct_masks
from ..attribution.requirements import applicable, split_applicable
from ..features.activations import layer_activations
from ..images import InputImage
from ..jobs import Job, estimate_seconds
from ..models import LoadedModel
from ..progress import Progress
from ..render import colorize, shown_cmap
from ..render import overlay as blend
from .answers import answer, layers_of, requirements_checked
from .costs import forward_seconds, measured, pass_seconds
from .errors import user_errors
from .jobs_view import Decide, job_store
from .live_task import Task, task
from .plain import plain
from .progress_bar import progress_bar
from .shared_lru import SharedLRU
from .widgets import DisplaySettings

computations = {"count": 0}  # maps actually computed (not served from the store): evidence for tests


@st.cache_resource
def _maps() -> SharedLRU:
    return SharedLRU(512)


def map_key(lm: LoadedModel, image: InputImage, method: str, params: dict[str, Any], target: Target,
            layer: str | None) -> str:
    """Everything that makes a map what it is, as one string."""
    return "|".join(map(str, (lm.key, image.sha256, method, sorted(params.items()), target.index, target.objective,
                              target.contrast, layer)))


def cached_map(lm: LoadedModel, image: InputImage, method: str, params: dict[str, Any], target: Target,
               layer: str | None = None, progress: Progress | None = None) -> Attribution:
    """One map, computed once per key for every session (the others wait for the first)."""
    return _maps().get_or_compute(map_key(lm, image, method, params, target, layer),
                                  lambda: _compute_map(lm, image, method, params, target, layer, progress))


def _compute_map(lm: LoadedModel, image: InputImage, method: str, params: dict[str, Any], target: Target,
                 layer: str | None, progress: Progress | None) -> Attribution:
    computations["count"] += 1
    x = lm.preprocessing.to_tensor(image.image)
    return attribute(lm, x, method, target, layer=layer, params=dict(params), progress=progress)


def compute_maps(lm: LoadedModel, image: InputImage, methods: list[str], params: dict[str, dict[str, Any]],
                 target: Target, layer: str | None) -> list[Attribution]:
    """Every chosen map that can be computed; a progress bar shows while one is computed, and any click interrupts it.

    A method that does not apply to this model is one st.warning with its reason; a method that fails (a setting it
    refuses, a run-time failure) is one st.error naming it; the other methods' maps are still returned.
    """
    results = []
    for method in methods:
        can, reason = applicable(lm, method, target.objective)
        if not can:
            st.warning(plain(reason), icon="🚫")
            continue
        use_layer = layer if REGISTRY[method].uses_layer else None
        label = REGISTRY[method].label
        with user_errors(str(lm.device), label), progress_bar(f"Computing {label}…") as progress:
            results.append(cached_map(lm, image, method, params.get(method, {}), target, use_layer, progress))
    return results


def map_passes(lm: LoadedModel, image: InputImage, method: str, params: dict[str, Any], layer: str | None) -> int:
    """The passes `method` needs here (Score-CAM over all channels counts the chosen layer's channels)."""
    spec = REGISTRY[method]
    height, width = lm.preprocessing.to_tensor(image.image).shape[-2:]
    resolved = spec.resolve_params(params)
    if method == "scorecam" and not resolved.get("channels") and layer:
        info = next((i for i in layers_of(lm) if i.name == layer), None)
        if info is not None and info.spatial is not None:
            return 1 + (info.output_shape[0] if info.spatial == "nchw" else info.output_shape[-1])
    return spec.passes(size=(int(height), int(width)), **resolved)


def scorecam_masks(lm: LoadedModel, image: InputImage, layer: str, channels: int = 0) -> int:
    """Score-CAM's masked forwards on this photo: its distinct masks among the channels it keeps (all, or the
    `channels` of largest mean activation), as attribution/cams.py scores them; one forward up to the layer,
    counted once per model, photo, layer and setting."""
    def count() -> int:
        a = torch.from_numpy(layer_activations(lm, lm.preprocessing.to_tensor(image.image), layer).values[0])
        if channels and channels < len(a):
            a = a[a.mean((1, 2)).topk(channels).indices]
        return len(distinct_masks(a)[0])

    return measured(("scorecam-masks", lm.key, image.sha256, layer, channels),
                    lambda: answer(lm, f"scorecam-masks|{image.sha256}|{layer}|{channels}", "counting Score-CAM's masks",
                                   count))


def masked_forwards(lm: LoadedModel, image: InputImage, method: str, params: dict[str, Any], layer: str | None) -> int:
    """Masked images a `masked_forwards` method scores here: Score-CAM its distinct masks plus the activations'
    forward, Occlusion its windows plus the clean image, RISE its masks."""
    resolved = REGISTRY[method].resolve_params(params)
    if method == "scorecam" and layer:
        return 1 + scorecam_masks(lm, image, layer, int(resolved.get("channels") or 0))
    return map_passes(lm, image, method, params, layer)


def map_estimate(lm: LoadedModel, image: InputImage, method: str, params: dict[str, Any], layer: str | None) -> float:
    """Seconds this map should take on this model and device (see the module's docstring)."""
    if REGISTRY[method].masked_forwards:
        x = lm.preprocessing.to_tensor(image.image)
        return estimate_seconds(masked_forwards(lm, image, method, params, layer), forward_seconds(lm, x))
    return estimate_seconds(map_passes(lm, image, method, params, layer), pass_seconds(lm, image))


def map_task(lm: LoadedModel, image: InputImage, method: str, params: dict[str, Any], target: Target,
             layer: str | None, decide: Decide = lambda key: None) -> Task:
    """The state of one map on a live page, submitting its job when it may start (`live_task.task`'s rule)."""
    use_layer = layer if REGISTRY[method].uses_layer else None

    def work(progress: Progress) -> Attribution:  # the map store is filled by `task`, once
        return _compute_map(lm, image, method, params, target, use_layer, progress)

    return task(map_key(lm, image, method, params, target, use_layer), REGISTRY[method].label,
                map_estimate(lm, image, method, params, use_layer), work, decide, _maps(),
                nbytes=lambda a: int(a.values.nbytes), group=lm.key)


def batch_key(keys: list[str]) -> str:
    """The job key of one batched computation of the maps under `keys`."""
    return "batch||" + "||".join(keys)


def batch_job(lm: LoadedModel, images: list[InputImage], method: str, params: dict[str, Any], targets: list[Target],
              layer: str | None, estimate: float) -> Job:
    """One background job computing `method`'s maps of several photos together (`attribute_batch`: batched passes,
    one target per photo); each map is stored under its own `map_key`, so the single-photo view and the photo
    grid share them (a map of a batch equals the photo's map alone, attribution/batch.py tests it)."""
    use_layer = layer if REGISTRY[method].uses_layer else None
    keys = [map_key(lm, image, method, params, t, use_layer) for image, t in zip(images, targets, strict=True)]

    def work(progress: Progress) -> list[Attribution]:
        computations["count"] += len(images)
        xs = torch.cat([lm.preprocessing.to_tensor(image.image) for image in images])
        results = attribute_batch(lm, xs, method, targets, layer=use_layer, params=dict(params), progress=progress)
        for key, result in zip(keys, results, strict=True):
            _maps().put(key, result)
        return results

    label = f"{REGISTRY[method].label} ({len(images)} photos)"
    return job_store().submit(batch_key(keys), work, label, estimate,
                              nbytes=lambda maps: sum(int(a.values.nbytes) for a in maps), group=lm.key)


def stored_map(key: str) -> Attribution | None:
    """A finished map from the store shared by every session, or None."""
    return _maps().get(key)


def usable_methods(lm: LoadedModel, methods: list[str], objective: str | None = None) -> list[str]:
    """The chosen methods that can compute an honest map on this model (of `objective`, when named); each other one
    is one warning with its reason (a link, an earlier model or another objective may have chosen it)."""
    requirements_checked(lm)
    usable = []
    for method in methods:
        can, reason = applicable(lm, method, objective)
        if can:
            usable.append(method)
        else:
            st.warning(plain(reason), icon="🚫")
    return usable


def offered_methods(lm: LoadedModel, methods: list[str] | None = None) -> list[str]:
    """The methods (all registered ones by default) that can compute an honest map on this model; the others are
    listed in an expander "Not available for this model", each with its one-line reason."""
    requirements_checked(lm)
    offered, refused = split_applicable(lm, list(REGISTRY) if methods is None else methods)
    if refused:
        with st.expander(f"Not available for this model ({len(refused)})"):
            for reason in refused.values():
                st.caption(plain(reason))
    return offered


def shown_image(values: np.ndarray, photo: np.ndarray, settings: DisplaySettings,
                scale: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(overlay on the photo, heat map alone) as RGB arrays, drawn with the display settings."""
    heat = colorize(values, settings.mode, shown_cmap(settings.mode, settings.cmap), settings.clip_percentile, scale)
    return blend(photo, heat, settings.alpha), heat
