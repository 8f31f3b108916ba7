"""What a page needs from the model before it can draw (a prediction, a map's default target, the layer list, a
measured pass behind an estimate), run in the background and waited for at most MODEL_ANSWER_SECONDS.

A model that loaded (its first pass answered) can still hang on another batch or a later call, and a pass run in the
script run would freeze that browser session for good. So each such piece runs as a job of the process's one answer
store, one job per model at a time (a hung model holds one thread, and its other answers wait behind it), and the
page waits for it at most the bound, counted from when the job was asked for: a rerun, a page switch or another
session asking for the same answer does not wait again. Past the bound `answer` raises `NotAnsweredError`, which
`ui/errors.user_errors` shows as one line, with a refresh that reruns the page once the answer comes.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from ..attribution.requirements import REQUIREMENTS, unmet
from ..errors import NotAnsweredError
from ..jobs import DONE, FAILED, JobStore, answer_seconds
from ..layers import LayerInfo, default_cam_layer, list_layers
from ..limits import JOB_WORKERS
from ..models import LoadedModel

T = TypeVar("T")


@st.cache_resource
def answer_store() -> JobStore:
    """The process's store of answers pages wait for: one job per model at a time, shared by every session."""
    return JobStore(workers=JOB_WORKERS, per_group=1)


def answer(lm: LoadedModel, key: str, label: str, work: Callable[[], T], nbytes: Callable[[T], int] | None = None) -> T:
    """`work()` (which runs `lm`), computed once as a background job under (`lm`, `key`) and waited for at most
    answer_seconds() since it was asked for; NotAnsweredError past that (the job goes on, and its result is kept for
    the rerun that follows: `nbytes(result)` counts against the store's byte bound). A failure is raised as the work
    raised it (and forgotten: asking again tries again)."""
    store = answer_store()
    job = store.submit(f"answer|{lm.key}|{key}", lambda progress: work(), label, nbytes=nbytes, group=lm.key)
    bound = answer_seconds()
    job.wait(max(0.0, bound - (time.monotonic() - job.submitted)))
    if job.state == DONE:
        return job.result
    if job.state == FAILED:
        store.forget(job.key)
        raise job.exception if job.exception is not None else NotAnsweredError(job.error or label)
    raise NotAnsweredError(not_answered(lm, label, bound), job)


def not_answered(lm: LoadedModel, label: str, bound: float) -> str:
    """The one line a page shows for a model that has not answered."""
    return (f"The model {lm.spec} has not answered within {bound:g} s ({label}): it may hang. The work goes on in the "
            "background and this page is drawn when it answers; the sidebar and the other pages still work.")


def layers_of(lm: LoadedModel) -> tuple[LayerInfo, ...]:
    """`list_layers(lm)` (one forward pass, once per model), answered within the bound."""
    return answer(lm, "layers", "listing its layers", lambda: list_layers(lm))


def requirements_checked(lm: LoadedModel) -> None:
    """What each method needs checked on `lm` (a forward and a gradient probe, once per architecture), within the
    bound: the pages then ask `applicable` without running the model."""
    answer(lm, "requirements", "checking which methods it supports", lambda: [unmet(lm, r) for r in REQUIREMENTS])


def cam_layer(lm: LoadedModel) -> str | None:
    """`default_cam_layer(lm)` once the layers are listed within the bound."""
    layers_of(lm)
    return default_cam_layer(lm)
