"""Every answer behind a score: one submission's per-question results, joined with the questions,
filtered and paged on the server, each question's image read on demand; and the paired
comparison of two submissions (`stats.compare`), with the questions where they disagree.

Nothing here scans the dataset per request: the questions are the board's (no images), a
submission's details are parsed once per file version and kept for a few submissions, and an
image is found through an index id -> (shard, row group, row) built once from the parquet files,
so opening a question reads one row group's image column. Decoded thumbnails are kept in a
small LRU, never every image.

Consent: a submitter may opt out of publishing per-question outputs. Then every view here
(explorer, API, download, mirror) carries only correctness per question: `public_item` keeps
the fields of PUBLIC_ITEM_FIELDS and drops the output, the extracted letter, the judge's
criteria, rationale, raw reply and errors.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import re
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol

import pyarrow.parquet as pq
from PIL import Image

from core import memory
from core.files import atomic_write
from core.results import ItemResult, ItemStatus, Reproduction, ReproductionState
from core.vocabulary import BREAKDOWNS, CRITERIA, DIMENSION_BY_SLUG, LETTERS, SLUGS
from leaderboard import stats
from leaderboard.details import DetailsError, exists, read_details, stamp
from leaderboard.items import ItemStats
from leaderboard.records import SCORED_STATUSES, Comparison

if TYPE_CHECKING:
    from release.hub import ShardImages

PAGE_ROWS = 50
THUMBNAIL_PX = 384
THUMBNAILS_KEPT = 256       # ~20 KB each: a few MB at most
SUBMISSIONS_KEPT = 6        # parsed details of this many submissions stay in memory...
KEPT_IDLE_S = 120.0         # ...until Explore sat unused this long (then the memory goes back)
COMPARES_KEPT = 8
EXCERPT_CHARS = 90
MAX_SEARCH_CHARS = 200      # a search is a few words; longer ones only cost CPU
MAX_SEARCH_WORDS = 8
EXPLORE_CONCURRENCY = 4     # explore requests working at once (the board's reads never wait for them)
EXPLORE_WAIT_S = 2.0
EXPLORE_BUSY = "Explore is busy with other requests; try again in a moment."
FACETS = tuple(BREAKDOWNS.values())  # the fields results break down by, in their order
# What an opted-out submission shows of each question: correctness, never the output or the judge's words.
PUBLIC_ITEM_FIELDS = ("id", "question_type", "dimension", "status", "answer", "correct", "score")
CORRECT, WRONG = "correct", "wrong"  # an answered MCQ's outcome
# An MCQ with no clear letter keeps its status as its outcome, as does every open item.
_QUIET = (ItemStatus.UNPARSED, ItemStatus.NOT_ANSWERED, ItemStatus.MISSING)
MCQ_OUTCOMES = (CORRECT, WRONG, *(status.value for status in _QUIET))
OPEN_OUTCOMES = tuple(status.value for status in ItemStatus if status not in (ItemStatus.ANSWERED, ItemStatus.UNPARSED))
OUTCOMES = tuple(dict.fromkeys(MCQ_OUTCOMES + OPEN_OUTCOMES))  # "missing", "not_answered" once each
# What a row is about first (its outcome, the answers, the score and the item statistics), its long text after.
TABLE_COLUMNS = ["id", "outcome", "model", "reference", "score", "difficulty", "discrimination", "question",
                 "format", "dimension", "modality", "organ system"]
# How a page may be ordered: by the question's place in the build, or by its item statistics
# (`leaderboard.items`: hardest first, lowest discrimination first; questions without them last).
ORDERS = ("question", "difficulty", "discrimination")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ExploreError(ValueError):
    """A clear, user-facing message: which submission or question is not there."""


class Board(Protocol):
    """What the explorer reads of the leaderboard (`leaderboard.service.Leaderboard` is one)."""

    questions: list[dict]
    data_dir: Path
    images: "ShardImages | None"

    def status(self, submission_id: str | None = None) -> list[dict]: ...

    def reproduction(self, submission_id: str) -> tuple[Reproduction, list[ItemResult]]: ...

    def details_path(self, submission_id: str) -> Path: ...

    def public_details(self, submission_id: str) -> bool: ...

    def item_analysis(self) -> list[ItemStats]: ...


def public_item(item: ItemResult, public: bool) -> dict:
    """The item as it may be shown: whole with consent, else only its correctness."""
    line = item.to_dict()
    return line if public else {key: line[key] for key in PUBLIC_ITEM_FIELDS}


def details_jsonl(items: Iterable[ItemResult], public: bool) -> bytes:
    """Per-question details as JSONL, consent applied (the download and the mirror share this)."""
    return "".join(json.dumps(public_item(item, public), ensure_ascii=False) + "\n" for item in items).encode("utf-8")


def outcome(item: ItemResult) -> str:
    """correct / wrong / unparsed / not answered / missing for an MCQ; the status of an open item."""
    if item.question_type == "mcq":
        if item.correct:
            return CORRECT
        return item.status.value if item.status in _QUIET else WRONG
    return item.status.value


class ImageIndex:
    """id -> (shard, row group, row) of a build, made once from the id column; images read on demand.

    Each read opens the shard afresh from its kept footer (no re-parse) without pre-buffering:
    a reader kept open holds on to the row groups it read (hundreds of MB after a few dozen
    questions of full-size images), a fresh one frees them when the read is done."""

    def __init__(self, data_dir: Path) -> None:
        self._shards = sorted(Path(data_dir).glob("data/*/test-*.parquet"))
        self._footers: list[pq.FileMetaData] = []
        self._where: dict[str, tuple[int, int, int]] = {}
        for number, shard in enumerate(self._shards):
            parquet = pq.ParquetFile(shard)
            self._footers.append(parquet.metadata)
            for group in range(parquet.num_row_groups):
                ids = parquet.read_row_group(group, columns=["id"]).column(0).to_pylist()
                self._where.update((item_id, (number, group, row)) for row, item_id in enumerate(ids))
        self.thumbnail = lru_cache(maxsize=THUMBNAILS_KEPT)(self._thumbnail)

    def __len__(self) -> int:
        return len(self._where)

    def image(self, item_id: str) -> tuple[bytes, str] | None:
        """(bytes, file name) of a question's image as stored in the build; None when it has none."""
        where = self._where.get(item_id)
        if where is None:
            return None
        number, group, row = where
        parquet = pq.ParquetFile(self._shards[number], metadata=self._footers[number], pre_buffer=False)
        cell = parquet.read_row_group(group, columns=["image"]).column(0)[row].as_py()
        if not cell or not cell.get("bytes"):
            return None
        return cell["bytes"], Path(cell.get("path") or f"{item_id}.png").name

    def _thumbnail(self, item_id: str) -> bytes | None:
        """A PNG at most THUMBNAIL_PX on its long side (kept in the LRU)."""
        found = self.image(item_id)
        if found is None:
            return None
        with Image.open(io.BytesIO(found[0])) as picture:
            picture.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
            if picture.mode not in ("L", "RGB", "RGBA"):
                picture = picture.convert("RGB")
            out = io.BytesIO()
            picture.save(out, format="PNG", optimize=False)
        return out.getvalue()


class RemoteImages:
    """The same reads as `ImageIndex` for a Space that serves the questions artifact alone: each
    image comes from `release.hub.ShardImages`, which fetches one shard at a time with a disk bound."""

    def __init__(self, shards: "ShardImages") -> None:
        self._shards = shards
        self.thumbnail = lru_cache(maxsize=THUMBNAILS_KEPT)(self._thumbnail)

    def image(self, item_id: str) -> tuple[bytes, str] | None:
        try:
            picture = self._shards.image_for(item_id)
        except (KeyError, FileNotFoundError):
            return None
        out = io.BytesIO()
        picture.save(out, format="PNG")
        return out.getvalue(), f"{item_id}.png"

    _thumbnail = ImageIndex._thumbnail


@dataclass
class _View:
    """One submission's details joined with the questions, and what filtering needs, precomputed."""

    items: list[ItemResult]
    by_id: dict[str, ItemResult]
    outcomes: list[str]
    haystacks: list[str]               # lower-case text searched
    facets: list[tuple[str, ...]]     # values of FACETS per item


class Explorer:
    """Browse one scored submission question by question; compare two; serve images and downloads."""

    def __init__(self, board: Board, files: Path | None = None) -> None:
        self.board = board
        self.questions = {q["id"]: q for q in board.questions}
        # What every submission shares, made once: each question's searchable text and facet values.
        self._text = {i: " ".join([i, q.get("question") or "", *(q.get("options") or []), q.get("answer") or "",
                                   q.get("visual_description") or ""]).lower() for i, q in self.questions.items()}
        self._facets = {i: tuple(str(q.get(name) or "") for name in FACETS) for i, q in self.questions.items()}
        local = ImageIndex(board.data_dir)
        self.images = local if len(local) or board.images is None else RemoteImages(board.images)
        self.files = Path(files or tempfile.mkdtemp(prefix="medcmr-explore-"))
        self._views: OrderedDict[tuple, _View] = OrderedDict()
        self._compares: OrderedDict[tuple, dict] = OrderedDict()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(EXPLORE_CONCURRENCY)
        self._last_use = time.monotonic()
        memory.on_trim(self.forget_if_idle)

    def forget_if_idle(self) -> bool:
        """Drop the parsed details and comparisons once Explore sat unused for KEPT_IDLE_S; True if any went."""
        with self._lock:
            if time.monotonic() - self._last_use < KEPT_IDLE_S or not (self._views or self._compares):
                return False
            self._views.clear()
            self._compares.clear()
            return True

    @contextmanager
    def slot(self) -> Iterator[None]:
        """At most EXPLORE_CONCURRENCY explore requests work at once; the next waits briefly, then is told so."""
        if not self._slots.acquire(timeout=EXPLORE_WAIT_S):
            raise ExploreError(EXPLORE_BUSY)
        try:
            yield
        finally:
            self._slots.release()

    # -- what can be chosen --------------------------------------------------------------

    def facet_values(self) -> dict[str, list[str]]:
        """The values each filter offers, read from the build (dimensions in the vocabulary's order)."""
        values = {name: sorted({str(q[name]) for q in self.questions.values() if q.get(name)}) for name in FACETS}
        values["dimension"] = [slug for slug in SLUGS if slug in values["dimension"]] + \
            [v for v in values["dimension"] if v not in DIMENSION_BY_SLUG]
        return values

    def submissions(self) -> list[tuple[str, str]]:
        """(label, id) of every scored submission whose details exist, newest first."""
        return [(f"{row['model']} · {row['id']}", row["id"]) for row in self.board.status()
                if row["status"] in SCORED_STATUSES and exists(self.board.details_path(row["id"]))]

    # -- one submission ------------------------------------------------------------------

    def _details_file(self, submission_id: str) -> Path:
        if not isinstance(submission_id, str) or not _SAFE_ID.match(submission_id or ""):
            raise ExploreError(f"Choose a scored submission (got {submission_id!r}).")
        rows = self.board.status(submission_id)
        if not rows:
            raise ExploreError(f"No submission with id {submission_id}.")
        path = self.board.details_path(submission_id)
        if rows[0]["status"] not in SCORED_STATUSES or not exists(path):
            raise ExploreError(f"{submission_id} has no per-question results yet (status {rows[0]['status']}).")
        return path

    def _view(self, submission_id: str) -> tuple[_View, bool]:
        path = self._details_file(submission_id)
        public = self.board.public_details(submission_id)
        key = (submission_id, stamp(path), public)
        with self._lock:
            self._last_use = time.monotonic()
            view = self._views.get(key)
            if view is not None:
                self._views.move_to_end(key)
                return view, public
        try:
            details = read_details(path)
        except DetailsError as error:
            raise ExploreError(str(error)) from None
        view = self._build_view(details, public)
        with self._lock:
            self._views[key] = view
            while len(self._views) > SUBMISSIONS_KEPT:
                self._views.popitem(last=False)
        return view, public

    def _build_view(self, details: list[ItemResult], public: bool) -> _View:
        haystacks, facets = [], []
        unknown = ("",) * len(FACETS)
        for item in details:
            text = self._text.get(item.id, item.id.lower())
            if public:
                text = f"{text} {item.prediction or ''} {item.rationale or ''}".lower()
            haystacks.append(text)
            facets.append(self._facets.get(item.id, unknown))
        return _View(details, {item.id: item for item in details}, [outcome(item) for item in details],
                     haystacks, facets)

    def items(self, submission_id: str) -> list[ItemResult]:
        """The submission's per-question results (consent is applied where they are shown)."""
        return self._view(submission_id)[0].items

    def details_download(self, submission_id: str) -> str:
        """A JSONL file of the per-question details (consent applied), named `<id>.jsonl`."""
        view, public = self._view(submission_id)
        return self.write(f"{submission_id}.jsonl", details_jsonl(view.items, public))

    def page(self, submission_id: str, *, dimension: Iterable[str] | str | None = None,
             medical_intelligence: Iterable[str] | str | None = None,
             modality: Iterable[str] | str | None = None, organ_system: Iterable[str] | str | None = None,
             status: Iterable[str] | str | None = None, search: str = "", disagree_with: str | None = None,
             suspect_only: bool = False, order: str = "question", page: int = 1) -> dict:
        """One page (PAGE_ROWS rows) of the filtered questions: {rows, total, page, pages, public}.

        Each filter is a value or a list of values (empty: any). `search` keeps questions whose
        text holds every word (question, options, reference, and with consent the output and
        rationale). `status` is an outcome (OUTCOMES). `disagree_with` keeps the questions where another
        submission disagrees; `suspect_only` those the item analysis marks suspect. `order` is one of ORDERS."""
        if order not in ORDERS:
            raise ExploreError(f"Order by one of {', '.join(ORDERS)} (got {str(order)[:40]!r}).")
        view, public = self._view(submission_id)
        stats = {item.id: item for item in self.board.item_analysis()}
        wanted = [_chosen(value) for value in (dimension, medical_intelligence, modality, organ_system)]
        outcomes = _chosen(status)
        words = search_words(search)
        keep = self.disagreements(submission_id, disagree_with) if disagree_with else None
        matches = [position for position, item in enumerate(view.items)
                   if (not outcomes or view.outcomes[position] in outcomes)
                   and all(not chosen or value in chosen for chosen, value in zip(wanted, view.facets[position]))
                   and (keep is None or item.id in keep)
                   and (not suspect_only or (item.id in stats and stats[item.id].suspect))
                   and all(word in view.haystacks[position] for word in words)]
        if order != "question":
            matches.sort(key=lambda position: _statistic(stats.get(view.items[position].id), order))
        pages = max(1, math.ceil(len(matches) / PAGE_ROWS))
        number = min(max(1, int(page or 1)), pages)
        shown = matches[(number - 1) * PAGE_ROWS:number * PAGE_ROWS]
        return {"rows": [self._row(view.items[p], view.outcomes[p], public, stats.get(view.items[p].id)) for p in shown],
                "total": len(matches), "page": number, "pages": pages, "public": public}

    def _row(self, item: ItemResult, result: str, public: bool, stats: ItemStats | None) -> dict:
        question = self.questions.get(item.id, {})
        mcq = item.question_type == "mcq"
        if not public:
            model = ""
        elif mcq:
            model = item.extracted or ""
        else:
            model = _excerpt(item.prediction)
        score = (100.0 if item.correct else 0.0) if mcq else item.score
        return {"id": item.id, "format": item.question_type, "dimension": question.get("dimension", ""),
                "modality": question.get("modality", ""), "organ system": question.get("organ_system", ""),
                "outcome": result, "reference": question.get("answer", "") if mcq else _excerpt(question.get("answer")),
                "model": model, "score": score, "question": _excerpt(question.get("question")),
                **{name: round(getattr(stats, name), 3) if stats and getattr(stats, name) is not None else None
                   for name in ("difficulty", "discrimination")}}

    def item(self, submission_id: str, item_id: str) -> dict:
        """Everything about one question of a submission: the question, the reference, the result
        and (with consent) the model's output and the judge's criteria, rationale and raw reply."""
        view, public = self._view(submission_id)
        item = view.by_id.get((item_id or "").strip())
        if item is None:
            raise ExploreError(f"{submission_id} has no result for question {item_id!r}.")
        question = self.questions.get(item.id, {})
        shown = {"submission": submission_id, "public": public, "outcome": outcome(item),
                 **{name: question.get(name) for name in ("id", "question_type", "question", "answer",
                                                          "visual_description", *FACETS, "subtype")},
                 "options": dict(zip(LETTERS, question.get("options") or [])), "result": public_item(item, public)}
        return shown

    def thumbnail(self, item_id: str) -> str | None:
        """Path of the question's thumbnail (PNG), or None when the build holds no image for it."""
        data = self.images.thumbnail(item_id)
        return None if data is None else self.write(f"{item_id}-thumbnail.png", data)

    def full_image(self, item_id: str) -> str | None:
        """Path of the question's image at full size, as stored in the build."""
        found = self.images.image(item_id)
        return None if found is None else self.write(found[1], found[0])

    def write(self, name: str, data: bytes) -> str:
        """A download named `name`, kept under this explorer's folder."""
        return write_once(self.files, name, data)

    # -- the reproduction ----------------------------------------------------------------

    def reproduction(self, submission_id: str) -> dict:
        """The evidence of a submission's reproduction: its state and reason, which questions the runner
        re-asked with the file's answer beside the runner's (the file's withheld without consent), and the
        MCQ agreement per dimension."""
        view, public = self._view(submission_id)
        found, runner_items = self.board.reproduction(submission_id)
        runner = {item.id: item for item in runner_items}
        rows = [reproduction_row(view.by_id[i], runner[i], self.questions.get(i, {}), public)
                for i in found.sample if i in view.by_id and i in runner]
        dimensions = [{"dimension": name, "n": group.n, "agree": group.agree, "agreement (%)": group.agreement}
                      for name, group in sorted(found.by_dimension.items(),
                                                key=lambda cell: SLUGS.index(cell[0]) if cell[0] in SLUGS else 99)]
        return {"state": found.state, "label": ReproductionState(found.state).label, "reason": found.reason,
                "runner": found.runner, "model": found.model, "agreement": found.agreement, "mcq_n": found.mcq_n,
                "mcq_agree": found.mcq_agree, "open_compared": found.open_compared, "sample": len(found.sample),
                "calls": found.calls, "public": public, "rows": rows, "by_dimension": dimensions}

    # -- two submissions -----------------------------------------------------------------

    def compare(self, submission_a: str, submission_b: str) -> dict:
        """`stats.compare` of two scored submissions, named by their models (kept per file version)."""
        if submission_a == submission_b:
            raise ExploreError("Choose two different submissions to compare.")
        keys, named = [], []
        for submission_id in (submission_a, submission_b):
            keys.append((submission_id, stamp(self._details_file(submission_id))))
            named.append(self.board.status(submission_id)[0]["model"])
        key = tuple(keys)
        with self._lock:
            self._last_use = time.monotonic()
            if key in self._compares:
                self._compares.move_to_end(key)
                return self._compares[key]
        name_a, name_b = named if named[0] != named[1] else (f"{named[0]} ({submission_a})",
                                                             f"{named[1]} ({submission_b})")
        result = stats.compare(self.items(submission_a), self.items(submission_b), name_a=name_a, name_b=name_b,
                               order=SLUGS)
        with self._lock:
            self._compares[key] = result
            while len(self._compares) > COMPARES_KEPT:
                self._compares.popitem(last=False)
        return result

    def disagreements(self, submission_id: str, other_id: str) -> set[str]:
        """Questions where the two disagree: MCQs exactly one got right, open scores ≥ 20 points apart."""
        result = self.compare(submission_id, other_id)
        return set(result.mcq.disagree_ids) | set(result.open.disagree_ids)


def search_words(search: str | None) -> list[str]:
    """The distinct lower-case words of a search, within bounds (a clear error past them)."""
    text = search or ""
    if len(text) > MAX_SEARCH_CHARS:
        raise ExploreError(f"Search: at most {MAX_SEARCH_CHARS} characters (got {len(text):,}).")
    words = list(dict.fromkeys(text.lower().split()))
    if len(words) > MAX_SEARCH_WORDS:
        raise ExploreError(f"Search: at most {MAX_SEARCH_WORDS} words (got {len(words):,}).")
    return words


class ServedDigests:
    """The sha256 of every file this process served (downloads, images): Gradio keeps its copies in the
    same folder as uploads, and an upload handler must never delete one of them."""

    def __init__(self, limit: int = 100_000) -> None:
        self._digests: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit

    def add(self, digest: str) -> None:
        with self._lock:
            self._digests[digest] = None
            self._digests.move_to_end(digest)
            while len(self._digests) > self.limit:
                self._digests.popitem(last=False)

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            return digest in self._digests


SERVED = ServedDigests()


def write_once(root: Path, name: str, data: bytes) -> str:
    """A file named by its content, so concurrent sessions never overwrite each other (its digest is
    remembered in SERVED)."""
    digest = hashlib.sha256(data).hexdigest()
    SERVED.add(digest)
    folder = Path(root) / digest[:20]
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data, sync=False)  # a cache: made again if lost
    return str(path)


def details_file(board: Board, submission_id: str | None, root: Path) -> str | None:
    """`<id>.jsonl` of a submission's per-question details, consent applied; None before it is scored
    (what the result card offers; the explorer's download is the same file)."""
    if not submission_id or not _SAFE_ID.match(submission_id):
        return None
    path = board.details_path(submission_id)
    if not exists(path):
        return None
    data = details_jsonl(read_details(path), board.public_details(submission_id))
    return write_once(root, f"{submission_id}.jsonl", data)


REPRODUCTION_COLUMNS = ["id", "format", "dimension", "file", "runner", "agree", "file score", "runner score"]


def reproduction_row(file: ItemResult, runner: ItemResult, question: dict, public: bool) -> dict:
    """One re-asked question: the file's answer (letter, or an excerpt of the open answer) beside the runner's;
    whether the letters agree (MCQ); the judged scores (open). Without consent both answers are withheld (the
    runner's letter beside "agree" would tell the file's); whether they agree stays."""
    mcq = file.question_type == "mcq"

    def answer(item: ItemResult) -> str:
        return "" if not public else (item.extracted or "unparsed") if mcq else _excerpt(item.prediction)

    return {"id": file.id, "format": file.question_type, "dimension": question.get("dimension", file.dimension or ""),
            "file": answer(file), "runner": answer(runner),
            "agree": ("yes" if file.extracted == runner.extracted else "no") if mcq else "",
            "file score": None if mcq else file.score, "runner score": None if mcq else runner.score}


def compare_columns(names: list[str] | None = None) -> list[str]:
    """The compare table's headers, naming the two models (cut to 24 characters) where they are known."""
    a, b = ((name if len(name) <= 24 else name[:23] + "…") for name in (names or ["A", "B"]))
    return ["dimension", "n", "both right", f"only {a} right", f"only {b} right", "both wrong", f"{a} (%)",
            f"{b} (%)", "McNemar p", "significant (95%)"]


def compare_rows(result: Comparison) -> list[dict]:
    """The compare view's MCQ table: overall and per dimension, accuracies to 2 decimals, the exact
    McNemar p to 3 significant digits (the API's JSON keeps every digit)."""
    blocks = [("all MCQ", result.mcq)] + list(result.mcq.by_dimension.items())

    def number(value: float | None, form: str) -> str:
        return "—" if value is None else format(value, form)

    return [dict(zip(compare_columns(result.names), (
        name, block.n, block.both_right, block.only_a, block.only_b, block.both_wrong,
        number(block.accuracy_a, ".2f"), number(block.accuracy_b, ".2f"), number(block.p, ".3g"),
        "yes" if block.significant else "no"))) for name, block in blocks]


def criteria_lines(result: dict) -> list[tuple[str, float | None]]:
    """(criterion name, 0-100 value) of an open item's verdict, in the vocabulary's order."""
    criteria = result.get("criteria") or {}
    return [(criterion.name, criteria.get(criterion.key)) for criterion in CRITERIA] if criteria else []


def _statistic(stats: ItemStats | None, order: str) -> tuple[bool, float]:
    """A sort key: questions with the statistic first, smallest first (hardest, least discriminating)."""
    value = getattr(stats, order) if stats else None
    return value is None, value if value is not None else 0.0


def _chosen(value: Iterable[str] | str | None) -> set[str]:
    if value is None or value == "":
        return set()
    return {value} if isinstance(value, str) else {str(v) for v in value if v}


def _excerpt(text: object) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS - 1] + "…"
