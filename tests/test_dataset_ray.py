"""The Ray engine on a real local Ray cluster (2 CPUs, 2 model actors, on loopback): the same rows as the local
engine on the same 48 images, bad images included, and a resume across engines."""
from __future__ import annotations

import os

import numpy as np
import pytest

from interpret.dataset import ModelArgs, explain_dataset, map_of, open_store
from test_dataset import BAD, make_set

ray = pytest.importorskip("ray", reason="the Ray engine needs the scale extra")

METHODS = ["gradient", "gradcam", "smoothgrad"]
CHANNELS = "blocks.3.2"  # the default model's middle block: each image's 80 channel maxima (--channels)
SETTINGS = {"params": {"smoothgrad": {"samples": 4}}, "shard_images": 8, "channels": CHANNELS}  # label targets:
# tests/test_dataset.py; channel maxima against a capture of each image alone: tests/test_dataset_channels.py


@pytest.fixture(scope="module")
def cluster():
    """A real local cluster on 127.0.0.1 (conftest.py sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 before Ray is imported)."""
    assert os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") == "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def model(bundled) -> ModelArgs:
    """The default model at 64 px, as every actor loads it."""
    return ModelArgs(bundled.spec, preprocessing=bundled.preprocessing.replace(crop_size=64, resize_size=64))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return make_set(tmp_path_factory.mktemp("set48"), per_class=22, size=40)  # 44 photos and 4 ... 3 bad files


def test_the_cluster_runs_on_loopback(cluster):
    assert {node["NodeManagerAddress"] for node in cluster.nodes()} == {"127.0.0.1"}


@pytest.fixture
def one_thread():
    """torch on one thread, as in each Ray actor (one CPU each): the same summation order, so the same floats. (On
    two threads a noisy gradient can flip a ReLU gate near its kink: SmoothGrad's statistics then move by 1e-4.)"""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_ray_and_local_engines_write_the_same_rows(cluster, model, photos, tmp_path, one_thread):
    local = explain_dataset(photos, tmp_path / "local", model, METHODS, **SETTINGS)
    remote = explain_dataset(photos, tmp_path / "ray", model, METHODS, engine="ray", actors=2, **SETTINGS)
    assert local.images == remote.images == 47 and local.computed == remote.computed == 6
    a, b = open_store(tmp_path / "local"), open_store(tmp_path / "ray")
    keys = ["image_id", "method", "target_kind"]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) == 44 * 3 + 3 * 3
    for column in ("image_id", "path", "label", "method", "target_kind", "target", "contrast", "predicted", "seed",
                   "params", "error"):
        assert a[column].astype(str).tolist() == b[column].astype(str).tolist(), column
    assert sorted({p.rsplit("/", 1)[1] for p in a[a["error"].notna()]["path"]}) == sorted(BAD)
    good = a["error"].isna()
    for column in ("probability", "centre_share", "border_share", "top10_share", "entropy"):
        assert np.allclose(a.loc[good, column], b.loc[good, column], rtol=0, atol=1e-6, equal_nan=True), column
    for (_, x), (_, y) in zip(a[good].iterrows(), b[good].iterrows(), strict=True):
        mx, my = map_of(x.to_dict()), map_of(y.to_dict())
        assert np.abs(mx - my).max() <= 1e-6 * max(np.abs(mx).max(), 1e-12), (x["path"], x["method"])
    kept = a["channel_max"].notna()
    assert kept.sum() == 44 and kept.tolist() == b["channel_max"].notna().tolist()  # one row of each read image
    ma, mb = np.stack(a.loc[kept, "channel_max"]), np.stack(b.loc[kept, "channel_max"])
    assert ma.shape == (44, 80) and np.abs(ma - mb).max() <= 1e-6 * np.abs(ma).max()
    from test_dataset_channels import direct_maxima

    lm = model.load()
    for _, row in b[kept].head(4).iterrows():  # the Ray actors' maxima are those of a capture of the image alone
        expected = direct_maxima(lm, photos, row["path"], CHANNELS)
        np.testing.assert_allclose(row["channel_max"], expected, rtol=0, atol=1e-4 * np.abs(expected).max())


def test_a_run_stopped_locally_is_finished_on_ray(cluster, model, photos, tmp_path):
    from interpret.progress import Cancelled

    def stop(fraction: float) -> None:
        raise Cancelled()

    first = explain_dataset(photos, tmp_path / "s", model, ["gradient"], progress=stop, shard_images=8)
    assert first.stopped and first.computed == 1
    rest = explain_dataset(photos, tmp_path / "s", model, ["gradient"], engine="ray", shard_images=8)
    assert rest.skipped == 1 and rest.computed == 5
    table = open_store(tmp_path / "s")
    assert table["image_id"].is_unique and len(table) == 47
