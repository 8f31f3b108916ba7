"""Streamlit parts of the Feature maps page: layer browser, channel mosaic, one channel, comparisons.

Everything computed is cached per (model, photo, layer[, target]): the model and the photo are plain
arguments keyed by `caching.HASH_FUNCS`. A page that shows one layer holds only that layer's
activations (one entry per photo shown).
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ..capture import SCRIPTED
from ..features import (
    PER_PAGE,
    SORT_LABELS,
    SORTS,
    FeatureVisualization,
    LayerActivations,
    channel_mosaic,
    channel_order,
    channel_stats,
    grad_x_activation,
    histogram,
    layer_activations,
    page_count,
    visualize_channel,
)
from ..features.parameterization import PARAMETERIZATIONS
from ..images import InputImage
from ..layers import LayerInfo, default_feature_layer, layer_info
from ..models import LoadedModel
from ..progress import Progress
from ..render import colorize, mosaic_scale, normalise, overlay
from .answers import answer, cam_layer, layers_of
from .caching import cache_data
from .downloads import map_png_bytes, npy_bytes, png_bytes
from .live_task import OneJob, Phase, one_job
from .map_image import channel_mode, channel_scale, scale_note, show_map, show_maps
from .plain import plain
from .predictions import predicted_class
from .report_view import note_picture
from .shared_lru import SharedLRU
from .url_state import persistent
from .widgets import class_picker

CMAPS = ["viridis", "inferno", "magma", "gray", "jet"]
MORE_VIEWS = ("Same channel, all photos", "Two layers side by side", "What does this channel look for?")


def more_picker(key: str = "fm") -> str | None:
    """Which of MORE_VIEWS to show about the chosen channel (None: none), kept across page switches like every
    choice of a page (url_state.persistent), so a switch neither loses it nor hides a visualisation that runs."""
    return persistent(st.radio, "More about this channel", options=list(MORE_VIEWS), default=None, horizontal=True,
                      key=f"{key}-more", help="Each is computed only when chosen (tabs computed all three on every run).")


# ---------------------------------------------------------------- cached computations


@cache_data(max_entries=48, show_spinner="Capturing the layer…")
def cached_activations(lm: LoadedModel, image: InputImage, layer: str) -> LayerActivations:
    """One photo's activations of one layer (C x H x W or C), from one forward pass (NotAnsweredError past the bound)."""
    return answer(lm, f"activations|{image.sha256}|{layer}", f"the activations of {layer}",
                  lambda: layer_activations(lm, lm.preprocessing.to_tensor(image.image), layer),
                  nbytes=lambda acts: int(acts.values.nbytes))


@cache_data(max_entries=48, show_spinner="Computing gradient × activation…")
def cached_grad_scores(lm: LoadedModel, image: InputImage, layer: str, target: int) -> np.ndarray:
    """Per channel: sum over space of d score(target) / d A * A, for one photo (NotAnsweredError past the bound)."""
    def work() -> np.ndarray:
        _, scores = grad_x_activation(lm, lm.preprocessing.to_tensor(image.image), layer, target)
        return scores[0]

    return answer(lm, f"grad-x-activation|{image.sha256}|{layer}|{target}", f"gradient × activation of {layer}", work,
                  nbytes=lambda scores: int(scores.nbytes))


@st.cache_resource
def _vis_store() -> SharedLRU:
    """Finished feature visualisations shared by all sessions (not st.cache_data: the optimisation
    draws a progress bar while it runs; a stopped run stores nothing)."""
    return SharedLRU(64)


# ---------------------------------------------------------------- small helpers


def channel_overlay(lm: LoadedModel, image: InputImage, channel_map: np.ndarray, cmap: str, alpha: float = 0.75) -> np.ndarray:
    """Where one channel fires (its positive part), upsampled onto the pixels the model sees."""
    return overlay_channel(lm.preprocessing.model_view(image.image), channel_map, cmap, alpha)


def overlay_channel(photo: np.ndarray, channel_map: np.ndarray, cmap: str, alpha: float = 0.75) -> np.ndarray:
    """One channel's map over `photo` (the pixels the model saw, H x W x 3 uint8), upsampled: its positive part.

    Places where it is silent let the photo show; a channel that is nowhere positive is drawn by magnitude.
    """
    mode = channel_mode(channel_map)  # the same rule as its colour bar (map_image.channel_scale)
    heat = colorize(channel_map, mode, cmap, clip_percentile=99.5)
    weight = normalise(channel_map, mode, 99.5)
    return overlay(photo, heat, alpha, weight=0.2 + 0.8 * weight)


def _scope(lm: LoadedModel) -> str:
    return f"{lm.spec}|{lm.num_classes}"


# ---------------------------------------------------------------- layer browser


def tree_order(layers: tuple[LayerInfo, ...]) -> list[LayerInfo]:
    """The layers as a tree reads: each parent before its children, siblings in the order they first run. The
    layers are listed as they finish running (a block after its layers), so each name is sorted by, for itself and
    each of its parents, the first run of anything under it."""
    first: dict[str, int] = {}
    for info in layers:
        parts = info.name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            first[prefix] = min(first.get(prefix, info.order), info.order)

    def key(info: LayerInfo) -> tuple[int, ...]:
        parts = info.name.split(".")
        return tuple(first[".".join(parts[:i])] for i in range(1, len(parts) + 1))

    return sorted(layers, key=key)


def layer_tree_rows(layers: tuple[LayerInfo, ...], query: str = "", spatial_only: bool = False) -> list[dict]:
    """The model's modules as indented tree rows (`tree_order`), filtered by a case-insensitive query on name or
    type."""
    query = query.strip().lower()
    rows = []
    for info in tree_order(layers):
        if spatial_only and not info.spatial:
            continue
        if query and query not in info.name.lower() and query not in info.type.lower():
            continue
        short = info.name.rsplit(".", 1)[-1]
        rows.append({
            "module": ("│ " * info.depth) + ("└ " if info.depth else "") + short,
            "name": info.name, "type": info.type, "output shape": " × ".join(map(str, info.output_shape)),
            "parameters": info.params, "spatial": map_description(info),
        })
    return rows


def map_description(info: LayerInfo) -> str:
    """How a layer's output is read as a map ('▦ tokens 14×14, 1 prefix token dropped'), or why it is not one."""
    if not info.spatial:
        return f"not a map: {info.reason}" if info.reason else ""
    grid = f" {info.grid[0]}×{info.grid[1]}" if info.grid else ""
    dropped = f", {info.prefix} prefix token{'s' if info.prefix > 1 else ''} dropped" if info.prefix else ""
    return f"▦ {info.spatial}{grid}{dropped}"


def unit_labels(acts: LayerActivations, units: np.ndarray) -> list[str]:
    """Bar labels for a layer's units: '#3 · tabby' where the units are the model's classes, else '#3'."""
    names = acts.unit_names
    return [f"#{int(c)} · {names[int(c)]}" if names is not None and int(c) < len(names) else f"#{int(c)}" for c in units]


def layer_browser(lm: LoadedModel, key: str = "fm") -> str | None:
    """A searchable tree of the model's layers and a picker for the one to show (default: a middle block)."""
    layers = layers_of(lm)
    if not layers:
        st.info(SCRIPTED if not lm.hookable else "This model exposes no layers whose outputs are tensors.")
        return None
    scope = _scope(lm)
    left, right = st.columns([3, 1])
    query = left.text_input("Search layers", key=f"{key}-search|{scope}", placeholder="name or type, e.g. layer2 or Conv2d")
    spatial_only = right.toggle("Spatial outputs only", value=False, key=f"{key}-spatial|{scope}")
    rows = layer_tree_rows(layers, query, spatial_only)
    with st.expander(f"Model structure: {len(rows)} of {len(layers)} layers (▦ = spatial output)", expanded=False):
        st.dataframe(rows, hide_index=True, width="stretch", height=320,
                     column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    names = [r["name"] for r in rows]
    if not names:
        st.warning(f"No layer matches '{plain(query)}'.")
        return None
    default = default_feature_layer(lm)
    by_name = {info.name: info for info in layers}
    return persistent(st.selectbox, "Layer", options=names, default=default if default in names else names[0], url="layer",
                      format_func=lambda n: by_name[n].label + (" ▦" if by_name[n].spatial else ""),
                      key=f"{key}-layer|{scope}", help="Type to search. ▦ marks layers with a spatial output.")


# ---------------------------------------------------------------- channel ordering


def order_controls(lm: LoadedModel, image: InputImage, key: str = "fm") -> tuple[str, int | None]:
    """Sort choice and, for 'grad', the target class (default: the predicted class)."""
    left, right = st.columns(2)
    with left:
        by = persistent(st.selectbox, "Sort channels by", options=list(SORTS), default=SORTS[0], url="sort",
                        format_func=SORT_LABELS.get, key=f"{key}-sort",
                        help="Top channels first. 'drive on the target class' = gradient × activation summed over space.")
    target = None
    if by == "grad":
        with right:
            target = class_picker(lm, f"{key}-target", predicted_class(lm, image), url="target")
    return by, target


def ordered(lm: LoadedModel, image: InputImage, layer: str, by: str,
            target: int | None) -> tuple[LayerActivations, np.ndarray, np.ndarray | None]:
    """(activations, channel order top first, grad × activation scores or None) for one photo and layer."""
    acts = cached_activations(lm, image, layer)
    if by == "grad" and target is None:
        raise ValueError("Ordering channels by their drive on a class needs the class.")
    scores = cached_grad_scores(lm, image, layer, target) if by == "grad" and target is not None else None
    return acts, channel_order(acts.image(0), by, scores), scores


# ---------------------------------------------------------------- views


def mosaic_view(acts: LayerActivations, order: np.ndarray, image: InputImage, key: str = "fm") -> str:
    """All channels as one mosaic, paged above PER_PAGE tiles, with PNG and .npy downloads; returns the colour map."""
    values = acts.image(0)
    cols = st.columns([1, 1, 1, 2])
    shared = cols[0].toggle("Shared scale", value=False, key=f"{key}-shared",
                            help="Off: each tile uses its own range. On: one range for the whole layer.")
    with cols[1]:
        cmap = persistent(st.selectbox, "Colour map", options=list(CMAPS), default=CMAPS[0], url="cmap", key=f"{key}-cmap")
    pages = page_count(len(order))
    page = cols[2].number_input(f"Page (of {pages})", 1, pages, 1, key=f"{key}-page|{acts.layer}") - 1 if pages > 1 else 0
    picture = channel_mosaic(values, order, int(page), shared_scale=shared, cmap=cmap)
    first, last = int(page) * PER_PAGE + 1, min(len(order), (int(page) + 1) * PER_PAGE)
    scale = mosaic_scale(values, shared, cmap)
    show_map(picture, scale, f"{acts.layer}: channels {first}–{last} of {len(order)} · {values.shape[1]}×{values.shape[2]} "
             f"each · {'shared' if shared else 'per-channel'} scale · number = channel index", lines=1)
    scale_note([scale])
    note_picture("feature-mosaic", f"Feature maps of {acts.layer}", picture, f"{image.name}: channels {first}–{last}", scale)
    stem = f"{image.name.rsplit('.', 1)[0]}_{acts.layer}"
    d1, d2 = cols[3].columns(2)
    d1.download_button("Mosaic PNG", map_png_bytes(picture, scale), f"{stem}_mosaic.png", "image/png", key=f"{key}-dl-png")
    d2.download_button("Activations .npy", npy_bytes(values), f"{stem}.npy", "application/octet-stream", key=f"{key}-dl-npy",
                       help=f"float32, channels first: {' × '.join(map(str, values.shape))}")
    return cmap


def channel_picker(order: np.ndarray, layer: str, by: str, target: int | None, key: str = "fm") -> int:
    """One channel; the list follows the current sort, and a new sort starts again at its top channel."""
    options = [int(c) for c in order]
    return int(persistent(st.selectbox, "Channel (in the current order)", options=options, default=options[0], url="channel",
                          key=f"{key}-channel|{layer}|{by}|{target}", help="Type a channel index to jump to it."))


def channel_view(lm: LoadedModel, image: InputImage, acts: LayerActivations, channel: int,
                 grad_scores: np.ndarray | None, cmap: str = "viridis") -> None:
    """One channel large over the photo, its statistics, and the histogram of the whole layer."""
    values = acts.image(0)
    left, right = st.columns(2)
    show_map(channel_overlay(lm, image, values[channel], cmap), channel_scale(values[channel], cmap),
             f"channel {channel} of {acts.layer}, upsampled from {values.shape[1]}×{values.shape[2]} onto the photo "
             "(bright = strongly positive)", target=left)
    stats = channel_stats(values, channel)
    with right:
        m = st.columns(4 if grad_scores is not None else 3)
        m[0].metric("Mean", f"{stats.mean:.3g}")
        m[1].metric("Max", f"{stats.max:.3g}")
        m[2].metric("Zeros (≤ 0)", f"{stats.zeros:.1%}")
        if grad_scores is not None:
            m[3].metric("Grad × act", f"{float(grad_scores[channel]):.3g}")
        counts, edges = histogram(values)
        st.caption(f"Histogram of all {values.size:,} activations of {acts.layer} (channel {channel}: mean {stats.mean:.3g})")
        centres = [f"{v:.3g}" for v in (edges[:-1] + edges[1:]) / 2]
        st.bar_chart({"activation": centres, "count": counts}, x="activation", y="count", sort=False, height=220)


def across_photos_view(lm: LoadedModel, images: list[InputImage], layer: str, channel: int, cmap: str) -> None:
    """The same channel for every loaded photo, side by side (each photo's capture is cached on its own)."""
    pictures, captions, scales = [], [], []
    for im in images:
        acts = cached_activations(lm, im, layer)
        values = acts.image(0)
        if channel >= values.shape[0]:
            continue
        pictures.append(channel_overlay(lm, im, values[channel], cmap))
        scales.append(channel_scale(values[channel], cmap))
        captions.append(f"{im.name} · mean {values[channel].mean():.3g} · max {values[channel].max():.3g}")
    show_maps(pictures, scales, captions, columns=4)
    scale_note(scales)


def top_units(values: np.ndarray, order: np.ndarray, by: str, top: int = 20) -> tuple[np.ndarray, str]:
    """The units a bar chart of a layer's top units shows, and the order they are in: the first `top` of `order`, or
    of the units by value where the order is the index (units 0-19 of a classifier are no top: the defect)."""
    if by == "index":
        return channel_order(values, "mean")[:top], "by activation"
    return order[:top], f"by {SORT_LABELS[by]}"


def units_view(acts: LayerActivations, order: np.ndarray, image: InputImage, top: int = 20, key: str = "fm",
               by: str = "index") -> None:
    """A layer without a spatial output (linear, pooled): its top units as a bar chart (`top_units`)."""
    values = acts.image(0)
    chosen, how = top_units(values, order, by, top)
    st.bar_chart({"unit": unit_labels(acts, chosen), "activation": values[chosen]}, x="unit", y="activation",
                 sort=False, height=320)
    classes = " (one unit per class)" if acts.unit_names is not None else ""
    st.caption(f"{acts.layer} has no spatial output ({' × '.join(map(str, acts.raw_shape))}): the top {len(chosen)} of "
               f"{len(values)} units{classes} {how}.")
    st.download_button("Activations .npy", npy_bytes(values), f"{image.name.rsplit('.', 1)[0]}_{acts.layer}.npy",
                       "application/octet-stream", key=f"{key}-dl-npy")


def compare_view(lm: LoadedModel, image: InputImage, layer: str, by: str, target: int | None,
                 cmap: str, key: str = "fm", count: int = 64) -> None:
    """Two layers side by side, each as the mosaic of its top `count` channels in the current order."""
    names = [info.name for info in layers_of(lm) if info.spatial]
    if not names:
        return
    default = cam_layer(lm)
    other = st.selectbox("Compare with", names, index=names.index(default) if default in names else len(names) - 1,
                         format_func=lambda n: layer_info(lm, n).label, key=f"{key}-compare|{_scope(lm)}")
    columns = st.columns(2)
    for column, name in zip(columns, [layer, other], strict=True):
        info = layer_info(lm, name)
        if not info.spatial:
            column.info(f"{name} has no spatial output.")
            continue
        acts, order, _ = ordered(lm, image, name, by, target)
        show_map(channel_mosaic(acts.image(0), order[:count], cmap=cmap), mosaic_scale(acts.image(0), False, cmap),
                 f"{name} · top {min(count, len(order))} of {len(order)} channels by {SORT_LABELS[by]}", target=column)


def visualization_view(lm: LoadedModel, layer: str, channel: int, key: str = "fm") -> FeatureVisualization | None:
    """'What does this channel look for?': activation maximisation, run on request, stoppable, cached. Returns the
    finished visualisation, or None while there is none."""
    cols = st.columns(4)
    steps = cols[0].select_slider("Steps", [32, 64, 128, 256, 512], value=128, key=f"{key}-vis-steps")
    param = cols[1].selectbox("Image parameterisation", PARAMETERIZATIONS, key=f"{key}-vis-param",
                              help="fourier: 1/f-scaled Fourier coefficients (smoother images); pixel: raw pixels")
    decorrelate = cols[2].toggle("Decorrelated colours", value=True, key=f"{key}-vis-decorrelate")
    transforms = cols[3].toggle("Robustness transforms", value=True, key=f"{key}-vis-transforms",
                                help="random padding, jitter, scale and rotation at every step")
    store = _vis_store()
    cache_key = f"{lm.key}|{layer}|{channel}|{steps}|{param}|{decorrelate}|{transforms}"
    label = f"Visualising channel {channel} of {layer}"

    def work(progress: Progress) -> FeatureVisualization:
        found = visualize_channel(lm, layer, channel, steps=steps, parameterization=param, decorrelate=decorrelate,
                                  transforms=transforms, progress=progress)
        store.put(cache_key, found)
        return found

    found = store.get(cache_key)
    if found is None:
        spec = OneJob(f"{key}-vis", cache_key, label, None, work, go=f"Visualise channel {channel} of {layer}",
                      asking="Runs in the background on a private copy of the model; other controls stay usable, and "
                             "Stop ends it.", again=f"Visualise channel {channel} of {layer}", bar=lambda job: label,
                      device=str(lm.device), stop_help="Stop the optimisation (it runs in the background).",
                      nbytes=lambda r: int(r.image.nbytes), group=lm.key,
                      keys={"go": f"{key}-vis-run", "again": f"{key}-vis-run", "stop": f"{key}-vis-stop"})
        phase, job = one_job(spec)
        found = job.result if phase is Phase.DONE and job is not None else None
    if found is not None:
        visualization_result(found, layer, channel, steps, param, key)
    return found


def visualization_result(result, layer: str, channel: int, steps: int, param: str, key: str = "fm") -> None:
    """A finished visualisation: the image, its objective per step, and its PNG."""
    left, right = st.columns(2)
    left.image(result.image, width="stretch",
               caption=f"What channel {channel} of {layer} looks for ({steps} steps, {param}, {result.seconds:.1f} s)")
    right.line_chart({"step": list(range(1, len(result.objective) + 1)), "mean activation": list(result.objective)},
                     x="step", y="mean activation", height=240)
    right.download_button("Visualisation PNG", png_bytes(result.image), f"{layer}_{channel}_visualisation.png",
                          "image/png", key=f"{key}-vis-dl")
