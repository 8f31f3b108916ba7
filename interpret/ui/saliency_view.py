"""Saliency page parts: method choice with parameter widgets, and the side-by-side comparison.

Maps come from `maps.compute_maps` (computed once per model, photo, method, parameters, target and
layer, for every session), so display settings never recompute anything.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from .. import limits
from ..attribution import OBJECTIVES, REGISTRY, Attribution, Target
from ..images import InputImage
from ..jobs import Job
from ..metrics.similarity import SAME_MAP_TOLERANCE, same_maps
from ..models import LoadedModel
from ..render import ScaleInfo
from ..report.build import map_caption
from ..report.scales import shared_top
from .answers import cam_layer
from .jobs_view import Decide, decider, duration, job_placeholder, job_store, stop_row
from .live_task import Task, ask, live_tasks, task_controls
from .map_image import display_scale, scale_note, show_map
from .maps import (
    batch_job,
    batch_key,
    map_estimate,
    map_key,
    map_task,
    offered_methods,
    shown_image,
    stored_map,
    usable_methods,
)
from .plain import plain
from .predictions import predicted_class
from .report_view import MapsShown, grid_button, map_downloads, note_maps
from .url_state import carry, persistent
from .widgets import PREDICTED, DisplaySettings, class_key, class_picker, display_controls, layer_picker, param_widgets

DEFAULT_METHODS = ("gradient", "grad_x_input", "guided_backprop", "gradcam")  # one pass each: a quick first view
OBJECTIVE_HELP = {"logit": "the class score",
                  "probability": "the class's probability (softmax, or sigmoid for a sigmoid head)",
                  "loss": "the cross-entropy loss for the class (binary for a sigmoid head; as in the origin article)"}
COLUMNS = 4


def method_picker(lm: LoadedModel, key: str = "sal") -> list[str]:
    """One or several of the methods that apply to this model, by their labels; the others listed with their reason."""
    offered = offered_methods(lm)
    return persistent(st.multiselect, "Methods", options=offered, default=[m for m in DEFAULT_METHODS if m in offered],
                      key=f"{key}-methods", url="methods", format_func=lambda name: REGISTRY[name].label,
                      help="Maps are drawn side by side on the same photo with the same display settings. "
                           "Only the methods that can compute an honest map on this model are offered.")


def settings_view(lm: LoadedModel, methods: list[str], key: str = "sal") -> tuple[dict[str, dict], str | None]:
    """Each chosen method's parameters (in expanders) and, if a CAM is chosen, the layer."""
    params: dict[str, dict] = {}
    with_params = [m for m in methods if REGISTRY[m].params]
    if with_params:
        columns = st.columns(min(len(with_params), COLUMNS))
        for i, method in enumerate(with_params):
            with columns[i % len(columns)].expander(f"{REGISTRY[method].label} settings"):
                params[method] = param_widgets(method, key, url=True)
    layer = None
    if any(REGISTRY[m].uses_layer for m in methods):
        layer = layer_picker(lm, f"{key}-layer", default=cam_layer(lm), label="CAM layer", url="layer")
        if layer is not None and st.button("This layer's channels in Feature maps", key=f"{key}-to-features",
                                           help="Opens Feature maps on this layer, its channels sorted by how much "
                                                "they drive the predicted class: the top one first."):
            carry({"layer": layer, "sort": "grad"})
            st.switch_page("pages/feature_maps.py")
    return {m: params.get(m, {}) for m in methods}, layer


def target_view(lm: LoadedModel, predicted: int, key: str = "sal") -> Target:
    left, right = st.columns([3, 2])
    with left:
        index = class_picker(lm, f"{key}-target", predicted, url="target")
    with right:
        objective = persistent(st.radio, "Explain", options=list(OBJECTIVES), default=OBJECTIVES[0], url="objective",
                               horizontal=True, key=f"{key}-objective", format_func=lambda o: o,
                               help="; ".join(f"{k}: {v}" for k, v in OBJECTIVE_HELP.items()))
    return Target(index, objective)


def render_comparison(lm: LoadedModel, image: InputImage, attributions: list[Attribution], settings: DisplaySettings,
                      show_heat: bool = True, key: str = "sal", chosen: MapsShown | None = None) -> list[Attribution]:
    """The maps side by side on the same photo; returns the ones drawn (blank/constant/NaN maps are reported).
    `chosen`: what the maps were chosen by, for the page's report (the maps drawn and their scales are added)."""
    photo = lm.preprocessing.model_view(image.image)
    drawable = [a for a in attributions if a.status == "ok"]
    for a in attributions:
        if a.status != "ok":
            reason = {"nan": "contains NaN or infinite values", "blank": "is all zeros", "constant": "is constant"}[a.status]
            st.warning(f"{REGISTRY[a.method].label}: the map {reason}, so it is not drawn ({plain(a.caption())}).")
        elif a.note.startswith("WARNING"):  # a method's own check of its map failed (DeepLIFT's summation)
            st.warning(plain(f"{REGISTRY[a.method].label}: {a.note}."))
    scale = shared_top((a.values for a in drawable), settings)
    noted: list[tuple[Attribution, InputImage, ScaleInfo]] = []
    for row in range(0, len(drawable), COLUMNS):
        columns = st.columns(COLUMNS)
        for column, a in zip(columns, drawable[row:row + COLUMNS], strict=False):  # the last row may be short
            with column:
                over, heat = shown_image(a.values, photo, settings, scale)
                shown_scale = display_scale(a.values, settings, scale, len(drawable), a.objective)
                show_map(over, shown_scale, caption(a), bar=not show_heat, lines=3)
                if show_heat:
                    show_map(heat, shown_scale, "heat map", lines=0)
                map_downloads(lm, image, a, shown_scale, settings.alpha, key)
                noted.append((a, image, shown_scale))
    scale_note(display_scale(a.values, settings, scale, len(drawable), a.objective) for a in drawable)
    if chosen is not None:
        note_maps(key, replace(chosen, maps=tuple(noted)))
    for note in same_map_notes(drawable):
        st.caption(plain(note))
    return drawable


GAP_CAMS = frozenset({"gradcam", "xgradcam", "hirescam"})  # one formula where the gradient is constant over space


def same_map_notes(attributions: list[Attribution]) -> list[str]:
    """One sentence per group of the shown maps that are numerically one map (metrics.similarity.same_maps), e.g.
    Grad-CAM, XGrad-CAM and HiResCAM at a layer followed by global average pooling."""
    notes = []
    for group in same_maps([a.values for a in attributions]):
        methods = [attributions[i].method for i in group]
        labels = [REGISTRY[m].label for m in methods]
        names = ", ".join(labels[:-1]) + f" and {labels[-1]}"
        if set(methods) <= GAP_CAMS:
            notes.append(f"{names} are the same map here: at a layer followed by global average pooling the gradient "
                         "of each channel is the same at every position, and their formulas coincide.")
        else:
            notes.append(f"{names} are the same map here (equal within {SAME_MAP_TOLERANCE:g} of their peak value).")
    return notes


caption = map_caption  # a map's caption, as the page and its report write it (plain text: show_map escapes it)


def display_view(key: str = "sal", heat: bool = True) -> tuple[DisplaySettings, bool]:
    """How maps are drawn and (`heat`: where the view can show them) whether each heat map is shown alone too."""
    settings = display_controls(f"{key}-display", url=True)
    if not heat:
        return settings, False
    show_heat = persistent(st.toggle, "Also show the heat maps alone", default=True, key=f"{key}-heat", url="heat")
    return settings, show_heat


def live_comparison(lm: LoadedModel, image: InputImage, methods: list[str], params: dict[str, dict],
                    target: Target, layer: str | None, key: str = "sal") -> list[Attribution]:
    """The display controls and the chosen maps as background jobs, drawn as each finishes: the finished ones at
    once, a progress bar with the time left for each running one (refreshed in place, the rest of the page is not
    rerun), a Compute button for each whose estimate is over AUTO_COMPUTE_SECONDS, and Stop, which cancels the
    running ones and keeps what finished. The display controls are inside the same fragment: changing one
    redraws the maps from the store without rerunning the page (the value is kept at once; the URL shows it from
    the page's next full run: the browser takes query-string changes from full runs only). Returns the maps drawn
    in the page's run (for the trust table below)."""
    usable = usable_methods(lm, methods, target.objective)
    decide, _, _ = decider(key)

    def tasks() -> list[Task]:
        return [map_task(lm, image, m, params.get(m, {}), target, layer, decide) for m in usable]

    shown: list[Attribution] = []

    def draw() -> bool:
        settings, show_heat = display_view(key)
        chosen = tasks()
        done = [t.result for t in chosen if t.result is not None]
        running = task_controls(chosen, key, len(done), len(chosen), "maps", str(lm.device), COLUMNS)
        maps = MapsShown((), settings, tuple(usable), params, fixed_target(lm, target, key), target.objective, layer)
        shown[:] = render_comparison(lm, image, done, settings, show_heat, key, maps)
        return bool(running)

    live_tasks(key, lambda: [t.job for t in tasks() if t.job is not None], draw)  # quick maps in the first paint
    return shown


SCOPES = {"this": "this photo", "all": "all loaded photos"}


def scope_view(key: str = "sal") -> bool:
    """Whether to draw every loaded photo (a photo x method grid) rather than the current one."""
    return persistent(st.radio, "Photos", options=list(SCOPES), default="this", key=f"{key}-photos", url="scope",
                      horizontal=True, format_func=SCOPES.get,
                      help="All loaded photos: one row per photo of the sidebar, one column per method, each "
                           "explained for its own predicted class unless a target class is chosen.") == "all"


def fixed_target(lm: LoadedModel, target: Target, key: str = "sal") -> int | None:
    """The class chosen in the Target class box for every photo, or None where it follows each photo's prediction."""
    return target.index if st.session_state.get(class_key(lm, f"{key}-target"), PREDICTED) != PREDICTED else None


def photo_targets(lm: LoadedModel, images: list[InputImage], target: Target, key: str = "sal") -> list[Target]:
    """Each photo's target: the class chosen in the Target class box, else the photo's own predicted class."""
    fixed = fixed_target(lm, target, key)
    return [Target(fixed if fixed is not None else predicted_class(lm, image), target.objective, target.contrast)
            for image in images]


@dataclass
class Cell:
    """One photo x method cell of the grid: its map task, or the batched job computing its whole column."""

    image: InputImage
    method: str
    key: str
    task: Task | None = None
    batch: Job | None = None

    @property
    def result(self) -> Attribution | None:
        return self.task.result if self.task is not None else None


def column_batch(lm: LoadedModel, images: list[InputImage], method: str, params: dict, targets: list[Target],
                 layer: str | None, keys: list[str], missing: list[int], decide: Decide, stopped: set[str]) -> Job | None:
    """The running job computing a column's `missing` maps at once (`maps.batch_job`), started when their estimate
    is at most AUTO_COMPUTE_SECONDS or one of them was asked for; None for a method without a batched form."""
    if not REGISTRY[method].batchable or len(missing) < 2:
        return None
    chosen = [keys[i] for i in missing]
    batch = job_store().get(batch_key(chosen))
    if batch is None and batch_key(chosen) not in stopped:
        use_layer = layer if REGISTRY[method].uses_layer else None
        estimate = sum(map_estimate(lm, images[i], method, params, use_layer) for i in missing)
        if estimate <= limits.AUTO_COMPUTE_SECONDS or any(decide(k) for k in chosen):
            batch = batch_job(lm, [images[i] for i in missing], method, params, [targets[i] for i in missing],
                              layer, estimate)
    return batch if batch is not None and batch.active else None


def column_cells(lm: LoadedModel, images: list[InputImage], method: str, params: dict, targets: list[Target],
                 layer: str | None, decide: Decide, stopped: set[str]) -> list[Cell]:
    """One method's column of the grid: the maps missing from the store in one batched job (`column_batch`) where
    the method has that form, the other cells one task each."""
    use_layer = layer if REGISTRY[method].uses_layer else None
    keys = [map_key(lm, image, method, params, t, use_layer) for image, t in zip(images, targets, strict=True)]
    missing = [i for i, k in enumerate(keys) if stored_map(k) is None and job_store().get(k) is None]
    batch = column_batch(lm, images, method, params, targets, layer, keys, missing, decide, stopped)
    return [Cell(image, method, cell_key, batch=batch) if batch is not None and i in missing else
            Cell(image, method, cell_key, task=map_task(lm, image, method, params, targets[i], layer, decide))
            for i, (image, cell_key) in enumerate(zip(images, keys, strict=True))]


def cell_jobs(grid: list[Cell]) -> dict[int, Job]:
    """The grid's running jobs (a column's batch, single cells), each once."""
    return {id(j): j for c in grid for j in (c.batch, c.task.job if c.task else None) if j is not None and j.active}


def grid_status(grid: list[Cell], key: str, shown: int) -> bool:
    """The grid's line: what runs with Stop (every unfinished cell stays stopped), or 'stopped', and the button
    that starts every cell waiting for a click. Returns whether jobs run."""
    _, asked, stopped = decider(key)
    jobs = cell_jobs(grid)
    if jobs:
        stop_row(f"{shown} of {len(grid)} maps shown; computing {', '.join(j.label for j in jobs.values())} "
                 "in the background.", [j.key for j in jobs.values()] + [c.key for c in grid if c.result is None],
                 key, asked, stopped)
    elif any(c.task is not None and c.task.stopped for c in grid):
        st.info(f"stopped: {shown} of {len(grid)} maps shown")
    waiting = [c for c in grid if c.task is not None and c.task.result is None and c.task.job is None]
    if waiting and st.button(f"Compute the {len(waiting)} waiting", key=f"{key}-go",
                             help="Start every map that waits for a click (the slow ones run one or two at a time)."):
        stopped.difference_update(j for j in list(stopped) if j.startswith("batch||"))
        ask(key, [c.key for c in waiting])
    return bool(jobs)


def pending_grid_cell(cell: Cell) -> None:
    """A cell without its map yet: its column's or its own bar, its one-line error, or why it waits."""
    task = cell.task
    if cell.batch is not None:
        job_placeholder(cell.batch, cell.batch.label)
    elif task is not None and task.running and task.job is not None:
        job_placeholder(task.job, task.label)
    elif task is not None and task.failed and task.job is not None:
        st.error(plain(f"{task.label}: {task.job.error}"), icon="⚠️")
    elif task is not None:
        why = "stopped" if task.stopped else "waits for a click"
        st.caption(plain(f"{why}: estimated {duration(task.estimate)}."))


@dataclass
class GridView:
    """What the grid's rows are drawn with: the model, the display settings, the shared scale and the maps shown."""

    lm: LoadedModel
    settings: DisplaySettings
    scale: float | None
    count: int
    noted: list[tuple[Attribution, InputImage, ScaleInfo]]


def grid_row(view: GridView, image: InputImage, cells: list[Cell], columns: int) -> None:
    """One photo's row: the photo, then each method's map over it (or what stands in its place)."""
    row = st.columns([1] + [2] * columns)
    photo = view.lm.preprocessing.model_view(image.image)
    with row[0]:
        show_map(photo, None, image.name, lines=1, pad=True)
    for column, cell in zip(row[1:], cells, strict=True):
        with column:
            a = cell.result
            if a is not None and a.status == "ok":
                over, _ = shown_image(a.values, photo, view.settings, view.scale)
                shown = display_scale(a.values, view.settings, view.scale, view.count, a.objective)
                view.noted.append((a, image, shown))
                show_map(over, shown, f"{view.lm.label(a.target)} ({a.target})", lines=1)
            elif a is not None:
                st.caption(plain(f"{REGISTRY[a.method].label}: not drawn ({a.caption()})."))
            else:
                pending_grid_cell(cell)


def photo_grid(lm: LoadedModel, images: list[InputImage], methods: list[str], params: dict[str, dict],
               target: Target, layer: str | None, key: str = "sal") -> None:
    """Every loaded photo x every chosen method, each cell a map from the shared store, drawn as it finishes (the
    display controls and the cells in one fragment, as `live_comparison`). A method with a batched form computes
    its column's missing maps in one job (`column_cells`); the other cells are one job each. Stop cancels what
    runs."""
    usable = usable_methods(lm, methods, target.objective)
    targets = photo_targets(lm, images, target, key)
    part = f"{key}-grid"
    decide, _, stopped = decider(part)

    def cells() -> list[Cell]:
        return [c for m in usable for c in column_cells(lm, images, m, params.get(m, {}), targets, layer, decide,
                                                          stopped)]

    def draw() -> bool:
        settings, _ = display_view(key, heat=False)  # a grid cell shows the map over its photo only
        grid = cells()
        done = [c.result for c in grid if c.result is not None]
        running = grid_status(grid, part, len(done))
        header = st.columns([1] + [2] * len(usable))
        header[0].markdown("**photo**")
        for column, method in zip(header[1:], usable, strict=True):
            column.markdown(f"**{REGISTRY[method].label}**")
        view = GridView(lm, settings, shared_top((a.values for a in done), settings), len(done), [])
        for image in images:
            grid_row(view, image, [c for c in grid if c.image is image], len(usable))
        scale_note(shown for _, _, shown in view.noted)
        note_maps(part, MapsShown(tuple(view.noted), settings, tuple(usable), params, fixed_target(lm, target, key),
                                  target.objective, layer))
        if view.noted:
            grid_button(part)
        return running

    live_tasks(part, lambda: [j for c in cells() for j in (c.batch, c.task.job if c.task else None) if j is not None],
               draw)
