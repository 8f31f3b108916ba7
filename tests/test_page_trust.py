"""The Trust page in AppTest on the default model: faithfulness beside reference maps, and sanity verdicts."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_support import open_app, open_app_on_torchscript, settle, small_torchscript
from interpret.attribution import REGISTRY

WANTED = [m for m in ("gradient", "gradcam", "integrated_gradients", "guided_backprop") if m in REGISTRY]


def compute_everything(patch: pytest.MonkeyPatch) -> None:
    """Every map and score starts unasked, however slow this machine measures a pass (the page waits for a click
    above AUTO_COMPUTE_SECONDS: tests/test_trust_jobs.py checks that)."""
    patch.setattr("interpret.limits.AUTO_COMPUTE_SECONDS", 1e9)


@pytest.fixture(scope="module")
def page():
    with pytest.MonkeyPatch.context() as patch:
        compute_everything(patch)
        yield _open_page()


def _open_page() -> AppTest:
    at = open_app("pages/trust.py", 400)
    settle(at.multiselect(key="trust-methods").set_value(WANTED).run())  # maps and scores are background jobs
    assert not at.exception, at.exception
    return at


def test_the_table_scores_every_method_beside_the_three_reference_maps(page):
    assert not page.error, [e.value for e in page.error]
    table = page.dataframe[0].value
    labels = [REGISTRY[m].label for m in WANTED]
    assert list(table["map"]) == labels + ["reference: random", "reference: centre", "reference: sobel"]
    for column in ("insertion ↑", "deletion ↓"):
        assert table[column].between(0, 1).all()
    # the random map is near chance and no map covers the whole class probability
    assert set(table["sanity"][: len(WANTED)]) <= {"passes", "flagged"}
    assert table["over the random draws"][: len(WANTED)].str.contains(" to ").all()  # the verdict's spread is shown
    assert (table["sanity"][len(WANTED):] == "model-free").all()


def test_each_maps_faithfulness_is_judged_against_the_best_reference_and_no_cell_reads_none(page):
    """The table showed a literal 'None', and Grad-CAM scored below the centred-Gaussian reference with nothing said."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    frame = page.dataframe[0]
    table = frame.value
    assert set(table["faithfulness"][: len(WANTED)]) <= {"better", "worse", "mixed", "level"}
    assert (table["faithfulness"][len(WANTED):] == "reference").all()
    shown = convert_arrow_bytes_to_pandas_df(frame.proto.arrow_data.styler.display_values)  # the cells as drawn
    cells = shown.astype(str).to_numpy().ravel()
    assert not [c for c in cells if c in ("None", "nan", "NaN", "")] and "—" in cells
    lines = [m.value for m in page.markdown if m.value.startswith(":")]
    labels = [REGISTRY[m].label for m in WANTED]
    assert len(lines) == len(WANTED) and all(label in " ".join(lines) for label in labels)
    for line, verdict in zip(lines, table["faithfulness"][: len(WANTED)], strict=True):
        colour = {"better": "green", "worse": "red", "mixed": "orange", "level": "gray"}[verdict]
        assert line.startswith(f":{colour}[") and "reference on insertion" in line and "reference on deletion" in line


def test_sanity_strip_shows_each_stage_with_a_verdict(page):
    settle(page.multiselect(key="trust-methods").set_value(WANTED[:2]).run())
    settle(page.button(key="trust-run").click().run())
    assert not page.exception, page.exception
    text = " ".join(m.value for m in page.markdown)
    for method in WANTED[:2]:
        assert REGISTRY[method].label in text
    assert "passes" in text or "flagged" in text
    captions = [str(img.caption) for image in page.get("image") for img in image.proto.imgs]
    assert any(c.startswith("classifier") for c in captions)  # the first stage re-initialises the classifier
    assert any(c.startswith("conv_stem") for c in captions)  # and the last one the first layer


def test_road_toggle_adds_the_road_column(page):
    page.multiselect(key="trust-methods").set_value(WANTED[:1]).run()
    settle(page.toggle(key="trust-road").set_value(True).run())
    assert not page.exception, page.exception
    table = page.dataframe[0].value
    assert "ROAD ↑" in table.columns
    assert table["ROAD ↑"].between(-0.5, 0.5).all()


@pytest.mark.filterwarnings("ignore:`torch.jit.(script|save|load)` is deprecated:FutureWarning")
def test_a_torchscript_model_gets_its_faithfulness_table_and_a_sanity_check_that_says_why_not(monkeypatch):
    """The methods that apply are scored; the sanity check, which re-initialises layers by name, refuses in one line
    (it used to fail the whole table with 'get_submodule is not supported on ScriptModules')."""
    from interpret.policy import SHARED_ENV

    monkeypatch.delenv(SHARED_ENV, raising=False)
    compute_everything(monkeypatch)
    at = settle(open_app_on_torchscript("pages/trust.py", small_torchscript()))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.multiselect(key="trust-methods").value == ["gradient", "integrated_gradients"]
    table = at.dataframe[0].value
    assert list(table["map"])[:2] == [REGISTRY["gradient"].label, REGISTRY["integrated_gradients"].label]
    assert any("Sanity check:" in str(i.value) and "TorchScript" in str(i.value) for i in at.info)
    settle(at.button(key="trust-run").click().run())
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "TorchScript" in error and "\n" not in error
