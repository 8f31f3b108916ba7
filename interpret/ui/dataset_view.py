"""Streamlit parts of the Dataset page: opening a store (a folder made by `interpret explain-set`, or the Mistakes
page's set explained here as a background job), and its views: Summary, Mean maps, Where it looks, Strategies,
Gallery, Channel examples. The numbers come from interpret/dataset/analysis.py; each view reads only the columns it
needs, and each can be downloaded as a PNG (dataset_png.py). The Feature maps page links to Channel examples
(`channel_examples_link`)."""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from .. import limits
from ..attribution import OBJECTIVES, REGISTRY
from ..dataset import Store, explain_dataset, maps_of
from ..dataset import analysis as an
from ..dataset.channels import channel_maps
from ..dataset.listing import Listing, Reader, from_image_set, open_listing
from ..errors import InterpretError
from ..files import printable
from ..images import InputImage, decode_image, load_image
from ..jobs import estimate_seconds
from ..layers import default_feature_layer
from ..mistakes import ImageSet
from ..models import LoadedModel
from ..policy import local_files_allowed
from ..progress import Cancelled, Progress
from ..render import ScaleInfo, colorize, normalise, overlay, resize, with_colour_bar
from . import dataset_png as sheets
from .answers import answer, layers_of
from .costs import pass_seconds
from .downloads import png_bytes
from .errors import show_error
from .feature_view import overlay_channel, visualization_view
from .jobs_view import duration
from .live_task import OneJob, Phase, one_job
from .map_image import channel_scale, show_map, show_maps
from .maps import offered_methods
from .mistakes_view import loaded_set
from .plain import plain
from .report_view import note_picture
from .state import carry_image
from .url_state import carry, persistent, set_value

SOURCES = {"set": "The Mistakes page's labelled set, explained here", "path": "A store made by interpret explain-set"}
VIEWS = ("Summary", "Mean maps", "Where it looks", "Strategies", "Gallery", "Channel examples")
RUN = "dataset-run"  # the in-app run's live part (its asked/stopped sets and refresh flag)
APP_SHARD_IMAGES = 16  # shards of the in-app run: Stop loses at most this many images' work
THUMBS = 4  # thumbnails per row
MAP_SCALE_TEXT = "share of the map's mass per pixel"
APP_ROOT = Path(tempfile.gettempdir()) / "interpret-dataset"  # the in-app runs' stores
LAST_STORE = "dataset-last-store"  # the store this session last opened here: the Feature maps page links to it
CHANNEL_CMAP = "viridis"  # a channel's map as the Feature maps page draws it by default
PNG_LABEL = "Download this view (PNG)"


@dataclass(frozen=True)
class Opened:
    """A store opened on the page: its folder, manifest, a key that changes with every finished shard, and how to
    read its images (None: their folder is not known or not readable here)."""

    store: Store
    manifest: dict
    key: str
    read: Reader | None
    images_note: str = ""

    @property
    def side(self) -> int:
        return int(self.manifest.get("settings", {}).get("map_side", limits.DATASET_MAP_SIDE))


# ---------------------------------------------------------------- opening a store

def opened_store(lm: LoadedModel) -> Opened | None:
    """The store the user chose, opened (its manifest read), or None with a line saying why."""
    offered = [k for k in SOURCES if k != "path" or local_files_allowed()]  # shared mode: no server folders
    source = persistent(st.radio, "Store", options=offered, default="set", format_func=SOURCES.get, horizontal=True,
                        key="dataset-source", url="store")
    try:
        opened = _from_path() if source == "path" and local_files_allowed() else _from_set(lm)
    except InterpretError as exc:
        show_error(exc)
        return None
    if opened is not None:
        image_set = loaded_set() if source == "set" else None
        st.session_state[LAST_STORE] = (source, str(opened.store.folder), image_set.fingerprint if image_set else None)
    return opened


def _open(store: Store, read: Reader | None, note: str = "") -> Opened | None:
    manifest = store.manifest()
    if manifest is None:
        st.info(plain(f"'{printable(store.folder)}' holds no store yet (no manifest.json)."))
        return None
    done = sorted(store.done())
    key = hashlib.sha256(f"{store.folder.resolve()}|{manifest.get('created')}|{done}".encode()).hexdigest()[:20]
    return Opened(store, manifest, key, read, note)


def _from_path() -> Opened | None:
    folder = persistent(st.text_input, "Store folder", key="dataset-path", default="",  # kept across pages: links
                        placeholder="/data/val-store (made by interpret explain-set)")
    if not folder.strip():
        st.info("Type the folder of a store made by `interpret explain-set SOURCE --out STORE`.")
        return None
    store = Store(folder.strip())
    if not (store.folder / "manifest.json").exists():
        st.error(plain(f"'{printable(store.folder)}' holds no manifest.json: not a dataset store."))
        return None
    manifest = store.manifest() or {}
    guess = _guess_images(store, manifest)
    images = st.text_input("Images (the SOURCE given to explain-set)", value=guess, key="dataset-images",
                           help="Thumbnails, exports and links to Saliency read the images from here.")
    read, note = _reader(images.strip(), manifest) if images.strip() else (None, "Give the images' SOURCE to see them.")
    return _open(store, read, note)


def _guess_images(store: Store, manifest: dict) -> str:
    """Where the images probably are: the listing's name beside the store, or in the working folder."""
    name = str(manifest.get("listing", {}).get("name") or "")
    for place in (store.folder.parent / name, Path.cwd() / name):
        if name and place.exists():
            return str(place)
    return ""


@st.cache_resource(max_entries=2, show_spinner="Listing the images…")
def _listing(source: str) -> Listing:
    return open_listing(source)


def _reader(source: str, manifest: dict) -> tuple[Reader | None, str]:
    """A reader of the store's images at `source`, and a note when the listing differs from the store's."""
    try:
        listing = _listing(source)
    except InterpretError as exc:
        return None, f"The images cannot be read there: {exc}"
    note = ""
    if listing.fingerprint() != manifest.get("listing", {}).get("sha256"):
        note = "These images are not the listing the store was made from: some images may be missing or differ."
    return one_by_one(listing), note


def one_by_one(listing: Listing) -> Reader:
    """A reader of single images (each read opens the listing's reader for that file: a page reads a few)."""
    def read(path: str) -> bytes:
        with listing.reader() as reader:
            return reader(path)

    return read


def app_folder(key: str) -> Path:
    """The in-app run's store folder: one per model, set, method and targets, in the temporary folder (a rerun, a
    page switch, another session or a restarted server resumes it)."""
    return APP_ROOT / hashlib.sha256(key.encode()).hexdigest()[:20]


def _from_set(lm: LoadedModel) -> Opened | None:
    image_set = loaded_set()
    if image_set is None:
        st.info("Choose a labelled set on the Mistakes page first (a zip or a folder), or open a store.")
        return None
    if len(image_set.items) > limits.DATASET_APP_IMAGES:
        st.info(plain(f"{image_set.name} holds {len(image_set.items)} images, more than the app explains "
                      f"({limits.DATASET_APP_IMAGES}, limit DATASET_APP_IMAGES): run interpret explain-set on it "
                      "and open its store."))
        return None
    left, middle, right = st.columns([2, 3, 2])
    offered = offered_methods(lm)
    method = persistent(left.selectbox, "Method", options=offered, default="gradient" if "gradient" in offered
                        else offered[0], key="dataset-method", url="method", format_func=lambda m: REGISTRY[m].label)
    targets = persistent(middle.radio, "Maps of", options=["both", "predicted", "label"], default="both",
                         horizontal=True, key="dataset-targets", url="targets",
                         format_func={"both": "predicted and true class", "predicted": "predicted class",
                                      "label": "true class"}.get)
    channels = _channels_choice(lm, right)
    key = f"{RUN}|{APP_ROOT}|{lm.key}|{image_set.fingerprint}|{method}|{targets}" + (f"|{channels}" if channels else "")
    store = run_in_app(lm, image_set, key, method, targets, channels)
    return None if store is None else _open(store, one_by_one(from_image_set(image_set)))


def _channels_choice(lm: LoadedModel, where) -> str | None:  # noqa: ANN001 - a column
    """The layer whose channel maxima the in-app run keeps (the Feature maps page's default layer), or None."""
    maps = [info.name for info in layers_of(lm) if info.spatial and (info.channels or 0) <= limits.DATASET_CHANNELS]
    default = default_feature_layer(lm)
    chosen = persistent(where.selectbox, "Channel maxima of", options=["", *maps], default=default if default in maps
                        else "", key="dataset-channels", url="channels", format_func=lambda n: n or "(no layer)",
                        help="Each image also keeps this layer's per-channel maxima, from the same forward pass: the "
                             "Channel examples view shows the set's top images for any of its channels.")
    return chosen or None


def _done_images(store: Store) -> int:
    import json

    total = 0
    for index in store.done():
        try:
            total += int(json.loads((store.shards / f"_part-{index:05d}.done").read_text())["images"])
        except (OSError, ValueError, KeyError):
            continue
    return total


def _run_work(lm: LoadedModel, image_set: ImageSet, folder: Path, method: str, targets: str,  # noqa: ANN202
              channels: str | None = None):
    def work(progress: Progress) -> str:
        summary = explain_dataset(from_image_set(image_set), folder, lm, [method], targets=targets, progress=progress,
                                  shard_images=APP_SHARD_IMAGES, channels=channels)
        if summary.stopped:
            raise Cancelled(f"Stopped after {summary.computed} shards.")
        return str(folder)

    return work


def run_in_app(lm: LoadedModel, image_set: ImageSet, key: str, method: str, targets: str,
               channels: str | None = None) -> Store | None:
    """The set explained into its store by a background job: small sets start by themselves, a large one waits
    for a click; a bar with the images done and the time left, Stop (finished shards are kept) and Continue.
    Returns the store when it holds rows (complete or not), else None."""
    store, total = Store(app_folder(key)), len(image_set.items)
    done = _done_images(store) if store.manifest() is not None else 0
    partial = store if done else None
    if done >= total:
        return store
    passes = REGISTRY[method].passes(size=(lm.preprocessing.crop_size,) * 2, **REGISTRY[method].resolve_params(None))
    sample = InputImage("dataset", b"", Image.new("RGB", (lm.preprocessing.crop_size,) * 2, "gray"))
    per_target = 2 if targets == "both" else 1
    estimate = estimate_seconds((total - done) * passes * per_target, pass_seconds(lm, sample))
    spec = OneJob(RUN, key, f"Explaining {image_set.name}", estimate,
                  _run_work(lm, image_set, store.folder, method, targets, channels),
                  asking=f"Explaining {total - done} images of {image_set.name} is estimated at {duration(estimate)}.",
                  go=f"Explain {total - done} images",
                  bar=lambda job: f"Explaining the set: {_done_images(store)} of {total} images", device=str(lm.device),
                  stopped=f"Stopped after {done} of {total} images: the views below show those.",
                  stop_help="Stop after the shard in hand; what is written stays, and Continue resumes.",
                  keys={"go": "dataset-go", "again": "dataset-continue", "stop": "dataset-stop"})
    phase, _ = one_job(spec)
    return store if phase is Phase.DONE else partial


# ---------------------------------------------------------------- reading (only the columns a view needs)

@st.cache_resource(max_entries=4, show_spinner=False)
def _summary_rows(key: str, _store: Store) -> pd.DataFrame:
    return an.read_rows(_store, an.SUMMARY_COLUMNS)


@st.cache_resource(max_entries=4, show_spinner="Reading the maps…")
def _explained(key: str, _store: Store, method: str, target_kind: str) -> pd.DataFrame:
    """The rows with a map of one method and target kind: the view columns and the maps' bytes."""
    rows = an.read_rows(_store, (*an.VIEW_COLUMNS, "target", "map"))
    return an.explained(rows, method, target_kind)


def _maps(opened: Opened, rows: pd.DataFrame) -> np.ndarray:
    return maps_of(rows["map"].tolist(), opened.side)


@st.cache_data(max_entries=512, show_spinner=False)
def _photo(key: str, path: str, size: int, _read: Reader) -> np.ndarray | None:
    """An image of the store as a square thumbnail (None when it cannot be read)."""
    try:
        image = decode_image(_read(path), path)
    except Exception:  # noqa: BLE001 - a file gone or broken: its thumbnail is left out, the page goes on
        return None
    side = min(image.size)
    box = ((image.width - side) // 2, (image.height - side) // 2)
    return np.asarray(image.crop((*box, box[0] + side, box[1] + side)).resize((size, size)))


def _overlay(photo: np.ndarray, values: np.ndarray) -> np.ndarray:
    heat = colorize(values, "absolute", "inferno", 99.5)
    return overlay(photo, heat, 0.6, weight=normalise(values, "absolute", 99.5))


def _map_rgb(values: np.ndarray, high: float, size: int = 224) -> np.ndarray:
    return resize(colorize(values, "absolute", "inferno", 100.0, high), (size, size), nearest=True)


# ---------------------------------------------------------------- the views

def views(lm: LoadedModel, opened: Opened) -> None:
    """The store's views, one at a time (each computed only when shown)."""
    if opened.images_note:
        st.caption(plain(opened.images_note))
    model = opened.manifest.get("model", {})
    if model.get("key") and model.get("key") != lm.key:
        made = f"{model.get('spec')}, not the sidebar's {lm.spec}" if model.get("spec") != lm.spec else \
            f"{lm.spec} with other preprocessing or weights than the sidebar's"
        st.warning(plain(f"The store was made with {made}: links to Saliency explain with the sidebar's model."))
    view = persistent(st.radio, "View", options=list(VIEWS), default=VIEWS[0], horizontal=True, key="dataset-view",
                      url="view")
    if view == "Summary":
        summary_view(opened)
        return
    if view == "Channel examples":
        channel_view(lm, opened)
        return
    rows = _chosen_rows(opened)
    if rows is None:
        return
    if view == "Mean maps":
        mean_maps_view(opened, rows)
    elif view == "Where it looks":
        where_view(lm, opened, rows)
    elif view == "Strategies":
        strategies_view(lm, opened, rows)
    else:
        gallery_view(lm, opened, rows)


def _chosen_rows(opened: Opened) -> pd.DataFrame | None:
    """The rows with maps of the method and target kind chosen (the store's first by default)."""
    rows = _summary_rows(opened.key, opened.store)
    good = rows[rows["error"].isna()]
    methods, kinds = sorted(good["method"].dropna().unique()), sorted(good["target_kind"].dropna().unique())
    if not methods:
        st.info("The store holds no map yet (every row is an error).")
        return None
    left, right = st.columns(2)
    method = persistent(left.selectbox, "Maps of the method", options=methods, default=methods[0],
                        key="dataset-map-method", format_func=lambda m: REGISTRY[m].label if m in REGISTRY else m)
    kind = persistent(right.selectbox, "Explaining the", options=kinds, default="predicted" if "predicted" in kinds
                      else kinds[0], key="dataset-kind", format_func=lambda k: f"{k} class")
    return _explained(opened.key, opened.store, method, kind)


def summary_view(opened: Opened) -> None:
    st.caption("What the store holds: how many images, how many failed, the accuracy on the labelled ones, and the "
               "images per class. Start with the classes with many wrong images, then look at their mean maps.")
    got = an.summary(_summary_rows(opened.key, opened.store))
    cols = st.columns(4)
    cols[0].metric("Images", got.images)
    cols[1].metric("Accuracy", "—" if got.accuracy is None else f"{got.accuracy:.1%}",
                   help=f"Top-1 accuracy over the {got.labelled} labelled images whose label matches a class.")
    cols[2].metric("Could not be read or explained", got.failed)
    cols[3].metric("Classes", len(got.classes))
    model = opened.manifest.get("model", {})
    st.caption(plain(f"Model {model.get('spec')} · methods: {', '.join(got.methods) or 'none'} · maps of the "
                     f"{', '.join(got.targets) or 'none'} class · store {printable(opened.store.folder)}"))
    st.dataframe(got.classes.sort_values(["wrong", "images"], ascending=False), hide_index=True, width="stretch",
                 column_config={"accuracy": st.column_config.ProgressColumn("accuracy", min_value=0.0, max_value=1.0,
                                                                            format="%.2f")})


def _class_picker(rows: pd.DataFrame, key: str) -> str:
    labels = rows["label"].fillna("(no label)")
    counts = labels.value_counts()
    wrong = labels[rows["correct"].notna() & ~rows["correct"].fillna(True).astype(bool)].value_counts()
    options = sorted(counts.index, key=lambda c: (-wrong.get(c, 0), -counts[c], c))
    return st.selectbox("Class", options, key=key, format_func=lambda c: f"{c} · {counts[c]} images, "
                                                                           f"{wrong.get(c, 0)} wrong")


def mean_maps_view(opened: Opened, rows: pd.DataFrame) -> None:
    st.caption("Where the model looks on average for one class: the mean map of its right images beside that of its "
               "wrong ones, on one colour scale (each map counted as its share of mass per pixel). A wrong-image mean "
               "that glows elsewhere (the border, a corner) says the mistakes look somewhere else than the hits.")
    label = _class_picker(rows, "dataset-mean-class")
    mine = rows[rows["label"].fillna("(no label)") == label]
    means = an.mean_maps(mine, _maps(opened, mine))
    scale = ScaleInfo("inferno", 0.0, means.high, "absolute", f"shared by the 2 mean maps: {MAP_SCALE_TEXT}")
    cols = st.columns([1, 1, 2])
    pictures = []
    for col, values, name, count in ((cols[0], means.right, "right", means.right_count),
                                     (cols[1], means.wrong, "wrong", means.wrong_count)):
        if values is None:
            col.info(f"No {name} image in this class.")
            continue
        rgb = _map_rgb(values, means.high)
        show_map(rgb, scale, f"Mean map of the {count} {name} images", target=col)
        pictures.append(with_colour_bar(rgb, scale))
    with cols[2]:
        _examples(opened, mine)
    if pictures:
        note_picture("dataset-means", f"Mean maps of {label}", np.concatenate(pictures, axis=1), "right, then wrong images")
        st.download_button("Download these mean maps (PNG)", png_bytes(np.concatenate(pictures, axis=1)),
                           f"mean-maps-{_name_hash(label)}.png", "image/png", key="dataset-mean-png")


def _name_hash(text: str) -> str:
    """A file-name part for a user's text (a class name may hold any character)."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _examples(opened: Opened, rows: pd.DataFrame, count: int = 3) -> None:
    """A few right and wrong images of the class, each with its map over it."""
    for name, flag in (("right", True), ("wrong", False)):
        part = rows[rows["correct"].notna() & (rows["correct"].fillna(not flag).astype(bool) == flag)].head(count)
        pictures = _thumbnails(opened, part)
        if pictures:
            st.image([p for p, _ in pictures], caption=[plain(c) for _, c in pictures], width=120)
            st.caption(f"Examples: {name} images")


def _thumbnails(opened: Opened, rows: pd.DataFrame, size: int = 160) -> list[tuple[np.ndarray, str]]:
    """(photo with its map over it, caption) for each row whose image can be read."""
    if opened.read is None or rows.empty:
        return []
    maps = _maps(opened, rows)
    out = []
    for (_, row), values in zip(rows.iterrows(), maps, strict=True):
        photo = _photo(opened.key, str(row["path"]), size, opened.read)
        if photo is not None:
            mark = "" if pd.isna(row["correct"]) else ("✓ " if row["correct"] else "✗ ")
            out.append((_overlay(photo, values), f"{mark}{row['predicted_label']} · border {row['border_share']:.2f}"))
    return out


def where_view(lm: LoadedModel, opened: Opened, rows: pd.DataFrame) -> None:
    st.caption("How each class's maps spread: per class, the distribution of a statistic of its maps (a box: the middle "
               "half of its images, the line: the median). Classes whose maps rest on the border are explained by the "
               "background; the suspicious list shows the images with the most mass on the border first.")
    stat = persistent(st.selectbox, "Statistic", options=list(an.STATS), default="border_share", key="dataset-stat",
                      format_func=lambda s: f"{s}: {an.STAT_TEXT[s]}")
    table = an.class_stat_table(rows, stat)
    shown = table.head(30)["label"].tolist()
    frame = pd.DataFrame({"class": rows["label"].fillna("(no label)"), stat: rows[stat].astype(float)})
    import altair as alt

    chart = alt.Chart(frame[frame["class"].isin(shown)]).mark_boxplot(extent="min-max").encode(
        x=alt.X(f"{stat}:Q", title=stat), y=alt.Y("class:N", sort=shown, title=None))
    st.altair_chart(chart, width="stretch")
    st.download_button(PNG_LABEL, _where_png(opened.key, str(rows["method"].iloc[0]), str(rows["target_kind"].iloc[0]),
                                             stat, tuple(shown), frame), f"where-it-looks-{stat}.png", "image/png",
                       key="dataset-where-png")
    st.dataframe(table, hide_index=True, width="stretch")
    if st.toggle("Suspicious images: the most mass on the border first", key="dataset-suspicious"):
        top = an.suspicious(rows, 48)
        st.dataframe(top[["path", "label", "predicted_label", "correct", "border_share", "above class"]],
                     hide_index=True, width="stretch")
        _gallery_grid(lm, opened, top.head(12), "dataset-suspicious-grid")
        st.download_button("Download the suspicious list (CSV)", an.to_csv(top), "suspicious.csv", "text/csv",
                           key="dataset-suspicious-csv")


@st.cache_data(max_entries=8, show_spinner=False)
def _where_png(key: str, method: str, kind: str, stat: str, shown: tuple[str, ...], _frame: pd.DataFrame) -> bytes:
    """Where it looks as a PNG: the box plot of `stat` for the classes shown (drawn once per store and choice)."""
    values = {c: _frame.loc[_frame["class"] == c, stat].dropna().to_numpy() for c in shown}
    return sheets.boxplot_png(values, stat, f"{stat}: {an.STAT_TEXT[stat]} ({method}, {kind} class)")


@st.cache_resource(max_entries=8, show_spinner="Clustering the maps…")
def _clusters(key: str, method: str, kind: str, label: str, k: int, algorithm: str, _maps: np.ndarray) -> an.Clusters:
    return an.cluster_maps(_maps, k, algorithm)


def strategies_view(lm: LoadedModel, opened: Opened, rows: pd.DataFrame) -> None:
    st.caption("The strategies the model uses for one class: its maps grouped by where their mass lies (k-means or "
               "spectral clustering of the maps at 14 x 14). Each group's size, mean map and most typical images: a "
               "large group whose mean map sits on the background is a class explained by the background.")
    left, middle, right = st.columns([3, 1, 2])
    with left:
        label = _class_picker(rows, "dataset-strategy-class")
    k = middle.number_input("Groups", 2, 8, 3, key="dataset-k")
    algorithm = right.radio("Clustering", list(an.ALGORITHMS), horizontal=True, key="dataset-algorithm")
    mine = rows[rows["label"].fillna("(no label)") == label]
    maps = _maps(opened, mine)
    method, kind = str(mine["method"].iloc[0]), str(mine["target_kind"].iloc[0])
    clusters = _clusters(opened.key, method, kind, label, int(k), algorithm, maps)
    st.session_state["dataset-clustered"] = (opened.key, method, kind, label, clusters.labels, mine.index.to_numpy())
    high = float(clusters.means.max())
    scale = ScaleInfo("inferno", 0.0, high, "absolute", f"shared by the {len(clusters.sizes)} group means: {MAP_SCALE_TEXT}")
    parts = []
    for c, (size, share) in enumerate(zip(clusters.sizes, clusters.shares, strict=True)):
        part = mine.iloc[clusters.labels == c]
        right_share = part["correct"].dropna().astype(bool).mean() if part["correct"].notna().any() else float("nan")
        title = (f"Group {c + 1}: {share:.0%} of '{label}' ({size} maps) · border share "
                 f"{part['border_share'].median():.2f} (class {mine['border_share'].median():.2f}) · right {right_share:.0%}")
        st.markdown(plain(title))
        cols = st.columns([1, 3])
        mean_rgb = _map_rgb(clusters.means[c], high)
        show_map(mean_rgb, scale, f"Mean map of group {c + 1}", target=cols[0])
        with cols[1]:
            typical = mine.iloc[clusters.typical[c]]
            pictures = _thumbnails(opened, typical, 120)
            if pictures:
                st.image([p for p, _ in pictures], caption=[plain(t) for _, t in pictures], width=120)
            st.download_button(f"Group {c + 1}: images and maps (zip)", an.cluster_zip(part, maps[clusters.labels == c],
                               opened.read), f"group-{c + 1}.zip", "application/zip", key=f"dataset-zip-{c}")
        grid = sheets.sheet([p for p, _ in pictures], [t for _, t in pictures], columns=4) if pictures else None
        line = sheets.side_by_side([with_colour_bar(mean_rgb, scale), *([grid] if grid is not None else [])])
        parts.append(sheets.stacked([sheets.text_block(title, line.shape[1]), line]))
    st.download_button(PNG_LABEL, png_bytes(sheets.stacked(parts)), f"strategies-{_name_hash(label)}.png", "image/png",
                       key="dataset-strategies-png")


def _gallery_slice(rows: pd.DataFrame) -> tuple[an.Slice, np.ndarray | None]:
    """The gallery's filters: class, right or wrong, a column's range, a group of the Strategies view; sorting."""
    cols = st.columns(4)
    classes = ["(all)", *sorted(rows["label"].fillna("(no label)").unique())]
    label = cols[0].selectbox("Class", classes, key="dataset-g-class")
    which = cols[1].radio("Images", ["all", "right", "wrong"], horizontal=True, key="dataset-g-right")
    column = cols[2].selectbox("Range of", list(an.STATS) + ["probability"], key="dataset-g-column")
    values = rows[column].astype(float)
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    span = cols[3].slider("Between", low, max(high, low + 1e-6), (low, max(high, low + 1e-6)), key="dataset-g-range")
    sort_cols = st.columns([2, 1, 2])
    sort_by = sort_cols[0].selectbox("Sort by", [*an.STATS, "probability", "path"], key="dataset-g-sort")
    descending = sort_cols[1].toggle("Highest first", True, key="dataset-g-desc")
    groups, clusters = _cluster_filter(rows, label, sort_cols[2])
    chosen = an.Slice(None if label == "(all)" else label, {"all": None, "right": True, "wrong": False}[which], column,
                      span[0], span[1], groups, sort_by, descending)
    return chosen, clusters


def _cluster_filter(rows: pd.DataFrame, label: str, where) -> tuple[tuple[int, ...], np.ndarray | None]:  # noqa: ANN001
    """The groups of the Strategies view's last clustering, when it was of this class and these rows."""
    found = st.session_state.get("dataset-clustered")
    if found is None or found[3] != label or not set(found[5]) <= set(rows.index):
        where.caption("Groups: cluster a class in Strategies, then choose it here.")
        return (), None
    labels = np.full(len(rows), -1)
    labels[rows.index.get_indexer(found[5])] = found[4]
    picked = where.multiselect("Groups", list(range(int(found[4].max()) + 1)), key="dataset-g-groups",
                               format_func=lambda c: f"group {c + 1}")
    return tuple(picked), labels


def gallery_view(lm: LoadedModel, opened: Opened, rows: pd.DataFrame) -> None:
    st.caption("Any slice of the store, sorted by any column: each image with its map over it. Open one in Saliency "
               "to see its maps at full resolution with the same method and target.")
    chosen, clusters = _gallery_slice(rows)
    part = an.slice_rows(rows, chosen, clusters)
    st.caption(f"{len(part)} maps in this slice.")
    st.download_button("Download this slice (CSV)", an.to_csv(part), "slice.csv", "text/csv", key="dataset-g-csv")
    count = st.slider("Images shown", 4, 48, 12, step=4, key="dataset-g-count") if len(part) > 12 else 12
    tiles = _gallery_grid(lm, opened, part.head(count), "dataset-g")
    if tiles:
        title = f"{len(part)} maps in this slice; the first {len(tiles)} shown" if len(part) > len(tiles) else ""
        picture = sheets.sheet([t for t, _ in tiles], [c for _, c in tiles], THUMBS, title)
        st.download_button(PNG_LABEL, png_bytes(picture), "gallery.png", "image/png", key="dataset-g-png")


def _gallery_grid(lm: LoadedModel, opened: Opened, rows: pd.DataFrame, key: str) -> list[tuple[np.ndarray, str]]:
    """Thumbnails with their maps, each with a button opening it on the Saliency page; returns them with their
    captions (for the view's PNG)."""
    if opened.read is None:
        st.info(plain(opened.images_note or "The images of this store cannot be read here."))
        return []
    maps = _maps(opened, rows)
    records = list(rows.to_dict("records"))
    shown = []
    for start in range(0, len(records), THUMBS):
        cols = st.columns(THUMBS)
        for col, row, values in zip(cols, records[start:start + THUMBS], maps[start:start + THUMBS], strict=False):
            photo = _photo(opened.key, str(row["path"]), 224, opened.read)
            if photo is None:
                col.caption(plain(f"{row['path']}: cannot be read"))
                continue
            mark = "" if pd.isna(row["correct"]) else ("✓ " if row["correct"] else "✗ ")
            picture, caption = _overlay(photo, values), f"{mark}{row['predicted_label']} {row['probability']:.0%} · {row['path']}"
            col.image(picture, caption=plain(caption))
            shown.append((picture, caption))
            if col.button("Open in Saliency", key=f"{key}-open-{row['image_id']}-{row['target_kind']}"):
                to_saliency(opened, row)
    return shown


def to_saliency(opened: Opened, row: dict) -> None:
    """Carry the image to the Saliency page (it joins the sidebar's images), with the row's method and target."""
    assert opened.read is not None
    path = str(row["path"])
    carry_image(load_image(opened.read(path), path.rsplit("/", 1)[-1]))
    values = {"methods": str(row["method"]), "target": str(int(row["target"])),
              "objective": str(row["objective"]) if row.get("objective") in OBJECTIVES else "logit"}
    if row.get("layer") and row["method"] in REGISTRY and REGISTRY[str(row["method"])].uses_layer:
        values["layer"] = str(row["layer"])
    carry(values)
    st.switch_page("pages/saliency.py")


# ---------------------------------------------------------------- channel examples

def stored_layer(manifest: dict) -> str | None:
    """The layer whose channel maxima a store keeps (explain-set --channels), or None."""
    return manifest.get("settings", {}).get("channels") or None


@st.cache_resource(max_entries=4, show_spinner="Reading the channel maxima…")
def _channel_rows(key: str, _store: Store) -> an.ChannelMaxima:
    return an.channel_maxima(an.read_rows(_store, an.CHANNEL_COLUMNS))


@st.cache_data(max_entries=64, show_spinner=False)
def _model_view(key: str, path: str, model: str, _lm: LoadedModel, _read: Reader) -> np.ndarray | None:
    """An image of the store as the model saw it in the run (decoded, resized and cropped as the engine does), or
    None when it cannot be read."""
    try:
        return _lm.preprocessing.model_view(decode_image(_read(path), path))
    except Exception:  # noqa: BLE001 - a file gone or broken: left out, the page goes on
        return None


def channel_view(lm: LoadedModel, opened: Opened) -> None:
    """Channel examples: a stored layer and one of its channels, the set's top images for it with its region over
    each, beside the Feature maps page's visualisation of the channel; and the view as a PNG."""
    st.caption("Which images of the set excite one channel most: its top images by the channel's strongest response, "
               "each with the channel's map over it (bright: where it fires), beside what the channel looks for "
               "(feature visualisation). Top images that share an object say what the channel detects; regions on the "
               "background or a watermark are worth a look.")
    layer = stored_layer(opened.manifest)
    if layer is None:
        st.info("This store keeps no channel maxima: run interpret explain-set with --channels LAYER (in the app, "
                "choose a layer under 'Channel maxima of' before the run) and open it here.")
        return
    found = _channel_rows(opened.key, opened.store)
    if not len(found.rows):
        st.info("No image of this store has its channel maxima yet.")
        return
    layer, channel, count = _channel_controls(layer, found)
    top = an.top_images(found, channel, count)
    same = opened.manifest.get("model", {}).get("key") == lm.key
    if not same:
        st.warning(plain(f"The store was made with {opened.manifest.get('model', {}).get('spec')}, not the sidebar's "
                         f"model: the channel's regions and its visualisation need the store's model. The top images "
                         "are shown without their regions."))
    left, right = st.columns([3, 2])
    with left:
        tiles = _channel_tiles(lm if same else None, opened, top, layer, channel)
    with right:
        st.markdown(plain(f"What channel {channel} of {layer} looks for"))
        found_vis = visualization_view(lm, layer, channel, key="dataset-ch") if same else None
        if not same:
            st.caption("Choose the store's model in the sidebar to visualise this channel.")
    if tiles:
        picture = sheets.sheet([t for t, _ in tiles], [c for _, c in tiles], 4,
                               f"Top {len(tiles)} images of {opened.manifest.get('listing', {}).get('name') or 'the set'} "
                               f"for channel {channel} of {layer}")
        if found_vis is not None:
            vis = sheets.stacked([found_vis.image, sheets.text_block(f"What channel {channel} looks for",
                                                                      found_vis.image.shape[1])])
            picture = sheets.side_by_side([picture, vis])
        st.download_button(PNG_LABEL, png_bytes(picture), f"channel-{_name_hash(layer)}-{channel}.png", "image/png",
                           key="dataset-ch-png")


def _channel_controls(layer: str, found: an.ChannelMaxima) -> tuple[str, int, int]:
    """The layer (the store's), the channel (in the order chosen) and how many top images to show."""
    cols = st.columns([2, 2, 3, 2])
    layer = persistent(cols[0].selectbox, "Layer", options=[layer], default=layer, key="dataset-ch-layer", url="layer",
                       help="The layer whose channels the store keeps (explain-set --channels).")
    by = persistent(cols[1].selectbox, "Channels sorted by", options=list(an.CHANNEL_SORTS), default="mean",
                    key="dataset-ch-sort", format_func=an.CHANNEL_SORTS.get,
                    help="Each image keeps the strongest response of every channel; a channel is ranked by those.")
    ranking = an.channel_ranking(found.maxima, by)
    means, maxima = ranking.set_index("channel")["mean"], ranking.set_index("channel")["max"]
    options = [int(c) for c in ranking["channel"]]
    channel = persistent(cols[2].selectbox, "Channel", options=options, default=options[0],
                         key=f"dataset-ch-channel|{layer}", url="channel",
                         format_func=lambda c: f"#{c} · mean {means[c]:.3g} · max {maxima[c]:.3g}",
                         help="Type a channel index to jump to it.")
    counts = list(range(4, limits.DATASET_CHANNEL_IMAGES + 1, 4))
    count = persistent(cols[3].select_slider, "Top images", options=counts, default=min(8, counts[-1]),
                       key="dataset-ch-count")
    return layer, int(channel), int(count)


def _channel_tiles(lm: LoadedModel | None, opened: Opened, top: pd.DataFrame, layer: str,
                   channel: int) -> list[tuple[np.ndarray, str]]:
    """The top images, each with the channel's map over it (computed again for these images: one forward pass, as
    the run saw them), drawn and returned with their captions. Without `lm` (another model than the store's) or
    without the images, what can be shown is."""
    if opened.read is None:
        st.info(plain(opened.images_note or "The images of this store cannot be read here."))
        st.dataframe(top[["path", "label", "predicted_label", "activation"]], hide_index=True, width="stretch")
        return []
    rows = list(top.to_dict("records"))
    views = [_model_view(opened.key, str(r["path"]), lm.key if lm else "", lm, opened.read) if lm else
             _photo(opened.key, str(r["path"]), 224, opened.read) for r in rows]
    kept = [(r, v) for r, v in zip(rows, views, strict=True) if v is not None]
    if len(kept) < len(rows):
        st.caption(plain(f"{len(rows) - len(kept)} of the top images cannot be read here and are left out."))
    if not kept:
        return []
    maps = _channel_maps(lm, opened.key, layer, channel, [v for _, v in kept]) if lm else None
    tiles: list[tuple[np.ndarray, str]] = []
    scales: list[ScaleInfo | None] = []
    for i, (row, view) in enumerate(kept):
        mark = "" if pd.isna(row["correct"]) else ("✓ " if row["correct"] else "✗ ")
        caption = f"{mark}{row['label'] or '(no label)'} · max {row['activation']:.3g} · {row['path']}"
        if maps is None:
            tiles.append((view, caption))
            scales.append(None)
            continue
        now = float(maps[i].max())
        if not np.isclose(now, row["activation"], rtol=1e-3, atol=1e-5):
            caption += f" (now {now:.3g}: the image or the model's preprocessing changed since the run)"
        tiles.append((overlay_channel(view, maps[i], CHANNEL_CMAP), caption))
        scales.append(channel_scale(maps[i], CHANNEL_CMAP))
    show_maps([t for t, _ in tiles], scales, [plain(c) for _, c in tiles], columns=4, lines=3)
    return tiles


def _channel_maps(lm: LoadedModel, key: str, layer: str, channel: int, views: list[np.ndarray]) -> np.ndarray:
    """The channel's map for these images (N x h x w): one forward pass of them, as the run preprocessed them,
    answered within the model's bound (interpret/ui/answers.py) and kept with the other answers."""
    digest = hashlib.sha256(b"".join(v.tobytes() for v in views)).hexdigest()[:20]

    def work() -> np.ndarray:
        return channel_maps(lm, lm.preprocessing.normalize(np.stack(views)), layer, channel)

    return answer(lm, f"dataset-channel|{key}|{layer}|{channel}|{digest}", f"channel {channel} of {layer} on "
                  f"{len(views)} images", work, nbytes=lambda maps: int(maps.nbytes))


# ---------------------------------------------------------------- the Feature maps page's link

def _linked_store(lm: LoadedModel, layer: str) -> tuple[str, str, str] | None:
    """(source, folder, the set's name) of the store this session last opened on the Dataset page, when it keeps
    this layer's channels for this model and its images (a loaded set: still the one loaded) are at hand."""
    last = st.session_state.get(LAST_STORE)
    if not last:
        return None
    source, folder, fingerprint = last
    image_set = loaded_set() if source == "set" else None
    if source == "set" and (image_set is None or image_set.fingerprint != fingerprint):
        return None
    if source == "path" and not local_files_allowed():
        return None
    store = Store(folder)
    try:
        manifest = store.manifest()
    except InterpretError:
        return None
    if not manifest or stored_layer(manifest) != layer or manifest.get("model", {}).get("key") != lm.key or not store.done():
        return None
    return source, folder, str(manifest.get("listing", {}).get("name") or "the set")


def channel_examples_link(lm: LoadedModel, layer: str, channel: int) -> None:
    """On the Feature maps page, for a set whose store keeps this layer's channels: a button to the Dataset page's
    Channel examples of this channel (a deep link: the store, the view, the layer and the channel)."""
    found = _linked_store(lm, layer)
    if found is None:
        return
    source, folder, name = found
    if st.button(plain(f"Top images of {name} for channel {channel}"), key="fm-dataset-link",
                 help="The Dataset page's channel examples: the images of the set that excite this channel most, each "
                      "with its region."):
        if source == "path":
            set_value("dataset-path", folder)
        carry({"store": source, "view": "Channel examples", "layer": layer, "channel": str(channel)})
        st.switch_page("pages/dataset.py")

