"""A layer's channels across a set (`--channels LAYER`, interpret/dataset/channels.py): each image's per-channel maxima
in the store equal those of a capture of that image alone; a layer that is not a map, or unknown, is refused before
any image is read; the CLI flag; stores written before the column existed still read. The Ray engine's rows are
compared with the local engine's in tests/test_dataset_ray.py."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from interpret.dataset import SCHEMA, explain_dataset, open_store
from interpret.dataset.channels import channel_maps
from interpret.errors import LayerError, ParameterError
from interpret.features import layer_activations
from interpret.images import load_image_file
from interpret.layers import default_feature_layer
from test_dataset import make_set


@pytest.fixture(scope="module")
def small(bundled):
    from interpret.models import load_model

    return load_model(bundled.spec, preprocessing=lambda p: p.replace(crop_size=64, resize_size=64))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return make_set(tmp_path_factory.mktemp("channel-set"))


@pytest.fixture(scope="module")
def layer(small) -> str:
    return default_feature_layer(small)  # blocks.3.2: 80 channels, 4 x 4 at 64 px


@pytest.fixture(scope="module")
def store(photos, small, layer, tmp_path_factory):
    out = tmp_path_factory.mktemp("channels") / "run"
    explain_dataset(photos, out, small, ["gradient"], targets="both", channels=layer, shard_images=4)
    return out


def direct_maxima(lm, photos, path: str, layer: str) -> np.ndarray:
    """The layer's per-channel maxima for one image, captured on its own (the Feature maps page's capture)."""
    x = lm.preprocessing.to_tensor(load_image_file(photos / path).image)
    values = layer_activations(lm, x, layer).values[0]
    return values.reshape(values.shape[0], -1).max(axis=1)


def test_each_images_channel_maxima_equal_a_capture_of_that_image_alone(store, small, photos, layer):
    table = open_store(store)
    kept = table[table["channel_max"].notna()]
    good = table[table["error"].isna()]
    assert kept["image_id"].is_unique and set(kept["image_id"]) == set(good["image_id"])  # once per image, read ones
    first = table.groupby("image_id", sort=False).head(1)
    assert set(kept.index) <= set(first.index)  # on the image's first row
    assert len(good["image_id"].unique()) == 6
    for _, row in kept.iterrows():
        expected = direct_maxima(small, photos, row["path"], layer)
        stored = np.asarray(row["channel_max"], np.float32)
        assert stored.shape == (80,)
        np.testing.assert_allclose(stored, expected, rtol=0, atol=1e-4 * np.abs(expected).max())
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["settings"]["channels"] == layer


def test_a_channels_map_computed_again_peaks_at_the_stored_maximum(store, small, photos, layer):
    row = open_store(store).dropna(subset=["channel_max"]).iloc[0]
    channel = int(np.argmax(row["channel_max"]))
    x = small.preprocessing.to_tensor(load_image_file(photos / row["path"]).image)
    (again,) = channel_maps(small, x, layer, channel)
    assert again.shape == (4, 4)
    assert again.max() == pytest.approx(row["channel_max"][channel], rel=1e-4)
    with pytest.raises(LayerError, match="Channel 80 does not exist"):
        channel_maps(small, x, layer, 80)


def test_a_layer_that_is_not_a_map_or_unknown_is_refused_before_any_image_is_read(photos, small, tmp_path):
    with pytest.raises(ParameterError, match="'classifier' is not one"):
        explain_dataset(photos, tmp_path / "a", small, ["gradient"], channels="classifier")
    with pytest.raises(LayerError, match="no layer named 'nowhere'"):
        explain_dataset(photos, tmp_path / "b", small, ["gradient"], channels="nowhere")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_run_without_channels_keeps_the_manifest_of_stores_made_before_the_column(photos, small, tmp_path):
    explain_dataset(photos, tmp_path / "s", small, ["gradient"], shard_images=9)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert "channels" not in manifest["settings"]
    assert open_store(tmp_path / "s")["channel_max"].isna().all()


def test_a_store_written_before_the_column_existed_still_reads(store, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(store, old)
    older = pa.schema([f for f in SCHEMA if f.name != "channel_max"])
    for path in (old / "shards").glob("part-*.parquet"):
        pq.write_table(pq.read_table(path, schema=SCHEMA).select(older.names), path)
    table = open_store(old)
    assert len(table) == len(open_store(store)) and table["channel_max"].isna().all()


def test_the_cli_flag(photos, small, layer, tmp_path):
    from interpret.cli import main

    out = tmp_path / "cli"
    common = ["explain-set", str(photos), "--out", str(out), "--methods", "gradient", "--resize", "64", "--crop", "64"]
    assert main([*common, "--channels", layer, "--json"]) == 0
    table = open_store(out)
    assert table["channel_max"].notna().sum() == 6 and len(table) == 9
    assert main([*common, "--channels", "classifier", "--overwrite"]) != 0


def test_channels_rank_by_the_mean_or_the_highest_of_the_images_maxima_and_their_top_images_come_first(store):
    from interpret.dataset import analysis as an

    found = an.channel_maxima(open_store(store))
    assert found.maxima.shape == (6, 80) and found.rows["image_id"].is_unique
    by_mean, by_max = an.channel_ranking(found.maxima, "mean"), an.channel_ranking(found.maxima, "max")
    assert by_mean["channel"].iloc[0] == int(np.argmax(found.maxima.mean(axis=0)))
    assert by_max["channel"].iloc[0] == int(np.argmax(found.maxima.max(axis=0)))
    assert by_mean["mean"].is_monotonic_decreasing and an.channel_ranking(found.maxima, "index")["channel"].tolist() == \
        list(range(80))
    channel = int(by_max["channel"].iloc[0])
    top = an.top_images(found, channel, 3)
    assert top["activation"].tolist() == sorted(found.maxima[:, channel], reverse=True)[:3]
