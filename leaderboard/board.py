"""The leaderboard table as pure functions over pandas: build rows, rank, filter, show, export.

Paper rows come from the paper's Table 2/3 (a CSV shipped beside this file); submission rows
come from the judge's results documents. Both end up with the same display columns.

Only comparable rows are ranked against each other (see `rank`): a row scored on another build
than the one served, a submission answering fewer than MIN_COVERAGE % of the MCQs, and, on a
build that is not the official release, every submitted row stay on the board unranked, with
the reason in "Unranked". Ranks are bands: rows whose MCQ 95% intervals overlap share one.

Reference rows (Source "reference", made by `leaderboard.reference`) are the baselines' scores
on the served build: never ranked, listed after every model, and kept through the model filters
so every score can be read against chance.

"Reproduced" says whether a runner the operator trusts re-asked a sample of a submission and got its
answers (`leaderboard.reproduce`), with the MCQ agreement in "Agreement (%)"; paper and reference rows
leave both empty (they are not files anyone sent).
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from core.results import REPRODUCTION_LABELS, DatasetInfo, Results
from core.vocabulary import (CRITERIA, DIMENSIONS, GENERAL, MEDICAL, MEDICAL_INTELLIGENCE, PAPER,
                             PAPER_JUDGE_MARK)
from leaderboard.records import Column, Source
from leaderboard.stats import PAPER_MCQ_N, band_label, rank_bands, wilson_interval

PINNED = Column.MODEL
PAPER_URL = PAPER.url
PAPER_JUDGE = PAPER_JUDGE_MARK
PAPER_PROMPT = "paper (unpublished)"
AWAITING_JUDGE = "awaiting judge"
MIN_COVERAGE = 95.0  # % of the MCQs answered below which a submission is shown unranked

COLUMN_GROUPS: dict[str, list[str]] = {
    "Overview": [Column.RANK, Column.MODEL, Column.MCQ, Column.OPEN, Column.SOURCE],
    "Dimensions": [d.abbr for d in DIMENSIONS],
    "Open criteria": [c.abbr for c in CRITERIA],
    "Medical intelligence": [m.abbr for m in MEDICAL_INTELLIGENCE],
    "Beyond accuracy": [Column.MCQ_CIRCULAR, Column.BLIND_MCQ, Column.IMAGE_GAIN],
    "Reproduction": [Column.REPRODUCED, Column.AGREEMENT],
    "Model info": [Column.PARAMS, Column.WEIGHTS, Column.DOMAIN, Column.SUBMITTED, Column.JUDGE, Column.NOTE,
                   Column.LINK],
    "Ranking details": [Column.BAND, Column.MCQ_LOW, Column.MCQ_HIGH, Column.OPEN_BAND, Column.UNRANKED,
                        Column.COVERAGE, Column.BUILD, Column.JUDGE_PROMPT, Column.ID],
}
COLUMNS: list[str] = [c for group in COLUMN_GROUPS.values() for c in group]
NUMERIC_COLUMNS: list[str] = ([Column.RANK, Column.MCQ, Column.OPEN] + COLUMN_GROUPS["Dimensions"]
                              + COLUMN_GROUPS["Open criteria"]
                              + COLUMN_GROUPS["Medical intelligence"] + COLUMN_GROUPS["Beyond accuracy"]
                              + [Column.PARAMS, Column.MCQ_LOW, Column.MCQ_HIGH, Column.COVERAGE, Column.AGREEMENT])
UNRANKED_OTHER_BUILD = "scored on another build"
UNRANKED_SAMPLE_BUILD = "sample build (not comparable with the paper)"
UNRANKED_PARTIAL = "partial"
UNRANKED_NO_MCQ = "no MCQ score"
PAPER_BUILD = "official release (paper)"
REFERENCE = Source.REFERENCE.value  # the Source of the reference baselines' rows
UNRANKED_REFERENCE = "reference baseline (not a model, never ranked)"

# What `frame` keeps: the columns before ranking, plus the Open interval `rank` uses and drops.
FRAME_COLUMNS: list[str] = [c for c in COLUMNS if c not in (Column.RANK, Column.BAND, Column.OPEN_BAND,
                                                            Column.UNRANKED)] + [Column.OPEN_LOW, Column.OPEN_HIGH]
NUMERIC_COLUMNS += [Column.OPEN_LOW, Column.OPEN_HIGH]

SIZE_BUCKETS: tuple[str, ...] = ("<10B", "10-40B", ">40B", "unknown")
SOURCES = tuple(source.value for source in Source)  # the Source filter's choices
REPRODUCED = tuple(REPRODUCTION_LABELS.values())  # what the "Reproduced" column (and its filter) can say

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


def paper_id(model: str) -> str:
    """The board id of a paper row: paper rows and submissions never share an id."""
    return f"paper:{model}"


def reference_id(baseline: str) -> str:
    """The board id of a reference row, e.g. `reference:random` (never a paper or submission id)."""
    return f"{REFERENCE}:{baseline}"


# The columns without which a paper row cannot be shown; a dimension, criterion or class the CSV does
# not have (one added to the vocabulary later) is shown empty for the paper's rows.
PAPER_CSV_REQUIRED = ("model", "group", "params_b", "medical", "mcq_all", "open_all")
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")
HUB_MODEL_URL = "https://huggingface.co/"


def paper_link(rec: Mapping[str, object]) -> str:
    """A paper row's own page: the Hub card of an open model (`hub_id`), else the vendor's page
    (`vendor_url`), else the paper itself. A malformed id or address is an error naming the model."""
    model = rec.get("model")
    hub_id = str(rec.get("hub_id") or "").strip()
    vendor_url = str(rec.get("vendor_url") or "").strip()
    if hub_id:
        if not HUB_ID.fullmatch(hub_id) or ".." in hub_id:
            raise ValueError(f"paper_results.csv, model {model}: hub_id {hub_id!r} is not a Hub id (owner/name)")
        return HUB_MODEL_URL + hub_id
    if vendor_url:
        if not re.fullmatch(r"https://[^\s/]+\.[^\s/]+(/\S*)?", vendor_url):
            raise ValueError(f"paper_results.csv, model {model}: vendor_url {vendor_url!r} is not an https address")
        return vendor_url
    return PAPER_URL


def paper_frame(csv_path: Path) -> pd.DataFrame:
    """The paper's 18 models as board rows (Source "paper"), each row's own note in "Note".

    The SU/MSI label note concerns every row alike, so the page states it once, not per row.
    The MCQ interval is Wilson's at n = PAPER_MCQ_N (the paper publishes only percentages).
    """
    raw = pd.read_csv(csv_path, dtype={"note": "string"}, keep_default_na=False,
                      na_values={"params_b": [""]})
    missing = [column for column in PAPER_CSV_REQUIRED if column not in raw.columns]
    if missing:
        raise ValueError(f"{Path(csv_path).name}: no column {', '.join(missing)} (its header: "
                         f"{', '.join(map(str, raw.columns))})")
    rows = []
    for rec in raw.to_dict("records"):
        mcq = _percent(rec["mcq_all"])
        low, high = wilson_interval(mcq, PAPER_MCQ_N)
        row = {
            Column.MODEL: rec["model"], Column.SOURCE: Source.PAPER.value,
            Column.MCQ: mcq, Column.OPEN: _percent(rec["open_all"]),
            **{d.abbr: _percent(rec.get(d.abbr)) for d in DIMENSIONS},  # a figure the paper lacks: empty
            **{c.abbr: _percent(rec.get(c.abbr.lower())) for c in CRITERIA},
            **{m.abbr: _percent(rec.get(m.abbr)) for m in MEDICAL_INTELLIGENCE},
            Column.PARAMS: _percent(rec["params_b"]),
            Column.WEIGHTS: rec["group"], Column.DOMAIN: MEDICAL if rec["medical"] == "yes" else GENERAL,
            Column.SUBMITTED: "", Column.JUDGE: PAPER_JUDGE, Column.NOTE: str(rec.get("note") or "").strip(),
            Column.LINK: paper_link(rec), Column.MCQ_LOW: round(low, 2), Column.MCQ_HIGH: round(high, 2),
            Column.COVERAGE: 100.0, Column.BUILD: PAPER_BUILD,
            Column.JUDGE_PROMPT: PAPER_PROMPT, Column.ID: paper_id(rec["model"]),
        }
        rows.append(row)
    return frame(rows)


def paper_notes(csv_path: Path) -> dict[str, str]:
    """Model -> the paper row's own note from the CSV (empty when it has none)."""
    raw = pd.read_csv(csv_path, dtype={"note": "string"}, keep_default_na=False)
    return {str(model): str(note) for model, note in zip(raw["model"], raw["note"])}


def submission_record(meta_row: dict, results: Results) -> dict:
    """One board row (display columns) from a stored submission and its results document.

    `meta_row` carries the submission's id and the submitter's metadata: model, link, weights,
    medical, params_b, created_at. Medical-intelligence classes whose names do not match the
    paper's six stay in the results document only. The build, judge prompt, coverage and MCQ
    interval travel with the row so `rank` can tell comparable rows apart.
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
        notes.append(f"{open_.flagged} open answers spoke to the grader (those words cut, the rest judged)")
    if results.coverage.not_answered:
        notes.append(f"{results.coverage.not_answered} outputs were empty or a tool's failure marker (scored as wrong)")
    if open_.all_empty:
        notes.append("no open answers submitted")

    def accuracy(group) -> float:
        return _percent(group.accuracy if group is not None else None)

    return {
        Column.MODEL: meta_row["model"],
        Column.SOURCE: Source.SCORED.value,
        Column.MCQ: _percent(mcq.accuracy),
        Column.OPEN: math.nan if open_.all_empty else _percent(open_.score),
        **{d.abbr: accuracy(mcq.by_dimension.get(d.slug)) for d in DIMENSIONS},
        **{c.abbr: _percent(open_.criteria.get(c.key)) for c in CRITERIA},
        **{m.abbr: accuracy(by_mi.get(m.name) or by_mi.get(m.abbr.lower())) for m in MEDICAL_INTELLIGENCE},
        Column.MCQ_CIRCULAR: _percent(results.circular.accuracy if results.circular else None),
        Column.BLIND_MCQ: _percent(results.blind.accuracy if results.blind else None),
        Column.IMAGE_GAIN: _percent(results.blind.image_gain if results.blind else None),
        Column.PARAMS: _percent(meta_row.get("params_b")),
        Column.WEIGHTS: meta_row["weights"],
        Column.DOMAIN: MEDICAL if meta_row["medical"] else GENERAL,
        Column.SUBMITTED: str(meta_row.get("created_at") or "")[:10],
        Column.JUDGE: AWAITING_JUDGE if open_.awaiting else (results.judge.model or ""),
        Column.NOTE: "; ".join(notes),
        Column.LINK: meta_row.get("link") or "",
        Column.MCQ_LOW: _percent(mcq.ci95[0]) if mcq.ci95 else math.nan,
        Column.MCQ_HIGH: _percent(mcq.ci95[1]) if mcq.ci95 else math.nan,
        Column.OPEN_LOW: open_.ci95[0] if open_.ci95 and not open_.all_empty else None,
        Column.OPEN_HIGH: open_.ci95[1] if open_.ci95 and not open_.all_empty else None,
        Column.COVERAGE: _percent(100 * mcq.answered / mcq.n) if mcq.n else math.nan,
        Column.BUILD: results.dataset.fingerprint or "",
        Column.JUDGE_PROMPT: "" if open_.awaiting else (results.judge.prompt_version or ""),
        Column.ID: str(meta_row.get("id") or ""),
    }


def reference_record(baseline: str, model: str, note: str, results: Results) -> dict:
    """One reference row from a baseline's MCQ-only results on the served build.

    It reads like a submission row (MCQ, dimensions, classes, interval, coverage) with no Open,
    no judge and no model facts (weights, domain, size): a baseline is not a model.
    """
    meta_row = {"id": reference_id(baseline), "model": model, "weights": "", "medical": False}
    return {**submission_record(meta_row, results), Column.SOURCE: REFERENCE, Column.OPEN: math.nan, Column.DOMAIN: "",
            Column.JUDGE: "", Column.JUDGE_PROMPT: "", Column.NOTE: note, Column.OPEN_LOW: None, Column.OPEN_HIGH: None}


def frame(records: Iterable[dict]) -> pd.DataFrame:
    """Board rows in the canonical column order and dtypes (unranked), built column by column."""
    records = list(records)
    columns = {}
    for col in FRAME_COLUMNS:
        values = [r.get(col) for r in records]
        if col in NUMERIC_COLUMNS:
            columns[col] = np.array([math.nan if v is None else v for v in values], dtype="float64")
        else:
            columns[col] = np.array(["" if v is None else str(v) for v in values], dtype=object)
    return pd.DataFrame(columns, columns=FRAME_COLUMNS)


def with_reproduction(df: pd.DataFrame, shown: Mapping[str, tuple[str, float | None]], default: str) -> pd.DataFrame:
    """Submission rows with their "Reproduced" label and "Agreement (%)" (`shown`: id -> both); a submission
    without an entry gets `default` (it named no runner). Other rows are left empty."""
    df = df.copy()
    submitted = (df[Column.SOURCE] == Source.SCORED).to_numpy()
    found = [shown.get(row_id, (default, None)) for row_id in df.loc[submitted, Column.ID]]
    df.loc[submitted, Column.REPRODUCED] = [label for label, _ in found]
    df.loc[submitted, Column.AGREEMENT] = [_percent(agreement) for _, agreement in found]
    return df


def _unranked_reason(row: dict, served: DatasetInfo | None, min_coverage: float, holds: Mapping[str, str]) -> str:
    """Why a row cannot be ranked among the others ("" when it can)."""
    if row[Column.SOURCE] == REFERENCE:
        return UNRANKED_REFERENCE
    if row[Column.SOURCE] == Source.PAPER:
        return ""  # the paper's rows are on the official release: the board's reference ranking
    reasons = [holds[row[Column.ID]]] if row[Column.ID] in holds else []
    if served is not None and served.fingerprint and row[Column.BUILD] != served.fingerprint:
        reasons.append(UNRANKED_OTHER_BUILD)
    elif served is not None and not served.official:
        reasons.append(UNRANKED_SAMPLE_BUILD)
    coverage = row[Column.COVERAGE]
    if math.isnan(coverage) or coverage < min_coverage:
        shown = "unknown" if math.isnan(coverage) else f"{coverage:g}%"
        reasons.append(f"{UNRANKED_PARTIAL}: {shown} of the MCQs answered (< {min_coverage:g}%)")
    if math.isnan(row[Column.MCQ]):
        reasons.append(UNRANKED_NO_MCQ)
    return "; ".join(reasons)


def _competition_ranks(values: np.ndarray) -> np.ndarray:
    """1 + the number of strictly better values: equal values share a rank ("1, 2, 2, 4")."""
    ordered = np.sort(-values)
    return 1 + np.searchsorted(ordered, -values, side="left")


def _open_bands(df: pd.DataFrame, open_ci: dict[str, tuple[float, float]]) -> list[str]:
    """Open rank bands, counted only among rows of the same judge model and judge prompt version.

    Rows with an interval get a band from `rank_bands`; a group without intervals for every row
    (the paper publishes none) gets point ranks instead.
    """
    labels = [""] * len(df)
    scored = df[df[Column.OPEN].notna() & (df[Column.UNRANKED] == "")]
    for _, group in scored.groupby([Column.JUDGE, Column.JUDGE_PROMPT], sort=False):
        intervals = [open_ci.get(row_id) for row_id in group[Column.ID]]
        if all(intervals):
            bands = rank_bands([(score, *iv) for score, iv in zip(group[Column.OPEN], intervals)])
            texts = [band_label(*band) for band in bands]
        else:
            texts = [str(r) for r in _competition_ranks(group[Column.OPEN].to_numpy())]
        for position, text in zip(group.index, texts):
            labels[position] = text
    return labels


def rank(df: pd.DataFrame, served: DatasetInfo | None = None, min_coverage: float = MIN_COVERAGE,
         holds: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Ranked rows first, by MCQ then Open; rows that cannot be compared after them, unranked;
    the reference rows last, by MCQ, never ranked.

    `served` is the build the board serves. The paper's rows are always ranked: they are on the
    official release, the board's reference. A submission is ranked only when scored on the
    served build, with at least `min_coverage` % of its MCQs answered, and when the served build
    is the official release; on a sample build every submission stays unranked, since its scores
    cannot be compared with the paper's (one ranking, never two side by side). "Rank" is a number
    to sort on (equal MCQ shares a rank; Open, judged by different judges, breaks no ties); "Band"
    is the range of ranks the row can hold at 95% (`leaderboard.stats.rank_bands` over Wilson
    intervals of the ranked rows). "Open band" ranks Open among rows of the same judge and prompt.
    `holds` keeps rows unranked by id, with the reason (under review by the audit, flagged by the operator).
    """
    df = df.drop(columns=[Column.RANK], errors="ignore").reset_index(drop=True)
    for col in (Column.BAND, Column.OPEN_BAND, Column.UNRANKED):
        df[col] = ""
    open_ci = {}
    if Column.OPEN_LOW in df:
        open_ci = {row_id: (low, high)
                   for row_id, low, high in zip(df[Column.ID], df[Column.OPEN_LOW], df[Column.OPEN_HIGH])
                   if _present(low) and _present(high)}
        df = df.drop(columns=[Column.OPEN_LOW, Column.OPEN_HIGH])
    # dicts: iterrows is 10x slower
    needed = df[[Column.SOURCE, Column.BUILD, Column.COVERAGE, Column.MCQ, Column.ID]].to_dict("records")
    df[Column.UNRANKED] = [_unranked_reason(row, served, min_coverage, holds or {}) for row in needed]
    df["_ranked"] = df[Column.UNRANKED] == ""
    df["_model"] = df[Column.SOURCE] != REFERENCE
    df = df.sort_values(["_model", "_ranked", Column.MCQ, Column.OPEN], ascending=False, na_position="last",
                        kind="stable").reset_index(drop=True)
    ranked = df["_ranked"].to_numpy()
    ranks = np.full(len(df), math.nan)
    ranks[ranked] = _competition_ranks(df.loc[ranked, Column.MCQ].to_numpy())
    bands = rank_bands(list(zip(df.loc[ranked, Column.MCQ], df.loc[ranked, Column.MCQ_LOW],
                                df.loc[ranked, Column.MCQ_HIGH])))
    band_texts = [band_label(*band) if band else str(int(r))
                  for band, r in zip(bands, ranks[ranked])]
    df.loc[ranked, Column.BAND] = band_texts
    df.loc[~ranked, Column.BAND] = "—"
    df[Column.OPEN_BAND] = _open_bands(df, open_ci)
    df.insert(0, Column.RANK, ranks)
    return df.drop(columns=["_ranked", "_model"])[COLUMNS]


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def size_bucket(params_b: float) -> str:
    """The size bucket label of a parameter count in billions."""
    if params_b is None or math.isnan(params_b):
        return "unknown"
    return "<10B" if params_b < 10 else "10-40B" if params_b <= 40 else ">40B"


def filter_board(df: pd.DataFrame, search: str = "", groups: Iterable[str] = (),
                 kinds: Iterable[str] = (), sizes: Iterable[str] = (),
                 sources: Iterable[str] = (), reproduced: Iterable[str] = ()) -> pd.DataFrame:
    """Rows matching every given filter; an empty selection does not filter.

    `search` matches model names case-insensitively as plain text; several terms separated by
    ";" match any of them. Reference rows have no weights, domain, size or reproduction: those
    filters keep them, so chance stays in view beside any selection of models; search and source
    apply. `reproduced` keeps submissions in the given states (REPRODUCED); paper rows have none.
    """
    mask = pd.Series(True, index=df.index)
    terms = [t.strip().lower() for t in (search or "").split(";") if t.strip()]
    if terms:
        names = df[Column.MODEL].str.lower()
        mask &= pd.concat([names.str.contains(t, regex=False) for t in terms], axis=1).any(axis=1)
    reference = df[Column.SOURCE] == REFERENCE
    if groups := list(groups):
        mask &= df[Column.WEIGHTS].isin(groups) | reference
    if kinds := list(kinds):
        mask &= df[Column.DOMAIN].isin(kinds) | reference
    if sizes := list(sizes):
        mask &= df[Column.PARAMS].map(size_bucket).isin(sizes) | reference
    if sources := list(sources):
        mask &= df[Column.SOURCE].isin(sources)
    if reproduced := list(reproduced):
        mask &= df[Column.REPRODUCED].isin(reproduced) | reference
    return df[mask].reset_index(drop=True)


BAND_COLUMNS = (Column.BAND, Column.OPEN_BAND)  # rank ranges as text, sorted by their first rank


def parse_sort(text: str | None) -> tuple[str, bool] | None:
    """`"MCQ:desc"` -> ("MCQ", True); None for no sort or a column the board does not have."""
    column, _, direction = str(text or "").strip().rpartition(":")
    if column not in COLUMNS or direction not in ("asc", "desc"):
        return None
    return column, direction == "desc"


def natural_key(text: object) -> tuple:
    """A text's sort key where runs of digits compare as numbers: "Qwen3-VL-8B" before "Qwen3-VL-32B",
    "mcq-2" before "mcq-10"; case is ignored."""
    parts = re.split(r"(\d+)", str(text).lower())
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts if part)


def sort_board(df: pd.DataFrame, sort: str | None) -> pd.DataFrame:
    """The rows sorted by one column (`"MCQ:desc"`), the ranked rows among themselves first, then the
    unranked, then the reference rows, whatever the key: a row that is not comparable never sorts above
    rank 1. Names and ids sort naturally (`natural_key`); empty cells go last; equal values keep the
    board's order. No (or an unknown) sort: as ranked."""
    parsed = parse_sort(sort)
    if parsed is None or df.empty:
        return df
    column, descending = parsed
    group = np.where(df[Column.SOURCE] == REFERENCE, 2, np.where(df[Column.RANK].notna(), 0, 1))
    values = df[column]
    if column in BAND_COLUMNS:  # "2–4" sorts as 2, "10" after "9"; "—" (not ranked) is empty
        values = pd.to_numeric(values.astype(str).str.extract(r"^(\d+)")[0], errors="coerce")
    if column in NUMERIC_COLUMNS or column in BAND_COLUMNS:
        missing = values.isna().to_numpy()
        keys = values.to_numpy()
    else:
        texts = values.fillna("").astype(str).str.strip()
        missing = (texts == "").to_numpy()
        keys = [natural_key(text) for text in texts]
    present = sorted((i for i in range(len(df)) if not missing[i]), key=lambda i: keys[i], reverse=descending)
    order = sorted(present + [i for i in range(len(df)) if missing[i]], key=lambda i: group[i])  # stable
    return df.iloc[order].reset_index(drop=True)


# The score columns whose best value the page marks: higher is better in each. Open and its criteria are
# compared only among rows of one judge and prompt, so their best is marked within each such group.
BEST_MARKED: tuple[str, ...] = (Column.MCQ, *COLUMN_GROUPS["Dimensions"], *COLUMN_GROUPS["Medical intelligence"])
BEST_MARKED_PER_JUDGE: tuple[str, ...] = (Column.OPEN, *COLUMN_GROUPS["Open criteria"])


def best_in_column(view: pd.DataFrame) -> dict[str, set[str]]:
    """Column -> ids of the ranked rows holding its best value (ties all count): only comparable rows compete,
    and a judge group of one row has no best."""
    ranked = view[view[Column.RANK].notna()]
    best: dict[str, set[str]] = {}

    def mark(rows: pd.DataFrame, column: str) -> None:
        values = rows[column]
        if values.notna().sum() >= 2:
            best.setdefault(column, set()).update(rows.loc[values == values.max(), Column.ID])

    for column in BEST_MARKED:
        if column in ranked:
            mark(ranked, column)
    for _, group in ranked.groupby([Column.JUDGE, Column.JUDGE_PROMPT], sort=False):
        for column in BEST_MARKED_PER_JUDGE:
            if column in group:
                mark(group, column)
    return best


def visible_columns(df: pd.DataFrame, shown_groups: Iterable[str]) -> pd.DataFrame:
    """Only the columns of the shown groups, in board order; Rank and Model always stay."""
    shown = set(shown_groups)
    keep = [c for g, cols in COLUMN_GROUPS.items() if g in shown for c in cols]
    columns = [c for c in COLUMNS if c in (Column.RANK, PINNED) or c in keep]
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
