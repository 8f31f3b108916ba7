"""Trust: faithfulness scores beside reference maps, and the randomisation sanity check, in the app.

Everything slow is a background job (ui/trust_jobs.py through ui/jobs_view.py's one store), keyed by the model,
the photo, the map's identity and the settings, so a rerun, a page switch or a second session attaches to it: the
maps (`maps.map_task`, shared with the Saliency page), each map's curves, its ROAD score and its sanity checks. A
table draws every row scored so far, a bar with the time left for each running job, refreshes in place while they
run (`jobs_view.live`), waits for a Compute click for work estimated over AUTO_COMPUTE_SECONDS, and has Stop,
which keeps what finished. Reference maps are drawn without the model and keyed by their name. Each map is scored
on what it explains: the curves follow the probability of the map's own target class (rather than its contrast
class, for a contrast map), and the reference maps beside it are scored on the same.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from ..attribution import REGISTRY, Attribution, Target
from ..attribution.requirements import applicable
from ..images import InputImage
from ..metrics import FaithfulnessProbe, reference_maps
from ..metrics.faithfulness import DEFAULT_STEPS, Curve
from ..metrics.sanity import GRANULARITIES, TOP_STAGES, SanityResult
from ..models import LoadedModel
from ..render import colorize, map_scale
from ..report.content import Curves, Section, Series, Table
from .answers import answer, cam_layer
from .caching import cache_data, cache_resource
from .curve_chart import curve_chart
from .errors import user_errors
from .jobs_view import Decide, decider
from .live_task import Task, live_tasks, task_controls
from .map_image import scale_note, with_bar
from .maps import map_task, offered_methods
from .plain import plain
from .predictions import predicted_class
from .report_view import curves_button, note_curves, note_section, note_settings, note_table
from .trust_jobs import curves_task, road_task, sanity_task
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


Follows = tuple[int, int | None]  # what the curves follow: (target class, contrast class or None)


@cache_resource(max_entries=16, show_spinner=False)
def _probe(lm: LoadedModel, image: InputImage, follows: Follows | None = None) -> FaithfulnessProbe:
    """The image's followed probability and blurred copy, shared by every map scored on the same target (None: the
    class predicted on the clean image)."""
    target, contrast = follows if follows is not None else (None, None)
    return answer(lm, f"probe|{image.sha256}|{follows}", f"the probability the curves follow on {image.name}",
                  lambda: FaithfulnessProbe(lm, lm.preprocessing.to_tensor(image.image), target=target, contrast=contrast),
                  nbytes=lambda probe: 3 * probe.x.numel() * probe.x.element_size())  # x, its blur and its fill


def followed_text(lm: LoadedModel, image: InputImage, rows: list[Row]) -> str:
    """What the rows' curves follow, in words ("probability of 'tabby'"; several joined by 'and')."""
    texts = dict.fromkeys(_probe(lm, image, r.entry.follows).describe() for r in rows)
    return " and ".join(texts) or _probe(lm, image).describe()


@cache_data(max_entries=16, show_spinner=False)
def cached_references(lm: LoadedModel, image: InputImage) -> dict[str, np.ndarray]:
    return reference_maps(lm.preprocessing.model_view(image.image))


def predicted_label(lm: LoadedModel, image: InputImage) -> str:
    """The class the faithfulness curves follow: the one predicted on the clean image."""
    return lm.label(_probe(lm, image).target)


@dataclass
class Entry:
    """One map of a trust table: a method's (its Attribution once computed, its map task meanwhile) or a reference
    map drawn without the model. `identity` names everything that makes the map what it is, model and photo included."""

    label: str
    identity: str
    values: np.ndarray | None = None
    attribution: Attribution | None = None
    pending: Task | None = None  # the map's own job (the Trust page computes its maps) while it is not finished
    follows: Follows | None = None  # the target its curves follow (None: the class predicted on the clean image)

    @property
    def is_reference(self) -> bool:
        return self.label.startswith(REFERENCE)


def attribution_entry(lm: LoadedModel, image: InputImage, a: Attribution) -> Entry:
    """A computed map's entry, scored on its own target (and contrast)."""
    return Entry(map_label(a), "|".join(map(str, (lm.key, image.sha256) + identity(a))), a.values, a,
                 follows=(a.target, a.contrast))


def reference_entries(lm: LoadedModel, image: InputImage, follows: Follows | None = None, named: bool = False) -> list[Entry]:
    """The three reference maps (random, centred Gaussian, Sobel edges), scored on `follows` (the predicted class
    when None): cheap, computed in the run. `named`: the target is in their labels (a table of several targets)."""
    if follows is None:
        follows = (_probe(lm, image).target, None)
    suffix = f" ({_probe(lm, image, follows).describe()})" if named else ""
    return [Entry(f"{REFERENCE}{name}{suffix}", f"{lm.key}|{image.sha256}|reference|{name}|{follows}", values,
                  follows=follows)
            for name, values in cached_references(lm, image).items()]


@dataclass
class Row:
    """One map's row and where each of its scores stands."""

    entry: Entry
    curves: Task | None = None
    road: Task | None = None
    sanity: Task | None = None  # the check of the top stages (the table's verdict); methods only

    def tasks(self) -> list[Task]:
        pending: list[Task] = [self.entry.pending] if self.entry.pending is not None else []
        return pending + [t for t in (self.curves, self.road, self.sanity) if t is not None]

    @property
    def scores(self) -> MapScores | None:
        """The row as scored so far: None until its curves are done (ROAD shows once it is done too)."""
        if self.curves is None or not self.curves.done:
            return None
        deletion, insertion = self.curves.result
        road = self.road.result if self.road is not None and self.road.done else None
        return MapScores(self.entry.label, deletion, insertion, road)


def rows_of(lm: LoadedModel, image: InputImage, entries: list[Entry], steps: int, with_road: bool,
            decide: Decide, top_sanity: bool = True) -> list[Row]:
    """Each map's scores as tasks: submitted (within their estimate, or when asked) once the map is there."""
    rows = []
    for e in entries:
        row = Row(e)
        probe = _probe(lm, image, e.follows)
        if e.values is not None:
            row.curves = curves_task(lm, probe, e.identity, e.label, e.values, steps, decide)
            if with_road:
                row.road = road_task(lm, probe, e.identity, e.label, e.values, decide)
            if top_sanity and e.attribution is not None and row.curves.done:  # after the curves: rows come first
                row.sanity = sanity_task(lm, image, e.identity, e.label, e.attribution, "group", TOP_STAGES, decide)
        rows.append(row)
    return rows


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
            "Spearman after randomising": check.similarity(top) if check is not None and top else None,
            "over the random draws": f"{min(top.draws):.2f} to {max(top.draws):.2f}" if top and top.draws else None,
            "Spearman |·|": top.spearman_abs if top else None,
            "SSIM": top.ssim if top else None,
        })
    table = pd.DataFrame(rows)
    if all(s.road is None for s in scores):
        table = table.drop(columns=["ROAD ↑"])
    return table


def table_section(lm: LoadedModel, image: InputImage, rows: list[Row], steps: int, key: str = "trust") -> list[MapScores]:
    """The table of every row scored so far, each map's verdict in words, and what the numbers mean."""
    scores = [s for s in (r.scores for r in rows) if s is not None]
    if not scores:
        return scores
    sanity = {r.entry.label: r.sanity.result for r in rows if r.sanity is not None and r.sanity.done}
    table = trust_table(scores, sanity)
    st.dataframe(styled_table(table), hide_index=True, width="stretch",
                 column_config={c: st.column_config.Column(label, help=text, pinned=c == "map" or None)
                                for c, (label, text) in SHORT_LABELS.items() if c in table.columns})
    verdicts = faithfulness_verdicts(scores)
    for label, verdict in verdicts.items():
        st.markdown(f":{verdict.colour}[**{plain(label)}** — {plain(verdict.text)}]")
    about = (f"The {followed_text(lm, image, rows)} (each map's own target) as the most "
             f"relevant pixels are deleted (filled with the dataset mean) or inserted into a blurred copy, {steps} steps; "
             "areas in [0, 1]. Reference maps: random, centred Gaussian, Sobel edges. Sanity: the method's map after "
             "re-initialising the classifier; flagged when it keeps a rank correlation of 0.5 or more with the original "
             "(of signed maps for signed methods).")
    st.caption(plain(about))
    note_table(key, Table("Faithfulness and sanity", tuple(map(str, table.columns)),
                          tuple(tuple(row) for row in table.itertuples(index=False)),
                          (*(f"{label} — {verdict.text}" for label, verdict in verdicts.items()), about)))
    return scores


def live_table(lm: LoadedModel, image: InputImage, entries: Callable[[Decide], list[Entry]], key: str, steps: int,
               with_road: bool, curves: bool = False) -> list[MapScores]:
    """The trust table as background jobs: every finished row at once, a bar with the time left for each running
    map or score (refreshed in place), Compute for work over AUTO_COMPUTE_SECONDS, Stop keeping what finished.
    `entries(decide)` gives the maps (submitting their jobs where the page computes them). Returns the rows
    scored in this run."""
    decide, _, _ = decider(key)

    def rows() -> list[Row]:
        return rows_of(lm, image, entries(decide), steps, with_road, decide)

    shown: list[MapScores] = []

    def draw() -> bool:
        current = rows()
        tasks = [t for r in current for t in r.tasks()]
        done = sum(r.scores is not None for r in current)
        running = task_controls(tasks, key, done, len(current), "rows", str(lm.device), columns=2)
        shown[:] = table_section(lm, image, current, steps, key)
        if curves and shown:
            with user_errors(str(lm.device)):
                curves_section(lm, image, shown)
        return bool(running)

    live_tasks(key, lambda: [t.job for r in rows() for t in r.tasks() if t.job is not None], draw)
    return shown


def render_trust_table(lm: LoadedModel, image: InputImage, attributions: list[Attribution], key: str = "trust",
                       steps: int = DEFAULT_STEPS, with_road: bool | None = None) -> list[MapScores]:
    """The compact, sortable trust table for maps already computed (e.g. those of the Saliency page), scored in
    the background."""
    if not attributions:
        return []
    if with_road is None:
        with_road = st.toggle("ROAD (slower: a linear imputation per step)", value=False, key=f"{key}-road")
    maps = [attribution_entry(lm, image, a) for a in attributions]
    targets = list(dict.fromkeys(e.follows for e in maps))
    given = maps + [r for t in targets for r in reference_entries(lm, image, t, named=len(targets) > 1)]
    return live_table(lm, image, lambda decide: given, key, steps, bool(with_road))


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


def sanity_section(lm: LoadedModel, image: InputImage, entries: Callable[[Decide], list[Entry]],
                   key: str = "trust") -> None:
    """The full cascading randomisation per method, on demand, as background jobs: the finished strips with their
    verdicts at once, a bar for each running check, Stop keeping the finished ones."""
    granularity = persistent(st.radio, "Randomise", options=list(GRANULARITIES), default="group", horizontal=True,
                             key=f"{key}-granularity",
                             format_func=lambda g: {"block": "block by block", "group": "group by group (faster)"}[g])
    on = f"{key}-sanity-on"
    part = f"{key}-sanity"
    if not st.session_state.get(on):
        st.button("Run the sanity check", key=f"{key}-run", on_click=lambda: _set(on, True),
                  help="Recomputes each map once per randomisation stage, on a private copy of the model.")
        return
    maps_decide, _, _ = decider(key)
    _, _, stopped = decider(part)

    def decide(job_key: str) -> bool | None:
        return False if job_key in stopped else True  # the click asked for every check

    def checks() -> list[tuple[Entry, Task | None]]:
        methods = [e for e in entries(maps_decide) if not e.is_reference]
        return [(e, sanity_task(lm, image, e.identity, e.label, e.attribution, granularity, None, decide)
                 if e.attribution is not None else None) for e in methods]

    def draw() -> bool:
        current = checks()
        tasks: list[Task] = [t for _, t in current if t is not None]
        done = [(e, t.result) for e, t in current if t is not None and t.done]
        running = task_controls(tasks, part, len(done), len(current), "sanity checks", str(lm.device), columns=2)
        for e, t in current:
            if t is None:
                st.caption(plain(f"{e.label}: waits for its map (above)."))
        for e, result in done:
            icon = "✅" if result.verdict == "passes" else "⚠️"
            st.markdown(f"**{plain(e.label)}** — {icon} {result.verdict}")
            st.caption(explain(result))
            sanity_strip(result)
        if done:
            note_section("sanity", Section("Sanity check: cascading randomisation",
                                           tuple(f"{e.label} — {result.verdict}: {explain(result)}" for e, result in done)))
        return bool(running) or maps_running(current)

    def maps_running(current: list[tuple[Entry, Task | None]]) -> bool:
        return any(t is None and e.pending is not None and e.pending.running for e, t in current)

    live_tasks(part, lambda: [t.job for _, t in checks() if t is not None and t.job is not None], draw,
               lambda: maps_running(checks()))


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
    note_settings(key, (("methods", ", ".join(f"{REGISTRY[m].label} ({m})" for m in methods)),
                        ("deletion / insertion steps", str(int(steps))), ("ROAD", "yes" if with_road else "no"),
                        ("maps", "each method's map of the predicted class, default parameters, default CAM layer")))
    return TrustSettings(tuple(methods), int(steps), bool(with_road))


def method_entries(lm: LoadedModel, image: InputImage, methods: tuple[str, ...], decide: Decide) -> list[Entry]:
    """Each method's map of the predicted class with its default parameters (CAMs on the default layer), from the
    job store like the Saliency page's (`maps.map_task`): finished, or its task while it runs or waits."""
    layer = cam_layer(lm) if any(REGISTRY[m].uses_layer for m in methods) else None
    target = Target(predicted_class(lm, image))
    entries = []
    for method in methods:
        if not applicable(lm, method)[0]:
            continue
        t = map_task(lm, image, method, REGISTRY[method].resolve_params(None), target, layer, decide)
        if t.result is not None:
            entries.append(attribution_entry(lm, image, t.result))
        else:
            entries.append(Entry(t.label, t.key, pending=t, follows=(target.index, target.contrast)))
    return entries


def trust_view(lm: LoadedModel, image: InputImage, key: str = "trust") -> None:
    """The whole Trust page below its title: settings, the table, the curves and the sanity check."""
    settings = settings_view(lm, key)
    for method in settings.methods:
        can, reason = applicable(lm, method)
        if not can:
            st.warning(plain(reason), icon="🚫")
    if not settings.methods:
        return

    def entries(decide: Decide) -> list[Entry]:
        return method_entries(lm, image, settings.methods, decide) + reference_entries(lm, image)

    st.subheader("Faithfulness and sanity")
    live_table(lm, image, entries, key, settings.steps, settings.with_road, curves=True)
    with user_errors(str(lm.device)):
        st.subheader("Sanity check: cascading randomisation")
        st.caption("On a private copy of the model, the classifier is re-initialised first, then each block down "
                   "to the first layer; the map is recomputed after each stage (ρ: Spearman rank correlation of "
                   "the map (signed for signed methods) with the original).")
        sanity_section(lm, image, entries, key=key)


def curves_section(lm: LoadedModel, image: InputImage, scores: list[MapScores]) -> None:
    """Deletion and insertion curves of every map scored so far, side by side."""
    st.subheader("Deletion and insertion curves")
    st.caption(f"Probability of '{plain(predicted_label(lm, image))}' as pixels are deleted (lower is better) or inserted "
               "(higher is better), most relevant first.")
    dcol, icol = st.columns(2)
    references = [s.label for s in scores if s.is_reference]  # grey and dashed: the bar a method's map must beat
    dcol.markdown("**Deletion**")
    dcol.altair_chart(curve_chart(curves_frame(scores, "deletion"), references))
    icol.markdown("**Insertion**")
    icol.altair_chart(curve_chart(curves_frame(scores, "insertion"), references))
    note_curves("trust", Curves("Deletion and insertion curves", tuple(
        Series(curve.kind, s.label, curve.fractions, curve.probs, s.is_reference)
        for s in scores for curve in (s.deletion, s.insertion)),
        f"Probability of '{predicted_label(lm, image)}' as pixels are deleted (lower is better) or inserted (higher is "
        "better), most relevant first."))
    curves_button("trust-curves")
