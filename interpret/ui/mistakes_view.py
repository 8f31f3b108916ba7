"""Streamlit parts of the Mistakes page: choosing a labelled set, evaluating it, and showing its errors.

The set's evaluation and each mistake's contrastive maps are background jobs (ui/jobs_view.py's one store), keyed by
the model and the set (and the image, method and settings): a rerun, a page switch or another session attaches to
them; they show a bar with the time left, refreshed in place, and Stop. Display settings only redraw."""
from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st
import torch
from PIL import Image

from ..attribution import OBJECTIVES, REGISTRY
from ..errors import InterpretError
from ..images import InputImage, decode_image, load_image
from ..jobs import Job, estimate_seconds
from ..mistakes import (
    ContrastiveExplanation,
    Evaluation,
    ImageSet,
    accuracy,
    calibration,
    confusion,
    confusion_pairs,
    demo_set,
    evaluate,
    explain_mistake,
    images_of_pair,
    least_sure,
    match_labels,
    mistakes,
    open_path,
    open_zip,
    per_class,
    result_rows,
    start,
    to_csv,
)
from ..models import LoadedModel
from ..policy import local_files_allowed
from ..progress import Cancelled, Progress
from ..render import scale_of
from ..report.build import mistakes_section
from . import url_state
from .answers import cam_layer
from .caching import cache_data
from .costs import forward_seconds, pass_seconds
from .errors import show_error, user_errors
from .jobs_view import duration
from .live_task import OneJob, Phase, one_job
from .map_image import display_scale, scale_note, show_map
from .maps import offered_methods, shown_image
from .plain import plain
from .report_view import note_section
from .shared_lru import SharedLRU
from .state import carry_image
from .url_state import carry, persistent
from .widgets import display_controls, layer_picker, param_widgets

SOURCES = {"demo": "Demo set (sample photos)", "zip": "Upload a .zip", "path": "Folder, .zip or CSV on this machine"}
ZIP_KEPT = "mistakes_zip_kept"  # the uploaded zip (name, sha256, bytes), kept for the session
PATH_KEPT = "mistakes_path_kept"  # the path typed last (the Dataset page explains the set chosen here)


# ---------------------------------------------------------------- choosing the set

@st.cache_resource(max_entries=1, show_spinner=False)
def _demo() -> ImageSet:
    return demo_set()


@st.cache_resource(max_entries=4, show_spinner="Reading the archive…")
def _zip_set(sha: str, name: str, _data: bytes) -> ImageSet:
    return open_zip(_data, name)


def set_picker() -> ImageSet | None:
    """The labelled set the user chose; problems with it are shown, never raised."""
    offered = [key for key in SOURCES if key != "path" or local_files_allowed()]  # shared mode: no server folders
    source = persistent(st.radio, "Labelled images", options=offered, default="demo", format_func=SOURCES.get,
                        horizontal=True, key="mistakes-source", url="set")
    try:
        if source == "demo":
            st.caption("Six sample photos, each also mirrored and cropped, labelled as a person would: "
                       "Chelsea is a tabby and Grace Hopper wears a military uniform.")
            return _demo()
        if source == "zip":
            kept = _kept_zip()
            if kept is None:
                st.info("Upload a .zip: one folder per class (named like the model's classes, or by class index), "
                        "or images plus one CSV with columns path,label.")
                return None
            return _zip_set(kept["sha"], kept["name"], kept["data"])
        if not local_files_allowed():  # defence in depth: the radio above does not offer it
            st.info("Shared mode is on: files and folders on the server cannot be opened here.")
            return None
        path = st.text_input("Path", key="mistakes-path", placeholder="/data/my_images  or  /data/set.zip  or  /data/labels.csv")
        if not path.strip():
            st.info("Type the path of a folder of class-named subfolders, a .zip of them, or a path,label CSV file.")
            return None
        st.session_state[PATH_KEPT] = path.strip()
        return open_path(path)
    except InterpretError as exc:
        show_error(exc)
        return None


def loaded_set() -> ImageSet | None:
    """The labelled set last chosen on this page, without drawing anything (for the Dataset page): the demo set,
    the zip uploaded in this session, or the path typed (local mode only); None when there is none yet."""
    source = st.session_state.get(url_state.KEPT, {}).get("mistakes-source", "demo")
    if source == "zip":
        kept = st.session_state.get(ZIP_KEPT)
        return None if kept is None else _zip_set(kept["sha"], kept["name"], kept["data"])
    if source == "path":
        path = st.session_state.get(PATH_KEPT)
        return open_path(path) if path and local_files_allowed() else None
    return _demo()


def _kept_zip() -> dict | None:
    """The zip uploaded in this session, kept when the page is left (Streamlit empties an uploader not drawn).

    A file shown in the uploader and then removed there is forgotten; a kept one shows a line saying so."""
    alive = "mistakes-zip" in st.session_state  # False on the first run after coming back to this page
    file = st.file_uploader("Zip of class-named folders, or of images with a path,label CSV", type=["zip"],
                            key="mistakes-zip")
    kept = st.session_state.get(ZIP_KEPT)
    if file is not None:
        data = file.getvalue()
        kept = {"name": file.name, "sha": hashlib.sha256(data).hexdigest(), "data": data, "live": True}
        st.session_state[ZIP_KEPT] = kept
        return kept
    if kept is not None and alive and kept["live"]:  # the user removed it from the uploader
        st.session_state.pop(ZIP_KEPT, None)
        return None
    if kept is not None:
        kept["live"] = False
        st.caption(f"Using {plain(kept['name'])}, uploaded earlier in this session: upload another zip to replace it.")
    return kept


def set_notes(image_set: ImageSet, ev: Evaluation) -> None:
    """What was skipped, left out or unreadable, in a few lines."""
    notes = []
    if image_set.skipped:
        notes.append(f"Skipped: {image_set.skipped_summary()}.")
    notes += ev.match.describe_problems(ev.class_names)
    if ev.errors:
        notes.append(f"{len(ev.errors)} images could not be decoded: " + "; ".join(list(ev.errors.values())[:3]))
    if notes:
        with st.expander(f"⚠️ {len(notes)} note(s) about this set", expanded=bool(ev.match.unmatched or ev.match.ambiguous)):
            for note in notes:
                st.markdown(f"- {plain(note)}")  # notes quote labels and file names: plain text


# ---------------------------------------------------------------- evaluating it

@st.cache_resource
def _evaluations() -> SharedLRU:
    """Evaluations by (model key, set fingerprint). Not st.cache_data: a run stopped half-way must
    survive the interrupted script, so the evaluation is stored before it starts and filled in place."""
    return SharedLRU(8)


@st.cache_resource
def _explanations() -> SharedLRU:
    """Contrastive explanations (three maps) by model, set, image, method and settings."""
    return SharedLRU(32)


EVALUATING = "mistakes-eval"  # the live part's key (its asked/stopped sets and refresh flag)
computations = {"evaluations": 0, "explanations": 0}  # work actually run (not attached to): evidence for tests


def evaluation_estimate(lm: LoadedModel, images: int) -> float:
    """`images` forward-only passes in batches, at the measured time of one (decoding runs a batch ahead)."""
    size = lm.preprocessing.crop_size
    return estimate_seconds(images, forward_seconds(lm, torch.zeros(1, 3, size, size)))


def _evaluation_work(lm: LoadedModel, image_set: ImageSet, kept: SharedLRU, key: str, batch_size: int,
                     chosen: dict[str, int] | None = None) -> Callable[[Progress], Evaluation]:
    """The job: predict every image not done yet, filling the kept evaluation in place (a stop keeps what was
    done; the job then ends cancelled, so asking again resumes where it stopped)."""
    def work(progress: Progress) -> Evaluation:
        computations["evaluations"] += 1
        with kept.lock(key):
            ev = kept.get(key)
            if ev is None:
                ev = start(lm, image_set, chosen=chosen)
                kept.put(key, ev)
            if not ev.complete:
                evaluate(lm, image_set, batch_size=batch_size, resume=ev, progress=progress)
        if not ev.complete:
            raise Cancelled(f"Evaluation stopped after {ev.done} of {ev.total} images.")
        return ev

    return work


LEFT_OUT = -1  # a label's choice box: its images stay out of the evaluation


def label_choices(lm: LoadedModel, image_set: ImageSet) -> dict[str, int]:
    """A box per label that matches no class of this model (or several), to count its images as a chosen class;
    by default they are left out. Returns {label: class index} for the labels given a class."""
    match = match_labels((item.label for item in image_set.items), lm.class_names)
    chosen: dict[str, int] = {}
    if not match.problems:
        return chosen
    with st.expander(f"Labels without a class of this model ({len(match.problems)})", expanded=True):
        for label in match.problems:
            options = [LEFT_OUT] + (list(match.ambiguous[label]) if label in match.ambiguous else list(range(lm.num_classes)))
            digest = hashlib.sha256(f"{image_set.fingerprint}|{label}".encode()).hexdigest()[:16]
            count = match.counts.get(label, 0)
            choice = st.selectbox(plain(f"Count the {count} image{'s' if count != 1 else ''} of '{label}' as"), options,
                                  format_func=lambda i: "left out" if i == LEFT_OUT else f"{lm.label(i)} ({i})",
                                  key=f"mistakes-label-{digest}")
            if choice != LEFT_OUT:
                chosen[label] = int(choice)
    return chosen


def evaluation(lm: LoadedModel, image_set: ImageSet, batch_size: int = 32,
               chosen: dict[str, int] | None = None) -> Evaluation | None:
    """The set's evaluation, a background job computed once per (model, device, set) for every session: a rerun,
    a page switch or another session attaches to it. While it runs, a bar with the images done and the time left,
    refreshed in place, and Stop (the images done so far are kept and shown); an evaluation estimated over
    AUTO_COMPUTE_SECONDS waits for a click.

    None when there is nothing to show yet (running, stopped before the first batch, or no image decodable)."""
    key = f"{EVALUATING}|{lm.key}|{image_set.fingerprint}|{sorted((chosen or {}).items())}"
    kept = _evaluations()
    ev = kept.get(key)
    if ev is not None and ev.complete:
        return _decoded(ev)
    left = (ev.total - ev.done) if ev is not None else len(image_set.items)
    estimate = evaluation_estimate(lm, left)

    def bar(job: Job) -> str:
        current = kept.get(key)
        return f"Evaluating {image_set.name}" + (f": {current.done} of {current.total} images" if current else "")

    spec = OneJob(EVALUATING, key, f"Evaluating {image_set.name}", estimate,
                  _evaluation_work(lm, image_set, kept, key, batch_size, chosen),
                  asking=f"Evaluating {left} images of {image_set.name} is estimated at "
                         f"{duration(estimate)}.",
                  go=f"Evaluate {left} images", bar=bar, device=str(lm.device), group=lm.key,
                  stopped=(f"stopped: {ev.describe_coverage()}" + (" The scores below cover those only." if len(ev.ok)
                                                                   else "")) if ev is not None else None,
                  again="Continue evaluation", stop="Stop evaluation",
                  stop_help="Stop after the current batch; the images done so far are kept and shown.",
                  keys={"go": "mistakes-go", "again": "mistakes-continue", "stop": "mistakes-stop"})
    phase, job = one_job(spec)
    if phase is Phase.DONE and job is not None:
        return _decoded(job.result)
    if phase is Phase.STOPPED:
        return ev if ev is not None and len(ev.ok) else None
    return None


def _decoded(ev: Evaluation) -> Evaluation | None:
    """The finished evaluation, or None with one error when no image of the set could be decoded."""
    if not len(ev.ok):
        st.error(f"None of the {ev.total} labelled images could be decoded: " + "; ".join(list(ev.errors.values())[:2]))
        return None
    return ev


# ---------------------------------------------------------------- scores

def _names(ev: Evaluation, indices: list[int]) -> list[str]:
    return ["other classes" if i < 0 else f"{ev.label(i)} ({i})" for i in indices]


def scores_view(ev: Evaluation) -> None:
    acc = accuracy(ev)
    cal = calibration(ev)
    cols = st.columns(4)
    cols[0].metric("Images", acc.count)
    cols[1].metric("Top-1 accuracy", f"{acc.top1:.1%}")
    cols[2].metric(f"Top-{acc.k} accuracy", f"{acc.top_k:.1%}")
    cols[3].metric("Mistakes", int(len(mistakes(ev))))
    st.caption(f"Expected calibration error {cal.ece:.3f} · {ev.seconds:.1f} s of inference "
               f"({acc.count / max(ev.seconds, 1e-9):.0f} images/s)")
    st.subheader("Per-class accuracy")
    st.dataframe(per_class(ev), hide_index=True, width="stretch", column_config={
        "accuracy": st.column_config.ProgressColumn("accuracy", min_value=0.0, max_value=1.0, format="%.2f")})


def short_name(name: str, limit: int = 14) -> str:
    """'tabby, tabby cat (281)' -> 'tabby (281)': a class's first name, cut at `limit`, with its index."""
    head, found, index = name.rpartition(" (")
    first = (head if found else name).split(",")[0].strip()
    first = first if len(first) <= limit else first[:limit - 1] + "…"
    return f"{first} ({index}" if found else first


def confusion_columns(table: pd.DataFrame) -> dict:
    """Column settings that keep the matrix within the page: short predicted-class headers (the full name on hover)
    and the true-class key column pinned at the left, wide enough for its names."""
    config: dict = {"_index": st.column_config.Column(table.index.name, width="medium", pinned=True)}
    for column in table.columns:
        config[column] = st.column_config.NumberColumn(short_name(str(column)), help=str(column), width="small")
    return config


def confusion_view(lm: LoadedModel, image_set: ImageSet, ev: Evaluation, key: str = "mistakes") -> tuple[int, int] | None:
    """The confusion among the classes present; a clicked cell (or the chosen pair) lists its images."""
    matrix = confusion(ev)
    table = pd.DataFrame(matrix.counts, index=_names(ev, matrix.rows), columns=_names(ev, matrix.columns))
    table.index.name = "true ↓ / predicted →"
    st.caption("Rows: true classes in the set. Columns: the same classes, then the other classes predicted. "
               "Click a cell, or choose a pair below, to see its images.")
    event = st.dataframe(table.style.background_gradient(cmap="Blues", axis=None), width="stretch",
                         column_config=confusion_columns(table), on_select="rerun", selection_mode="single-cell",
                         key=f"{key}-matrix")
    pairs = confusion_pairs(ev, wrong_only=False)
    cells = getattr(getattr(event, "selection", None), "cells", None) or []
    chosen = None
    if cells:
        row, column = cells[0]
        j = list(table.columns).index(column) if column in table.columns else -1
        if 0 <= row < len(matrix.rows) and j >= 0 and matrix.columns[j] >= 0:
            chosen = (matrix.rows[row], matrix.columns[j])
    labels = {(t, p): f"{ev.label(t)} → {ev.label(p)}: {n} image{'s' if n != 1 else ''}" + (" (right)" if t == p else "")
              for t, p, n in pairs}
    if chosen is None or chosen not in labels:
        options = sorted(labels, key=lambda tp: (tp[0] == tp[1], -len(images_of_pair(ev, *tp))))
        chosen = st.selectbox("True → predicted", options, format_func=labels.__getitem__, key=f"{key}-pair")
    if chosen is not None:
        rows = images_of_pair(ev, *chosen)
        st.markdown(f"**{plain(labels[chosen])}**")
        gallery(lm, image_set, ev, rows, key=f"{key}-pair-gallery")
    return chosen


# ---------------------------------------------------------------- images

@cache_data(max_entries=2048, show_spinner=False)
def pixels(lm: LoadedModel, image_set: ImageSet, path: str) -> np.ndarray:
    """The pixels the model saw for one image of the set (decoded again on demand, cached)."""
    with image_set.tree.reader() as read:
        return lm.preprocessing.model_view(decode_image(read(path), path))


def caption(ev: Evaluation, i: int, rank: int | None = None) -> str:
    pred, true = int(ev.top_index[i, 0]), int(ev.labels[i])
    head = f"#{rank} · " if rank is not None else ""
    mark = "✓" if pred == true else "✗"
    return f"{head}{mark} {ev.label(pred)} {ev.top_prob[i, 0]:.0%} · true: {ev.label(true)} ({ev.true_prob[i]:.0%})"


def gallery(lm: LoadedModel, image_set: ImageSet, ev: Evaluation, rows: np.ndarray, key: str, limit: int = 24,
            numbered: bool = False) -> None:
    """Thumbnails with prediction, probability and true label; more on request."""
    if not len(rows):
        st.info("No images here.")
        return
    shown = rows[:limit]
    if len(rows) > limit:
        count = st.slider("Images shown", limit, int(len(rows)), limit, step=limit, key=f"{key}-count")
        shown = rows[:count]
    images, captions = [], []
    for rank, i in enumerate(shown, 1):
        try:
            images.append(pixels(lm, image_set, ev.paths[i]))
        except InterpretError:
            continue
        captions.append(plain(f"{caption(ev, int(i), rank if numbered else None)} · {ev.paths[i]}"))
    st.image(images, caption=captions, width=180)


# ---------------------------------------------------------------- one mistake, explained

# The first offered is the default: Grad-CAM's map of where the class evidence is reads at a glance beside the
# contrast; the signed Gradient (a speckle of both signs) only where no CAM applies.
CONTRAST_DEFAULTS = ("gradcam", "layercam", "gradient")


def method_controls(lm: LoadedModel, key: str = "mistakes") -> tuple[str, dict, str | None, str]:
    """An attribution method from the registry, its parameters, its layer if it needs one, and the objective."""
    names = offered_methods(lm)
    default = next((m for m in CONTRAST_DEFAULTS if m in names), names[0])
    cols = st.columns(3)
    with cols[0]:
        method = persistent(st.selectbox, "Method", options=names, default=default, url="method",
                            format_func=lambda n: REGISTRY[n].label, key=f"{key}-method")
    with cols[1]:
        objective = persistent(st.selectbox, "Score explained", options=["logit", "probability"], default="logit",
                               url="objective", key=f"{key}-objective",
                               help="logit: the class score; probability: after the model's softmax (or sigmoid)")
    impl = REGISTRY[method]
    layer = None
    if impl.uses_layer:
        with cols[2]:
            layer = layer_picker(lm, key=f"{key}-layer", default=cam_layer(lm))
    params = {}
    if impl.params:
        with st.expander("Method settings"):
            params = param_widgets(method, key)
    return method, params, layer, objective


def explanation_view(lm: LoadedModel, key: str, photo: np.ndarray, predicted: int, true: int, method: str,
                     params: dict, layer: str | None, objective: str) -> ContrastiveExplanation | None:
    """The three maps (predicted class, true class, their contrast) as the live part's one job, computed once per
    (model, set, image, method, settings) for every session: the maps once finished; meanwhile a bar with the time
    left and Stop, a Compute button for a slow one, or its one-line error."""
    kept = _explanations()
    found = kept.get(key)
    if found is not None:
        return found
    image = InputImage("mistake", b"", Image.fromarray(photo))
    resolved = REGISTRY[method].resolve_params(params)
    passes = 3 * REGISTRY[method].passes(size=photo.shape[:2], **resolved)  # the predicted, true and contrast maps
    estimate = estimate_seconds(passes, pass_seconds(lm, image))
    label = REGISTRY[method].label

    def work(progress: Progress) -> ContrastiveExplanation:
        computations["explanations"] += 1
        result = explain_mistake(lm, lm.preprocessing.normalize(photo), predicted, true, method,
                                 objective=objective, layer=layer, params=params, progress=progress)
        kept.put(key, result)
        return result

    spec = OneJob("mistakes-explain", key, f"{label} for the two classes and their contrast", estimate, work,
                  asking=f"{label} for this mistake waits for a click: estimated {duration(estimate)}.",
                  go=f"Compute {label}", bar=lambda job: f"Computing {label} for the two classes and their contrast",
                  device=str(lm.device), group=lm.key, stopped=f"{label} for this mistake stopped: estimated "
                  f"{duration(estimate)}.", again=f"Compute {label}", stop_help="Stop these maps; ask "
                  "again with Compute.", nbytes=lambda r: int(sum(m.values.nbytes for m in (r.predicted, r.true,
                                                                                            r.contrast))),
                  keys={"go": "mistakes-explain-go", "again": "mistakes-explain-go", "stop": "mistakes-explain-stop"})
    phase, job = one_job(spec)
    return job.result if phase is Phase.DONE and job is not None else None


def explain_view(lm: LoadedModel, image_set: ImageSet, ev: Evaluation, key: str = "mistakes") -> None:
    """One mistake: maps for the predicted and the true class side by side, and 'why A rather than B'."""
    wrong = mistakes(ev)
    if not len(wrong):
        st.success("No mistakes to explain: every image is predicted right.")
        return
    labels = {int(i): f"#{r} · {ev.paths[i]} · {caption(ev, int(i))}" for r, i in enumerate(wrong, 1)}
    i = persistent(st.selectbox, "Mistake", options=list(labels), default=next(iter(labels)), format_func=labels.get,
                   key=f"{key}-mistake")
    method, params, layer, objective = method_controls(lm, key)
    pred, true = int(ev.top_index[i, 0]), int(ev.labels[i])
    photo = pixels(lm, image_set, ev.paths[i])
    cache_key = "|".join(map(str, (lm.key, image_set.fingerprint, ev.paths[i], pred, true, method, sorted(params.items()),
                                   layer, objective)))  # not `key`: the widgets below keep theirs across mistakes
    signed = REGISTRY[method].signed
    settings = display_controls(f"{key}-display-{'signed' if signed else 'plain'}",  # drawn while the maps compute
                                default_mode="signed" if signed else "absolute")    # too, so they are never reset
    result = explanation_view(lm, cache_key, photo, pred, true, method, params, layer, objective)
    if result is None:
        return
    maps = {"predicted": result.predicted, "true": result.true, "contrast": result.contrast}
    scale = max(scale_of(m.values, settings.mode, settings.clip_percentile) for m in maps.values()) \
        if settings.shared_scale else None
    titles = {"predicted": f"Why '{ev.label(pred)}' (predicted)", "true": f"Why '{ev.label(true)}' (true label)",
              "contrast": f"Why '{ev.label(pred)}' rather than '{ev.label(true)}'"}
    cols = st.columns(4)
    show_map(photo, None, f"{ev.paths[i]}: what the model sees", pad=True, target=cols[0])
    for col, (name, attribution) in zip(cols[1:], maps.items(), strict=True):
        shown, _ = shown_image(attribution.values, photo, settings, scale)
        status = "" if attribution.status == "ok" else f" · map is {attribution.status}"
        show_map(shown, display_scale(attribution.values, settings, scale, len(maps), objective), f"{titles[name]}{status}",
                 target=col)
    scale_note(display_scale(m.values, settings, scale, len(maps), objective) for m in maps.values())
    st.caption(f"{REGISTRY[method].label} of the {objective}; the contrastive map attributes "
               f"{objective}('{plain(ev.label(pred))}') − {objective}('{plain(ev.label(true))}')"
               + (" (with the signed colour map, red raises the difference and blue lowers it)." if signed else "."))
    if st.button("Explain this mistake in Saliency", key=f"{key}-to-saliency",
                 help="Opens the Saliency page on this image, explaining its true class with this method."):
        to_saliency(image_set, ev.paths[i], true, method, objective)
    k = ev.top_index.shape[1]
    chart = pd.DataFrame({"class": [f"{ev.label(int(c))} ({int(c)})" for c in ev.top_index[i]],
                          "probability": ev.top_prob[i].astype(float)})
    if true not in ev.top_index[i]:
        chart.loc[len(chart)] = [f"{ev.label(true)} ({true}) · true", float(ev.true_prob[i])]
    st.write(f"**Top-{k} probabilities**" + (" and the true class" if len(chart) > k else ""))
    st.bar_chart(chart, x="class", y="probability", horizontal=True, sort="-probability", height=220)


def to_saliency(image_set: ImageSet, path: str, target: int, method: str, objective: str) -> None:
    """Carry one image of the set to the Saliency page (it becomes the current image), with target and method."""
    with image_set.tree.reader() as read:
        image = load_image(read(path), path.rsplit("/", 1)[-1])
    carry_image(image)
    carry({"target": str(target), "methods": method, "objective": objective if objective in OBJECTIVES else "logit"})
    st.switch_page("pages/saliency.py")


# ---------------------------------------------------------------- calibration and export

def calibration_view(lm: LoadedModel, image_set: ImageSet, ev: Evaluation, key: str = "mistakes") -> None:
    cal = calibration(ev)
    st.metric("Expected calibration error (10 bins)", f"{cal.ece:.3f}",
              help="Σ over confidence bins of (share of images) × |accuracy − mean confidence|; "
                   "0 means confidence can be taken at its word.")
    table = pd.DataFrame(cal.rows()).set_index("bin")
    left, right = st.columns(2)
    left.write("**Reliability diagram**: accuracy per confidence bin (a calibrated model follows its mean confidence)")
    left.bar_chart(table[["accuracy", "mean confidence"]].fillna(0.0), stack=False, height=260)
    right.write("**Confidence histogram**: images per bin of top-1 probability")
    right.bar_chart(table[["images"]], height=260)
    st.subheader("Least sure")
    gallery(lm, image_set, ev, least_sure(ev, 12), key=f"{key}-unsure")


def mistakes_gallery(lm: LoadedModel, image_set: ImageSet, ev: Evaluation, key: str = "mistakes") -> None:
    """Every wrong prediction, most confident first, numbered as in the 'Mistake' list of the Explain tab."""
    st.caption("Most confident first: prediction and its probability, then the true label and the probability given to it.")
    gallery(lm, image_set, ev, mistakes(ev), key=f"{key}-wrong", numbered=True)


def results_view(ev: Evaluation) -> None:
    rows = result_rows(ev)
    st.dataframe(rows, hide_index=True, width="stretch")
    st.download_button("Download CSV", to_csv(ev), file_name=f"{ev.set_name.rsplit('.', 1)[0]}-predictions.csv",
                       mime="text/csv", key="mistakes-csv")


def report(lm: LoadedModel, image_set: ImageSet, ev: Evaluation) -> None:
    """Everything about one evaluated set: notes, scores, and one tab per view."""
    device = str(lm.device)
    with user_errors(device):
        set_notes(image_set, ev)
    with user_errors(device):
        scores_view(ev)
        note_section("mistakes", lambda: mistakes_section(ev))  # summarised for the report on a click
    confusion_tab, wrong, explain, calibration_tab, results = st.tabs(
        ["Confusion", "Wrong predictions", "Explain a mistake", "Calibration", "All results"])
    # each tab in its own catch: a method that does not fit this model, or any failure, leaves the other tabs drawn
    with confusion_tab, user_errors(device):
        confusion_view(lm, image_set, ev)
    with wrong, user_errors(device):
        mistakes_gallery(lm, image_set, ev)
    with explain, user_errors(device):
        explain_view(lm, image_set, ev)
    with calibration_tab, user_errors(device):
        calibration_view(lm, image_set, ev)
    with results, user_errors(device):
        results_view(ev)
