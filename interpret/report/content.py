"""What a report holds, as plain frozen dataclasses of text, numbers and arrays: the app and the CLI fill them from
what they show or computed; report/html.py and report/bundle.py write them. Nothing here knows torch or Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .. import limits
from ..render import ScaleInfo


@dataclass(frozen=True)
class ModelFacts:
    """The model as the report names it: its spec (local folders left out: names.public_spec), the key every
    result was computed under, its preprocessing in words, the device, its head and its weights."""

    spec: str
    key: str
    preprocessing: str
    device: str
    activation: str = "softmax"
    classes: int = 0
    weights: str = ""  # "pretrained", "random", or the file name the user gave
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Guess:
    """One of a photo's most probable classes."""

    index: int
    label: str
    prob: float


@dataclass(frozen=True)
class Photo:
    """A photo of the report: `seen` is what the model sees (RGB uint8 at its input size, as the pages draw it);
    `own_side` the side of that part of the photo at the photo's own resolution (capped at EXPORT_SIDE_MAX), up to
    which a map is exported; `region` that part at `own_side` px, where an export at more than `seen` needs it."""

    name: str
    sha256: str
    size: tuple[int, int]  # the photo's own width and height
    seen: np.ndarray = field(repr=False)
    own_side: int = 0
    region: np.ndarray | None = field(default=None, repr=False)
    guesses: tuple[Guess, ...] = ()
    source: str = ""  # how the CLI names it: sample:NAME, or the file name

    @property
    def export_side(self) -> int:
        """The largest side a map of this photo is drawn at: the photo's own resolution, at least the model's."""
        return max(int(self.own_side), int(self.seen.shape[0]))


@dataclass(frozen=True)
class MapPanel:
    """One drawn map: what it explains, its raw values, and how it was drawn (its scale, the overlay's opacity)."""

    photo_sha: str
    photo: str
    method: str  # the registry name
    label: str  # the method's label
    target: int
    target_label: str
    objective: str
    layer: str | None
    params: tuple[tuple[str, Any], ...]
    values: np.ndarray = field(repr=False)
    scale: ScaleInfo
    alpha: float
    caption: str
    note: str = ""


@dataclass(frozen=True)
class Table:
    """A table as shown (numbers kept as numbers), with the sentences under it (verdicts in words)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Series:
    """One curve: a map's probability against the fraction of pixels deleted or inserted."""

    kind: str  # "deletion" or "insertion"
    label: str
    fractions: np.ndarray = field(repr=False)
    probs: np.ndarray = field(repr=False)
    reference: bool = False


@dataclass(frozen=True)
class Curves:
    """The Trust page's deletion and insertion curves, and what they follow."""

    title: str
    series: tuple[Series, ...]
    caption: str = ""


@dataclass(frozen=True)
class Picture:
    """Any other picture a page shows (a mosaic, a mean map), with its scale when its colours mean values."""

    name: str
    rgb: np.ndarray = field(repr=False)
    caption: str = ""
    scale: ScaleInfo | None = None


@dataclass(frozen=True)
class Section:
    """A part of a page in words, tables and pictures (the Mistakes summary, a feature map)."""

    title: str
    lines: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    pictures: tuple[Picture, ...] = ()


@dataclass(frozen=True)
class Reproduce:
    """How to get the same view again: the app's link (and what it cannot restore), the CLI, the libraries."""

    link: str = ""
    link_notes: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    versions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Report:
    """Everything one report shows, in the order it shows it."""

    title: str
    created: str
    model: ModelFacts
    photos: tuple[Photo, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    maps: tuple[MapPanel, ...] = ()
    tables: tuple[Table, ...] = ()
    curves: tuple[Curves, ...] = ()
    sections: tuple[Section, ...] = ()
    reproduce: Reproduce = Reproduce()
    notes: tuple[str, ...] = ()  # what the report leaves out (maps still computing, ...)

    def photo(self, sha256: str) -> Photo | None:
        return next((p for p in self.photos if p.sha256 == sha256), None)


def capped(report: Report) -> Report:
    """The report with at most REPORT_MAPS maps, saying so when a page showed more."""
    if len(report.maps) <= limits.REPORT_MAPS:
        return report
    note = (f"The page shows {len(report.maps)} maps; this report holds the first {limits.REPORT_MAPS} "
            "(limit REPORT_MAPS).")
    return replace(report, maps=report.maps[:limits.REPORT_MAPS], notes=(*report.notes, note))
