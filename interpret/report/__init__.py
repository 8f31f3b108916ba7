"""Reports and exports fit to share: one self-contained HTML file (or a zip of PNGs, .npy maps and a JSON of every
number) built from plain data that a page or the CLI gathers; no torch, no Streamlit (layer 3 of
docs/ARCHITECTURE.md)."""
from __future__ import annotations

from .bundle import render_zip, report_json
from .content import Curves, Guess, MapPanel, ModelFacts, Photo, Picture, Report, Reproduce, Section, Series, Table
from .html import render_html

__all__ = ["Curves", "Guess", "MapPanel", "ModelFacts", "Photo", "Picture", "Report", "Reproduce", "Section", "Series",
           "Table", "render_html", "render_zip", "report_json"]
