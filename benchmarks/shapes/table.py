"""The ground-truth scores as a Markdown table (what benchmarks/quality.py prints)."""
from __future__ import annotations

from .groundtruth import COLUMNS, REFERENCES, MethodScores


def format_table(results: dict[str, MethodScores], title: str = "") -> str:
    """A Markdown table, one row per method or reference map (reference maps in italics)."""
    head = "| method | " + " | ".join(COLUMNS) + " | s/map |"
    lines = ([f"**{title}**", ""] if title else []) + [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, scores in results.items():
        count = max(1, len(scores.values["auroc"]))
        cells = " | ".join(f"{scores.mean(c):.3f}" for c in COLUMNS)
        label = f"*{name}*" if name in REFERENCES else name
        lines.append(f"| {label} | {cells} | {scores.seconds / count:.3f} |")
    return "\n".join(lines)
