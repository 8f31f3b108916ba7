"""The Trust page's background work: each map's deletion and insertion curves, its ROAD score and its sanity
check as jobs in the process's one store (ui/jobs_view.py), keyed by everything they depend on.

A rerun, a page switch or a second session asking for the same score attaches to its job. Finished results are
also kept in a SharedLRU (like ui/maps.py's maps), so they outlive the job store's bound. Estimates are passes
times a measured time: a forward-only pass per perturbed image for the curves and ROAD, ROAD's imputation of one
half-removed mask (both measured once: ui/costs.py), and a forward + backward pass (`costs.pass_seconds`) times the
method's passes for each map a sanity check recomputes.
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from ..attribution import Attribution
from ..images import InputImage
from ..jobs import estimate_seconds
from ..metrics import FaithfulnessProbe
from ..metrics.faithfulness import Curve
from ..metrics.road import PERCENTILES, road
from ..metrics.sanity import TOP_DRAWS, SanityOptions, SanityResult, cascading_randomisation, randomisation_stages
from ..models import LoadedModel
from ..progress import Cancelled, Progress, report
from .costs import forward_seconds, imputation_seconds, pass_seconds
from .jobs_view import Decide
from .live_task import Task, task
from .maps import map_passes
from .shared_lru import SharedLRU

computations = {"faithfulness": 0, "road": 0, "sanity": 0}  # scores actually computed: evidence for tests


@st.cache_resource
def _scores() -> SharedLRU:
    """Curves and ROAD scores (a few hundred floats each) by key."""
    return SharedLRU(1024)


@st.cache_resource
def _checks() -> SharedLRU:
    """Sanity results (a map per stage) by key."""
    return SharedLRU(256)


# ---------------------------------------------------------------- estimates

def curves_estimate(lm: LoadedModel, probe: FaithfulnessProbe, steps: int) -> float:
    """Deletion and insertion: 2 x steps perturbed images through the model."""
    return estimate_seconds(2 * steps, forward_seconds(lm, probe.x))


def road_estimate(lm: LoadedModel, probe: FaithfulnessProbe) -> float:
    """ROAD: one imputation per removal fraction, most- and least-relevant first, then their forwards."""
    masks = 2 * len(PERCENTILES)
    return masks * imputation_seconds(probe.shape) + estimate_seconds(masks, forward_seconds(lm, probe.x))


def sanity_estimate(lm: LoadedModel, image: InputImage, attribution: Attribution, granularity: str,
                    max_stages: int | None) -> float:
    """Every map the check recomputes (one per stage, TOP_DRAWS at the verdict's stage) times the method's passes
    times the measured forward + backward pass."""
    stages = len(randomisation_stages(lm.model, granularity)) if not isinstance(lm.model, torch.jit.ScriptModule) else 1
    stages = stages if max_stages is None else min(stages, max_stages)
    maps = stages + TOP_DRAWS - 1
    passes = map_passes(lm, image, attribution.method, dict(attribution.params), attribution.layer)
    return estimate_seconds(maps * passes, pass_seconds(lm, image))


# ---------------------------------------------------------------- the work

class ReportingProbe(FaithfulnessProbe):
    """A shared probe's state, reporting progress after each batch of forwards (so a job shows its progress and
    stops between batches); the shared probe itself is left as it is."""

    def __init__(self, probe: FaithfulnessProbe, progress: Progress | None, forwards: int):  # noqa: D107
        self.__dict__.update(probe.__dict__)  # the same image, prediction and blurred copy (read only)
        self.progress, self.expected, self.seen = progress, max(1, forwards), 0

    def probs(self, images: torch.Tensor) -> np.ndarray:
        parts = []
        for start in range(0, images.shape[0], self.batch_size):
            chunk = images[start:start + self.batch_size]
            parts.append(super().probs(chunk))
            self.seen += int(chunk.shape[0])
            report(self.progress, self.seen / self.expected)
        return np.concatenate(parts) if parts else np.zeros(0)


def curves_task(lm: LoadedModel, probe: FaithfulnessProbe, identity: str, label: str, values: np.ndarray,
                steps: int, decide: Decide) -> Task:
    """Deletion and insertion curves of one map (`identity`: everything that makes the map what it is)."""
    def work(progress: Progress) -> tuple[Curve, Curve]:
        computations["faithfulness"] += 1
        return ReportingProbe(probe, progress, 2 * steps).curves(values, steps)

    return task(f"trust-curves|{identity}|{steps}", f"{label}: deletion and insertion",
                curves_estimate(lm, probe, steps), work, decide, _scores(), group=lm.key)


def road_task(lm: LoadedModel, probe: FaithfulnessProbe, identity: str, label: str, values: np.ndarray,
              decide: Decide) -> Task:
    """The ROAD combined score of one map."""
    def work(progress: Progress) -> float:
        computations["road"] += 1
        return road(ReportingProbe(probe, progress, 2 * len(PERCENTILES)), values).combined

    return task(f"trust-road|{identity}", f"{label}: ROAD", road_estimate(lm, probe), work, decide, _scores(), group=lm.key)


def sanity_task(lm: LoadedModel, image: InputImage, identity: str, label: str, attribution: Attribution,
                granularity: str, max_stages: int | None, decide: Decide) -> Task:
    """The cascading randomisation of one map's method on a private copy of the model; a check stopped half-way
    keeps nothing (its job ends cancelled)."""
    def work(progress: Progress) -> SanityResult:
        computations["sanity"] += 1
        x = lm.preprocessing.to_tensor(image.image)
        options = SanityOptions(granularity=granularity, max_stages=max_stages)
        result = cascading_randomisation(lm, x, attribution, options, progress=progress)
        if result.stopped:
            raise Cancelled(f"{label}: sanity check stopped.")
        return result

    def nbytes(result: SanityResult) -> int:
        return int(result.original.nbytes + sum(s.values.nbytes for s in result.stages))

    what = "sanity (top layers)" if max_stages is not None else "sanity check"
    return task(f"trust-sanity|{identity}|{granularity}|{max_stages}", f"{label}: {what}",
                sanity_estimate(lm, image, attribution, granularity, max_stages), work, decide, _checks(), nbytes,
                group=lm.key, refusal_note="Sanity check" if max_stages is not None else None)
