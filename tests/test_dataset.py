"""Explaining a whole dataset (interpret/dataset/): a store anyone reads with pandas, bad images as error rows,
listings of every kind, seeds per image, and runs that resume: after a stop, after SIGKILL, refused when the
settings changed. The Ray engine's rows are in tests/test_dataset_ray.py."""
from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from interpret.dataset import SCHEMA, Store, StoreError, explain_dataset, map_of, open_listing, open_store
from interpret.dataset.store import shard_name
from interpret.errors import InterpretError, ParameterError
from interpret.progress import Cancelled
from interpret.samples import load_sample

ROOT = Path(__file__).resolve().parents[1]
BAD = ("broken.png", "line.png", "notes.jpg")


def small_photo(name: str, size: int = 96) -> Image.Image:
    return load_sample(name).image.resize((size, size))


def make_set(folder: Path, per_class: int = 3, bad: bool = True, size: int = 96) -> Path:
    """Class folders of real (small) sample photos; with `bad`, a truncated PNG, a 1 x 50 000 PNG and a text file
    named .jpg among them."""
    for label, sample in (("espresso", "coffee"), ("tabby", "chelsea")):
        (folder / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            small_photo(sample, size + i).save(folder / label / f"{sample}{i}.png")
    if bad:
        buffer = io.BytesIO()
        small_photo("coffee").save(buffer, "PNG")
        (folder / "espresso" / BAD[0]).write_bytes(buffer.getvalue()[:300])
        Image.new("RGB", (1, 50_000), "white").save(folder / "espresso" / BAD[1])
        (folder / "tabby" / BAD[2]).write_text("not a photo\n")
    return folder


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return make_set(tmp_path_factory.mktemp("set"))


@pytest.fixture(scope="module")
def small(bundled):
    """The default model at 64 px: the same network, a twelfth of the work per map."""
    from interpret.models import load_model

    return load_model(bundled.spec, preprocessing=lambda p: p.replace(crop_size=64, resize_size=64))


@pytest.fixture(scope="module")
def store(photos, tmp_path_factory, small) -> Path:
    out = tmp_path_factory.mktemp("store") / "run"
    summary = explain_dataset(photos, out, small, ["gradient", "gradcam"], targets="both", scores=True,
                              full_maps=True, shard_images=4)
    assert summary.images == 9 and summary.shards == 3 and summary.computed == 3 and not summary.stopped
    return out


def test_the_store_reads_back_with_pandas_one_row_per_image_method_and_target(store):
    table = pd.read_parquet(store / "shards")  # no interpret needed to read it
    assert set(table.columns) == set(SCHEMA.names)
    good = table[table["error"].isna()]
    assert len(good) == 6 * 2 * 2  # 6 photos x 2 methods x (predicted, label)
    assert set(good["target_kind"]) == {"predicted", "label"} and set(good["method"]) == {"gradient", "gradcam"}
    espresso = good[(good["label"] == "espresso") & (good["target_kind"] == "label")]
    assert set(espresso["target_label"]) == {"espresso"}
    assert (good["correct"] == (good["predicted"] == good["label_index"])).all()
    for column in ("centre_share", "border_share", "top10_share", "entropy", "peak_row", "peak_col",
                   "deletion_auc", "insertion_auc"):
        assert good[column].between(0, 1).all(), column
    assert good["road"].notna().all()
    small = map_of(good.iloc[0].to_dict())
    assert small.shape == (56, 56) and np.isfinite(small).all() and np.abs(small).max() > 0
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["schema"] == 1 and manifest["listing"]["images"] == 9 and manifest["model"]["spec"]


def test_a_bad_image_is_a_row_with_its_error_and_nothing_else_is_lost(store):
    table = open_store(store)
    errors = table[table["error"].notna()]
    assert sorted({Path(p).name for p in errors["path"]}) == sorted(BAD)
    assert len(errors) == 3 * 2  # one row per method for each bad image
    assert all("\n" not in e and len(e) < 400 for e in errors["error"])
    line = errors[errors["path"].str.endswith("line.png")]["error"].iloc[0]
    assert "line.png" in line


def test_the_rows_maps_are_the_maps_of_attribute(store, small, photos):
    from interpret.attribution import Target, attribute
    from interpret.dataset.stats import low_resolution
    from interpret.images import load_image_file

    table = open_store(store)
    row = table[(table["method"] == "gradcam") & (table["target_kind"] == "predicted") & table["error"].isna()].iloc[0]
    x = small.preprocessing.to_tensor(load_image_file(photos / row["path"]).image)
    values = attribute(small, x, "gradcam", Target(int(row["target"]))).values
    assert np.allclose(map_of(row.to_dict()), low_resolution(values, 56).astype(np.float32), atol=2e-3 * np.abs(values).max())
    full = np.load(store / "maps" / f"{shard_name(0)}.npy")
    first = table[table["full_map"].notna()].iloc[0]
    assert full.dtype == np.float16 and full.shape[1:] == values.shape
    assert np.isfinite(full[int(first["full_map"])]).all()


def test_a_rerun_with_the_same_settings_computes_nothing_and_other_settings_are_refused(store, photos, small):
    before = {p.name: p.stat().st_mtime_ns for p in (store / "shards").iterdir()}
    again = explain_dataset(photos, store, small, ["gradient", "gradcam"], targets="both", scores=True, full_maps=True,
                            shard_images=4)
    assert again.computed == 0 and again.skipped == 3
    assert {p.name: p.stat().st_mtime_ns for p in (store / "shards").iterdir()} == before
    with pytest.raises(StoreError, match=r"other settings \(settings.methods, settings.params.gradcam changed\)"):
        explain_dataset(photos, store, small, ["gradient"], targets="both", scores=True, full_maps=True, shard_images=4)


def test_overwrite_replaces_a_store_made_with_other_settings(photos, small, tmp_path):
    explain_dataset(photos, tmp_path / "s", small, ["gradient"], shard_images=8)
    with pytest.raises(StoreError, match="settings.targets changed"):
        explain_dataset(photos, tmp_path / "s", small, ["gradient"], targets="label", shard_images=8)
    done = explain_dataset(photos, tmp_path / "s", small, ["gradient"], targets="label", shard_images=8, overwrite=True)
    assert done.computed == 2 and set(open_store(tmp_path / "s")["target_kind"].dropna()) == {"label"}


def test_a_stop_keeps_the_finished_shards_and_the_rerun_does_only_the_rest(photos, small, tmp_path):
    calls = []

    def stop_after_the_first_shard(fraction: float) -> None:
        calls.append(fraction)
        raise Cancelled()

    first = explain_dataset(photos, tmp_path / "s", small, ["gradient"], progress=stop_after_the_first_shard,
                            shard_images=2)
    assert first.stopped and first.computed == 1 and calls == [pytest.approx(2 / 9)]
    rest = explain_dataset(photos, tmp_path / "s", small, ["gradient"], shard_images=2)
    assert rest.computed == 4 and rest.skipped == 1
    table = open_store(tmp_path / "s")
    assert sorted(table["image_id"]) == sorted(item.id for item in open_listing(photos).items)  # each image once


def test_a_run_killed_with_sigkill_loses_only_its_shard_in_flight(tmp_path):
    photos = make_set(tmp_path / "set", per_class=3, bad=False, size=64)
    out = tmp_path / "store"
    command = [sys.executable, "-m", "interpret", "explain-set", str(photos), "--out", str(out), "--methods",
               "integrated_gradients", "--param", "steps=32", "--shard-images", "1", "--resize", "96", "--crop", "96"]
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while len(list((out / "shards").glob("_*.done"))) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait(30)
    done = {p.stem.lstrip("_") for p in (out / "shards").glob("_*.done")}
    assert 2 <= len(done) < 6, done
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("part-*.parquet") if p.stem in done}
    rerun = subprocess.run(command + ["--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["skipped_shards"] == len(done) and summary["computed_shards"] == 6 - len(done)
    assert {n: (out / "shards" / n).stat().st_mtime_ns for n in kept} == kept  # no finished shard redone
    table = open_store(out)
    assert len(table) == 6 and table["image_id"].is_unique and table["error"].isna().all()
    assert not list((out / "shards").glob(".*tmp*"))  # no temporary file left visible as a shard


def test_noise_is_seeded_by_each_images_id_so_the_batching_does_not_change_a_map(photos, small, tmp_path):
    one = explain_dataset(photos, tmp_path / "a", small, ["smoothgrad"], params={"smoothgrad": {"samples": 4}},
                          shard_images=1)
    many = explain_dataset(photos, tmp_path / "b", small, ["smoothgrad"], params={"smoothgrad": {"samples": 4}},
                           shard_images=9)
    assert one.computed == 9 and many.computed == 1
    a, b = open_store(tmp_path / "a"), open_store(tmp_path / "b")
    a, b = a[a["error"].isna()].set_index("image_id"), b[b["error"].isna()].set_index("image_id")
    assert a["seed"].nunique() == 6  # one seed per image
    for image in a.index:
        assert a.loc[image, "seed"] == b.loc[image, "seed"]
        assert np.array_equal(map_of(a.loc[image].to_dict()), map_of(b.loc[image].to_dict()))


def test_every_kind_of_listing(photos, small, tmp_path):
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    for i, name in enumerate(("coffee", "chelsea")):
        small_photo(name).save(unlabelled / f"{i}.png")
    assert [item.label for item in open_listing(unlabelled).items] == [None, None]
    with pytest.raises(ParameterError, match="--targets label needs labels"):
        explain_dataset(unlabelled, tmp_path / "u", small, ["gradient"], targets="label")
    rows = [{"path": "espresso/coffee0.png", "label": "espresso"}, {"path": "tabby/chelsea1.png", "label": ""},
            {"path": "../outside.png", "label": "x"}]
    pd.DataFrame(rows).to_csv(photos / "listing.csv", index=False)
    pd.DataFrame(rows).to_parquet(photos / "listing.parquet")
    for name in ("listing.csv", "listing.parquet"):
        listing = open_listing(photos / name)
        assert [(i.path, i.label) for i in listing.items] == [("espresso/coffee0.png", "espresso"),
                                                             ("tabby/chelsea1.png", None)]
        assert listing.skipped == {"listed but missing, unsafe or not an image": 1}
    (photos / "listing.csv").unlink()
    (photos / "listing.parquet").unlink()
    import shutil

    archive = Path(shutil.make_archive(str(tmp_path / "photos"), "zip", photos))
    zipped = open_listing(archive)
    assert [(i.path, i.label) for i in zipped.items] == [(i.path, i.label) for i in open_listing(photos).items]
    done = explain_dataset(archive, tmp_path / "z", small, ["gradient"])
    assert done.images == 9 and len(open_store(tmp_path / "z")) == 9
    with pytest.raises(InterpretError, match="no 'path' column"):
        (tmp_path / "bad.csv").write_text("file,label\na.png,x\n")
        open_listing(tmp_path / "bad.csv")


def test_a_folder_nested_far_deeper_than_pythons_recursion_limit_is_listed(tmp_path):
    folder = tmp_path / "deep"
    deep = folder
    folder.mkdir()
    for _ in range(1_100):  # os.makedirs recurses: one level at a time
        deep = deep / "d"
        deep.mkdir()
    small_photo("coffee", 32).save(deep / "x.png")
    try:
        (item,) = open_listing(folder).items
        assert item.path.count("/") == 1_100 and item.label == "d"
    finally:  # shutil.rmtree (pytest's clean-up) recurses too: one level at a time, deepest first
        (deep / "x.png").unlink()
        while deep != folder.parent:
            deep.rmdir()
            deep = deep.parent


def test_a_newer_schema_and_a_broken_shard_are_one_clear_line(store, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    (copy / "shards" / f"{shard_name(1)}.parquet").write_bytes(b"PAR1 broken")
    with pytest.raises(StoreError, match=r"The shard 'part-00001.parquet' of '.*copy' cannot be read"):
        open_store(copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "schema": 99}))
    with pytest.raises(StoreError, match="written with store schema 99; this version reads schema 1"):
        Store(copy).read()


def test_the_cli_writes_a_store_and_resumes_it(photos, tmp_path):
    from interpret.cli import main

    out = tmp_path / "cli"
    args = ["explain-set", str(photos), "--out", str(out), "--methods", "gradient", "--targets", "label", "--json"]
    assert main(args) == 0
    assert main(args) == 0
    table = open_store(out)
    assert len(table) == 9 and set(table["target_kind"].dropna()) == {"label"}
    assert main(["explain-set", str(photos), "--out", str(out), "--methods", "gradient,nonsense"]) == 1
    assert main(["explain-set", str(photos), "--out", str(out), "--methods", "gradient", "--param", "steps=4"]) == 2


def test_a_method_that_cannot_explain_the_objective_is_refused_before_any_image_is_read(photos, small, tmp_path):
    with pytest.raises(ParameterError, match="DeepLIFT"):
        explain_dataset(photos, tmp_path / "d", small, ["deeplift"], objective="loss")
    assert not (tmp_path / "d").exists()


def test_a_correct_images_label_and_prediction_are_one_map_computed_once(photos, bundled, tmp_path, monkeypatch):
    from interpret.dataset import work

    calls = []
    real = work.attribute_batch
    monkeypatch.setattr(work, "attribute_batch", lambda lm, xs, *a, **k: calls.append(len(xs)) or real(lm, xs, *a, **k))
    explain_dataset(photos, tmp_path / "both", bundled, ["gradient"], targets="both", shard_images=9)
    table = open_store(tmp_path / "both")
    good = table[table["error"].isna()]
    same = int(good.groupby("image_id")["target"].nunique().eq(1).sum())  # images whose label is their prediction
    assert same > 0 and calls == [2 * 6 - same]
    assert len(good) == 2 * 6  # still a row for each target


def test_a_batchs_prediction_and_its_gradient_maps_share_one_forward_pass(photos, small, tmp_path):
    """The prediction (which picks the targets) and Gradient, Gradient x Input and the gradient CAMs of the same
    images need the same forward pass: a run does it once per batch, and the maps are still attribute()'s."""
    from interpret.attribution.requirements import applicable

    methods = ["gradient", "grad_x_input", "gradcam", "gradcam_pp"]
    assert all(applicable(small, method)[0] for method in methods)  # the model's one-time checks, done before
    calls = []
    handle = small.model.register_forward_pre_hook(lambda module, args: calls.append(len(args[0])))
    try:
        explain_dataset(photos, tmp_path / "one", small, methods, shard_images=9)
    finally:
        handle.remove()
    assert calls == [6]  # the 6 photos of the one shard (its 3 bad files have no pass): one forward for 4 maps each
    from interpret.attribution import Target, attribute
    from interpret.dataset.stats import low_resolution
    from interpret.images import load_image_file

    table = open_store(tmp_path / "one")
    for method in ("grad_x_input", "gradcam_pp"):
        row = table[(table["method"] == method) & table["error"].isna()].iloc[-1]
        x = small.preprocessing.to_tensor(load_image_file(photos / row["path"]).image)
        values = attribute(small, x, method, Target(int(row["target"]))).values
        assert np.allclose(map_of(row.to_dict()), low_resolution(values, 56).astype(np.float32),
                           atol=2e-3 * np.abs(values).max())
