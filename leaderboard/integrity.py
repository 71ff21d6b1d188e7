"""Whether a row's answers were earned: copies of the public key, of the references or of another row.

The answer key and the reference answers are public, so a prediction file can be assembled instead
of produced by a model. Every check here is a statistic over many questions, read against what the
other rows scored on the same build show, so none of them needs a guess of how a copy is disguised
(letters reworded, lines shuffled, a few answers changed) and none needs an endpoint:

- **answer key, person fit**: the standardised log-likelihood `lz` (Drasgow, Levine & Williams 1985)
  of the row's right/wrong pattern under an item response model fitted to the other rows (each
  question's easiness from the rows that answered it, a guessing floor of one in five, one ability per
  dimension). A model gets easy questions right more often than hard ones; a file with the key pasted
  over part of its answers is right on hard questions as often as on easy ones, so its `lz` falls far
  below the other rows' (read as a robust z against them: median and MAD, so a few copies among the
  rows do not move the yardstick);
- **answer key, disputed questions**: how often the row answers with the key the questions whose key the
  other rows dispute (those the item analysis marks suspect at its stated false-discovery rate,
  `leaderboard.items`, and those on which most of the stronger rows agree on another letter), against
  how often the rows of its accuracy do when the dispute is read without each of them: a model that
  picks the true option gets a mis-keyed question "wrong", a copied key gets it "right";
- **reference answers**: open answers that reproduce their reference answer (of five words or more) or
  eight words running of the reference visual description; honest answers say the same in their own
  words;
- **another row, MCQ**: the same wrong letters as an earlier row, beyond chance given how often this
  row is wrong and which wrong options the other rows pick (the logic of the K-index, Holland 1996): the
  excess share estimates how much was copied;
- **another row, open**: open answers near-identical to an earlier row's (character 5-gram Jaccard).

A finding that crosses its threshold holds the row (unranked, its reason on the row). The thresholds
are calibrated on simulated rows of every ability, honest, related and copied (`bench/bench_integrity.py`,
docs/trust.md). Rows the submitter declared related (a rerun of their own model, a fine-tune of a row's
model) and the submitter's own earlier rows are noted, never held, as copies of each other.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

import numpy as np
from scipy import stats as scipy_stats

from core.vocabulary import LETTERS

GUESS = 1 / len(LETTERS)      # the floor of a five-option question: a blind guess is right one time in five
MIN_ROWS = 10                  # other rows needed before a pattern is read against them
FIT_Z = 6.0                    # robust z of lz below -FIT_Z holds (bench/bench_integrity.py)
FIT_NEIGHBOURS = 10            # rows of nearest accuracy that set lz's yardstick (its spread grows with accuracy)
MIN_FIT_ITEMS = 200            # fewer MCQs than this give person fit too little to read
DISPUTED_Z = 5.0               # agreement with the key where the other rows dispute it: robust z above the usual
DISPUTED_SHARE = 0.28          # ... and at least this much above the usual share at its accuracy
DISPUTE = 0.5                  # share of the stronger half agreeing on one letter that is not the key
MIN_DISPUTED = 10              # disputed questions needed to read it
ROW_Z = 6.0                    # same wrong letters as an earlier row beyond chance (z, over all pairs)
ROW_SHARE = 0.4                # ... with at least this excess share (honest related rows stay below)
PREFILTER = 0.3                # raw same-wrong-letter share below which a pair is not tested (copies show ROW_SHARE+)
MIN_SHARED_WRONG = 20          # an earlier row's wrong answers needed to read agreement on them
REFERENCE_WORDS = 5            # a reference answer this long is not reproduced word for word by chance
DESCRIPTION_RUN = 8            # words running from the reference description
REFERENCE_SHARE = 0.2          # share of the eligible open answers reproducing their reference that holds
REFERENCE_MIN = 2              # ... and at least this many of them
OPEN_SIMILAR = 0.8             # character 5-gram Jaccard of two answers that are the same answer
OPEN_MIN_CHARS = 40            # shorter answers are alike by nature ("Answer: the humerus.")
OPEN_SHARE = 0.5               # share of comparable open answers near-identical to an earlier row's
OPEN_MIN = 3                   # ... and at least this many
EVIDENCE = 50                  # item ids kept as evidence per finding

KEY_FIT, KEY_DISPUTED, REFERENCES, ROW_MCQ, ROW_OPEN = ("answer key", "answer key on disputed questions",
                                                         "reference answers", "copied row", "copied open answers")


@dataclass(frozen=True)
class Answers:
    """One submission's answers as the checks read them: a letter per MCQ (in the population's question
    order, -1 for none) and its open answers."""

    id: str
    model: str
    submitter: str
    letters: np.ndarray
    open: dict[str, str] = field(default_factory=dict)
    related: tuple[str, ...] = ()  # submission ids and model names the submitter declared related


@dataclass(frozen=True)
class Finding:
    """What one check found about a row; `held` when it crosses the check's threshold."""

    check: str
    held: bool
    reason: str
    statistics: dict[str, float]
    items: tuple[str, ...] = ()
    source: str | None = None  # the earlier row, for copies of a row

    def to_dict(self) -> dict:
        return {**asdict(self), "items": list(self.items)}

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        return cls(data["check"], bool(data["held"]), data["reason"], dict(data["statistics"]),
                   tuple(data.get("items") or ()), data.get("source"))


@dataclass(frozen=True)
class Questions:
    """The build's MCQs in a fixed order (ids, key letters as 0-4, dimension index) and its open references."""

    mcq_ids: tuple[str, ...]
    key: np.ndarray
    dimension: np.ndarray
    references: dict[str, tuple[str, str]] = field(default_factory=dict)  # open id -> (answer, description)

    @classmethod
    def from_rows(cls, questions: Iterable[dict]) -> "Questions":
        questions = list(questions)
        mcqs = sorted((q for q in questions if q["question_type"] == "mcq"), key=lambda q: q["id"])
        dims = {name: index for index, name in enumerate(sorted({q.get("dimension") or "" for q in mcqs}))}
        key = np.array([LETTERS.find((q.get("answer") or "").strip().upper()[:1]) for q in mcqs], dtype=np.int8)
        return cls(tuple(q["id"] for q in mcqs), key,
                   np.array([dims[q.get("dimension") or ""] for q in mcqs], dtype=np.int16),
                   {q["id"]: (q.get("answer") or "", q.get("visual_description") or "")
                    for q in questions if q["question_type"] == "open"})

    def letters(self, extracted: dict[str, str | None]) -> np.ndarray:
        """A submission's extracted letters (MCQ id -> letter or None) in this order."""
        return np.array([LETTERS.find(extracted.get(i) or "?") for i in self.mcq_ids], dtype=np.int8)


# -- person fit ----------------------------------------------------------------------------------------

def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -35.0, 35.0)))


def easiness(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Each question's easiness on the logit scale above the guessing floor, from `k` of `n` rows right
    (smoothed so a question everybody or nobody got right stays finite)."""
    p = (k + 0.5) / (n + 1.0)
    floor = 0.5 / (n + 1.0)
    above = np.clip((p - GUESS) / (1 - GUESS), floor, 1 - floor)
    return np.log(above / (1 - above))


def _probabilities(x: np.ndarray, seen: np.ndarray, beta: np.ndarray, dimension: np.ndarray) -> np.ndarray:
    """P(right) per question for the row `x`: one ability per dimension, fitted by maximum likelihood
    (Newton's method on: the expected number right equals the number right, dimension by dimension)."""
    groups = int(dimension.max()) + 1 if dimension.size else 1
    weight = seen.astype(np.float64)
    target = np.bincount(dimension, weights=x * weight, minlength=groups)
    theta = np.zeros(groups)
    for _ in range(25):
        logistic = _logistic(theta[dimension] + beta)
        expected = np.bincount(dimension, weights=(GUESS + (1 - GUESS) * logistic) * weight, minlength=groups)
        slope = np.bincount(dimension, weights=(1 - GUESS) * logistic * (1 - logistic) * weight, minlength=groups)
        step = np.clip((target - expected) / np.maximum(slope, 1e-9), -2.0, 2.0)
        theta = np.clip(theta + step, -12.0, 12.0)
        if np.all(np.abs(step) < 1e-6):
            break
    return GUESS + (1 - GUESS) * _logistic(theta[dimension] + beta)


def person_fit(x: np.ndarray, seen: np.ndarray, beta: np.ndarray, dimension: np.ndarray) -> float:
    """The standardised log-likelihood lz of one right/wrong pattern (about N(0, 1) for a row the model
    fits; far below 0 when the row is right where it should be wrong)."""
    p = np.clip(_probabilities(x, seen, beta, dimension), 1e-6, 1 - 1e-6)[seen]
    x = x[seen]
    logit = np.log(p / (1 - p))
    observed = float(np.sum(x * np.log(p) + (1 - x) * np.log(1 - p)))
    expected = float(np.sum(p * np.log(p) + (1 - p) * np.log(1 - p)))
    variance = float(np.sum(p * (1 - p) * logit ** 2))
    return (observed - expected) / math.sqrt(variance) if variance > 0 else 0.0


def robust_z(value: float, others: np.ndarray, floor: float = 0.5) -> float:
    """How far `value` lies from `others` in units of their scaled median absolute deviation (at least `floor`)."""
    centre = float(np.median(others))
    spread = 1.4826 * float(np.median(np.abs(others - centre)))
    return (value - centre) / max(spread, floor)


# -- the population --------------------------------------------------------------------------------------

class Population:
    """The rows scored on one build, read together: each row is checked against the others."""

    def __init__(self, questions: Questions, rows: Sequence[Answers]) -> None:
        self.questions = questions
        self.rows = list(rows)
        self.letters = np.array([row.letters for row in self.rows], dtype=np.int8).reshape(
            len(self.rows), len(questions.mcq_ids))
        self.seen = self.letters >= 0
        self.right = (self.letters == questions.key[None, :]) & self.seen
        self._fits: np.ndarray | None = None
        self._p_cache: dict[int, np.ndarray] = {}
        self._counts: np.ndarray | None = None
        self._pairs: np.ndarray | None = None
        self._open_pairs: np.ndarray | None = None
        self._disputed: tuple[np.ndarray, np.ndarray] | None = None

    def _others(self, index: int) -> np.ndarray:
        mask = np.ones(len(self.rows), dtype=bool)
        mask[index] = False
        return mask

    def _beta(self, index: int) -> np.ndarray:
        """Question easiness from every row but `index`."""
        return easiness(self.right.sum(axis=0) - self.right[index], self.seen.sum(axis=0) - self.seen[index])

    def fits(self) -> np.ndarray:
        """Every row's lz, each against all the others (computed once)."""
        if self._fits is None:
            self._fits = np.array([person_fit(self.right[i].astype(float), self.seen[i], self._beta(i),
                                              self.questions.dimension) for i in range(len(self.rows))])
        return self._fits

    def check(self, index: int, suspects: np.ndarray | None = None) -> list[Finding]:
        """Every check of row `index` against the rows before it (copies) and all other rows (fit)."""
        findings = []
        if len(self.rows) - 1 >= MIN_ROWS:
            findings += self._key_fit(index)
            findings += self._key_disputed(index, suspects)
        findings += self._references(index)
        candidates = (self._agreement()[index, :index] >= PREFILTER) | (self._shared_open()[index, :index] >= OPEN_MIN)
        for source in np.flatnonzero(candidates):
            findings += self._copied_row(index, int(source))
        return findings

    def _shared_open(self) -> np.ndarray:
        """Per pair of rows: how many open answers share their opening, middle or closing eight words (a cheap
        first look at near-identical answers; computed once)."""
        if self._open_pairs is None:
            shared = np.zeros((len(self.rows), len(self.rows)), dtype=np.int32)
            anchors: dict[tuple, set[int]] = {}
            for index, row in enumerate(self.rows):
                for item_id, text in row.open.items():
                    words = _words(text)
                    if len(text) < OPEN_MIN_CHARS or len(words) < 8:
                        continue
                    middle = len(words) // 2
                    for anchor in (words[:8], words[middle - 4:middle + 4], words[-8:]):
                        anchors.setdefault((item_id, *anchor), set()).add(index)
            pairs: set[tuple[int, int, str]] = set()
            for (item_id, *_), rows in anchors.items():
                for a in rows:
                    pairs.update((a, b, item_id) for b in rows if b != a)
            for a, b, _ in pairs:
                shared[a, b] += 1
            self._open_pairs = shared
        return self._open_pairs

    def _agreement(self) -> np.ndarray:
        """Per pair of rows (i, s): the share of s's wrong answers on which i gave the same wrong letter (a cheap
        first look: only pairs far above what unrelated rows show are tested in full; computed once)."""
        if self._pairs is None:
            same = np.zeros((len(self.rows), len(self.rows)), dtype=np.float32)
            for letter in range(len(LETTERS)):
                chose = ((self.letters == letter) & (self.questions.key[None, :] != letter)).astype(np.float32)
                same += chose @ chose.T
            wrong = (self.seen & ~self.right).sum(axis=1)
            self._pairs = same / np.maximum(wrong[None, :], 1)
        return self._pairs

    # -- the checks ------------------------------------------------------------------------------

    def _key_fit(self, index: int) -> list[Finding]:
        if self.seen[index].sum() < MIN_FIT_ITEMS:
            return []
        fits = self.fits()
        accuracy = self._accuracy()
        others = np.flatnonzero(self._others(index))
        nearest = others[np.argsort(np.abs(accuracy[others] - accuracy[index]), kind="stable")[:FIT_NEIGHBOURS]]
        z = robust_z(float(fits[index]), fits[nearest])
        held = z < -FIT_Z
        evidence = self._hard_right(index) if held else ()
        reason = (f"its MCQ answers are right on hard questions about as often as on easy ones, as a model's are not: "
                  f"person fit lz = {fits[index]:.1f}, {abs(z):.1f} robust SDs below the rows of nearest accuracy "
                  "(the pattern of the public key pasted over part of the answers)")
        return [Finding(KEY_FIT, held, reason if held else "", {"lz": round(float(fits[index]), 3),
                                                               "robust_z": round(z, 3),
                                                               "accuracy": round(float(accuracy[index]), 4)},
                        evidence)]

    def _hard_right(self, index: int) -> tuple[str, ...]:
        """The hardest questions (fewest other rows right) this row got right: what a reader checks first."""
        others = self._others(index)
        rate = self.right[others].sum(axis=0) / np.maximum(self.seen[others].sum(axis=0), 1)
        chosen = np.flatnonzero(self.right[index])
        chosen = chosen[np.argsort(rate[chosen], kind="stable")][:EVIDENCE]
        return tuple(self.questions.mcq_ids[j] for j in chosen)

    def _accuracy(self) -> np.ndarray:
        return self.right.sum(axis=1) / np.maximum(self.seen.sum(axis=1), 1)

    def disputed_rates(self, suspects: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the share of the questions the *other* rows dispute that it answers with the key, and how
        many such questions it answered. A question is disputed when most of the stronger half of the rows
        (this row left out) agree on one letter that is not the key, or when the item analysis marks it
        suspect. Leaving the row out of the dispute is what makes the shares comparable: honest rows are
        read the same way (computed once)."""
        if self._disputed is None:
            accuracy = self._accuracy()
            stronger = accuracy >= np.median(accuracy) if len(self.rows) else np.zeros(0, dtype=bool)
            key, columns = self.questions.key, np.arange(len(self.questions.key))
            votes = np.stack([((self.letters == letter) & stronger[:, None]).sum(axis=0)
                              for letter in range(len(LETTERS))])
            suspects = np.zeros(len(columns), dtype=bool) if suspects is None else suspects
            rates, counts = np.full(len(self.rows), np.nan), np.zeros(len(self.rows), dtype=int)
            for index in range(len(self.rows)):
                mine = votes.copy()
                if stronger[index]:
                    chose = self.letters[index] >= 0
                    mine[self.letters[index, chose], columns[chose]] -= 1
                size = int(stronger.sum()) - int(stronger[index])
                disputed = ((mine.argmax(axis=0) != key) & (mine.max(axis=0) >= DISPUTE * size)) | suspects
                disputed &= self.seen[index]
                counts[index] = int(disputed.sum())
                if counts[index]:
                    rates[index] = float(self.right[index, disputed].mean())
            self._disputed = (rates, counts)
        return self._disputed

    def _key_disputed(self, index: int, suspects: np.ndarray | None) -> list[Finding]:
        rates, counts = self.disputed_rates(suspects)
        if counts[index] < MIN_DISPUTED:
            return []
        accuracy = self._accuracy()
        others = np.flatnonzero(self._others(index) & (counts >= MIN_DISPUTED))
        if others.size < MIN_ROWS // 2:
            return []
        # The usual share rises with accuracy: a robust (Theil-Sen) line through the other rows, read at this row's.
        slope, intercept, *_ = scipy_stats.theilslopes(rates[others], accuracy[others])
        residuals = rates[others] - (intercept + slope * accuracy[others])
        usual = float(intercept + slope * accuracy[index] + np.median(residuals))
        z = robust_z(float(rates[index]) - usual, residuals - np.median(residuals), floor=0.02)
        excess = float(rates[index]) - usual
        held = z > DISPUTED_Z and excess >= DISPUTED_SHARE
        reason = (f"answers with the public key {rates[index]:.0%} of the {counts[index]} questions whose key the other "
                  f"rows dispute, where a row of its accuracy does {usual:.0%} of the time ({z:.1f} robust SDs above): "
                  "a model that picks the true option gets a mis-keyed question wrong, a copied key gets it right")
        return [Finding(KEY_DISPUTED, held, reason if held else "",
                        {"rate": round(float(rates[index]), 4), "usual": round(usual, 4), "z": round(z, 3),
                         "disputed": int(counts[index])}, self._disputed_right(index, suspects) if held else ())]

    def _disputed_right(self, index: int, suspects: np.ndarray | None) -> tuple[str, ...]:
        """The disputed questions (this row left out of the dispute) it answered with the key: the evidence."""
        accuracy = self._accuracy()
        others = self._others(index) & (accuracy >= np.median(accuracy))
        votes = np.stack([(self.letters[others] == letter).sum(axis=0) for letter in range(len(LETTERS))])
        disputed = (votes.argmax(axis=0) != self.questions.key) & (votes.max(axis=0) >= DISPUTE * others.sum())
        if suspects is not None:
            disputed |= suspects
        return tuple(self.questions.mcq_ids[j] for j in np.flatnonzero(disputed & self.right[index])[:EVIDENCE])

    def _references(self, index: int) -> list[Finding]:
        row = self.rows[index]
        eligible, copied = 0, []
        for item_id, (answer, description) in self.questions.references.items():
            reference_words = _words(answer)
            text = row.open.get(item_id)
            if len(reference_words) < REFERENCE_WORDS and len(_words(description)) < DESCRIPTION_RUN:
                continue
            eligible += 1
            if text and reproduces(text, answer, description):
                copied.append(item_id)
        if not eligible:
            return []
        share = len(copied) / eligible
        held = len(copied) >= max(REFERENCE_MIN, REFERENCE_SHARE * eligible)
        reason = (f"{len(copied)} of its {eligible} open answers that could be checked reproduce their reference "
                  "answer or description word for word (the public references pasted as answers)")
        return [Finding(REFERENCES, held, reason if held else "", {"reproduced": len(copied), "eligible": eligible,
                                                                  "share": round(share, 4)},
                        tuple(copied[:EVIDENCE]))] if copied else []

    def _related(self, index: int, source: int) -> str:
        """Why two rows may agree honestly ("" when nothing says so): the same submitter, or declared."""
        row, other = self.rows[index], self.rows[source]
        if row.submitter and row.submitter == other.submitter:
            return "the same submitter's earlier row"
        declared = {name.casefold() for name in row.related}
        if other.id.casefold() in declared or other.model.casefold() in declared:
            return "declared related by its submitter"
        return ""

    def _copied_row(self, index: int, source: int) -> list[Finding]:
        findings = [f for f in (self._row_mcq(index, source), self._row_open(index, source)) if f is not None]
        related = self._related(index, source)
        if related:
            return [Finding(f.check, False, f"noted, not held ({related}): {f.reason}", f.statistics, f.items,
                            f.source) for f in findings]
        return findings

    def _row_mcq(self, index: int, source: int) -> Finding | None:
        """Agreement on the earlier row's wrong answers beyond chance (the K-index's question)."""
        key = self.questions.key
        mine, theirs = self.letters[index], self.letters[source]
        wrong = np.flatnonzero((theirs >= 0) & (theirs != key))
        if wrong.size < MIN_SHARED_WRONG:
            return None
        counts = self._letter_counts()[:, wrong].copy()  # the other rows' letters: all rows but these two
        columns = np.arange(wrong.size)
        for row in (index, source):
            mine_here = self.letters[row, wrong]
            counts[np.maximum(mine_here, 0), columns] -= mine_here >= 0
        wrong_counts = counts.sum(axis=0) - counts[key[wrong], columns]
        popularity = (counts[theirs[wrong], columns] + 1.0) / (wrong_counts + len(LETTERS) - 1.0)
        p_wrong = 1.0 - self._p_right(index)[wrong]
        p = np.clip(p_wrong * popularity, 1e-6, 1 - 1e-6)
        matches = mine[wrong] == theirs[wrong]
        observed, expected = int(matches.sum()), float(p.sum())
        z = (observed - expected) / math.sqrt(float((p * (1 - p)).sum()))
        share = (observed - expected) / max(wrong.size - expected, 1.0)
        if z <= ROW_Z or share < ROW_SHARE:
            return None
        other = self.rows[source]
        reason = (f"gives the same wrong letter as {other.model} ({other.id}, an earlier row) on {observed} of the "
                  f"{wrong.size} questions that row got wrong, where {expected:.1f} would agree by chance (z = {z:.1f}; "
                  f"about {max(share, 0):.0%} of its answers copied)")
        items = tuple(self.questions.mcq_ids[j] for j in wrong[matches][:EVIDENCE])
        return Finding(ROW_MCQ, True, reason, {"matches": observed, "expected": round(expected, 3), "z": round(z, 3),
                                               "share": round(share, 4), "their_wrong": int(wrong.size)},
                       items, other.id)

    def _letter_counts(self) -> np.ndarray:
        """How many rows chose each letter, per question (letters x questions; computed once)."""
        if self._counts is None:
            self._counts = np.stack([(self.letters == letter).sum(axis=0) for letter in range(len(LETTERS))])
        return self._counts

    def _p_right(self, index: int) -> np.ndarray:
        """P(right) per question for row `index` under the model fitted to the other rows (cached)."""
        if index not in self._p_cache:
            self._p_cache[index] = _probabilities(self.right[index].astype(float), self.seen[index],
                                                  self._beta(index), self.questions.dimension)
        return self._p_cache[index]

    def _row_open(self, index: int, source: int) -> Finding | None:
        mine, theirs = self.rows[index].open, self.rows[source].open
        comparable, same = 0, []
        for item_id, text in mine.items():
            other = theirs.get(item_id)
            if other is None or len(text) < OPEN_MIN_CHARS or len(other) < OPEN_MIN_CHARS:
                continue
            comparable += 1
            if shingle_similarity(text, other) >= OPEN_SIMILAR:
                same.append(item_id)
        share = len(same) / max(comparable, 1)
        if len(same) < OPEN_MIN or share < OPEN_SHARE:
            return None
        other = self.rows[source]
        reason = (f"{len(same)} of its {comparable} comparable open answers are near-identical to those of "
                  f"{other.model} ({other.id}, an earlier row)")
        return Finding(ROW_OPEN, True, reason, {"identical": len(same), "comparable": comparable,
                                                "share": round(share, 4)}, tuple(same[:EVIDENCE]), other.id)


# -- text ------------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def reproduces(answer: str, reference: str, description: str) -> bool:
    """Whether `answer` reproduces a reference answer of REFERENCE_WORDS words or more (nearly all its words,
    in order, within a span not much longer than it), or DESCRIPTION_RUN words running of the description."""
    words = _words(answer)
    target = _words(reference)
    if len(target) >= REFERENCE_WORDS:
        matcher = difflib.SequenceMatcher(None, words, target, autojunk=False)
        blocks = [block for block in matcher.get_matching_blocks() if block.size]
        matched = sum(block.size for block in blocks)
        if blocks and matched >= 0.8 * len(target):
            span = blocks[-1].a + blocks[-1].size - blocks[0].a
            if span <= 1.5 * len(target):
                return True
    described = _words(description)
    if len(described) >= DESCRIPTION_RUN:
        matcher = difflib.SequenceMatcher(None, words, described, autojunk=False)
        if matcher.find_longest_match(0, len(words), 0, len(described)).size >= DESCRIPTION_RUN:
            return True
    return False


def _shingles(text: str, size: int = 5) -> set[str]:
    flat = " ".join(_words(text))
    return {flat[i:i + size] for i in range(max(len(flat) - size + 1, 1))}


def shingle_similarity(a: str, b: str) -> float:
    """Jaccard similarity of two texts' character 5-grams (case, spacing and punctuation ignored)."""
    first, second = _shingles(a), _shingles(b)
    union = len(first | second)
    return len(first & second) / union if union else 0.0
