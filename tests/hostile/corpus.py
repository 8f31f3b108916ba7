"""The whole corpus: every category's cases, for counting and for the suite's own checks."""
from __future__ import annotations

from . import corpus_classes, corpus_images, corpus_models, corpus_params, corpus_sets
from .cases import Case

CATEGORIES = {"images": corpus_images.CASES, "models": corpus_models.CASES, "classes": corpus_classes.CASES,
              "sets": corpus_sets.CASES, "params": corpus_params.CASES}
ALL: list[Case] = [case for cases in CATEGORIES.values() for case in cases]


def counts() -> dict[str, int]:
    """Cases per category (each case runs through one or more entry points)."""
    return {name: len(cases) for name, cases in CATEGORIES.items()}
