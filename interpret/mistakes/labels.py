"""Matching the user's labels to the model's classes: exact, case-insensitive, or a class index.

Nothing is guessed: a label that matches no class, or several classes equally well (ImageNet has two
'crane's), is reported and its images are left out of the scores.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LabelMatch:
    """label -> class index for the labels that matched; the others, with why not."""

    indices: dict[str, int]
    unmatched: tuple[str, ...] = ()
    ambiguous: dict[str, tuple[int, ...]] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)  # label -> "exact", "case-insensitive" or "index"

    def describe_problems(self, class_names: tuple[str, ...]) -> list[str]:
        """One sentence per label left out."""
        lines = [f"'{label}' matches no class of this model." for label in self.unmatched]
        for label, options in self.ambiguous.items():
            choices = ", ".join(f"{class_names[i]} ({i})" for i in options)
            lines.append(f"'{label}' matches several classes: {choices}; use the class index instead.")
        return lines


def _normal(text: str) -> str:
    """Case and separators folded: folder names cannot always hold spaces, so '_' reads as ' '."""
    return " ".join(text.replace("_", " ").split()).casefold()


def _candidates(text: str, exact: dict[str, list[int]], folded: dict[str, list[int]],
                count: int) -> tuple[str, list[int] | None]:
    """How a label matches (exact, then case-insensitive, then as an index) and the classes it matches."""
    if exact.get(text):
        return "exact", exact[text]
    if folded.get(_normal(text)):
        return "case-insensitive", folded[_normal(text)]
    return "index", [int(text)] if text.isdigit() and int(text) < count else None


def match_labels(labels: Iterable[str], class_names: tuple[str, ...]) -> LabelMatch:
    exact: dict[str, list[int]] = {}
    folded: dict[str, list[int]] = {}
    for i, name in enumerate(class_names):
        exact.setdefault(name, []).append(i)
        folded.setdefault(_normal(name), []).append(i)
    indices, how, unmatched, ambiguous = {}, {}, [], {}
    for label in sorted(set(labels)):
        kind, candidates = _candidates(label.strip(), exact, folded, len(class_names))
        if not candidates:
            unmatched.append(label)
        elif len(candidates) > 1:
            ambiguous[label] = tuple(candidates)
        else:
            indices[label], how[label] = candidates[0], kind
    return LabelMatch(indices, tuple(unmatched), ambiguous, how)
