"""The board's MCQ interval chart as a plain SVG string: each ranked model's accuracy and 95% interval.

LMArena's way of showing how far apart models really are: a point at the accuracy, a bar over the
Wilson interval, best at the top. It is drawn on the server as SVG (no script, no plotting library),
so it arrives with the page and is the first chart a visitor sees; every row names itself on hover
(an SVG `<title>`). Only ranked rows are comparable, so unranked and reference rows are left out and
counted under the chart. Model names are submitter text: every string is escaped.
"""
from __future__ import annotations

import html
import math

import pandas as pd

from core.vocabulary import CLOSED_WEIGHTS
from leaderboard.board import REFERENCE
from leaderboard.plots import DOMAIN_COLOURS, GRID, INK
from leaderboard.records import Column

LABEL_WIDTH = 230  # the band and the model name, left of the axis
PLOT_WIDTH = 420  # a phone scrolls the chart sideways at full size rather than shrink its text
ROW_HEIGHT = 22
TOP = 40  # the title and the axis labels
BOTTOM = 16
NAME_CHARS = 30  # longer names are cut (the whole name is on hover)


def _axis(lows: pd.Series, highs: pd.Series) -> tuple[float, float, float]:
    """(start, end, tick step) in percent: the intervals' span widened to whole ticks, within 0-100."""
    low, high = max(0.0, float(lows.min()) - 2), min(100.0, float(highs.max()) + 2)
    step = 5.0 if high - low <= 40 else 10.0
    return math.floor(low / step) * step, min(100.0, math.ceil(high / step) * step), step


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"


def _legend(y: float) -> str:
    """Colour by domain, shape by weights, as on the size plot."""
    parts, x = [], 0
    for domain, colour in DOMAIN_COLOURS.items():
        parts.append(f'<circle cx="{x + 5}" cy="{y - 4}" r="4.5" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="{y}" font-size="11">{html.escape(domain)}</text>')
        x += 90
    parts.append(f'<circle cx="{x + 5}" cy="{y - 4}" r="4.5" fill="none" stroke="{INK}"/>'
                 f'<text x="{x + 14}" y="{y}" font-size="11">open weights</text>'
                 f'<rect x="{x + 106}" y="{y - 8}" width="8" height="8" fill="none" stroke="{INK}"/>'
                 f'<text x="{x + 120}" y="{y}" font-size="11">closed weights</text>')
    return "".join(parts)


def mcq_interval_svg(view: pd.DataFrame) -> str:
    """The ranked rows of `view` (any order, any filters), best MCQ first, as an SVG document."""
    models = view[view[Column.SOURCE] != REFERENCE]
    ranked = models[models[Column.RANK].notna() & models[Column.MCQ].notna() & models[Column.MCQ_LOW].notna()
                    & models[Column.MCQ_HIGH].notna()]
    ranked = ranked.sort_values([Column.MCQ, Column.RANK], ascending=[False, True], kind="stable")
    left_out = len(view) - len(ranked)
    note = (f"{left_out} unranked or reference row{'s' if left_out != 1 else ''} not drawn: not comparable"
            if left_out else "")
    title = "MCQ accuracy with its 95% interval (ranked models)"
    if ranked.empty:
        message = "No ranked model matches the filters" + (f" ({note})" if note else "")
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {LABEL_WIDTH + PLOT_WIDTH} 60" width="100%" '
                f'role="img" aria-label="{html.escape(title)}"><text x="10" y="34" fill="{INK}" font-size="14">'
                f"{html.escape(message)}</text></svg>")
    start, end, step = _axis(ranked[Column.MCQ_LOW], ranked[Column.MCQ_HIGH])
    width, height = LABEL_WIDTH + PLOT_WIDTH + 20, TOP + ROW_HEIGHT * len(ranked) + BOTTOM + (36 if note else 18)

    def x(value: float) -> float:
        return round(LABEL_WIDTH + (value - start) / (end - start) * PLOT_WIDTH, 1)

    bottom = TOP + ROW_HEIGHT * len(ranked)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'style="min-width:{width}px;max-width:{width}px" role="img" aria-label="{html.escape(title)}" '
             f'font-family="sans-serif" font-size="12" fill="{INK}">',
             f'<text x="0" y="14" font-size="15">{html.escape(title)}</text>']
    tick = start
    while tick <= end + 1e-9:
        parts.append(f'<line x1="{x(tick)}" y1="{TOP - 6}" x2="{x(tick)}" y2="{bottom}" stroke="{GRID}"/>'
                     f'<text x="{x(tick)}" y="{TOP - 10}" text-anchor="middle">{tick:g}%</text>')
        tick += step
    for place, (_, row) in enumerate(ranked.iterrows()):
        middle = TOP + ROW_HEIGHT * place + ROW_HEIGHT / 2
        colour = DOMAIN_COLOURS.get(row[Column.DOMAIN], INK)
        name = str(row[Column.MODEL])
        band = str(row.get(Column.BAND) or int(row[Column.RANK]))
        hover = (f"{name} · {row[Column.SOURCE]}: MCQ {row[Column.MCQ]:.2f}% "
                 f"(95% interval {row[Column.MCQ_LOW]:.2f}–{row[Column.MCQ_HIGH]:.2f}), rank {band}")
        marker = (f'<rect x="{x(row[Column.MCQ]) - 4}" y="{middle - 4}" width="8" height="8" fill="{colour}"/>'
                  if row[Column.WEIGHTS] == CLOSED_WEIGHTS else
                  f'<circle cx="{x(row[Column.MCQ])}" cy="{middle}" r="4.5" fill="{colour}"/>')
        parts.append(f'<g><title>{html.escape(hover)}</title>'
                     f'<rect x="0" y="{middle - ROW_HEIGHT / 2}" width="{width}" height="{ROW_HEIGHT}" fill="transparent"/>'
                     f'<text x="0" y="{middle + 4}">{html.escape(band)}</text>'
                     f'<text x="{LABEL_WIDTH - 10}" y="{middle + 4}" text-anchor="end">{html.escape(_short(name))}</text>'
                     f'<line x1="{x(row["MCQ low"])}" y1="{middle}" x2="{x(row["MCQ high"])}" y2="{middle}" '
                     f'stroke="{colour}" stroke-width="2.5" stroke-linecap="round"/>{marker}</g>')
    legend = bottom + BOTTOM + 8
    parts.append(_legend(legend))
    if note:
        parts.append(f'<text x="0" y="{legend + 18}" font-size="11">{html.escape(note)}.</text>')
    parts.append("</svg>")
    return "".join(parts)
