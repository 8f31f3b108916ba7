"""Every image's result as CSV, and a summary (accuracy, confusion pairs, worst mistakes) as plain data."""
from __future__ import annotations

import csv
import io
import re

from .calibration import calibration
from .evaluate import FAILED, OK, Evaluation
from .metrics import accuracy, confusion_pairs, mistakes

COLUMNS = ("path", "label", "true_class", "true_index", "prediction", "prediction_index", "probability",
           "correct", "true_class_probability", "in_top_k", "error")


def result_rows(ev: Evaluation) -> list[dict]:
    """One dict per image in the set's order (failed images carry their error, pending ones are left out)."""
    rows = []
    k = min(5, ev.top_index.shape[1])
    for i, path in enumerate(ev.paths):
        true = int(ev.labels[i])
        row = {"path": path, "label": ev.user_labels[i], "true_class": ev.label(true), "true_index": true}
        if ev.status[i] == OK:
            pred = int(ev.top_index[i, 0])
            row.update(prediction=ev.label(pred), prediction_index=pred, probability=round(float(ev.top_prob[i, 0]), 6),
                       correct=pred == int(ev.labels[i]), true_class_probability=round(float(ev.true_prob[i]), 6),
                       in_top_k=bool((ev.top_index[i, :k] == ev.labels[i]).any()), error="")
        elif ev.status[i] == FAILED:
            row.update(prediction="", prediction_index="", probability="", correct="", true_class_probability="",
                       in_top_k="", error=ev.errors.get(path, "could not be decoded"))
        else:
            continue
        rows.append(row)
    return rows


# First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"): such a text
# cell is written with a leading apostrophe, which spreadsheets show as text and do not evaluate.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise(value: object) -> object:
    """A CSV cell that no spreadsheet evaluates: text starting with = + - @ tab or CR gets a leading '.

    Numbers (ints, floats, bools, and text that is a plain number such as "-3" or "+1.5e-3") stay as they
    are: a spreadsheet reads them as numbers, never as formulas.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def encodable(value: object) -> object:
    """A text cell that encodes as UTF-8: a file name's undecodable bytes (held as surrogate escapes, as os.fsdecode
    gives them) written as \\x.. escapes, so the CSV can be saved and downloaded."""
    if not isinstance(value, str):
        return value
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def to_csv(ev: Evaluation) -> str:
    """Every image's row as CSV text, every text cell (paths, labels, class names, errors) neutralised and encodable."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: neutralise(encodable(value)) for key, value in row.items()} for row in result_rows(ev))
    return buffer.getvalue()


def summary(ev: Evaluation, top_mistakes: int = 20) -> dict:
    """What the CLI prints: accuracy, confusion pairs with counts, most confident mistakes, what was left out."""
    acc = accuracy(ev)
    return {
        "set": ev.set_name,
        "images": acc.count,
        "top1": acc.top1,
        f"top{acc.k}": acc.top_k,
        "ece": calibration(ev).ece,
        "confusion_pairs": [{"true": ev.label(t), "predicted": ev.label(p), "count": n} for t, p, n in confusion_pairs(ev)],
        "mistakes": [{"path": ev.paths[i], "true": ev.label(int(ev.labels[i])), "predicted": ev.label(int(ev.top_index[i, 0])),
                      "probability": float(ev.top_prob[i, 0]), "true_class_probability": float(ev.true_prob[i])}
                     for i in mistakes(ev)[:top_mistakes]],
        "unreadable": ev.errors,
        "unmatched_labels": ev.match.describe_problems(ev.class_names),
        "skipped": {reason: len(names) for reason, names in ev.skipped.items()},
        "complete": ev.complete,
        "coverage": ev.describe_coverage(),
    }
