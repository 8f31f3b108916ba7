"""Deletion and insertion curves as one Altair line chart: every map named in the legend, references grey and dashed.

Streamlit's st.line_chart gives every series a colour of one palette and a one-row legend that the page cuts
(4 of 7 names were shown); here the legend wraps in two columns under the chart, methods get distinct colours and
the reference maps (drawn without the model) grey dashed lines, so they read as the bar to beat.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

METHOD_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#e377c2", "#8c564b", "#bcbd22")
REFERENCE_GREYS = ("#555555", "#888888", "#b0b0b0")


def curve_chart(frame: pd.DataFrame, references: list[str], y_title: str = "probability", height: int = 300) -> alt.Chart:
    """One line per column of `frame` (index: fraction of pixels); the columns named in `references` grey and dashed."""
    labels = [str(c) for c in frame.columns]
    methods = [c for c in labels if c not in references]
    refs = [c for c in labels if c in references]
    colours = [METHOD_COLOURS[i % len(METHOD_COLOURS)] for i in range(len(methods))]
    colours += [REFERENCE_GREYS[i % len(REFERENCE_GREYS)] for i in range(len(refs))]
    long = frame.rename(columns=str).reset_index(names="fraction").melt("fraction", var_name="map", value_name=y_title)
    long["kind"] = ["reference" if m in refs else "method" for m in long["map"]]
    legend = alt.Legend(orient="bottom", columns=2, labelLimit=0, title=None, symbolStrokeWidth=3)
    return (alt.Chart(long).mark_line(strokeWidth=2)
            .encode(x=alt.X("fraction:Q", title="fraction of pixels"),
                    y=alt.Y(f"{y_title}:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
                    color=alt.Color("map:N", scale=alt.Scale(domain=methods + refs, range=colours), legend=legend,
                                    sort=methods + refs),
                    strokeDash=alt.StrokeDash("kind:N", scale=alt.Scale(domain=["method", "reference"],
                                                                        range=[[1, 0], [5, 3]]), legend=None),
                    tooltip=["map:N", alt.Tooltip("fraction:Q", format=".2f"), alt.Tooltip(f"{y_title}:Q", format=".3f")])
            .properties(height=height, width="container"))
