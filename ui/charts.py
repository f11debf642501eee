"""Shared chart pieces (Altair), metric rows, and charts with their downloads: each written once for every page.

Encoding channels are given as objects (alt.X("PC1:Q"), alt.Tooltip("token")), here and on every page, never as
shorthand strings: Altair parses each string through a slow schema lookup (about 11 ms a chart)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.views import DRAWN_CELLS, attractor_points
from ui.navigation import method_link

if TYPE_CHECKING:
    from core.analysis.settings import Settings
    from core.analysis.views import Attractor
    from core.models.classifier import Explanation

# Modifier classes (core.analysis.modifiers) and their colours on every chart.
CLASS_COLORS = {"negator": "#d62728", "attenuator": "#ff7f0e", "intensifier": "#1f77b4", "none": "#999999"}
POINT_KINDS = alt.Scale(domain=["fixed point", "slow point"], range=["circle", "triangle"])
POSITIVE, NEGATIVE = "#2b8cbe", "#e34a33"
REFERENCE_SIZE = 260    # the reference point's dot on an attractor chart (attractor_scatter), in square pixels
ANGLED_TOKENS = 12       # token axes: labels at -45° up to this many tokens, upright (-90°) beyond
MAX_TOKEN_LABELS = 150   # ... and every token named up to this many (more cannot all be legible)
LABEL_LIMIT = 200        # pixels of a token label before Vega cuts it with an ellipsis
TOKENS_DOWN = 40         # explanation charts: tokens down the chart (a row each) up to this many, along x beyond


# ---- pieces -------------------------------------------------------------------------------------
def reference_rule(values: list[float], field: str = "y", channel: str = "y", dash: tuple[int, int] = (4, 4),
                   color: str | None = None) -> alt.Chart:
    """Dashed reference lines at `values` (horizontal on channel y, vertical on x), to layer over a chart: the
    zero of a readout, m = 1, |λ| = 1, the BoW and the RNN on a gap axis..."""
    mark = {"strokeDash": list(dash), **({"color": color} if color else {})}
    position = {"x": alt.X, "y": alt.Y}[channel]
    return alt.Chart(pd.DataFrame({field: list(values)})).mark_rule(**mark).encode(**{channel: position(f"{field}:Q")})


def readout_color(title: str) -> alt.Color:
    """Colour by the readout: red below 0, blue above."""
    return alt.Color("readout:Q", scale=alt.Scale(scheme="redblue", domainMid=0), title=title)


def token_labels(n: int) -> alt.Axis:
    """An x axis that names each of n tokens: Vega's default hides every other label where they would touch
    ("not" unnamed), so overlap removal is off, and labels turn upright (-90°) beyond a few tokens to fit. Beyond
    MAX_TOKEN_LABELS no width names them all legibly: Vega thins them then (the tooltips name every token)."""
    if n > MAX_TOKEN_LABELS:
        return alt.Axis(labelAngle=-90, labelFontSize=10, labelLimit=LABEL_LIMIT)
    return alt.Axis(labelOverlap=False, labelAngle=-45 if n <= ANGLED_TOKENS else -90, labelLimit=LABEL_LIMIT,
                    **({"labelFontSize": 10} if n > 40 else {}))


def token_axis(df: pd.DataFrame, field: str = "label") -> alt.X:
    """Tokens along x in the text's order ("i: token" labels keep repeated tokens apart), every one named
    (token_labels)."""
    # An explicit order: with sort=None, Vega keeps labels of the previous phrase first when the data is updated.
    order = list(dict.fromkeys(df[field]))
    return alt.X(f"{field}:N", sort=order, title="token", axis=token_labels(len(order)))


def spaced_labels(x, y, texts: list[str], extent: tuple | None = None, width: float = 360, height: float = 300,
                  font: float = 11, dx: float = 6, dy: float = -6, align: str = "left") -> list[bool]:
    """Which points (x, y, in data units) to name with their `texts` so that no two names overlap, on a chart of
    about width x height pixels whose axes span `extent` ((x0, x1), (y0, y1); default: the points' own, with 0):
    in order, a name is kept where its box (at dx, dy from its point, aligned `align`: "left" or "center") meets
    none kept before. A phrase that stays in one place then names its first token there, not a pile of them (the
    tooltips name every one)."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if extent is None:
        extent = ((min(xs.min(initial=0), 0), max(xs.max(initial=0), 0)),
                  (min(ys.min(initial=0), 0), max(ys.max(initial=0), 0)))
    (x0, x1), (y0, y1) = extent
    sx, sy = width / max(x1 - x0, 1e-12), height / max(y1 - y0, 1e-12)
    kept: list[tuple[float, float, float, float]] = []
    out = []
    for xi, yi, text in zip(xs, ys, texts):
        wide = 0.6 * font * len(text)
        left, base = (xi - x0) * sx + dx - (wide / 2 if align == "center" else 0), (y1 - yi) * sy + dy   # pixels
        box = (left, base - font, left + wide, base + 0.25 * font)
        free = all(box[2] + 2 <= b[0] or b[2] + 2 <= box[0] or box[3] + 1 <= b[1] or b[3] + 1 <= box[1] for b in kept)
        if free:
            kept.append(box)
        out.append(free)
    return out


@st.cache_data(max_entries=16)
def attractor_background(_eng: Attractor, settings: Settings) -> pd.DataFrame:
    """The attractor's fixed and slow points behind a phrase's path (Phrase, Compare), points that would be drawn
    on top of one another drawn once (core.analysis.views.attractor_points with DRAWN_CELLS), cached per request
    Settings (model and setting)."""
    return attractor_frame(attractor_points(_eng, cells=DRAWN_CELLS))


def attractor_frame(points: dict) -> pd.DataFrame:
    """core.analysis.views.attractor_points (or .dynamics_view) as a table: PC1, PC2, readout, kind, reference."""
    n = len(points["kind"])
    return pd.DataFrame({"PC1": points["pc"][:, 0], "PC2": points["pc"][:, 1], "readout": points["readout"],
                         "kind": points["kind"], "reference": [i == points["reference"] for i in range(n)]})


def attractor_scatter(df: pd.DataFrame, tooltip: list[alt.Tooltip], size: int = 50) -> alt.LayerChart:
    """Fixed (circles) and slow (triangles) points on their first two principal components, coloured by their
    readout; the reference point (column `reference`) drawn large, ringed in black, in a layer of its own on top:
    drawn among the others it lay under the hundreds of points that follow it in the table, on the attractor where
    they are densest, in their colour."""
    base = alt.Chart(df).encode(x=alt.X("PC1:Q"), y=alt.Y("PC2:Q"), color=readout_color("readout y(h*)"),
                                tooltip=tooltip)
    points = base.mark_point(filled=True, size=size).encode(shape=alt.Shape("kind:N", scale=POINT_KINDS))
    reference = base.transform_filter("datum.reference").mark_point(
        filled=True, shape="circle", size=REFERENCE_SIZE, stroke="black", strokeWidth=2, opacity=1)
    return points + reference


def attractor_cloud(df: pd.DataFrame, size: int, opacity: float, color_title: str, x: alt.X | None = None,
                    y: alt.Y | None = None, kind_title: str = "kind") -> alt.Chart:
    """The attractor's points as a light background for a trajectory, coloured by their readout (x, y: the PC
    channels, default alt.X("PC1:Q") and alt.Y("PC2:Q"))."""
    return alt.Chart(df).mark_circle(size=size, opacity=opacity).encode(
        x=x or alt.X("PC1:Q"), y=y or alt.Y("PC2:Q"), color=readout_color(color_title),
        tooltip=[alt.Tooltip("kind:N", title=kind_title), alt.Tooltip("readout:Q", format=".2f")])


def path_background(df: pd.DataFrame, opacity: float) -> alt.Chart:
    """The attractor behind a phrase's path (Phrase, Compare): its points on the attractor's PC plane, PC 1 titled
    as the direction the readout grows."""
    return attractor_cloud(df, 18, opacity, "readout at point", kind_title="point",
                           x=alt.X("PC1:Q", title="attractor PC 1 (readout grows to the right)"),
                           y=alt.Y("PC2:Q", title="attractor PC 2"))


def start_marker(path: pd.DataFrame) -> alt.Chart:
    """The ◆ where a path on the attractor starts (its first row, columns PC1, PC2 and token)."""
    return alt.Chart(path.iloc[:1]).mark_point(shape="diamond", size=220, color="black", filled=True).encode(
        x=alt.X("PC1:Q"), y=alt.Y("PC2:Q"), tooltip=[alt.Tooltip("token:N", title="start")])


def labelled_scatter(df: pd.DataFrame, x: alt.X, y: alt.Y, color: alt.Color, tooltip: list[alt.Tooltip], size: int,
                     n_labels: int) -> alt.Chart:
    """Words as dots (the modifier subspace, its UMAP map) on the channels x and y, the first `n_labels` words named
    beside their dot (the rest in tooltips: more labels overlap)."""
    base = alt.Chart(df).encode(x=x, y=y)
    named = alt.FieldOneOfPredicate(field="word", oneOf=list(df["word"][:n_labels]))
    return (base.mark_circle(size=size).encode(color=color, tooltip=tooltip)
            + base.transform_filter(named).mark_text(dx=7, align="left", fontSize=11).encode(text=alt.Text("word:N")))


def class_color() -> alt.Color:
    """Colour by modifier class."""
    return alt.Color("class:N", scale=alt.Scale(domain=list(CLASS_COLORS), range=list(CLASS_COLORS.values())))


def modifier_subspace(df: pd.DataFrame, tooltip: list[alt.Tooltip], size: int, n_labels: int) -> alt.Chart:
    """Modifiers on the first two principal components of their transient deflections, coloured by class."""
    return labelled_scatter(df, alt.X("PC1:Q", title="modifier component 1"),
                            alt.Y("PC2:Q", title="modifier component 2"), class_color(), tooltip, size, n_labels)


def explanation_chart(ex: Explanation) -> tuple[alt.LayerChart, pd.DataFrame]:
    """A model's reading of a text (core.models.classifier.Explanation, any kind of model): a bar per token for
    what it adds to the logit, and the running logit (baseline + contributions so far) as a line, with 0 dashed.
    Returns the chart and its table.

    Up to TOKENS_DOWN tokens, the tokens run down the chart (a row each, named level, however narrow the column:
    the Start page puts three such charts side by side) and the logit across; longer texts run along x."""
    df = pd.DataFrame({"index": range(len(ex.tokens)), "token": ex.tokens, "contribution": ex.contributions,
                       "readout": ex.readout()})
    df["label"] = [f"{i}: {t}" for i, t in zip(df["index"], df["token"])]
    tip = [alt.Tooltip("token"), alt.Tooltip("contribution:Q", format=".3f"),
           alt.Tooltip("readout:Q", format=".3f", title="logit after this token")]
    color = alt.condition("datum.contribution > 0", alt.value(POSITIVE), alt.value(NEGATIVE))
    if len(df) <= TOKENS_DOWN:
        down = alt.Y("label:N", sort=list(df["label"]), title="token",
                     axis=alt.Axis(labelOverlap=False, labelLimit=LABEL_LIMIT))
        bars = alt.Chart(df).mark_bar().encode(y=down, x=alt.X("contribution:Q", title="logit"), color=color,
                                               tooltip=tip)
        line = alt.Chart(df).mark_line(color="black", point=alt.OverlayMarkDef(color="black")).encode(
            y=down, x=alt.X("readout:Q"), order=alt.Order("index:Q"), tooltip=tip)
        return (bars + line + reference_rule([0], field="x", channel="x")).properties(height=alt.Step(18)), df
    x = token_axis(df)
    bars = alt.Chart(df).mark_bar().encode(
        x=x, y=alt.Y("contribution:Q", title="logit"),
        color=alt.condition("datum.contribution > 0", alt.value(POSITIVE), alt.value(NEGATIVE)), tooltip=tip)
    line = alt.Chart(df).mark_line(color="black", point=alt.OverlayMarkDef(color="black")).encode(
        x=x, y=alt.Y("readout:Q"), tooltip=tip)
    return bars + line + reference_rule([0]), df


# ---- on the page --------------------------------------------------------------------------------
def show_explanation(ex: Explanation, name: str, role: str, where=st) -> None:
    """explanation_chart with its downloads and a caption that says what a contribution is for this model, linked
    to the Method section on its role beside the RNN (rnn: the readout; bow, aug: the bag-of-words)."""
    chart, df = explanation_chart(ex)
    show_chart(chart, f"{name}-explanation", df[["index", "token", "contribution", "readout"]], where=where)
    side = "right of 0" if len(ex.tokens) <= TOKENS_DOWN else "above 0"
    where.caption(f"Contributions (bars): {ex.how}. The line is the running logit, baseline ({ex.baseline:+.3f}) + "
                  f"the contributions so far; {side}: positive. " + method_link("readout" if role == "rnn" else "bow"))


def metric_row(*metrics: tuple, where=st, border: bool = False) -> None:
    """A row of st.metric: (label, value) or (label, value, {more st.metric options}). Each metric is as wide as
    its label and value, and the row wraps onto a new line where the page is too narrow for all of them, so no
    label or value is cut off (equal columns cut them with an ellipsis on a narrow window)."""
    row = where.container(horizontal=True, gap="medium")
    for label, value, *more in metrics:
        row.metric(label, value, border=border, width="content", **(more[0] if more else {}))


def prediction_metric(where, label: str, p: float, help: str | None = None) -> None:
    """P(positive) with the predicted class beside it, green for positive and red for negative (no arrow:
    the class is not a change)."""
    where.metric(label, f"{p:.3f}", "positive" if p > 0.5 else "negative", delta_arrow="off",
                 delta_color="normal" if p > 0.5 else "inverse", help=help)


def downloads(name: str, data: pd.DataFrame | None = None, chart=None, where=st) -> None:
    """Download buttons for a table (CSV) and a chart (a standalone HTML file with the Vega-Lite chart,
    which also exports PNG/SVG from its menu). Each file is made when its button is clicked (a deferred download),
    not on every run of the page: serialising every chart to HTML was a fifth of a Phrase edit's time."""
    row = where.container(horizontal=True)   # side by side, each as wide as its label (columns cut "Chart")
    if data is not None:
        row.download_button("CSV", lambda: data.to_csv(index=False).encode(), f"{name}.csv", "text/csv",
                            icon=":material/download:", key=f"dl-csv-{name}", on_click="ignore")
    if chart is not None:
        row.download_button("Chart", lambda: chart.to_html().encode(), f"{name}.html", "text/html",
                            icon=":material/download:", key=f"dl-chart-{name}", on_click="ignore")


def show_chart(chart, name: str, data: pd.DataFrame | None = None, where=st) -> None:
    """An Altair chart across the container, with its downloads (the chart as HTML, its data as CSV)."""
    where.altair_chart(chart, width="stretch")
    downloads(name, data, chart, where)
