"""The Feature maps page in AppTest: default model, a torchvision ResNet-18 and a ViT (random weights)."""
import html

import pytest
from streamlit.testing.v1 import AppTest

from app_support import open_app, settle
from interpret.layers import default_feature_layer

TIMEOUT = 300


def captions(at: AppTest) -> list[str]:
    """Captions of every image, map and caption element on the page."""
    texts = [c.value for c in at.caption]
    texts += [html.unescape(m.value) for m in at.markdown if "map-caption" in m.value]  # show_map's caption blocks
    for image in at.get("image"):
        texts += list(image.captions)
    return texts


def has(at: AppTest, text: str) -> bool:
    return any(text in c for c in captions(at))


def healthy(at: AppTest) -> bool:
    return not at.exception and not [e.value for e in at.error]


@pytest.fixture(scope="module")
def app() -> AppTest:
    return open_app("pages/feature_maps.py", TIMEOUT)


def scope(at: AppTest) -> str:
    return next(s.key.split("|", 1)[1] for s in at.selectbox if s.key and s.key.startswith("fm-layer|"))


def test_default_model_shows_the_middle_layer_as_a_mosaic_with_one_channel_large(app, bundled):
    assert healthy(app), (app.exception, [e.value for e in app.error])
    layer = default_feature_layer(bundled)
    assert app.selectbox(key=f"fm-layer|{scope(app)}").value == layer
    assert has(app, f"{layer}: channels 1–80 of 80")
    assert has(app, f"channel 0 of {layer}, upsampled")
    assert {m.label for m in app.metric} >= {"Mean", "Max", "Zeros (≤ 0)"}
    assert {b.label for b in app.get("download_button")} >= {"Mosaic PNG", "Activations .npy"}
    assert not has(app, "coffee.png · mean") and not has(app, "top 64 of 1280 channels")  # not computed unasked
    app.radio(key="fm-more").set_value("Same channel, all photos").run()
    assert has(app, "coffee.png · mean")  # the same channel across the loaded photos
    app.radio(key="fm-more").set_value("Two layers side by side").run()
    assert has(app, "top 64 of 1280 channels")  # the second layer of the comparison


def test_sorting_by_drive_on_the_class_puts_the_top_channel_first(app):
    app.selectbox(key="fm-sort").set_value("grad").run()
    assert healthy(app)
    assert "Grad × act" in {m.label for m in app.metric}
    layer = app.selectbox(key=f"fm-layer|{scope(app)}").value
    first = next(s for s in app.selectbox if s.key and s.key.startswith(f"fm-channel|{layer}|grad|")).options[0]
    assert has(app, f"channel {first} of {layer}, upsampled")
    app.selectbox(key="fm-sort").set_value("index").run()


def test_resnet18_with_random_weights_pages_its_channels_and_visualises_one(app):
    app.sidebar.selectbox(key="sb-source").set_value("torchvision").run()
    app.sidebar.radio(key="sb-weights").set_value("random").run()
    assert healthy(app)
    key = f"fm-layer|{scope(app)}"
    assert app.selectbox(key=key).value == "layer2.1"
    assert has(app, "layer2.1: channels 1–128 of 128 · 28×28 each")
    app.selectbox(key=key).set_value("layer4").run()
    app.number_input(key="fm-page|layer4").set_value(2).run()
    assert healthy(app) and has(app, "layer4: channels 257–512 of 512")
    app.selectbox(key=key).set_value("layer1.0").run()
    app.radio(key="fm-more").set_value("What does this channel look for?").run()  # computed only when chosen
    app.select_slider(key="fm-vis-steps").set_value(32).run()
    settle(app.button(key="fm-vis-run").click().run())  # it runs in the background
    assert healthy(app)
    assert has(app, "What channel 0 of layer1.0 looks for (32 steps")


def test_a_linear_layer_is_a_bar_chart_of_its_top_units(app):
    app.selectbox(key=f"fm-layer|{scope(app)}").set_value("fc").run()
    assert healthy(app)
    assert has(app, "fc has no spatial output (1000): the top 20 of 1000 units")


def test_a_vision_transformer_shows_its_tokens_as_grids(app):
    app.sidebar.selectbox(key="sb-source").set_value("timm").run()
    app.sidebar.selectbox(key="sb-arch-timm").set_value("vit_tiny_patch16_224").run()
    app.sidebar.radio(key="sb-weights").set_value("random").run()
    assert healthy(app), (app.exception, [e.value for e in app.error])
    assert app.selectbox(key=f"fm-layer|{scope(app)}").value == "blocks.5"
    assert has(app, "blocks.5: channels 1–192 of 192 · 14×14 each")


def test_a_vision_transformer_shows_its_attention_per_block_and_head(app):
    """On the timm ViT-Tiny of the test before (random weights, fused attention): the attention view, asked for,
    draws the last block's three heads and their mean, and another block when one is picked."""
    assert app.sidebar.selectbox(key="sb-arch-timm").value == "vit_tiny_patch16_224"
    assert not has(app, "the class token's attention")  # computed only when shown
    app.toggle(key="fm-attn").set_value(True).run()
    assert healthy(app), (app.exception, [e.value for e in app.error])
    block = next(s for s in app.selectbox if s.key and s.key.startswith("fm-attn-block|"))
    assert block.value == "blocks.11" and len(block.options) == 12
    assert has(app, "blocks.11: the class token's attention to each of the 14×14 patches, 3 heads and their mean")
    assert has(app, "blocks.11, mean over the heads, upsampled onto the photo")
    block.set_value("blocks.2").run()
    assert healthy(app) and has(app, "blocks.2: the class token's attention")
    assert "Attention .npy" in {b.label for b in app.get("download_button")}


def test_the_more_about_this_channel_choice_survives_a_page_switch():
    """The defect: Feature maps' 'More about this channel' was a plain radio, reset by a page switch (which also hid
    a running visualisation). It is kept as every page choice is."""
    at = open_app("pages/feature_maps.py", TIMEOUT)
    assert at.radio(key="fm-more").value is None  # nothing is computed until asked
    at.radio(key="fm-more").set_value("What does this channel look for?").run()
    at.switch_page("pages/saliency.py").run()
    at.switch_page("pages/feature_maps.py").run()
    assert healthy(at)
    assert at.radio(key="fm-more").value == "What does this channel look for?"
    assert at.button(key="fm-vis-run")  # the visualisation's part is drawn again
