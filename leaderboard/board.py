"""The leaderboard table as pure functions over pandas: build rows, rank, filter, show, export.

Paper rows come from the paper's Table 2/3 (a CSV shipped beside this file); submission rows
come from the judge's results documents. Both end up with the same display columns.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from core.results import Results
from core.vocabulary import CRITERIA, DIMENSIONS, MEDICAL_INTELLIGENCE, PAPER, PAPER_JUDGE_MARK, RELEASE_LABEL_NOTE

PINNED = "Model"
PAPER_URL = PAPER.url
PAPER_JUDGE = PAPER_JUDGE_MARK
AWAITING_JUDGE = "awaiting judge"

COLUMN_GROUPS: dict[str, list[str]] = {
    "Overview": ["Rank", "Model", "Source", "MCQ", "Open"],
    "Dimensions": [d.abbr for d in DIMENSIONS],
    "Open criteria": [c.abbr for c in CRITERIA],
    "Medical intelligence": [m.abbr for m in MEDICAL_INTELLIGENCE],
    "Model info": ["Params (B)", "Weights", "Domain", "Submitted", "Judge", "Note", "Link"],
}
COLUMNS: list[str] = [c for group in COLUMN_GROUPS.values() for c in group]
NUMERIC_COLUMNS: list[str] = (["MCQ", "Open"] + COLUMN_GROUPS["Dimensions"] + COLUMN_GROUPS["Open criteria"]
                              + COLUMN_GROUPS["Medical intelligence"] + ["Params (B)"])

SIZE_BUCKETS: tuple[str, ...] = ("<10B", "10-40B", ">40B", "unknown")
SOURCES = ("paper", "scored here")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _normalise_class(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower()).split())


def _percent(value: object) -> float:
    """A score as a float rounded for display, NaN when absent."""
    if value is None:
        return math.nan
    try:
        return round(float(value), 2)
    except (TypeError, ValueError):
        return math.nan


def paper_frame(csv_path: Path) -> pd.DataFrame:
    """The paper's 18 models as board rows (Source "paper"), notes carried into "Note"."""
    raw = pd.read_csv(csv_path, dtype={"note": "string"}, keep_default_na=False,
                      na_values={"params_b": [""]})
    rows = []
    for rec in raw.to_dict("records"):
        notes = [n for n in (str(rec.get("note") or "").strip(), RELEASE_LABEL_NOTE) if n]
        row = {
            "Model": rec["model"], "Source": "paper",
            "MCQ": _percent(rec["mcq_all"]), "Open": _percent(rec["open_all"]),
            **{d.abbr: _percent(rec[d.abbr]) for d in DIMENSIONS},
            **{c.abbr: _percent(rec[c.abbr.lower()]) for c in CRITERIA},
            **{m.abbr: _percent(rec[m.abbr]) for m in MEDICAL_INTELLIGENCE},
            "Params (B)": _percent(rec["params_b"]),
            "Weights": rec["group"], "Domain": "medical" if rec["medical"] == "yes" else "general",
            "Submitted": "", "Judge": PAPER_JUDGE, "Note": "; ".join(notes), "Link": PAPER_URL,
        }
        rows.append(row)
    return frame(rows)


def paper_notes(csv_path: Path) -> dict[str, str]:
    """Model -> the paper row's own note from the CSV (empty when it has none)."""
    raw = pd.read_csv(csv_path, dtype={"note": "string"}, keep_default_na=False)
    return {str(model): str(note) for model, note in zip(raw["model"], raw["note"])}


def submission_record(meta_row: dict, results: Results) -> dict:
    """One board row (display columns) from a stored submission and its results document.

    `meta_row` carries the submitter's metadata: model, link, weights, medical, params_b,
    created_at. Medical-intelligence classes whose names do not match the paper's six stay in
    the results document only.
    """
    mcq, open_ = results.mcq, results.open
    by_mi = {_normalise_class(name): group for name, group in mcq.by_medical_intelligence.items()}
    notes = []
    if open_.awaiting:
        notes.append(f"{open_.awaiting} open answers awaiting judge")
    if results.coverage.missing:
        notes.append(f"{results.coverage.missing} questions unanswered (scored as wrong)")
    if open_.failed:
        notes.append(f"{open_.failed} open items failed in the judge (excluded)")
    if open_.flagged:
        notes.append(f"{open_.flagged} open answers addressed the grader (scored 0)")
    if open_.all_empty:
        notes.append("no open answers submitted")

    def accuracy(group) -> float:
        return _percent(group.accuracy if group is not None else None)

    return {
        "Model": meta_row["model"],
        "Source": "scored here",
        "MCQ": _percent(mcq.accuracy),
        "Open": math.nan if open_.all_empty else _percent(open_.score),
        **{d.abbr: accuracy(mcq.by_dimension.get(d.slug)) for d in DIMENSIONS},
        **{c.abbr: _percent(open_.criteria.get(c.key)) for c in CRITERIA},
        **{m.abbr: accuracy(by_mi.get(m.name) or by_mi.get(m.abbr.lower())) for m in MEDICAL_INTELLIGENCE},
        "Params (B)": _percent(meta_row.get("params_b")),
        "Weights": meta_row["weights"],
        "Domain": "medical" if meta_row["medical"] else "general",
        "Submitted": str(meta_row.get("created_at") or "")[:10],
        "Judge": AWAITING_JUDGE if open_.awaiting else (results.judge.model or ""),
        "Note": "; ".join(notes),
        "Link": meta_row.get("link") or "",
    }


def frame(records: Iterable[dict]) -> pd.DataFrame:
    """Board rows in the canonical column order and dtypes (unranked), built column by column."""
    records = list(records)
    columns = {}
    for col in COLUMNS[1:]:
        values = [r.get(col) for r in records]
        if col in NUMERIC_COLUMNS:
            columns[col] = np.array([math.nan if v is None else v for v in values], dtype="float64")
        else:
            columns[col] = np.array(["" if v is None else str(v) for v in values], dtype=object)
    return pd.DataFrame(columns, columns=COLUMNS[1:])


def rank(df: pd.DataFrame) -> pd.DataFrame:
    """Sorted by MCQ overall, ties broken by Open; equal (MCQ, Open) pairs share a rank."""
    df = df.drop(columns=["Rank"], errors="ignore")
    df = df.sort_values(["MCQ", "Open"], ascending=False, na_position="last",
                        kind="stable").reset_index(drop=True)
    mcq, open_ = df["MCQ"].fillna(-1.0).to_numpy(), df["Open"].fillna(-1.0).to_numpy()
    starts = np.ones(len(df), dtype=bool)
    starts[1:] = (mcq[1:] != mcq[:-1]) | (open_[1:] != open_[:-1])
    positions = np.arange(1, len(df) + 1)
    df.insert(0, "Rank", np.maximum.accumulate(np.where(starts, positions, 0)).astype("int64"))
    return df


def size_bucket(params_b: float) -> str:
    """The size bucket label of a parameter count in billions."""
    if params_b is None or math.isnan(params_b):
        return "unknown"
    return "<10B" if params_b < 10 else "10-40B" if params_b <= 40 else ">40B"


def filter_board(df: pd.DataFrame, search: str = "", groups: Iterable[str] = (),
                 kinds: Iterable[str] = (), sizes: Iterable[str] = (),
                 sources: Iterable[str] = ()) -> pd.DataFrame:
    """Rows matching every given filter; an empty selection does not filter.

    `search` matches model names case-insensitively as plain text; several terms separated by
    ";" match any of them.
    """
    mask = pd.Series(True, index=df.index)
    terms = [t.strip().lower() for t in (search or "").split(";") if t.strip()]
    if terms:
        names = df["Model"].str.lower()
        mask &= pd.concat([names.str.contains(t, regex=False) for t in terms], axis=1).any(axis=1)
    if groups := list(groups):
        mask &= df["Weights"].isin(groups)
    if kinds := list(kinds):
        mask &= df["Domain"].isin(kinds)
    if sizes := list(sizes):
        mask &= df["Params (B)"].map(size_bucket).isin(sizes)
    if sources := list(sources):
        mask &= df["Source"].isin(sources)
    return df[mask].reset_index(drop=True)


def visible_columns(df: pd.DataFrame, shown_groups: Iterable[str]) -> pd.DataFrame:
    """Only the columns of the shown groups, in board order; Rank and Model always stay."""
    shown = set(shown_groups)
    keep = [c for g, cols in COLUMN_GROUPS.items() if g in shown for c in cols]
    columns = [c for c in COLUMNS if c in ("Rank", PINNED) or c in keep]
    return df[[c for c in columns if c in df.columns]]


def _neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_csv(df: pd.DataFrame) -> bytes:
    """The view as UTF-8 CSV; text cells that a spreadsheet would run as a formula are quoted."""
    safe = df.copy()
    for col in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[col]):
            safe[col] = safe[col].map(_neutralise)
    buffer = io.StringIO()
    safe.to_csv(buffer, index=False, quoting=csv.QUOTE_NONNUMERIC)  # text always quoted, \r too
    return buffer.getvalue().encode("utf-8")


def export_json(df: pd.DataFrame) -> bytes:
    """The view as a JSON list of row objects (missing scores are null)."""
    records = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
               for row in df.astype(object).to_dict("records")]
    return json.dumps(records, ensure_ascii=False, indent=1, default=str).encode("utf-8")
