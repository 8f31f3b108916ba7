"""Matching the user's labels to the model's classes: exact, case-insensitive, or a class index.

Nothing is guessed: a label that matches no class, or several classes equally well (ImageNet has two
'crane's), is reported and its images are left out of the scores.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LabelMatch:
    """label -> class index for the labels that matched; the others, with why not."""

    indices: dict[str, int]
    unmatched: tuple[str, ...] = ()
    ambiguous: dict[str, tuple[int, ...]] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)  # label -> "exact", "case-insensitive", "index" or "chosen"
    counts: dict[str, int] = field(default_factory=dict)  # images per label

    @property
    def problems(self) -> tuple[str, ...]:
        """The labels left out: those that match no class, then those that match several."""
        return self.unmatched + tuple(self.ambiguous)

    def describe_problems(self, class_names: tuple[str, ...]) -> list[str]:
        """One sentence per label left out."""
        lines = [f"'{label}' matches no class of this model: {self._images(label)} left out." for label in self.unmatched]
        for label, options in self.ambiguous.items():
            choices = ", ".join(f"{class_names[i]} ({i})" for i in options)
            lines.append(f"'{label}' matches several classes: {choices}; {self._images(label)} left out (choose its "
                         "class, or use the class index as the label).")
        return lines

    def _images(self, label: str) -> str:
        count = self.counts.get(label, 0)
        return f"its {count} image{'s' if count != 1 else ''}" if count else "its images"


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
    # ASCII digits only: str.isdigit() is also true of '²' and '①', which int() refuses
    return "index", [int(text)] if text.isascii() and text.isdigit() and int(text) < count else None


def match_labels(labels: Iterable[str], class_names: tuple[str, ...], chosen: dict[str, int] | None = None) -> LabelMatch:
    """Each label's class; `chosen` maps labels to class indices the user picked (for labels that match no class,
    or several), and wins over any match."""
    exact: dict[str, list[int]] = {}
    folded: dict[str, list[int]] = {}
    for i, name in enumerate(class_names):
        exact.setdefault(name, []).append(i)
        folded.setdefault(_normal(name), []).append(i)
    indices, how, unmatched, ambiguous = {}, {}, [], {}
    counts = Counter(labels)
    for label in sorted(counts):
        if chosen and label in chosen and 0 <= int(chosen[label]) < len(class_names):
            indices[label], how[label] = int(chosen[label]), "chosen"
            continue
        kind, candidates = _candidates(label.strip(), exact, folded, len(class_names))
        if not candidates:
            unmatched.append(label)
        elif len(candidates) > 1:
            ambiguous[label] = tuple(candidates)
        else:
            indices[label], how[label] = candidates[0], kind
    return LabelMatch(indices, tuple(unmatched), ambiguous, how, dict(counts))
