"""The Dataset page's Channel examples and its PNG exports in AppTest, on a store made by the engine with `--channels`
from real photos: the top images of a channel with its region over each, beside its feature visualisation; every
view's PNG decodes (Where it looks, Strategies, Gallery, Channel examples); the Feature maps page links a channel to
its top images in the set, and the link lands on that channel."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import app_test

from app_support import open_app, settle
from interpret.dataset import explain_dataset, open_store
from interpret.layers import default_feature_layer
from interpret.ui.dataset_view import PNG_LABEL
from test_dataset import make_set


@pytest.fixture(scope="module")
def store(tmp_path_factory, bundled) -> Path:
    """6 real photos (and 3 broken files) by the default model (the app's), Grad-CAM, with blocks.3.2's channels."""
    photos = make_set(tmp_path_factory.mktemp("channel-photos") / "val")
    out = photos.parent / "val-store"
    explain_dataset(photos, out, bundled, ["gradcam"], targets="both", channels=default_feature_layer(bundled),
                    shard_images=9)
    return out


@pytest.fixture
def downloaded(monkeypatch):
    """The bytes behind a download button: AppTest keeps each run's media in a storage of its own, remembered here."""
    storages: list[MemoryMediaFileStorage] = []

    class Remembered(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            storages.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Remembered)

    def data(button) -> bytes:
        name = button.proto.url.rsplit("/", 1)[1]
        for storage in reversed(storages):
            try:
                return storage.get_file(name).content
            except Exception:  # noqa: BLE001 - another run's storage
                continue
        raise LookupError(button.proto.url)

    return data


def on_store(folder: Path, view: str | None = None):
    at = open_app("pages/dataset.py")
    at.radio(key="dataset-source").set_value("path").run()
    at.text_input(key="dataset-path").input(str(folder)).run()
    return at.radio(key="dataset-view").set_value(view).run() if view else at


def png_of(at, data) -> Image.Image:
    (button,) = [b for b in at.get("download_button") if b.label == PNG_LABEL]
    picture = Image.open(io.BytesIO(data(button)))
    picture.load()
    assert picture.format == "PNG"
    return picture


def healthy(at) -> bool:
    return not at.exception and not [e.value for e in at.error]


def test_the_top_images_of_a_channel_with_its_region_beside_its_visualisation(store, downloaded, bundled):
    at = on_store(store, "Channel examples")
    assert healthy(at), (at.exception, [e.value for e in at.error])
    layer = default_feature_layer(bundled)
    assert at.selectbox(key="dataset-ch-layer").value == layer
    box = at.selectbox(key=f"dataset-ch-channel|{layer}")
    table = open_store(store).dropna(subset=["channel_max"])
    maxima = np.stack(table["channel_max"])
    assert box.value == int(np.argmax(maxima.mean(axis=0)))  # the top channel by the mean of the images' maxima
    captions = [m.value for m in at.markdown if "map-caption" in m.value]
    assert len(captions) == 6 and all("max" in c for c in captions)  # the 6 readable photos, each with its region
    top = f"{maxima[:, box.value].max():.3g}"
    assert top in captions[0]  # the highest first, the stored maximum said
    assert "(now" not in " ".join(captions)  # the map computed again peaks where the run's did
    alone = png_of(at, downloaded)
    at.select_slider(key="dataset-ch-vis-steps").set_value(32).run()
    settle(at.button(key="dataset-ch-vis-run").click().run())
    assert healthy(at) and any(f"What channel {box.value} of {layer} looks for" in c
                               for image in at.get("image") for c in image.captions)
    beside = png_of(at, downloaded)
    assert beside.width > alone.width  # the visualisation joins the view's PNG


def test_every_views_png_decodes(store, downloaded):
    at = on_store(store)
    for view in ("Where it looks", "Strategies", "Gallery", "Channel examples"):
        at.radio(key="dataset-view").set_value(view).run()
        assert healthy(at), view
        picture = png_of(at, downloaded)
        assert picture.width >= 200 and picture.height >= 100, view
        assert np.asarray(picture.convert("L")).std() > 10, view  # a picture, not a blank page


def test_a_store_without_channels_says_how_to_keep_them(tmp_path, bundled):
    photos = make_set(tmp_path / "val", per_class=1, bad=False, size=64)
    explain_dataset(photos, tmp_path / "plain", bundled, ["gradient"], shard_images=2)
    at = on_store(tmp_path / "plain", "Channel examples")
    assert healthy(at) and any("--channels LAYER" in i.value for i in at.info)


def test_the_feature_maps_page_links_a_channel_to_its_top_images(store, bundled):
    at = on_store(store)  # the session's store: it keeps the Feature maps page's default layer
    layer = default_feature_layer(bundled)
    at.switch_page("pages/feature_maps.py").run()
    channel_box = next(s for s in at.selectbox if s.key and s.key.startswith(f"fm-channel|{layer}|"))
    channel_box.set_value(7).run()
    link = at.button(key="fm-dataset-link")
    assert "Top images of val for channel 7" in link.label
    link.click().run()
    assert healthy(at), (at.exception, [e.value for e in at.error])
    assert any(h.value == "Dataset" for h in at.title)
    assert at.radio(key="dataset-view").value == "Channel examples"
    assert at.selectbox(key=f"dataset-ch-channel|{layer}").value == 7
    at.switch_page("pages/feature_maps.py").run()
    other = next(s for s in at.selectbox if s.key and s.key.startswith("fm-layer|"))
    other.set_value("blocks.1.0").run()  # a layer the store does not keep: no link
    assert not [b for b in at.button if b.key == "fm-dataset-link"]
