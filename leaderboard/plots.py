"""Plotly figures over the board: per-dimension radar, and MCQ score versus model size (the MCQ
interval chart, drawn without plotly, is `leaderboard.intervals`).

The random baseline's reference row is drawn on the size plot as a horizontal line (chance),
not as a point: it has no size. The radar offers reference rows like any other.

Both pick rows by their board id ("Id": `paper:<model>`, `reference:<baseline>` or a submission
id), never by display name, so a submission named like a paper model is never drawn as the
paper's row. Figures have transparent backgrounds and grey grid and text, so they read in light
and dark mode alike.
"""
from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go

from core.vocabulary import CLOSED_WEIGHTS, GENERAL, MEDICAL, OPEN_WEIGHTS
from core.vocabulary import DIMENSIONS as _DIMENSIONS
from leaderboard.board import REFERENCE, reference_id
from leaderboard.records import Column, Source

AXES = [d.abbr for d in _DIMENSIONS]
AXIS_NAMES = {d.abbr: d.release_name for d in _DIMENSIONS}
MAX_MODELS = 5
MAX_LABELS = 5  # the scatter names its best few points; every point names itself on hover
RADAR_LIMIT = f"The radar compares at most {MAX_MODELS} models: remove one to add another."
DOMAIN_COLOURS = {MEDICAL: "#E69F00", GENERAL: "#0072B2"}  # Okabe-Ito: safe for colour blindness
WEIGHT_SYMBOLS = {OPEN_WEIGHTS: "circle", CLOSED_WEIGHTS: "diamond"}
CHANCE_ID = reference_id("random")  # the row drawn as the size plot's horizontal chance line
INK = "#8a8f98"  # readable on white and on Gradio's dark background
GRID = "rgba(138, 143, 152, 0.35)"
_TRANSPARENT = "rgba(0,0,0,0)"


def row_label(row: pd.Series) -> str:
    """What a picker and a legend call a row: "name · source" (the same name may come twice)."""
    return f"{row[Column.MODEL]} · {row[Column.SOURCE]}"


def _base_layout(fig: go.Figure, title: str) -> None:
    fig.update_layout(title={"text": title, "font": {"size": 15}}, paper_bgcolor=_TRANSPARENT,
                      plot_bgcolor=_TRANSPARENT, font={"color": INK, "size": 12},
                      legend={"orientation": "h", "y": -0.18, "x": 0}, margin={"t": 60, "b": 40, "l": 50, "r": 30})


def _empty(fig: go.Figure, title: str, message: str) -> go.Figure:
    """No axes to read, just the reason: an empty plot is not a plot of nothing."""
    _base_layout(fig, title)
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False},
                      annotations=[{"text": message, "showarrow": False, "font": {"size": 15},
                                    "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}])
    return fig


def radar_picks(ids: list[str] | None) -> tuple[list[str], str]:
    """The rows the radar draws (the first MAX_MODELS picked, in the order picked) and what to tell a
    visitor whose pick went past the limit ("" when none did): a pick past it is undone, never ignored."""
    picked = [i for i in dict.fromkeys(ids or []) if i]
    return picked[:MAX_MODELS], RADAR_LIMIT if len(picked) > MAX_MODELS else ""


def dimension_chart(df: pd.DataFrame, ids: list[str]) -> go.Figure:
    """A radar over the seven dimensions for up to five rows (by board id); each one's weakest is called out.

    The radial axis spans the shown scores (not always 0-100), so close models stay apart. Model
    names are submitter text, and plotly renders a subset of HTML, so they are escaped and never
    spliced into a hover template.
    """
    fig = go.Figure()
    chosen = [i for i in dict.fromkeys(ids or []) if i][:MAX_MODELS]
    rows = df.drop_duplicates(Column.ID).set_index(Column.ID)
    theta = AXES + AXES[:1]
    shown: list[float] = []
    for row_id in chosen:
        if row_id not in rows.index:
            continue
        row = rows.loc[row_id]
        scores = row[AXES].astype(float)
        if scores.isna().all():
            continue
        weakest = scores.idxmin()
        label = html.escape(row_label(row))
        values = list(scores.fillna(0.0)) + [float(scores.fillna(0.0).iloc[0])]
        shown += [v for v in scores if not math.isnan(v)]
        sizes = [14 if dim == weakest else 7 for dim in theta]
        fig.add_trace(go.Scatterpolar(
            r=values, theta=theta, name=f"{label} (weakest: {weakest} {scores[weakest]:.1f})",
            mode="lines+markers", marker={"size": sizes}, line={"width": 2},
            customdata=[[label, AXIS_NAMES[dim]] for dim in theta],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]} (%{theta}): %{r:.2f}%<extra></extra>"))
    title = "Per-dimension MCQ accuracy (%)"
    if not fig.data:
        return _empty(fig, title, "Choose up to five models above to compare them")
    low = max(0.0, math.floor((min(shown) - 5) / 10) * 10)
    high = min(100.0, math.ceil((max(shown) + 5) / 10) * 10)
    _base_layout(fig, title)
    fig.update_layout(height=520, polar={
        "bgcolor": _TRANSPARENT,
        "radialaxis": {"range": [low, high], "gridcolor": GRID, "linecolor": GRID, "tickfont": {"size": 12},
                       "ticksuffix": "%", "angle": 90, "tickangle": 90},
        "angularaxis": {"gridcolor": GRID, "linecolor": GRID, "tickfont": {"size": 14}}})
    return fig


def _labelled(points: pd.DataFrame) -> set[int]:
    """Indexes of the best few points whose labels keep clear of every other label.

    A label is about 0.8 decades wide and 3.5 points tall on the plot's scale; a point whose
    label box would touch an already placed one goes unlabelled (its name is on hover).
    """
    placed: list[tuple[float, float]] = []
    chosen = set()
    for index, row in points.sort_values(Column.MCQ, ascending=False).iterrows():
        x, y = math.log10(row[Column.PARAMS]), row[Column.MCQ]
        if any(abs(x - px) < 0.8 and abs(y - py) < 3.5 for px, py in placed):
            continue
        placed.append((x, y))
        chosen.add(index)
        if len(chosen) == MAX_LABELS:
            break
    return chosen


def score_vs_size(df: pd.DataFrame) -> go.Figure:
    """MCQ accuracy against parameter count (log scale) of the ranked rows: colour by domain, symbol by weights.

    Unranked rows (another build, a sample build, partial) are not comparable with the ranked ones, so, as on
    the interval chart, they are left out and counted in the title. Submitted rows have an outlined marker.
    Only the best few points carry a label, placed so that none overlaps another or runs past the plot's edge;
    every point names itself on hover.
    The random baseline's row, when in `df`, is a dashed horizontal line at its MCQ.
    """
    fig = go.Figure()
    title = "MCQ accuracy vs parameters"
    chance = df[(df[Column.ID] == CHANCE_ID) & df[Column.MCQ].notna()]
    models = df[df[Column.SOURCE] != REFERENCE]
    df = models[models[Column.RANK].notna()]  # as on the interval chart: only comparable rows share the axes
    unranked = len(models) - len(df)
    left_out = (f"{unranked} unranked row{'s' if unranked != 1 else ''} not drawn: not comparable"
                if unranked else "")
    known = df[df[Column.PARAMS].notna() & df[Column.MCQ].notna() & (df[Column.PARAMS] > 0)]
    if known.empty:
        message = ("No ranked model with a known size matches the filters" if len(df) else
                   "No ranked model matches the filters" if len(models) else "No models match the filters")
        return _empty(fig, title, message + (f" ({left_out})" if left_out else ""))
    labelled = _labelled(known)
    span = (math.log10(known[Column.PARAMS].min()), math.log10(known[Column.PARAMS].max()))
    middle = (span[0] + span[1]) / 2
    for (domain, weights, source), part in known.groupby([Column.DOMAIN, Column.WEIGHTS, Column.SOURCE], sort=True):
        names = part[Column.MODEL].map(html.escape)
        texts = [name if index in labelled else "" for index, name in zip(part.index, names)]
        positions = ["middle left" if math.log10(x) > middle else "middle right" for x in part[Column.PARAMS]]
        outline = {"width": 2, "color": INK} if source != Source.PAPER else {"width": 0}
        fig.add_trace(go.Scatter(
            x=part[Column.PARAMS], y=part[Column.MCQ], mode="markers+text", text=texts, textposition=positions,
            name=f"{domain} · {weights} weights" + ("" if source == Source.PAPER else f" · {Source.SCORED}"),
            customdata=[[name, source] for name in names],
            marker={"symbol": WEIGHT_SYMBOLS.get(weights, "square"), "size": 12,
                    "color": DOMAIN_COLOURS.get(domain, INK), "line": outline},
            hovertemplate="%{customdata[0]} (%{customdata[1]})<br>%{x:~g}B params<br>MCQ %{y:.2f}%<extra></extra>"))
    unknown = len(df) - len(known)
    said = [f"{unknown} with unknown size not shown"] * bool(unknown) + [left_out] * bool(left_out)
    if said:
        title += f" ({'; '.join(said)})"
    _base_layout(fig, title)
    low, high = 10 ** (span[0] - 0.25), 10 ** (span[1] + 0.25)
    fig.update_layout(
        xaxis={"title": "Parameters (billions, log scale)", "type": "log", "gridcolor": GRID, "zeroline": False,
               "range": [math.log10(low), math.log10(high)]},
        yaxis={"title": "MCQ accuracy (%)", "gridcolor": GRID, "zeroline": False}, height=520)
    if not chance.empty:
        row = chance.iloc[0]
        fig.add_hline(y=float(row[Column.MCQ]), line={"dash": "dash", "width": 1.5, "color": INK},
                      annotation={"text": f"{html.escape(row[Column.MODEL])} {row[Column.MCQ]:.2f}%",
                                  "font": {"color": INK, "size": 12}},
                      annotation_position="bottom right")
    return fig
