"""Scores of an evaluation: accuracy, per-class accuracy, confusion among the classes present, mistakes."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .evaluate import Evaluation


@dataclass(frozen=True)
class Accuracy:
    top1: float
    top_k: float
    count: int
    k: int  # the k of "top-k" actually stored (5 unless the model has fewer classes)


@dataclass(frozen=True)
class Confusion:
    """Rows: the true classes present; columns: those, then the other predicted classes (then 'other')."""

    rows: list[int]
    columns: list[int]  # class indices; -1 stands for every remaining predicted class
    counts: np.ndarray  # len(rows) x len(columns)


def predicted(ev: Evaluation) -> np.ndarray:
    return ev.top_index[:, 0]


def correct(ev: Evaluation) -> np.ndarray:
    """Per image (all rows): the top-1 prediction is the true class."""
    return predicted(ev) == ev.labels


def accuracy(ev: Evaluation) -> Accuracy:
    ok = ev.ok
    k = min(5, ev.top_index.shape[1])
    if not len(ok):
        return Accuracy(0.0, 0.0, 0, k)
    top1 = float(correct(ev)[ok].mean())
    top_k = float((ev.top_index[ok, :k] == ev.labels[ok, None]).any(1).mean())
    return Accuracy(top1, top_k, len(ok), k)


def per_class(ev: Evaluation) -> list[dict]:
    """One row per true class present: images, correct, accuracy, most frequent wrong prediction; worst first."""
    ok = ev.ok
    labels, preds, right = ev.labels[ok], predicted(ev)[ok], correct(ev)[ok]
    rows = []
    for c in np.unique(labels):
        mask = labels == c
        wrong = Counter(preds[mask & ~right].tolist()).most_common(1)
        rows.append({"class": ev.label(int(c)), "index": int(c), "images": int(mask.sum()), "correct": int(right[mask].sum()),
                     "accuracy": float(right[mask].mean()),
                     "most often taken for": f"{ev.label(wrong[0][0])} ({wrong[0][1]})" if wrong else ""})
    return sorted(rows, key=lambda r: (r["accuracy"], r["class"]))


def confusion(ev: Evaluation, max_columns: int = 40) -> Confusion:
    ok = ev.ok
    labels, preds = ev.labels[ok], predicted(ev)[ok]
    rows = sorted(set(labels.tolist()))
    present = set(rows)
    extra = [c for c, _ in Counter(p for p in preds.tolist() if p not in present).most_common()]
    room = max(0, max_columns - len(rows))
    if len(extra) > room:
        room = max(0, room - 1)  # one column is kept for "other"
    columns = rows + extra[:room] + ([-1] if len(extra) > room else [])
    where = {c: j for j, c in enumerate(columns)}
    counts = np.zeros((len(rows), len(columns)), np.int64)
    row_of = {c: i for i, c in enumerate(rows)}
    for t, p in zip(labels.tolist(), preds.tolist(), strict=True):
        counts[row_of[t], where.get(p, len(columns) - 1)] += 1
    return Confusion(rows, columns, counts)


def confusion_pairs(ev: Evaluation, wrong_only: bool = True) -> list[tuple[int, int, int]]:
    """(true, predicted, count) for every wrong pair (or every pair), most frequent first."""
    ok = ev.ok
    rows = ok[~correct(ev)[ok]] if wrong_only else ok
    pairs = Counter(zip(ev.labels[rows].tolist(), predicted(ev)[rows].tolist(), strict=True))
    return [(t, p, n) for (t, p), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))]


def images_of_pair(ev: Evaluation, true: int, pred: int) -> np.ndarray:
    """Row indices whose true class is `true` and top-1 prediction `pred`, most confident first."""
    ok = ev.ok
    rows = ok[(ev.labels[ok] == true) & (predicted(ev)[ok] == pred)]
    return rows[np.argsort(-ev.top_prob[rows, 0], kind="stable")]


def mistakes(ev: Evaluation) -> np.ndarray:
    """Row indices of the wrong top-1 predictions, most confident first."""
    ok = ev.ok
    wrong = ok[~correct(ev)[ok]]
    return wrong[np.argsort(-ev.top_prob[wrong, 0], kind="stable")]
