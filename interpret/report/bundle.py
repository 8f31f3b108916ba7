"""A report as a zip: report.html, report.json with every number it shows, each map as a PNG fit for a slide
(at a chosen size, with its colour bar and caption) and as the raw .npy array, the photo x method grid and the Trust
curves as PNGs. File names carry the model, photo, method and target (report/names.py), so two models' files never
collide when unpacked into one folder.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from typing import Any

import numpy as np

from .content import MapPanel, Report, Table
from .figures import curves_png, grid_png, png, slide_png
from .html import render_html
from .names import file_part, map_file_name, model_part, stem


def map_stems(report: Report) -> list[str]:
    """Each map's file name without its suffix, one per map: two photos of one name get their digests' starts."""
    stems = [map_file_name(report.model.spec, report.model.key, p.photo, p.method, p.target, p.target_label, "")
             for p in report.maps]
    repeated = {s for s in stems if stems.count(s) > 1}
    return [f"{s}-{p.photo_sha[:8]}" if s in repeated else s for s, p in zip(stems, report.maps, strict=True)]


def _number(value: Any) -> Any:
    """A value for JSON: numpy scalars as Python numbers, NaN and infinities as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _table(table: Table) -> dict:
    return {"title": table.title, "rows": [{c: _number(v) for c, v in zip(table.columns, row, strict=False)}
                                           for row in table.rows], "notes": list(table.notes)}


def _panel(panel: MapPanel, name: str) -> dict:
    finite = panel.values[np.isfinite(panel.values)]
    s = panel.scale
    return {"photo": panel.photo, "photo_sha256": panel.photo_sha, "method": panel.method, "label": panel.label,
            "target": panel.target, "target_label": panel.target_label, "objective": panel.objective,
            "layer": panel.layer, "params": {k: _number(v) for k, v in panel.params}, "caption": panel.caption,
            "note": panel.note, "shape": list(panel.values.shape),
            "min": _number(float(finite.min())) if finite.size else None,
            "max": _number(float(finite.max())) if finite.size else None,
            "scale": {"cmap": s.cmap, "low": _number(s.low), "high": _number(s.high), "mode": s.mode, "how": s.how,
                      "legend": s.legend, "normalised": s.normalised, "text": s.text()},
            "alpha": panel.alpha, "png": f"maps/{name}.png", "npy": f"maps/{name}.npy"}


def report_json(report: Report) -> dict:
    """Every number and setting of the report, pictures left out (they are files of the zip)."""
    m = report.model
    return {
        "title": report.title, "created": report.created, "notes": list(report.notes),
        "model": {"spec": m.spec, "key": m.key, "preprocessing": m.preprocessing, "device": m.device,
                  "activation": m.activation, "classes": m.classes, "weights": m.weights, "notes": list(m.notes)},
        "settings": dict(report.settings),
        "photos": [{"name": p.name, "sha256": p.sha256, "size": list(p.size), "source": p.source,
                    "predictions": [{"index": g.index, "label": g.label, "probability": _number(g.prob)}
                                    for g in p.guesses]} for p in report.photos],
        "maps": [_panel(panel, name) for panel, name in zip(report.maps, map_stems(report), strict=True)],
        "tables": [_table(t) for t in report.tables],
        "curves": [{"title": c.title, "caption": c.caption,
                    "series": [{"kind": s.kind, "label": s.label, "reference": s.reference,
                                "fractions": [_number(float(v)) for v in s.fractions],
                                "probabilities": [_number(float(v)) for v in s.probs]} for s in c.series]}
                   for c in report.curves],
        "sections": [{"title": s.title, "lines": list(s.lines), "tables": [_table(t) for t in s.tables]}
                     for s in report.sections],
        "reproduce": {"link": report.reproduce.link, "link_notes": list(report.reproduce.link_notes),
                      "commands": list(report.reproduce.commands), "versions": dict(report.reproduce.versions)},
    }


def render_zip(report: Report, side: int | None = None) -> bytes:
    """The zip (bytes); maps drawn at `side` px (None: the model's input size), up to each photo's own resolution."""
    buffer = io.BytesIO()
    model = model_part(report.model.spec, report.model.key)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.html", render_html(report))
        archive.writestr("report.json", json.dumps(report_json(report), indent=2, ensure_ascii=False))
        for photo in report.photos:
            archive.writestr(f"photos/{stem(photo.name)}-{photo.sha256[:8]}.png", png(photo.seen))
        for panel, name in zip(report.maps, map_stems(report), strict=True):
            found = report.photo(panel.photo_sha)
            if found is None:
                continue
            archive.writestr(f"maps/{name}.png", slide_png(panel, found, report.model.spec, side))
            npy = io.BytesIO()
            np.save(npy, panel.values)
            archive.writestr(f"maps/{name}.npy", npy.getvalue())
        if report.maps:
            archive.writestr(f"{model}_grid.png", grid_png(report))
        for curves in report.curves:
            if curves.series:
                archive.writestr(f"{model}_{file_part(curves.title, 32)}.png", curves_png(curves))
    return buffer.getvalue()
