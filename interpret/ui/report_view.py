"""The Report buttons every page has, and what a page shows, gathered as it draws.

Each run starts a draft for its page and draws the Report buttons in the sidebar's Share section (`begin`, called
by the sidebar, so the section's widgets keep their values on every page). The page's title (`name_page`), model and
photos (`note_model`, `note_photos`) and what each view draws (`note_maps`,
`note_table`, `note_curves`, `note_section`, `note_settings`) are put in the draft as they are drawn; a live
fragment that redraws replaces its own part. A button's data is a callable run on click (Streamlit's deferred
download, on a server thread): it turns the draft, as the page last drew it, into a report.Report
(ui/report_draft.py) and writes it. Nothing is computed again: the maps, tables and curves are the objects the page
drew; only the pictures are encoded.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from .. import limits
from ..attribution import Attribution
from ..images import InputImage
from ..models import LoadedModel
from ..policy import shared_mode
from ..render import ScaleInfo
from ..report.content import Curves, Picture, Section, Table
from ..report.escape import html_text
from ..report.names import file_part, map_file_name, model_part
from ..report.scales import DisplaySettings
from .downloads import npy_bytes
from .state import ModelRequest, current_model, current_request
from .url_state import page_path, page_title, query_reader

DRAFT_KEY = "interpret_report_draft"
SIZES: dict[int, str] = {0: "as shown (the model's input)", 448: "448 px", 896: "896 px", 1792: "1792 px",
                         limits.EXPORT_SIDE_MAX: "the photo's own resolution"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MapsShown:
    """The maps a view drew, with everything they were drawn with and chosen by."""

    maps: tuple[tuple[Attribution, InputImage, ScaleInfo], ...]  # each map, its photo, the scale it was drawn with
    settings: DisplaySettings
    methods: tuple[str, ...]
    params: dict[str, dict[str, Any]]
    target: int | None  # the class chosen for every photo; None: each photo's predicted class
    objective: str
    layer: str | None


@dataclass
class Draft:
    """What one page's run has drawn so far, for a report made on a click (from another thread)."""

    title: str
    lm: LoadedModel | None = None
    request: ModelRequest | None = None
    photos: dict[str, InputImage] = field(default_factory=dict)  # by sha256, in the order drawn
    parts: dict[str, Any] = field(default_factory=dict)
    query: Callable[[], dict[str, str]] = dict
    base_url: str | None = None
    page_path: str = ""
    export_side: int | None = None
    shared: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def put(self, name: str, value: Any) -> None:
        """Set one part (a view's redraw replaces its own part); readers see the old or the new dict, never half."""
        with self.lock:
            self.parts = {**self.parts, name: value}

    def part(self, prefix: str) -> list[Any]:
        """The parts whose names start with `prefix`, in the order they were first drawn."""
        parts = self.parts
        return [value for name, value in parts.items() if name.startswith(prefix)]


def current() -> Draft | None:
    return st.session_state.get(DRAFT_KEY)


def begin() -> None:
    """A new draft for this run's page, and the sidebar's Share section with the Report buttons (drawn by the sidebar,
    before the page: a widget of the entry script keeps its value on every page)."""
    draft = Draft(page_title(), request=current_request(), query=query_reader(), base_url=st.context.url,  # None in a test
                  page_path=page_path(), shared=shared_mode())
    st.session_state[DRAFT_KEY] = draft
    with st.sidebar:
        share_section(draft)


def name_page(title: str) -> None:
    """The title the page itself shows, for its report."""
    draft = current()
    if draft is not None:
        draft.title = title


def share_section(draft: Draft) -> None:
    st.subheader("Share")
    st.caption("Everything this page shows in one HTML file that opens offline: the model, the photos, the maps with "
               "their scales, the tables, the settings and how to reproduce them.")
    stem = report_stem(draft)
    left, right = st.columns(2)
    left.download_button("Report", data=lambda: report_html(draft), file_name=f"{stem}.html", mime="text/html",
                         key="report-html", on_click="ignore", icon=":material/download:",
                         help="One self-contained HTML file of this page, as shown now.")
    right.download_button("zip", data=lambda: report_zip(draft), file_name=f"{stem}.zip", mime="application/zip",
                          key="report-zip", on_click="ignore", icon=":material/folder_zip:",
                          help="The report, each map as a PNG fit for a slide and as .npy, the grid and curves as PNGs, "
                               "and report.json with every number.")
    side = st.selectbox("Size of exported maps", options=list(SIZES), key="report-size",
                        format_func=lambda s: SIZES[s],
                        help="The side of each map PNG (the zip's, and the PNG button under a map): at most the photo's "
                             "own resolution, with its colour bar and caption written to match.")
    draft.export_side = side or None


def report_stem(draft: Draft) -> str:
    """'efficientnet_lite0-c9f2a5_saliency_report': the model as the maps' files name it (the sidebar loaded it)."""
    lm = current_model() if draft.request is not None else None
    model = model_part(lm.spec, lm.key) if lm is not None else "no-model"
    return f"{model}_{file_part(draft.title.lower())}_report"


def note_model(lm: LoadedModel) -> None:
    draft = current()
    if draft is not None:
        draft.lm = lm


def note_photos(images: list[InputImage]) -> None:
    """Photos the page shows (the report gives each with its predictions)."""
    draft = current()
    if draft is not None:
        with draft.lock:
            draft.photos = {**draft.photos, **{image.sha256: image for image in images}}


def note_maps(name: str, shown: MapsShown) -> None:
    note_photos([image for _, image, _ in shown.maps])
    _put(f"maps:{name}", shown)


def note_table(name: str, table: Table) -> None:
    _put(f"table:{name}", table)


def note_curves(name: str, curves: Curves) -> None:
    _put(f"curves:{name}", curves)


def note_section(name: str, section: Section | Callable[[], Section]) -> None:
    """A part of the page in words, tables and pictures (or what makes it, called when the report is made)."""
    _put(f"section:{name}", section)


def note_picture(name: str, title: str, rgb: np.ndarray, caption: str, scale: ScaleInfo | None = None) -> None:
    """A picture the page shows (a mosaic, a mean map) with its caption and the scale its colours mean."""
    _put(f"section:{name}", Section(title, pictures=(Picture(title, rgb, caption, scale),)))


def note_settings(name: str, rows: tuple[tuple[str, str], ...]) -> None:
    _put(f"settings:{name}", rows)


def _put(name: str, value: Any) -> None:
    draft = current()
    if draft is not None:
        draft.put(name, value)


# ---------------------------------------------------------------- the files, made on a click

def report_html(draft: Draft) -> bytes:
    """The report file (a page saying what failed, if anything did: a click never shows a traceback)."""
    from ..report import render_html
    from .report_draft import to_report

    try:
        return render_html(to_report(draft)).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - the click's one answer is a file: say what went wrong in it
        log.exception("The report of %s could not be made", draft.title)
        return failure_html(exc).encode("utf-8")


def report_zip(draft: Draft) -> bytes:
    """The zip of the report, its pictures at the chosen size, its maps as .npy and report.json."""
    import io
    import zipfile

    from ..report import render_zip
    from .report_draft import to_report

    try:
        return render_zip(to_report(draft, export=draft.export_side), draft.export_side)
    except Exception as exc:  # noqa: BLE001
        log.exception("The report zip of %s could not be made", draft.title)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("report.html", failure_html(exc))
        return buffer.getvalue()


def failure_html(exc: BaseException) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>interpret report</title></head><body>'
            f"<p>The report could not be made: {html_text(type(exc).__name__)}: {html_text(str(exc)[:300])}. The "
            "server log has the details.</p></body></html>")


# ---------------------------------------------------------------- one map's downloads

def map_downloads(lm: LoadedModel, image: InputImage, a: Attribution, scale: ScaleInfo, alpha: float,
                  key: str) -> None:
    """A map's PNG (fit for a slide: the chosen size up to the photo's own resolution, its colour bar and caption)
    and its raw .npy, named by model, photo, method and target; both made on a click."""
    from .report_draft import map_png

    draft = current()
    side = draft.export_side if draft is not None else None
    stem = map_file_name(lm.spec, lm.key, image.name, a.method, a.target, a.target_label, "")
    left, right = st.columns(2)
    left.download_button("PNG", data=lambda: map_png(lm, image, a, scale, alpha, side), file_name=f"{stem}.png",
                         mime="image/png", key=f"{key}-png-{a.method}", on_click="ignore")
    right.download_button(".npy", data=lambda: npy_bytes(a.values), file_name=f"{stem}.npy",
                          mime="application/octet-stream", key=f"{key}-npy-{a.method}", on_click="ignore")


def grid_button(key: str) -> None:
    """The photo x method grid this page drew, as one PNG fit for a slide (drawn on a click)."""
    draft = current()
    if draft is not None:
        st.download_button("Grid PNG", data=lambda: picture_png(draft, "grid"), file_name=f"{picture_stem(draft)}_grid.png",
                           mime="image/png", key=f"{key}-png", on_click="ignore", icon=":material/grid_on:",
                           help="Every photo by every method as one picture, each map with its colour bar.")


def curves_button(key: str) -> None:
    """The Trust curves this page drew, as one PNG fit for a slide (drawn on a click)."""
    draft = current()
    if draft is not None:
        st.download_button("Curves PNG", data=lambda: picture_png(draft, "curves"),
                           file_name=f"{picture_stem(draft)}_curves.png", mime="image/png", key=f"{key}-png",
                           on_click="ignore", icon=":material/show_chart:",
                           help="The deletion and insertion curves of every map, the reference maps grey and dashed.")


def picture_stem(draft: Draft) -> str:
    lm = draft.lm
    return model_part(lm.spec, lm.key) if lm is not None else "no-model"


def picture_png(draft: Draft, which: str) -> bytes:
    """The grid or the curves as a PNG; a picture saying what failed, if anything did."""
    from ..report.figures import curves_png, grid_png, png, text_block
    from .report_draft import to_report

    try:
        report = to_report(draft)
        if which == "grid":
            return grid_png(report)
        return curves_png(next(c for c in report.curves if c.series))
    except Exception as exc:  # noqa: BLE001 - the click's one answer is a file
        log.exception("The %s picture of %s could not be made", which, draft.title)
        return png(text_block([f"The picture could not be made: {type(exc).__name__}: {str(exc)[:200]}"], 640, 16))
