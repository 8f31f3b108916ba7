"""The Dataset page (pages/dataset.py, interpret/ui/dataset_view.py) in AppTest: it opens a store made by the engine on
real photos and draws every view, a gallery image opens in Saliency with its method and target, the in-app run of the
Mistakes page's set stops and continues without losing rows, and a newer schema or a broken shard is one line."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from app_support import open_app, settle
from interpret.dataset import explain_dataset
from interpret.ui.jobs_view import job_store
from test_dataset import make_set

VIEWS = ("Summary", "Mean maps", "Where it looks", "Strategies", "Gallery")


@pytest.fixture(scope="module")
def store(tmp_path_factory, bundled) -> Path:
    """A store of 6 real photos (and 3 broken files) by the default model, Gradient and Grad-CAM, both targets."""
    photos = make_set(tmp_path_factory.mktemp("photos") / "val")
    out = photos.parent / "val-store"
    explain_dataset(photos, out, bundled, ["gradient", "gradcam"], targets="both", shard_images=4)
    return out


def on_store(folder: Path):
    at = open_app("pages/dataset.py")
    at.radio(key="dataset-source").set_value("path").run()
    return at.text_input(key="dataset-path").input(str(folder)).run()


def test_a_store_of_real_photos_draws_every_view(store):
    at = on_store(store)
    assert at.text_input(key="dataset-images").value == str(store.parent / "val")  # its images found beside it
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "9" and metrics["Could not be read or explained"] == "3" and metrics["Classes"] == "2"
    for view in VIEWS[1:]:
        at.radio(key="dataset-view").set_value(view).run()
        assert not at.exception, (view, at.exception)
        assert not at.error, (view, [e.value for e in at.error])
        assert at.get("image") or view == "Where it looks", view
    at.radio(key="dataset-view").set_value("Where it looks").run()
    assert len(at.get("vega_lite_chart")) == 1 and at.dataframe[0].value["label"].tolist()
    at.toggle(key="dataset-suspicious").set_value(True).run()
    listed = at.dataframe[1].value
    assert listed["border_share"].is_monotonic_decreasing and len(listed) == 6  # the images with a map
    at.radio(key="dataset-view").set_value("Strategies").run()
    assert sum(m.value.startswith("Group ") for m in at.markdown) == 3
    assert [b.label for b in at.get("download_button")][:1] == ["Group 1: images and maps (zip)"]


def test_a_gallery_image_opens_in_saliency_with_its_method_and_target(store):
    at = on_store(store)
    at.radio(key="dataset-view").set_value("Gallery").run()
    at.selectbox(key="dataset-map-method").set_value("gradcam").run()
    at.selectbox(key="dataset-kind").set_value("label").run()
    at.selectbox(key="dataset-g-class").set_value("tabby").run()
    button = next(b for b in at.button if b.key and b.key.startswith("dataset-g-open-"))
    button.click().run()
    assert not at.exception, at.exception
    assert any(h.value == "Saliency" for h in at.title)
    current = at.sidebar.selectbox(key="sb-current")
    assert current.format_func(current.value).endswith(".png")  # the store's photo is the current image
    assert "chelsea" in current.format_func(current.value)
    assert at.multiselect(key="sal-methods").value == ["gradcam"]
    target = next(s for s in at.selectbox if s.key and s.key.startswith("sal-target|"))
    assert "tabby" in target.format_func(target.value)  # the row's target: its label


def test_a_newer_schema_and_a_broken_shard_are_one_clear_line(store, tmp_path):
    import shutil

    newer = tmp_path / "newer"
    shutil.copytree(store, newer)
    manifest = json.loads((newer / "manifest.json").read_text())
    (newer / "manifest.json").write_text(json.dumps({**manifest, "schema": 99}))
    at = on_store(newer)
    assert [e.value for e in at.error] and "schema 99" in at.error[0].value and len(at.error) == 1
    assert not at.exception
    broken = tmp_path / "broken"
    shutil.copytree(store, broken)
    (broken / "shards" / "part-00001.parquet").write_bytes(b"PAR1 not really")
    at = on_store(broken)
    assert len(at.error) == 1 and "part-00001.parquet" in at.error[0].value and "\n" not in at.error[0].value
    assert not at.exception


def test_the_in_app_run_stops_and_continues_without_losing_rows(tmp_path, monkeypatch):
    from interpret import limits
    from interpret.ui import dataset_view

    monkeypatch.setattr(dataset_view, "APP_ROOT", tmp_path)
    monkeypatch.setattr(dataset_view, "APP_SHARD_IMAGES", 2)
    monkeypatch.setattr(limits, "AUTO_COMPUTE_SECONDS", 0.0)  # the demo set waits for a click, as a large set does
    real = dataset_view.explain_dataset

    def paced(*args, progress=None, **kwargs):  # each shard reported half a second later: time to press Stop
        def slow(fraction: float) -> None:
            time.sleep(0.5)
            progress(fraction)

        return real(*args, progress=slow, **kwargs)

    monkeypatch.setattr(dataset_view, "explain_dataset", paced)
    at = open_app("pages/dataset.py")
    at.button(key="dataset-go").click().run()
    at.button(key="dataset-stop").click().run()
    folder = next(tmp_path.iterdir())
    deadline = time.monotonic() + 60
    while job_store().active() and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()
    stopped = [w.value for w in at.warning if w.value.startswith("Stopped after")]
    assert stopped and "of 18 images" in stopped[0], [w.value for w in at.warning]
    before = pd.read_parquet(folder / "shards")
    done = before["image_id"].nunique()
    assert 0 < done < 18 and {m.label: m.value for m in at.metric}["Images"] == str(done)  # the views show those
    first = {p.name: p.stat().st_mtime_ns for p in (folder / "shards").glob("part-*.parquet")}
    settle(at.button(key="dataset-continue").click().run())
    for _ in range(60):  # the live part reruns itself in a browser; here each run shows the progress
        if {m.label: m.value for m in at.metric}.get("Images") == "18":
            break
        time.sleep(0.5)
        at.run()
    assert {m.label: m.value for m in at.metric}["Images"] == "18"
    after = pd.read_parquet(folder / "shards")
    assert after["image_id"].nunique() == 18 and len(after) == 36
    assert {p.name: p.stat().st_mtime_ns for p in (folder / "shards").glob("part-*.parquet") if p.name in first} == first
    kept = after[after["image_id"].isin(before["image_id"])].sort_values(["image_id", "target_kind"])
    assert kept["map"].tolist() == before.sort_values(["image_id", "target_kind"])["map"].tolist()
