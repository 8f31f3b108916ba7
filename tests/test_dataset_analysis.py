"""The Dataset page's analysis (interpret/dataset/analysis.py): summaries, mean maps, where the mass lies, the
suspicious ranking, slices, exports, and map clusters that recover strategies planted in synthetic maps."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from interpret.dataset import analysis as an

SIDE = 56


def blob(rng: np.random.Generator, where: str) -> np.ndarray:
    """A map whose mass lies on the object (a centred blob) or on the border (a frame), with noise."""
    rows, cols = np.mgrid[0:SIDE, 0:SIDE]
    if where == "object":
        centre = SIDE / 2 + rng.normal(0, 3, 2)
        values = np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * 7.0 ** 2))
    else:
        edge = np.minimum.reduce([rows, cols, SIDE - 1 - rows, SIDE - 1 - cols])
        values = np.exp(-edge / 3.0) * (1 + 0.5 * rng.random())
    return (values + rng.random((SIDE, SIDE)) * 0.15 * values.max()).astype(np.float32)


def rows_of(strategies: list[str], label: str = "husky", seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    maps = np.stack([blob(rng, s) for s in strategies])
    border = an.mass(maps)[:, :6, :].sum(axis=(1, 2))  # a stand-in statistic rising with the frame
    frame = pd.DataFrame({"image_id": [f"{label}{i}" for i in range(len(strategies))], "path": [f"{label}/{i}.png" for i in
                          range(len(strategies))], "label": label, "correct": [s == "object" for s in strategies],
                          "method": "gradient", "target_kind": "predicted", "error": None, "border_share": border,
                          "centre_share": 1 - border, "entropy": 0.5, "top10_share": 0.2})
    return frame, maps


@pytest.mark.parametrize("algorithm", an.ALGORITHMS)
def test_clusters_recover_two_planted_strategies(algorithm):
    truth = ["object"] * 24 + ["border"] * 16
    order = np.random.default_rng(1).permutation(len(truth))
    strategies = [truth[i] for i in order]
    _, maps = rows_of(strategies)
    clusters = an.cluster_maps(maps, 2, algorithm)
    planted = np.array([s == "border" for s in strategies])
    agreement = max((clusters.labels == planted).mean(), (clusters.labels != planted).mean())
    assert agreement == 1.0
    assert list(clusters.sizes) == [24, 16]  # largest first
    assert clusters.shares[1] == pytest.approx(0.4)
    frame_cluster = an.features(clusters.means[1:2])[0]
    assert frame_cluster.reshape(14, 14)[0].sum() > frame_cluster.reshape(14, 14)[7].sum()  # its mean map: the frame
    assert all(len(t) == min(8, s) for t, s in zip(clusters.typical, clusters.sizes, strict=True))
    assert all((clusters.labels[t] == c).all() for c, t in enumerate(clusters.typical))


def test_clustering_is_seeded_and_a_large_class_is_fitted_on_a_sample(monkeypatch):
    _, maps = rows_of(["object"] * 30 + ["border"] * 30)
    first, again = an.cluster_maps(maps, 3), an.cluster_maps(maps, 3)
    assert (first.labels == again.labels).all()
    monkeypatch.setattr(an, "DATASET_CLUSTER_ROWS", 20)
    sampled = an.cluster_maps(maps, 2)
    assert sampled.fitted_on == 20 and sampled.sizes.sum() == 60 and sorted(sampled.sizes) == [30, 30]
    assert an.cluster_maps(maps[:1], 4).sizes.tolist() == [1]  # fewer maps than clusters


def test_summary_counts_images_once_and_accuracy_on_labelled_ones():
    rows = pd.DataFrame({"image_id": ["a", "a", "b", "b", "c", "d"], "label": ["x", "x", "x", "x", "y", None],
                         "correct": [True, True, False, False, True, None], "method": ["g", "c", "g", "c", "g", "g"],
                         "target_kind": "predicted", "predicted_label": "x",
                         "error": [None, None, None, None, None, None]})
    rows.loc[len(rows)] = ["e", "y", None, "g", "predicted", None, "broken file"]
    got = an.summary(rows)
    assert (got.images, got.failed, got.labelled) == (5, 1, 3)
    assert got.accuracy == pytest.approx(2 / 3) and got.methods == ("c", "g")
    table = got.classes.set_index("label")
    assert table.loc["x", "images"] == 2 and table.loc["x", "wrong"] == 1 and table.loc["(no label)", "images"] == 1
    assert np.isnan(table.loc["(no label)", "accuracy"])


def test_mean_maps_split_right_and_wrong_on_one_scale():
    rows, maps = rows_of(["object"] * 5 + ["border"] * 3)
    means = an.mean_maps(rows, maps)
    assert (means.right_count, means.wrong_count) == (5, 3)
    assert means.right[28, 28] > means.right[0, 28] and means.wrong[0, 28] > means.wrong[28, 28]
    assert means.right.sum() == pytest.approx(1, abs=1e-4) and means.high == max(means.right.max(), means.wrong.max())
    assert an.mean_maps(rows[:5], maps[:5]).wrong is None


def test_where_it_looks_ranks_classes_and_images_by_border_mass():
    husky, _ = rows_of(["border"] * 4 + ["object"], "husky")
    dog, _ = rows_of(["object"] * 5, "dog", seed=2)
    rows = pd.concat([husky, dog], ignore_index=True)
    table = an.class_stat_table(rows, "border_share")
    assert table["label"].tolist() == ["husky", "dog"] and set(table.columns) >= {"mean (right)", "mean (wrong)"}
    top = an.suspicious(rows, 3)
    assert (top["label"] == "husky").all() and top["border_share"].is_monotonic_decreasing


def test_slices_filter_and_sort_and_exports_hold_what_they_say(tmp_path):
    rows, maps = rows_of(["object"] * 4 + ["border"] * 4)
    clusters = an.cluster_maps(maps, 2).labels
    chosen = an.slice_rows(rows, an.Slice(label="husky", correct=False, column="border_share", low=0.0, high=1.0,
                                          clusters=(int(clusters[-1]),), sort_by="border_share", descending=False))
    assert set(chosen.index) == {4, 5, 6, 7} and chosen["border_share"].is_monotonic_increasing
    assert an.slice_rows(rows, an.Slice(label="none")).empty
    text = an.to_csv(rows.assign(map=b"x")).decode()
    assert text.splitlines()[0].startswith("image_id,path") and "map" not in text.splitlines()[0].split(",")
    data = an.cluster_zip(chosen, maps[chosen.index], lambda p: b"bytes of " + p.encode() if "5" not in p else 1 / 0)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        listed = pd.read_csv(io.BytesIO(archive.read("rows.csv")))
    assert sum(n.startswith("maps/") for n in names) == 4 and sum(n.startswith("images/") for n in names) == 3
    assert listed["exported"].isna().sum() == 1  # the image that could not be read is named, not faked
