"""The sanity check's verdict in words: plain functions from `SanityResult` (data) to the text a user reads.

No streamlit here; the Trust views call these and draw the text.
"""
from __future__ import annotations

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
