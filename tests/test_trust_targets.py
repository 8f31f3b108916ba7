"""Each map is rated on what it explains: the Saliency page's trust table follows the map's own target class, and
the reference maps beside it are scored on the same target.

The defect: every map was scored on the probability of the class predicted on the clean image, whatever it
explained (a map of 'tabby' rated on 'tiger cat')."""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_support import APP, settle
from interpret.attribution import Target, attribute
from interpret.metrics import FaithfulnessProbe
from interpret.metrics.faithfulness import DEFAULT_STEPS
from interpret.samples import load_sample

CUP = 968  # ImageNet 'cup': not the class the default model predicts for the coffee photo ('espresso')


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params.update({"samples": "coffee", "image": "coffee", "methods": "gradient", "target": str(CUP)})
    at.switch_page("pages/saliency.py").run()
    settle(at.toggle(key="saliency-trust-on").set_value(True).run())
    assert not at.exception, at.exception
    return at


def test_the_probe_follows_the_given_target_and_a_contrast(bundled):
    x = bundled.preprocessing.to_tensor(load_sample("coffee").image)
    predicted = FaithfulnessProbe(bundled, x)
    cup = FaithfulnessProbe(bundled, x, target=CUP)
    assert bundled.label(predicted.target) == "espresso" and cup.target == CUP
    assert cup.clean_prob < predicted.clean_prob and cup.describe() == "probability of 'cup'"
    rather = FaithfulnessProbe(bundled, x, target=CUP, contrast=predicted.target)
    p = bundled.probabilities(bundled.model(bundled.input_tensor(x)))[0].detach()
    assert rather.clean_prob == pytest.approx(float(p[CUP] / (p[CUP] + p[predicted.target])), rel=1e-4)
    assert rather.describe() == "probability of 'cup' rather than 'espresso'"


def test_the_saliency_pages_table_scores_each_map_on_its_own_target(page, bundled):
    table = next(t.value for t in page.dataframe if "sanity" in t.value.columns)
    row = table[table["map"].astype(str).str.startswith("Gradient")].iloc[0]
    x = bundled.preprocessing.to_tensor(load_sample("coffee").image)
    values = attribute(bundled, x, "gradient", Target(CUP)).values
    deletion, insertion = FaithfulnessProbe(bundled, x, target=CUP).curves(values, DEFAULT_STEPS)
    assert row["deletion ↓"] == pytest.approx(deletion.auc, abs=1e-5)
    assert row["insertion ↑"] == pytest.approx(insertion.auc, abs=1e-5)
    on_predicted = FaithfulnessProbe(bundled, x).curves(values, DEFAULT_STEPS)[0].auc
    assert not np.isclose(row["deletion ↓"], on_predicted, atol=1e-3)  # what the table used to show


def test_the_reference_maps_and_the_caption_follow_the_same_target(page, bundled):
    table = next(t.value for t in page.dataframe if "sanity" in t.value.columns)
    row = table[table["map"].astype(str) == "reference: centre"].iloc[0]
    x = bundled.preprocessing.to_tensor(load_sample("coffee").image)
    from interpret.ui.trust_view import reference_maps

    centre = reference_maps(bundled.preprocessing.model_view(load_sample("coffee").image))["centre"]
    expected = FaithfulnessProbe(bundled, x, target=CUP).curves(centre, DEFAULT_STEPS)[0].auc
    assert row["deletion ↓"] == pytest.approx(expected, abs=1e-5)
    assert any("probability of 'cup' (each map's own target)" in c.value for c in page.caption)
