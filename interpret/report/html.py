"""A report as ONE self-contained HTML file: every picture a data: PNG inside it, no script, no font or style sheet
from elsewhere, and a Content-Security-Policy that lets the browser fetch nothing at all, so it opens offline and
mails as one attachment. Every text in it (class names, file names, labels, settings) goes through
`escape.html_text`, the escaping of the app's own HTML captions.
"""
from __future__ import annotations

import base64
import html
import math
from typing import Any
from urllib.parse import urlparse

from ..render import tick, with_colour_bar
from .content import Curves, MapPanel, Photo, Report, Section, Table
from .escape import html_lines, html_text
from .figures import curves_png, grid_rows, map_picture, png

POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;
color:#222}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;
vertical-align:top;font-size:.9rem}th{background:#f5f5f5}
.maps{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;width:240px}figure img{width:100%;image-rendering:auto}
figcaption{font-size:.8rem;color:#444;overflow-wrap:anywhere}.grid figure{width:200px}.muted{color:#666;font-size:.85rem}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:.85rem;white-space:pre-wrap;overflow-wrap:anywhere}
.photo{display:flex;gap:1rem;align-items:flex-start;margin-bottom:1rem}.photo img{width:224px}
"""


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def img(data: bytes, alt: str) -> str:
    return f'<img src="{data_uri(data)}" alt="{html_text(alt)}">'


def cell(value: Any) -> str:
    """A table value as shown: numbers to three decimals, nothing as a dash, text escaped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html_text(value)


def table_html(columns: tuple[str, ...] | list[str], rows: list | tuple) -> str:
    """A table; no header row where every column is unnamed (a list of facts)."""
    head = "".join(f"<th>{html_text(c)}</th>" for c in columns) if any(columns) else ""
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


def paragraphs(lines: tuple[str, ...] | list[str], css: str = "") -> str:
    attr = f' class="{css}"' if css else ""
    return "".join(f"<p{attr}>{html_text(line)}</p>" for line in lines if line)


def model_html(report: Report) -> str:
    m = report.model
    rows = [("spec", m.spec), ("key", m.key), ("preprocessing", m.preprocessing), ("device", m.device),
            ("head", f"{m.activation}, {m.classes} classes" if m.classes else m.activation)]
    if m.weights:
        rows.append(("weights", m.weights))
    return "<h2>Model</h2>" + table_html(("", ""), rows) + paragraphs(m.notes, "muted")


def photo_html(photo: Photo) -> str:
    guesses = table_html(("class", "index", "probability"), [(g.label, g.index, g.prob) for g in photo.guesses]) \
        if photo.guesses else '<p class="muted">No prediction was computed for this photo.</p>'
    return (f'<div class="photo">{img(png(photo.seen), photo.name)}<div><p><b>{html_text(photo.name)}</b> · '
            f'{photo.size[0]}×{photo.size[1]} px · sha256 {html_text(photo.sha256[:16])}…</p>{guesses}</div></div>')


def map_figure(panel: MapPanel, photo: Photo, caption: str) -> str:
    picture = with_colour_bar(map_picture(panel, photo), panel.scale, text=False)
    return (f"<figure>{img(png(picture), f'{panel.label} on {panel.photo}')}<figcaption>{html_text(caption)}<br>"
            f"{html_text(panel.scale.text())}</figcaption></figure>")


def maps_html(report: Report) -> str:
    """One figure per map; maps of several photos as a photo x method grid (a row per photo)."""
    if not report.maps:
        return ""
    photos, methods = grid_rows(report)
    if len(photos) == 1:
        figures = "".join(map_figure(m, photos[0], m.caption) for m in report.maps)
        return f'<h2>Maps</h2><div class="maps">{figures}</div>'
    cells = {(m.photo_sha, m.method): m for m in report.maps}
    labels = {m.method: m.label for m in report.maps}
    head = "<tr><th>photo</th>" + "".join(f"<th>{html_text(labels[m])}</th>" for m in methods) + "</tr>"
    rows = []
    for photo in photos:
        row = [f"<td><figure>{img(png(photo.seen), photo.name)}<figcaption>{html_text(photo.name)}</figcaption>"
               "</figure></td>"]
        for method in methods:
            panel = cells.get((photo.sha256, method))
            row.append(f"<td>{map_figure(panel, photo, panel.caption) if panel else 'not drawn'}</td>")
        rows.append("<tr>" + "".join(row) + "</tr>")
    return f'<h2>Maps</h2><table class="grid">{head}{"".join(rows)}</table>'


def tables_html(tables: tuple[Table, ...]) -> str:
    return "".join(f"<h2>{html_text(t.title)}</h2>{table_html(t.columns, t.rows)}{paragraphs(t.notes)}" for t in tables)


def curves_html(curves: tuple[Curves, ...]) -> str:
    return "".join(f"<h2>{html_text(c.title)}</h2>{img(curves_png(c), c.title)}{paragraphs((c.caption,), 'muted')}"
                   for c in curves if c.series)


def section_html(section: Section) -> str:
    pictures = "".join(
        f"<figure>{img(png(with_colour_bar(p.rgb, p.scale, text=False) if p.scale else p.rgb), p.name)}"
        f"<figcaption>{html_text(p.caption)}"
        f"{'<br>' + html_text(p.scale.text()) if p.scale else ''}</figcaption></figure>" for p in section.pictures)
    tables = "".join(f"<h3>{html_text(t.title)}</h3>{table_html(t.columns, t.rows)}{paragraphs(t.notes)}"
                     for t in section.tables)
    return (f"<h2>{html_text(section.title)}</h2>{paragraphs(section.lines)}{tables}"
            + (f'<div class="maps">{pictures}</div>' if pictures else ""))


def link_html(link: str) -> str:
    """The app's link as text, and as a link where it is an http(s) address (never a script's)."""
    if not link:
        return ""
    shown = f"<pre>{html_text(link)}</pre>"
    if urlparse(link).scheme in ("http", "https"):
        return (f'<p><a href="{html.escape(link, quote=True)}">Open this view in the app</a> (on the server it was made '
                f"on)</p>{shown}")
    return shown


def reproduce_html(report: Report) -> str:
    r = report.reproduce
    commands = f"<h3>The same from the command line</h3><pre>{html_lines(chr(10).join(r.commands))}</pre>" \
        if r.commands else ""
    versions = f"<h3>Libraries</h3>{table_html(('library', 'version'), r.versions)}" if r.versions else ""
    return f"<h2>Reproduce</h2>{link_html(r.link)}{paragraphs(r.link_notes, 'muted')}{commands}{versions}"


def render_html(report: Report) -> str:
    """The whole report as one HTML document (text)."""
    settings = "<h2>Settings</h2>" + table_html(("setting", "value"), report.settings) if report.settings else ""
    photos = "<h2>Photos</h2>" + "".join(photo_html(p) for p in report.photos) if report.photos else ""
    body = "".join([
        f"<h1>{html_text(report.title)}</h1>",
        f'<p class="muted">Made by interpret on {html_text(report.created)}. Every picture is inside this file; it '
        "opens without a network.</p>",
        paragraphs(report.notes, "muted"), model_html(report), settings, photos, maps_html(report),
        scale_summary(report), tables_html(report.tables), curves_html(report.curves),
        "".join(section_html(s) for s in report.sections), reproduce_html(report),
    ])
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html_text(f'interpret · {report.title} · {report.model.spec}')}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")


def scale_summary(report: Report) -> str:
    """One line under the maps: the ranges drawn and the signs' colours, as the page's scale note says."""
    seen: list[str] = []
    for m in report.maps:
        for part in (m.scale.how, m.scale.legend):
            if part and part not in seen:
                seen.append(part)
    ranges = sorted({(tick(m.scale.low), tick(m.scale.high)) for m in report.maps})
    if not seen:
        return ""
    text = "Colour scale: " + "; ".join(seen) + f" ({len(ranges)} distinct range{'s' if len(ranges) != 1 else ''})"
    return paragraphs((text,), "muted")
