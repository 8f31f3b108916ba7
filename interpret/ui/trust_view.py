"""Trust: faithfulness scores beside reference maps, and the randomisation sanity check, in the app.

Scores are computed once per (model, photo, map identity, settings) for every session: faithfulness
with st.cache_data (it draws nothing), sanity checks in a SharedLRU (they draw a progress bar; a check
stopped half-way stores nothing, the finished ones stay). Maps that are not a registered method's
(the reference maps) are keyed by their name. Results stay dataclasses up to the drawing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from ..attribution import REGISTRY, Attribution, Target
from ..errors import InterpretError
from ..images import InputImage
from ..layers import default_cam_layer
from ..metrics import FaithfulnessProbe, reference_maps
from ..metrics.faithfulness import DEFAULT_STEPS, Curve
from ..metrics.road import road
from ..metrics.sanity import GRANULARITIES, TOP_STAGES, SanityOptions, SanityResult, cascading_randomisation
from ..models import LoadedModel
from ..render import colorize, map_scale
from .caching import cache_data, cache_resource
from .curve_chart import curve_chart
from .errors import user_errors
from .map_image import scale_note, with_bar
from .maps import compute_maps, offered_methods
from .plain import plain
from .predictions import predicted_class
from .progress_bar import progress_bar
from .shared_lru import SharedLRU
from .url_state import persistent
from .verdicts import SHORT_LABELS, FaithfulnessVerdict, explain, map_verdicts, styled_table

PREFERRED = ("gradient", "gradcam", "integrated_gradients", "guided_backprop")
REFERENCE = "reference: "


@dataclass(frozen=True)
class MapScores:
    """How faithful one map is: its deletion and insertion curves, and its ROAD score when asked."""

    label: str
    deletion: Curve
    insertion: Curve
    road: float | None = None

    @property
    def is_reference(self) -> bool:
        return self.label.startswith(REFERENCE)


def identity(a: Attribution) -> tuple:
    """Everything that makes a map what it is (with the model and image): a cache key."""
    return (a.method, a.params, a.target, a.objective, a.contrast, a.layer)


def map_label(a: Attribution) -> str:
    return REGISTRY[a.method].label if a.method in REGISTRY else a.method


@cache_resource(max_entries=16, show_spinner=False)
def _probe(lm: LoadedModel, image: InputImage) -> FaithfulnessProbe:
    """The image's prediction and blurred copy, shared by every map scored on it."""
    return FaithfulnessProbe(lm, lm.preprocessing.to_tensor(image.image))


@cache_data(max_entries=16, show_spinner=False)
def cached_references(lm: LoadedModel, image: InputImage) -> dict[str, np.ndarray]:
    return reference_maps(lm.preprocessing.model_view(image.image))


@cache_data(max_entries=1024, show_spinner=False)
def cached_faithfulness(lm: LoadedModel, image: InputImage, label: str, key: tuple, steps: int, with_road: bool,
                        _values: np.ndarray) -> MapScores:
    """Deletion and insertion curves (and ROAD if asked) of one map, keyed by its identity `key`."""
    probe = _probe(lm, image)
    deletion, insertion = probe.curves(_values, steps)
    return MapScores(label, deletion, insertion, road(probe, _values).combined if with_road else None)


@st.cache_resource
def _sanity_checks() -> SharedLRU:
    return SharedLRU(256)


def cached_sanity(lm: LoadedModel, image: InputImage, attribution: Attribution, granularity: str,
                  max_stages: int | None) -> SanityResult:
    """The cascading randomisation of one map's method on a private copy of the model, once per key."""
    key = "|".join(map(str, (lm.key, image.sha256, identity(attribution), granularity, max_stages)))

    def compute() -> SanityResult:
        with progress_bar(f"Randomising the model for {map_label(attribution)}…") as progress:
            x = lm.preprocessing.to_tensor(image.image)
            options = SanityOptions(granularity=granularity, max_stages=max_stages)
            return cascading_randomisation(lm, x, attribution, options, progress=progress)

    return _sanity_checks().get_or_compute(key, compute, keep=lambda result: not result.stopped)


def predicted_label(lm: LoadedModel, image: InputImage) -> str:
    """The class the faithfulness curves follow: the one predicted on the clean image."""
    return lm.label(_probe(lm, image).target)


def faithfulness_scores(lm: LoadedModel, image: InputImage, attributions: list[Attribution], steps: int,
                        with_road: bool) -> list[MapScores]:
    """Scores of each map, then of the three reference maps."""
    maps = [(map_label(a), identity(a), a.values) for a in attributions]
    maps += [(f"{REFERENCE}{name}", ("reference", name), values) for name, values in cached_references(lm, image).items()]
    scores = []
    with progress_bar("Scoring the maps…") as progress:
        for i, (label, key, values) in enumerate(maps):
            scores.append(cached_faithfulness(lm, image, label, key, steps, with_road, values))
            progress((i + 1) / len(maps))
    return scores


def sanity_results(lm: LoadedModel, image: InputImage, attributions: list[Attribution], granularity: str = "group",
                   max_stages: int | None = None) -> dict[str, SanityResult]:
    """The randomisation check per map label (only the top stages when max_stages is set)."""
    return {map_label(a): cached_sanity(lm, image, a, granularity, max_stages) for a in attributions}


def faithfulness_verdicts(scores: list[MapScores]) -> dict[str, FaithfulnessVerdict]:
    """Each method's map against the best reference map (verdicts.faithfulness_verdict), by label."""
    return map_verdicts([(s.label, s.insertion.auc, s.deletion.auc, s.is_reference) for s in scores])


def trust_table(scores: list[MapScores], sanity: dict[str, SanityResult]) -> pd.DataFrame:
    """One row per map: faithfulness, its margin over the best reference map, and the sanity verdict."""
    references = [s for s in scores if s.is_reference]
    best_insertion = max((s.insertion.auc for s in references), default=np.nan)
    best_deletion = min((s.deletion.auc for s in references), default=np.nan)
    verdicts = faithfulness_verdicts(scores)
    rows = []
    for s in scores:
        check = sanity.get(s.label)
        top = check.top if check is not None else None
        verdict = verdicts.get(s.label)
        rows.append({
            "map": s.label,
            "faithfulness": "reference" if s.is_reference else verdict.verdict if verdict else None,
            "insertion ↑": s.insertion.auc,
            "deletion ↓": s.deletion.auc,
            "ROAD ↑": s.road,
            "insertion − best reference": s.insertion.auc - best_insertion,
            "deletion − best reference": s.deletion.auc - best_deletion,
            "sanity": check.verdict if check is not None else ("model-free" if s.is_reference else ""),
            "Spearman after randomising": check.similarity(top) if top else None,
            "over the random draws": f"{min(top.draws):.2f} to {max(top.draws):.2f}" if top and top.draws else None,
            "Spearman |·|": top.spearman_abs if top else None,
            "SSIM": top.ssim if top else None,
        })
    table = pd.DataFrame(rows)
    if all(s.road is None for s in scores):
        table = table.drop(columns=["ROAD ↑"])
    return table


def render_trust_table(lm: LoadedModel, image: InputImage, attributions: list[Attribution], key: str = "trust",
                       steps: int = DEFAULT_STEPS, with_road: bool | None = None) -> list[MapScores]:
    """The compact, sortable trust table for maps already computed (e.g. those of the Saliency page)."""
    if not attributions:
        return []
    if with_road is None:
        with_road = st.toggle("ROAD (slower: a linear imputation per step)", value=False, key=f"{key}-road")
    scores = faithfulness_scores(lm, image, attributions, steps, with_road)
    try:  # the faithfulness scores stand on their own where the sanity check cannot run (a TorchScript model)
        sanity = sanity_results(lm, image, attributions, max_stages=TOP_STAGES)
    except InterpretError as exc:
        st.info(plain(f"Sanity check: {exc}"))
        sanity = {}
    table = trust_table(scores, sanity)
    st.dataframe(styled_table(table), hide_index=True, key=f"{key}-table", width="stretch",
                 column_config={c: st.column_config.Column(label, help=text, pinned=c == "map" or None)
                                for c, (label, text) in SHORT_LABELS.items() if c in table.columns})
    for label, verdict in faithfulness_verdicts(scores).items():
        st.markdown(f":{verdict.colour}[**{plain(label)}** — {plain(verdict.text)}]")
    st.caption(f"Probability of '{plain(predicted_label(lm, image))}' (the class predicted on the clean image) as the most "
               f"relevant pixels are deleted (filled with the dataset mean) or inserted into a blurred copy, {steps} steps; "
               "areas in [0, 1]. Reference maps: random, centred Gaussian, Sobel edges. Sanity: the method's map after "
               "re-initialising the classifier; flagged when it keeps a rank correlation of 0.5 or more with the original "
               "(of signed maps for signed methods).")
    return scores


def curves_frame(scores: list[MapScores], kind: str) -> pd.DataFrame:
    """Deletion or insertion curves of every map, indexed by the fraction of pixels."""
    curves = {s.label: s.deletion if kind == "deletion" else s.insertion for s in scores}
    fractions = next(iter(curves.values())).fractions
    return pd.DataFrame({label: curve.probs for label, curve in curves.items()},
                        index=pd.Index(np.round(fractions, 3), name="fraction of pixels"))


def sanity_strip(result: SanityResult, mode: str = "absolute") -> None:
    """The original map, then the map after each randomisation stage, each with its similarity."""
    maps = [result.original] + [s.values for s in result.stages]
    scales = [map_scale(values, mode) for values in maps]
    images = [with_bar(colorize(values, mode), scale) for values, scale in zip(maps, scales, strict=True)]
    captions = ["original"] + [f"{s.name}: ρ={result.similarity(s):.2f}, SSIM={s.ssim:.2f}" for s in result.stages]
    st.image(images, caption=captions, width=160)
    scale_note(scales)


def _set(flag: str, value: bool) -> None:
    st.session_state[flag] = value


def sanity_section(lm: LoadedModel, image: InputImage, attributions: list[Attribution], key: str = "trust") -> None:
    """Full cascading randomisation per method, on demand: stoppable, stored per method, the strip and the verdict."""
    granularity = persistent(st.radio, "Randomise", options=list(GRANULARITIES), default="group", horizontal=True,
                             key=f"{key}-granularity",
                             format_func=lambda g: {"block": "block by block", "group": "group by group (faster)"}[g])
    running, stopped = f"{key}-sanity-running", f"{key}-sanity-stopped"
    if not st.session_state.get(running):
        if st.session_state.get(stopped):
            st.warning("Sanity check stopped; methods already finished stay stored.")
        st.button("Run the sanity check", key=f"{key}-run", on_click=lambda: (_set(running, True), _set(stopped, False)),
                  help="Recomputes each map once per randomisation stage, on a private copy of the model.")
        return
    st.button("Stop", key=f"{key}-stop", on_click=lambda: (_set(running, False), _set(stopped, True)),
              help="Stop the sanity check; finished methods stay stored.")
    for label, result in sanity_results(lm, image, attributions, granularity=granularity).items():
        icon = "✅" if result.verdict == "passes" else "⚠️"
        st.markdown(f"**{label}** — {icon} {result.verdict}")
        st.caption(explain(result))
        sanity_strip(result)


@dataclass(frozen=True)
class TrustSettings:
    """What the Trust page scores: which methods' maps, with how many steps, with or without ROAD."""

    methods: tuple[str, ...]
    steps: int
    with_road: bool


def settings_view(lm: LoadedModel, key: str = "trust") -> TrustSettings:
    offered = offered_methods(lm)
    methods = persistent(st.multiselect, "Methods", options=offered, default=[m for m in PREFERRED if m in offered],
                         url="methods", format_func=lambda name: REGISTRY[name].label, key=f"{key}-methods")
    left, right = st.columns(2)
    with left:
        steps = persistent(st.slider, "Deletion / insertion steps", min_value=8, max_value=64, default=28, bounds=(8, 64),
                           url="steps", key=f"{key}-steps",
                           help="The same number of steps for every map, so their areas compare.")
    with right:
        with_road = persistent(st.toggle, "ROAD (slower: a linear imputation per step)", default=False, url="road",
                               key=f"{key}-road")
    return TrustSettings(tuple(methods), int(steps), bool(with_road))


def default_maps(lm: LoadedModel, image: InputImage, methods: tuple[str, ...]) -> list[Attribution]:
    """Each method's map of the predicted class with its default parameters (CAMs on the default layer)."""
    layer = default_cam_layer(lm) if any(REGISTRY[m].uses_layer for m in methods) else None
    params = {m: REGISTRY[m].resolve_params(None) for m in methods}
    return compute_maps(lm, image, list(methods), params, Target(predicted_class(lm, image)), layer)


def trust_view(lm: LoadedModel, image: InputImage, key: str = "trust") -> None:
    """The whole Trust page below its title: settings, the table, the curves and the sanity check."""
    settings = settings_view(lm, key)
    attributions = default_maps(lm, image, settings.methods)
    if not attributions:
        return
    st.subheader("Faithfulness and sanity")
    scores = render_trust_table(lm, image, attributions, key=key, steps=settings.steps, with_road=settings.with_road)
    with user_errors(str(lm.device)):  # the curves and the sanity check each fail on their own
        curves_section(lm, image, scores)
    with user_errors(str(lm.device)):
        st.subheader("Sanity check: cascading randomisation")
        st.caption("On a private copy of the model, the classifier is re-initialised first, then each block down "
                   "to the first layer; the map is recomputed after each stage (ρ: Spearman rank correlation of "
                   "the map (signed for signed methods) with the original).")
        sanity_section(lm, image, attributions, key=key)


def curves_section(lm: LoadedModel, image: InputImage, scores: list[MapScores]) -> None:
    """Deletion and insertion curves of every map, side by side."""
    st.subheader("Deletion and insertion curves")
    st.caption(f"Probability of '{plain(predicted_label(lm, image))}' as pixels are deleted (lower is better) or inserted "
               "(higher is better), most relevant first.")
    dcol, icol = st.columns(2)
    references = [s.label for s in scores if s.is_reference]  # grey and dashed: the bar a method's map must beat
    dcol.markdown("**Deletion**")
    dcol.altair_chart(curve_chart(curves_frame(scores, "deletion"), references))
    icol.markdown("**Insertion**")
    icol.altair_chart(curve_chart(curves_frame(scores, "insertion"), references))
