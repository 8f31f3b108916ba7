"""Trust: faithfulness scores beside reference maps, and the randomisation sanity check, in the app.

Every score is computed once per (model, image sha256, map identity, settings) with st.cache_data;
the model, the image and the map's values travel as underscore arguments. Maps that are not a
registered method's (the reference maps) are keyed by their name.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import streamlit as st

from ..attribution import REGISTRY, Attribution
from ..images import InputImage
from ..metrics import FaithfulnessProbe, reference_maps
from ..metrics.faithfulness import DEFAULT_STEPS
from ..metrics.road import road
from ..metrics.sanity import GRANULARITIES, TOP_STAGES, SanityOptions, SanityResult, cascading_randomisation
from ..models import LoadedModel
from ..render import colorize
from .saliency_view import _not_recorded
from .state import model_key
from .verdicts import explain

STOP_KEY = "trust-stopped"


def identity(a: Attribution) -> tuple:
    """Everything that makes a map what it is (with the model and image): a cache key."""
    return (a.method, a.params, a.target, a.objective, a.contrast, a.layer)


@st.cache_resource(max_entries=16, show_spinner=False)
def _probe(model_key: str, sha: str, _lm: LoadedModel, _image: InputImage) -> FaithfulnessProbe:
    """The image's prediction and blurred copy, shared by every map scored on it."""
    return FaithfulnessProbe(_lm, _lm.preprocessing.to_tensor(_image.image))


@st.cache_data(max_entries=16, show_spinner=False)
def cached_references(model_key: str, sha: str, _lm: LoadedModel, _image: InputImage) -> dict[str, np.ndarray]:
    return reference_maps(_lm.preprocessing.model_view(_image.image))


@st.cache_data(max_entries=1024, show_spinner=False)
def cached_faithfulness(model_key: str, sha: str, name: str, key: tuple, steps: int, with_road: bool,
                        _lm: LoadedModel, _image: InputImage, _values: np.ndarray) -> dict:
    """Deletion and insertion curves (and ROAD if asked) of one map."""
    probe = _probe(model_key, sha, _lm, _image)
    deletion, insertion = probe.curves(_values, steps)
    result = {"fractions": deletion.fractions, "deletion_curve": deletion.probs, "insertion_curve": insertion.probs,
              "deletion": deletion.auc, "insertion": insertion.auc, "class": _lm.label(probe.target), "road": None}
    if with_road:
        result["road"] = road(probe, _values).combined
    return result


@st.cache_data(max_entries=256, show_spinner=False)
def cached_sanity(model_key: str, sha: str, key: tuple, granularity: str, max_stages: int | None,
                  _lm: LoadedModel, _image: InputImage, _attribution: Attribution,
                  _progress: Callable[[float], None]) -> SanityResult:
    """The cascading randomisation of one map's method, on a private copy of the model."""
    x = _lm.preprocessing.to_tensor(_image.image)
    return cascading_randomisation(_lm, x, _attribution, SanityOptions(granularity=granularity, max_stages=max_stages),
                                   progress=_progress)


def _progress_bar(text: str) -> tuple[Callable[[float], None], "st.delta_generator.DeltaGenerator"]:
    slot = st.empty()

    def progress(fraction: float) -> None:
        with _not_recorded():
            slot.progress(min(1.0, max(0.0, fraction)), text=text)

    return progress, slot


def faithfulness_scores(lm: LoadedModel, image: InputImage, attributions: list[Attribution], steps: int,
                        with_road: bool) -> dict[str, dict]:
    """Scores by row label: each map, then the three reference maps."""
    mkey = model_key()
    rows: dict[str, dict] = {}
    maps = [(REGISTRY[a.method].label if a.method in REGISTRY else a.method, identity(a), a.values) for a in attributions]
    maps += [(f"reference: {name}", ("reference", name), values)
             for name, values in cached_references(mkey, image.sha256, lm, image).items()]
    progress, slot = _progress_bar("Scoring the maps…")
    for i, (label, key, values) in enumerate(maps):
        rows[label] = cached_faithfulness(mkey, image.sha256, label, key, steps, with_road, lm, image, values)
        progress((i + 1) / len(maps))
    slot.empty()
    return rows


def sanity_results(lm: LoadedModel, image: InputImage, attributions: list[Attribution], granularity: str = "group",
                   max_stages: int | None = None) -> dict[str, SanityResult]:
    """The randomisation check per map (only the top stages when max_stages is set), with a progress bar."""
    results = {}
    for a in attributions:
        label = REGISTRY[a.method].label if a.method in REGISTRY else a.method
        progress, slot = _progress_bar(f"Randomising the model for {label}…")
        results[label] = cached_sanity(model_key(), image.sha256, identity(a), granularity, max_stages, lm, image, a, progress)
        slot.empty()
    return results


def trust_table(scores: dict[str, dict], sanity: dict[str, SanityResult]) -> pd.DataFrame:
    """One row per map: faithfulness, its margin over the best reference map, and the sanity verdict."""
    references = {k: v for k, v in scores.items() if k.startswith("reference: ")}
    best_insertion = max((v["insertion"] for v in references.values()), default=np.nan)
    best_deletion = min((v["deletion"] for v in references.values()), default=np.nan)
    rows = []
    for label, s in scores.items():
        check = sanity.get(label)
        top = check.top if check is not None else None
        rows.append({
            "map": label,
            "insertion ↑": s["insertion"],
            "deletion ↓": s["deletion"],
            "ROAD ↑": s["road"],
            "insertion − best reference": s["insertion"] - best_insertion,
            "deletion − best reference": s["deletion"] - best_deletion,
            "sanity": check.verdict if check is not None else ("model-free" if label in references else ""),
            "Spearman after randomising": check.similarity(top) if top else None,
            "over the random draws": f"{min(top.draws):.2f} to {max(top.draws):.2f}" if top and top.draws else None,
            "Spearman |·|": top.spearman_abs if top else None,
            "SSIM": top.ssim if top else None,
        })
    table = pd.DataFrame(rows)
    if all(s["road"] is None for s in scores.values()):
        table = table.drop(columns=["ROAD ↑"])
    return table


def _stop() -> None:
    st.session_state[STOP_KEY] = True


def render_trust_table(lm: LoadedModel, image: InputImage, attributions: list[Attribution], key: str = "trust",
                       steps: int = DEFAULT_STEPS, with_road: bool | None = None) -> pd.DataFrame | None:
    """The compact, sortable trust table for maps already computed (e.g. those of the Saliency page)."""
    if not attributions:
        return None
    if with_road is None:
        with_road = st.toggle("ROAD (slower: a linear imputation per step)", value=False, key=f"{key}-road")
    scores = faithfulness_scores(lm, image, attributions, steps, with_road)
    sanity = sanity_results(lm, image, attributions, max_stages=TOP_STAGES)
    table = trust_table(scores, sanity)
    st.dataframe(table, hide_index=True, key=f"{key}-table",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns if c not in ("map", "sanity")})
    predicted = next(iter(scores.values()))["class"]
    st.caption(f"Probability of '{predicted}' (the class predicted on the clean image) as the most relevant pixels are "
               f"deleted (filled with the dataset mean) or inserted into a blurred copy, {steps} steps; areas in [0, 1]. "
               "Reference maps: random, centred Gaussian, Sobel edges. Sanity: the method's map after re-initialising "
               "the classifier; flagged when it keeps a rank correlation of 0.5 or more with the original (of signed maps "
               "for signed methods).")
    return table


def curves_frame(scores: dict[str, dict], kind: str) -> pd.DataFrame:
    """Deletion or insertion curves of every map, indexed by the fraction of pixels."""
    first = next(iter(scores.values()))
    return pd.DataFrame({label: s[f"{kind}_curve"] for label, s in scores.items()},
                        index=pd.Index(np.round(first["fractions"], 3), name="fraction of pixels"))


def sanity_strip(result: SanityResult, mode: str = "absolute") -> None:
    """The original map, then the map after each randomisation stage, each with its similarity."""
    images = [colorize(result.original, mode)] + [colorize(s.values, mode) for s in result.stages]
    captions = ["original"] + [f"{s.name}: ρ={result.similarity(s):.2f}, SSIM={s.ssim:.2f}" for s in result.stages]
    st.image(images, caption=captions, width=120)


RUN_KEY = "trust-sanity-run"


def _run() -> None:
    st.session_state[RUN_KEY] = True
    st.session_state.pop(STOP_KEY, None)


def sanity_section(lm: LoadedModel, image: InputImage, attributions: list[Attribution], key: str = "trust") -> None:
    """Full cascading randomisation per method, on demand: stoppable, cached, the strip and the verdict."""
    granularity = st.radio("Randomise", GRANULARITIES, index=GRANULARITIES.index("group"), horizontal=True,
                           key=f"{key}-granularity",
                           format_func=lambda g: {"block": "block by block", "group": "group by group (faster)"}[g])
    if not st.session_state.get(RUN_KEY) or st.session_state.get(STOP_KEY):
        if st.session_state.get(STOP_KEY):
            st.warning("Sanity check stopped; methods already finished stay cached.")
        st.button("Run the sanity check", key=f"{key}-run", on_click=_run,
                  help="Recomputes each map once per randomisation stage, on a private copy of the model.")
        return
    st.button("Stop", key=f"{key}-stop", on_click=_stop, help="Stop the sanity check; finished methods stay cached.")
    results = sanity_results(lm, image, attributions, granularity=granularity)
    for label, result in results.items():
        icon = "✅" if result.verdict == "passes" else "⚠️"
        st.markdown(f"**{label}** — {icon} {result.verdict}")
        st.caption(explain(result))
        sanity_strip(result)
