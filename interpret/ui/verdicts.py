"""Verdicts in words: the sanity check's (from `SanityResult`) and each map's faithfulness beside the reference maps,
plain functions from data to the text a user reads.

No streamlit here; the Trust views call these and draw the text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from ..attribution import REGISTRY
from ..metrics.sanity import SanityResult, SanityStage, Verdict

CAM_CAVEAT = (" A CAM is the layer's channels weighted by the class: when the channels share one spatial pattern,"
              " random weights give it back, so the map shows where the layer is active more than what the class"
              " needs.")


def spread(stage: SanityStage) -> str:
    """' (median of 3 random draws, -0.10 to 0.42)' when the stage was drawn several times, else ''."""
    if len(stage.draws) <= 1:
        return ""
    return f" (median of {len(stage.draws)} random draws, {min(stage.draws):.2f} to {max(stage.draws):.2f})"


def explain(result: SanityResult) -> str:
    """One or two sentences on what the verdict means for this method's map."""
    top = result.top
    if top is None:
        return "Stopped before the top layers were randomised."
    similarity = result.similarity(top)
    if result.verdict == Verdict.FLAGGED:
        why = CAM_CAVEAT if getattr(REGISTRY.get(result.method), "family", "") == "cam" else ""
        return (f"Flagged: with {top.name} re-initialised the map keeps a rank correlation of {similarity:.2f}"
                f"{spread(top)} with the original, so it barely depends on what the model learned there.{why}")
    return (f"Passes: with {top.name} re-initialised the map's rank correlation with the original drops to "
            f"{similarity:.2f}{spread(top)}.")


# ---------------------------------------------------------------- faithfulness beside the reference maps

REFERENCE_NAMES = {"random": "random", "centre": "centred-Gaussian", "sobel": "edges (Sobel)"}
LEVEL = 0.01  # areas closer than this to the best reference's are read as level with it (areas lie in [0, 1])
COLOURS = {"better": "green", "worse": "red", "mixed": "orange", "level": "gray"}


@dataclass(frozen=True)
class FaithfulnessVerdict:
    """A map's deletion and insertion areas read against the best reference map of each: a word and a sentence."""

    verdict: str  # "better", "worse", "mixed" or "level"
    text: str

    @property
    def colour(self) -> str:
        return COLOURS[self.verdict]


def reference_name(label: str) -> str:
    """'reference: centre' -> 'centred-Gaussian'."""
    name = label.split(": ", 1)[-1]
    return REFERENCE_NAMES.get(name, name)


def _side(value: float, best: float, higher_is_better: bool) -> str:
    gain = (value - best) if higher_is_better else (best - value)
    return "better" if gain > LEVEL else "worse" if gain < -LEVEL else "level"


def faithfulness_verdict(insertion: float, deletion: float,
                         references: dict[str, tuple[float, float]]) -> FaithfulnessVerdict | None:
    """The verdict of one map's (insertion, deletion) areas against the references' {name: (insertion, deletion)}.

    Each area is compared with the best reference of its kind (the highest insertion, the lowest deletion): a map that
    does no better than a map drawn without the model tells nothing about the model. None without references."""
    usable = {name: v for name, v in references.items() if np.isfinite(v[0]) and np.isfinite(v[1])}
    if not usable or not (np.isfinite(insertion) and np.isfinite(deletion)):
        return None
    ins_ref = max(usable, key=lambda n: usable[n][0])
    del_ref = min(usable, key=lambda n: usable[n][1])
    best_ins, best_del = usable[ins_ref][0], usable[del_ref][1]
    sides = {"insertion": (_side(insertion, best_ins, True), ins_ref, insertion, best_ins),
             "deletion": (_side(deletion, best_del, False), del_ref, deletion, best_del)}

    def clause(kind: str) -> str:
        side, ref, mine, best = sides[kind]
        word = {"better": "better than", "worse": "worse than", "level": "level with"}[side]
        return f"{word} the {reference_name(ref)} reference on {kind} ({mine:.3f} vs {best:.3f})"

    found = {side for side, *_ in sides.values()}
    if found == {"level"}:
        verdict = "level"
    elif "worse" in found and "better" in found:
        verdict = "mixed"
    else:
        verdict = "worse" if "worse" in found else "better"
    lead = {"better": "Better than the references", "worse": "Worse than a reference map drawn without the model",
            "mixed": "Mixed", "level": "No better than the references"}[verdict]
    return FaithfulnessVerdict(verdict, f"{lead}: {clause('insertion')}; {clause('deletion')}.")


# ---------------------------------------------------------------- the trust table as shown

MISSING = "—"  # how an empty cell reads (never a literal "None")
CELL_COLOURS = {"better": "#d4edda", "worse": "#f8d7da", "mixed": "#fff3cd", "level": "#e2e3e5",
                "passes": "#d4edda", "flagged": "#f8d7da"}
SHORT_LABELS = {  # column name -> (short label, what it means): the table fits a page, the meaning is on hover
    "map": ("map", "The method's map, or a reference map drawn without the model."),
    "faithfulness": ("faithfulness", "Deletion and insertion beside the best reference map: better, worse, mixed or "
                                     "level (within 0.01)."),
    "insertion ↑": ("insertion ↑", "Area under the insertion curve: higher is better."),
    "deletion ↓": ("deletion ↓", "Area under the deletion curve: lower is better."),
    "ROAD ↑": ("ROAD ↑", "ROAD: the gap between removing the least and the most relevant pixels."),
    "insertion − best reference": ("ins. − best ref.", "Insertion area minus the best reference map's: above 0 is better."),
    "deletion − best reference": ("del. − best ref.", "Deletion area minus the best reference map's: below 0 is better."),
    "sanity": ("sanity", "The map after re-initialising the classifier: passes when it changes."),
    "Spearman after randomising": ("ρ randomised", "Spearman rank correlation with the original after randomising."),
    "over the random draws": ("ρ over draws", "The range of ρ over the random re-initialisations."),
    "Spearman |·|": ("ρ |·|", "Spearman rank correlation of the absolute maps."),
    "SSIM": ("SSIM", "Structural similarity with the original after randomising."),
}


def styled_table(table: pd.DataFrame) -> Styler:
    """The trust table for st.dataframe: numbers to three decimals, empty cells as a dash, verdicts coloured."""
    numbers = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]

    def colour(value: object) -> str:
        shade = CELL_COLOURS.get(str(value))
        return f"background-color: {shade}" if shade else ""

    verdict_columns = [c for c in ("faithfulness", "sanity") if c in table.columns]
    return (table.style.format({c: "{:.3f}" for c in numbers}, na_rep=MISSING)
            .format(lambda v: MISSING if v is None or v == "" else v, subset=[c for c in table.columns if c not in numbers],
                    na_rep=MISSING)
            .map(colour, subset=verdict_columns))


def map_verdicts(rows: list[tuple[str, float, float, bool]]) -> dict[str, FaithfulnessVerdict]:
    """{label: verdict} for every map that is not a reference, from (label, insertion, deletion, is_reference) rows."""
    references = {label: (ins, dele) for label, ins, dele, is_reference in rows if is_reference}
    verdicts = {}
    for label, ins, dele, is_reference in rows:
        verdict = None if is_reference else faithfulness_verdict(ins, dele, references)
        if verdict is not None:
            verdicts[label] = verdict
    return verdicts
