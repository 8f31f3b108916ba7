"""A page's draft (ui/report_view.py) as a report.Report: the maps with the scales they were drawn with, the
tables, curves and sections as noted, the photos with their predictions (the pages' own cached answers), the
settings, the link to this view and the commands that reproduce it. Runs on a click, off the script run: it calls
no Streamlit element, only the caches that hold what the page already computed."""
from __future__ import annotations

from urllib.parse import urlencode

from .. import limits
from ..attribution import Attribution
from ..errors import InterpretError
from ..images import InputImage
from ..models import LoadedModel
from ..render import ScaleInfo
from ..report import Report, Reproduce
from ..report import build as b
from ..report.content import MapPanel, capped
from ..report.figures import slide_png
from ..report.names import public_spec
from ..report.versions import library_versions
from .predictions import cached_top_k
from .report_view import Draft, MapsShown
from .state import ModelRequest


def to_report(draft: Draft, export: int | None = None) -> Report:
    """The report of what the page drew (`export`: the side maps will be exported at)."""
    lm = draft.lm
    if lm is None:
        raise InterpretError("No model has loaded on this page yet: there is nothing to report.")
    shown: list[MapsShown] = draft.part("maps:")
    panels = [b.panel(a, image, scale, view.settings.alpha) for view in shown for a, image, scale in view.maps]
    photos = [b.photo(lm, image, guesses_of(lm, image), export) for image in draft.photos.values()]
    settings = [row for view in shown for row in view_settings(view)]
    settings += [row for rows in draft.part("settings:") for row in rows]
    return capped(Report(draft.title, b.now(), b.model_facts(lm, weights_text(draft.request)), tuple(photos),
                  tuple(dict.fromkeys(settings)), tuple(panels), tuple(draft.part("table:")),
                  tuple(draft.part("curves:")), tuple(s() if callable(s) else s for s in draft.part("section:")),
                  reproduce(draft, shown)))


def guesses_of(lm: LoadedModel, image: InputImage) -> tuple:
    """The photo's top classes as the pages computed them; none where they are not at hand (the model hangs)."""
    try:
        return tuple(cached_top_k(lm, image, 5))
    except Exception:  # noqa: BLE001 - a report without a prediction still holds what the page drew
        return ()


def view_settings(view: MapsShown) -> tuple[tuple[str, str], ...]:
    target = f"class {view.target} (every photo)" if view.target is not None else "each photo's predicted class"
    return b.map_settings(view.methods, view.params, target, view.objective, view.layer, view.settings)


def weights_text(request: ModelRequest | None) -> str:
    if request is None or not request.weights:
        return "" if request is None or request.weights_data is None else "an uploaded file"
    return request.weights


def model_args(lm: LoadedModel, request: ModelRequest | None) -> list[str]:
    """The CLI's model options for the sidebar's model request."""
    if request is None:
        return b.model_args(lm)
    return b.model_args(lm, request.weights, request.preprocessing is not None, request.activation,
                        request.model_kwargs, request.trust_code, request.prefer == "ema",
                        "classes.txt" if request.class_names is not None else "")


def reproduce(draft: Draft, shown: list[MapsShown]) -> Reproduce:
    lm = draft.lm
    assert lm is not None
    model = model_args(lm, draft.request)
    commands: tuple[str, ...] = (b.predict_command(list(draft.photos.values()), model),) if draft.photos else ()
    if shown:
        view = shown[0]
        images = list(dict.fromkeys(image for _, image, _ in view.maps)) or list(draft.photos.values())
        commands = b.commands(images, view.methods, view.params, view.target, view.objective, view.layer,
                              view.settings, model)
    link, notes = link_of(draft)
    return Reproduce(link, notes, commands, library_versions())


def link_of(draft: Draft) -> tuple[str, tuple[str, ...]]:
    """The link to this view (its page and settings) and, in words, what it cannot restore."""
    query = draft.query()
    path = "/" + draft.page_path + (f"?{urlencode(query, safe=',')}" if query else "")
    notes = []
    if draft.base_url:
        link = draft.base_url.rstrip("/") + path
    else:
        link = path
        notes.append("The server's address was not known when the report was made: open this path on the app's server.")
    if "photos" in query:
        notes.append(f"The link restores the uploaded photos only on the server that made it, while it runs and still "
                     f"keeps them (it keeps {limits.UPLOAD_CACHE_PHOTOS} photos and {limits.UPLOAD_CACHE_BYTES >> 20} MB "
                     "for all its visitors, the least recently used dropped first); otherwise the app says they could "
                     "not be restored and asks for them again.")
    request = draft.request
    if request is not None and request.weights_data is not None:
        notes.append(f"The model's file {public_spec(request.weights or request.spec)} is not in the link: upload it "
                     "again.")
    if request is not None and request.class_names is not None:
        notes.append("The class names file is not in the link: choose it again (the commands call it classes.txt).")
    if draft.shared:
        notes.append("This server runs in shared mode: model files, server folders and users' code cannot be opened "
                     "from a link there.")
    return link, tuple(notes)


def map_png(lm: LoadedModel, image: InputImage, a: Attribution, scale: ScaleInfo, alpha: float,
            side: int | None) -> bytes:
    """One map as a PNG for a slide (report/figures.slide_png) at `side` px, up to the photo's own resolution."""
    panel: MapPanel = b.panel(a, image, scale, alpha)
    return slide_png(panel, b.photo(lm, image, export=side), public_spec(lm.spec), side)
