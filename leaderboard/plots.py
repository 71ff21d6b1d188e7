"""Plotly figures over the board: per-dimension radar, and MCQ score versus model size."""
from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go

from core.vocabulary import DIMENSIONS as _DIMENSIONS
from leaderboard.board import PINNED

AXES = [d.abbr for d in _DIMENSIONS]
MAX_MODELS = 5


def dimension_chart(df: pd.DataFrame, models: list[str]) -> go.Figure:
    """A radar over the seven dimensions for up to five models; each one's weakest is called out.

    The weakest dimension is named in the legend entry and marked on the trace. Model names are
    submitter text, and plotly renders a subset of HTML, so they are escaped and never spliced
    into a hover template.
    """
    fig = go.Figure()
    chosen = [m for m in dict.fromkeys(models or []) if m][:MAX_MODELS]
    rows = df.drop_duplicates(PINNED).set_index(PINNED)
    theta = AXES + AXES[:1]
    for model in chosen:
        if model not in rows.index:
            continue
        scores = rows.loc[model, AXES].astype(float)
        if scores.isna().all():
            continue
        weakest = scores.idxmin()
        label = html.escape(model)
        values = list(scores.fillna(0.0)) + [float(scores.fillna(0.0).iloc[0])]
        sizes = [14 if dim == weakest else 6 for dim in theta]
        fig.add_trace(go.Scatterpolar(
            r=values, theta=theta, name=f"{label} (weakest: {weakest} {scores[weakest]:.1f})",
            mode="lines+markers", marker={"size": sizes}, customdata=[label] * len(theta),
            hovertemplate="%{customdata}<br>%{theta}: %{r:.2f}<extra></extra>"))
    title = "Per-dimension MCQ accuracy (%)" if fig.data else "Choose up to five models to compare"
    fig.update_layout(title=title, polar={"radialaxis": {"range": [0, 100]}},
                      legend={"orientation": "h", "y": -0.15}, margin={"t": 60, "b": 40})
    return fig


def score_vs_size(df: pd.DataFrame) -> go.Figure:
    """MCQ accuracy against parameter count (log scale), paper rows and scored-here marked apart."""
    fig = go.Figure()
    known = df[df["Params (B)"].notna() & df["MCQ"].notna()]
    for source, symbol in (("paper", "circle"), ("scored here", "diamond")):
        part = known[known["Source"] == source]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["Params (B)"], y=part["MCQ"], mode="markers+text", name=source,
            text=part[PINNED].map(html.escape), textposition="top center", marker={"symbol": symbol, "size": 11},
            hovertemplate="%{text}<br>%{x:g}B params<br>MCQ %{y:.2f}%<extra>" + source + "</extra>"))
    unknown = len(df) - len(known)
    title = "MCQ accuracy vs parameters"
    if unknown:
        title += f" ({unknown} models with unknown size not shown)"
    upper = known["Params (B)"].max() if not known.empty else 100.0
    fig.update_layout(title=title, xaxis={"title": "Parameters (billions, log scale)", "type": "log",
                                          "range": [math.log10(1), math.log10(max(upper, 10) * 2)]},
                      yaxis={"title": "MCQ accuracy (%)"}, margin={"t": 60})
    return fig
