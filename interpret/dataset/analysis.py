"""The patterns in a store's maps: per-class summaries, mean maps of hits and mistakes, where the mass lies, the
images that look at the border most, map clusters (strategies), and slices. No torch, no streamlit.

Every function reads only the columns it needs (`read_rows(store, columns)`); maps are compared as their mass:
the absolute low-resolution map normalised to sum to 1 (as the map statistics are), so a strong and a weak map
of the same place look alike.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..limits import DATASET_CLUSTER_ROWS
from ..render import colorize, resize
from .store import Store

STATS = ("border_share", "centre_share", "entropy", "top10_share")
STAT_TEXT = {"border_share": "share of the map's mass on the border (outer tenth of each side)",
             "centre_share": "share of the mass in the centre (middle half of each side)",
             "entropy": "how spread the map is (0: one spot, 1: even)",
             "top10_share": "share of the mass in the top 10 % of pixels"}
SUMMARY_COLUMNS = ("image_id", "label", "correct", "method", "target_kind", "predicted_label", "error")
VIEW_COLUMNS = ("image_id", "path", "label", "predicted_label", "probability", "correct", "method", "target_kind",
                "target_label", "layer", "objective", *STATS, "error")
CHANNEL_COLUMNS = ("image_id", "path", "label", "predicted_label", "correct", "channel_max")
CHANNEL_SORTS = {"mean": "mean of the images' maxima", "max": "highest maximum in the set", "index": "index"}
CLUSTER_SIDE = 14  # maps are clustered at 14 x 14 (their mass pooled 4 x 4): the layout, not the pixel noise
ALGORITHMS = ("kmeans", "spectral")


def read_rows(store: Store, columns: Iterable[str]) -> pd.DataFrame:
    """The store's rows, only `columns` (the store's own bounded, one-line-error reading)."""
    return store.read(list(dict.fromkeys(columns))).to_pandas()


def explained(rows: pd.DataFrame, method: str | None = None, target_kind: str | None = None) -> pd.DataFrame:
    """The rows with a map (no error), of one method and target kind if given, indexed 0..n-1."""
    keep = rows["error"].isna()
    if method is not None:
        keep &= rows["method"] == method
    if target_kind is not None:
        keep &= rows["target_kind"] == target_kind
    return rows[keep].reset_index(drop=True)


# ---------------------------------------------------------------- summary

@dataclass(frozen=True)
class Summary:
    """What a store holds: images, those that failed, accuracy where labelled, per-class counts, methods, targets."""

    images: int
    failed: int
    labelled: int
    accuracy: float | None
    classes: pd.DataFrame  # label, images, right, wrong, accuracy
    methods: tuple[str, ...]
    targets: tuple[str, ...]


def summary(rows: pd.DataFrame) -> Summary:
    """The summary of rows read with at least SUMMARY_COLUMNS (one image counted once, whatever its rows)."""
    images = rows.drop_duplicates("image_id")
    failed = rows[rows["error"].notna()].groupby("image_id")["error"].size()
    ok = rows[rows["error"].isna()].drop_duplicates("image_id")
    labelled = ok[ok["correct"].notna()]
    accuracy = float(labelled["correct"].astype(bool).mean()) if len(labelled) else None
    return Summary(len(images), int((rows.groupby("image_id")["error"].apply(lambda e: e.notna().all())).sum())
                   if len(failed) else 0, len(labelled), accuracy, per_class(ok), _values(rows, "method"),
                   _values(rows, "target_kind"))


def _values(rows: pd.DataFrame, column: str) -> tuple[str, ...]:
    return tuple(sorted(str(v) for v in rows[column].dropna().unique()))


def per_class(images: pd.DataFrame) -> pd.DataFrame:
    """Per label (one row per image): images, right, wrong, accuracy; unlabelled images as '(no label)'."""
    labels = images["label"].fillna("(no label)")
    right = images["correct"].fillna(False).astype(bool)
    wrong = images["correct"].notna() & ~right
    table = pd.DataFrame({"label": labels, "right": right, "wrong": wrong})
    out = table.groupby("label", sort=True).agg(images=("right", "size"), right=("right", "sum"), wrong=("wrong", "sum"))
    judged = out["right"] + out["wrong"]
    out["accuracy"] = np.where(judged > 0, out["right"] / judged.where(judged > 0, 1), np.nan)
    return out.reset_index()


# ---------------------------------------------------------------- maps

def mass(maps: np.ndarray) -> np.ndarray:
    """Each map's absolute value normalised to sum to 1 (a zero or NaN map stays zero)."""
    values = np.abs(np.nan_to_num(maps.astype(np.float32)))
    totals = values.reshape(len(values), -1).sum(axis=1)
    return values / np.where(totals > 0, totals, 1.0)[:, None, None]


@dataclass(frozen=True)
class MeanMaps:
    """The mean mass map of a class's right and wrong images (None where it has none), and their counts."""

    right: np.ndarray | None
    wrong: np.ndarray | None
    right_count: int
    wrong_count: int

    @property
    def high(self) -> float:
        """The top of their common colour scale."""
        return max((float(m.max()) for m in (self.right, self.wrong) if m is not None), default=0.0)


def mean_maps(rows: pd.DataFrame, maps: np.ndarray) -> MeanMaps:
    """The mean mass maps of `rows` (one class, one method and target) split by `correct`; `maps` row-aligned."""
    shares = mass(maps)
    right = rows["correct"].fillna(False).astype(bool).to_numpy()
    wrong = (rows["correct"].notna() & ~rows["correct"].fillna(False).astype(bool)).to_numpy()
    return MeanMaps(shares[right].mean(axis=0) if right.any() else None, shares[wrong].mean(axis=0) if wrong.any() else None,
                    int(right.sum()), int(wrong.sum()))


# ---------------------------------------------------------------- where it looks

def class_stat_table(rows: pd.DataFrame, stat: str) -> pd.DataFrame:
    """Per class: images, mean, median, 90th percentile of `stat`, and the mean for right and wrong images;
    the highest median first."""
    labels = rows["label"].fillna("(no label)")
    frame = pd.DataFrame({"label": labels, "value": rows[stat].astype(float), "correct": rows["correct"]})
    grouped = frame.groupby("label")["value"]
    out = pd.DataFrame({"images": grouped.size(), "mean": grouped.mean(), "median": grouped.median(),
                        "p90": grouped.quantile(0.9)})
    for name, flag in (("right", True), ("wrong", False)):
        part = frame[frame["correct"].notna() & (frame["correct"].fillna(not flag).astype(bool) == flag)]
        out[f"mean ({name})"] = part.groupby("label")["value"].mean()
    return out.sort_values("median", ascending=False).reset_index()


def suspicious(rows: pd.DataFrame, count: int = 50, stat: str = "border_share") -> pd.DataFrame:
    """The rows with the most mass on the border first (or the highest `stat`), with how far each is above its
    class's median (`above class`): the images whose map most likely rests on the background."""
    values = rows[stat].astype(float)
    medians = values.groupby(rows["label"].fillna("(no label)")).transform("median")
    out = rows.assign(**{"above class": values - medians})
    return out.sort_values([stat, "above class"], ascending=False).head(count)


# ---------------------------------------------------------------- strategies

@dataclass(frozen=True)
class Clusters:
    """Maps grouped by where their mass lies: each row's cluster, each cluster's size, mean mass map (at the
    maps' side) and its most typical rows (nearest its centre first), largest cluster first (cluster 0)."""

    labels: np.ndarray  # per row
    sizes: np.ndarray
    means: np.ndarray  # k x side x side
    typical: list[np.ndarray]  # per cluster: row indices, nearest the centre first
    fitted_on: int  # rows the clusters were fitted on (a seeded sample above DATASET_CLUSTER_ROWS)

    @property
    def shares(self) -> np.ndarray:
        return self.sizes / max(1, int(self.sizes.sum()))


def features(maps: np.ndarray, side: int = CLUSTER_SIDE) -> np.ndarray:
    """Each map's mass pooled to side x side and flattened (the vector clustered)."""
    shares = mass(maps)
    n, h, w = shares.shape
    if h % side or w % side:
        shares = np.stack([resize(m, (side, side)) for m in shares]) if n else np.zeros((0, side, side), np.float32)
        return shares.reshape(n, -1)
    return shares.reshape(n, side, h // side, side, w // side).sum(axis=(2, 4)).reshape(n, -1)


def _fit(vectors: np.ndarray, k: int, algorithm: str, seed: int) -> np.ndarray:
    """Cluster labels of `vectors` (k-means with n_init=10, or spectral on a nearest-neighbour graph), seeded."""
    if algorithm == "spectral":
        from sklearn.cluster import SpectralClustering

        neighbours = max(2, min(10, len(vectors) - 1))
        model = SpectralClustering(n_clusters=k, affinity="nearest_neighbors", n_neighbors=neighbours,
                                   assign_labels="cluster_qr", random_state=seed)
        return model.fit_predict(vectors)
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(vectors)


def cluster_maps(maps: np.ndarray, k: int, algorithm: str = "kmeans", seed: int = 0, typical: int = 8) -> Clusters:
    """Group maps into `k` strategies (fewer if there are fewer distinct maps). Above DATASET_CLUSTER_ROWS maps,
    the clusters are fitted on a seeded sample and every map joins its nearest cluster's centre."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm is one of {', '.join(ALGORITHMS)}")
    vectors = features(maps)
    n = len(vectors)
    k = max(1, min(k, n, len(np.unique(vectors.round(6), axis=0)) if n else 1))
    sample = np.sort(np.random.default_rng(seed).choice(n, DATASET_CLUSTER_ROWS, replace=False)) \
        if n > DATASET_CLUSTER_ROWS else np.arange(n)
    fitted = _fit(vectors[sample], k, algorithm, seed) if k > 1 else np.zeros(len(sample), np.int64)
    centres = np.stack([vectors[sample][fitted == c].mean(axis=0) for c in range(k)])
    distances = ((vectors[:, None, :] - centres[None]) ** 2).sum(axis=2)
    labels = distances.argmin(axis=1) if n > len(sample) else fitted
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")  # largest first
    labels = np.argsort(order)[labels]
    distances = distances[:, order]
    shares = mass(maps)
    means = np.stack([shares[labels == c].mean(axis=0) for c in range(k)])
    near = [np.flatnonzero(labels == c)[np.argsort(distances[labels == c, c], kind="stable")][:typical] for c in range(k)]
    return Clusters(labels, np.bincount(labels, minlength=k), means, near, len(sample))


# ---------------------------------------------------------------- channels

@dataclass(frozen=True)
class ChannelMaxima:
    """The images with channel maxima (one row each, indexed 0..n-1) and their maxima (n x channels)."""

    rows: pd.DataFrame
    maxima: np.ndarray

    @property
    def channels(self) -> int:
        return int(self.maxima.shape[1])


def channel_maxima(rows: pd.DataFrame) -> ChannelMaxima:
    """The rows that hold `channel_max` (an image's first row: one per image read) and their maxima as an array."""
    kept = rows[rows["channel_max"].notna()].reset_index(drop=True)
    values = np.stack(kept["channel_max"].to_numpy()).astype(np.float32) if len(kept) else np.zeros((0, 0), np.float32)
    return ChannelMaxima(kept.drop(columns="channel_max"), values)


def channel_ranking(maxima: np.ndarray, by: str = "mean") -> pd.DataFrame:
    """Per channel: the mean of the images' maxima and the highest maximum; sorted by `by` (CHANNEL_SORTS), highest
    first (by index: in order). A channel that fires strongly on a few images ranks high by max, not by mean."""
    if by not in CHANNEL_SORTS:
        raise ValueError(f"by is one of {', '.join(CHANNEL_SORTS)}")
    table = pd.DataFrame({"channel": np.arange(maxima.shape[1]), "mean": np.nan_to_num(maxima).mean(axis=0),
                          "max": np.nan_to_num(maxima).max(axis=0)})
    return table if by == "index" else table.sort_values(by, ascending=False, kind="stable").reset_index(drop=True)


def top_images(found: ChannelMaxima, channel: int, count: int) -> pd.DataFrame:
    """The `count` images with the highest maximum of `channel`, highest first, with that maximum (`activation`)."""
    values = np.nan_to_num(found.maxima[:, channel], nan=-np.inf)
    order = np.argsort(-values, kind="stable")[:count]
    return found.rows.iloc[order].assign(activation=found.maxima[order, channel])


# ---------------------------------------------------------------- slices and exports

@dataclass(frozen=True)
class Slice:
    """Which rows a gallery shows: a class, right or wrong, a range of one column, clusters; sorted by a column."""

    label: str | None = None
    correct: bool | None = None
    column: str | None = None
    low: float = -np.inf
    high: float = np.inf
    clusters: tuple[int, ...] = ()
    sort_by: str = "border_share"
    descending: bool = True


def slice_rows(rows: pd.DataFrame, chosen: Slice, clusters: np.ndarray | None = None) -> pd.DataFrame:
    """The rows of `chosen` (their index kept, so maps stay aligned); `clusters` is row-aligned with `rows`."""
    keep = pd.Series(True, index=rows.index)
    if chosen.label is not None:
        keep &= rows["label"].fillna("(no label)") == chosen.label
    if chosen.correct is not None:
        keep &= rows["correct"].notna() & (rows["correct"].fillna(False).astype(bool) == chosen.correct)
    if chosen.column is not None:
        values = rows[chosen.column].astype(float)
        keep &= (values >= chosen.low) & (values <= chosen.high)
    if chosen.clusters and clusters is not None:
        keep &= pd.Series(np.isin(clusters, chosen.clusters), index=rows.index)
    out = rows[keep]
    return out.sort_values(chosen.sort_by, ascending=not chosen.descending, kind="stable") if chosen.sort_by in out else out


def to_csv(rows: pd.DataFrame) -> bytes:
    """The rows as CSV (binary and list columns left out)."""
    plain = [c for c in rows.columns if c not in ("map", "top_indices", "top_probabilities", "channel_max")]
    return rows[plain].to_csv(index=False).encode("utf-8")


def map_png(values: np.ndarray, size: int = 224, high: float | None = None) -> bytes:
    """A mass map as a PNG (inferno, 0 to `high` or its own maximum)."""
    from PIL import Image

    rgb = colorize(values, "absolute", "inferno", 100.0, high if high else None)
    big = resize(rgb, (size, size), nearest=True)
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, "PNG")
    return buffer.getvalue()


def cluster_zip(rows: pd.DataFrame, maps: np.ndarray, read: Callable[[str], bytes] | None) -> bytes:
    """A zip of a cluster: rows.csv, each map as maps/NNNN.png and (when `read` gives the bytes) each image
    as images/NNNN_<name>; an image that cannot be read is left out and named in rows.csv's `exported` column."""
    buffer = io.BytesIO()
    exported = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, (path, values) in enumerate(zip(rows["path"], mass(maps), strict=True)):
            archive.writestr(f"maps/{n:04d}.png", map_png(values))
            name = f"images/{n:04d}_{str(path).rsplit('/', 1)[-1]}"
            try:
                if read is None:
                    raise LookupError(path)
                archive.writestr(name, read(str(path)))
                exported.append(name)
            except Exception:  # noqa: BLE001 - a file gone or unreadable: the zip says so, the rest is kept
                exported.append("")
        archive.writestr("rows.csv", to_csv(rows.assign(exported=exported)))
    return buffer.getvalue()
