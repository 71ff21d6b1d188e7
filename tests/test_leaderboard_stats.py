"""Which differences are real: McNemar, sign test, bootstrap, the compare view and rank bands."""
from __future__ import annotations

import math
import random
from fractions import Fraction
from statistics import NormalDist

import pytest

from core.results import ItemResult, ItemStatus
from judge.report import wilson_ci
from leaderboard import board, stats
from leaderboard.service import PAPER_CSV


def test_mcnemar_matches_the_binomial_tail_worked_by_hand() -> None:
    # b=10, c=2: 12 discordant pairs, p = 2·(C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2·79/4096
    assert stats.mcnemar_exact(10, 2) == pytest.approx(2 * (1 + 12 + 66) / 4096, rel=1e-12)
    assert stats.mcnemar_exact(10, 2) == pytest.approx(0.0386, abs=1e-4)
    assert stats.mcnemar_exact(2, 10) == stats.mcnemar_exact(10, 2)
    assert stats.mcnemar_exact(0, 6) == pytest.approx(2 / 64)  # all six discordant pairs one way


@pytest.mark.parametrize("b, c", [(0, 0), (7, 7), (3, 4), (5000, 5000)])
def test_mcnemar_is_one_when_the_discordant_pairs_split_evenly(b: int, c: int) -> None:
    assert stats.mcnemar_exact(b, c) == 1.0


def test_mcnemar_agrees_with_the_upper_tail_computed_independently() -> None:
    # P(X <= k) = P(X >= n - k) for Bin(n, 1/2): sum the other tail in exact fractions
    b, c = 131, 89
    n = b + c
    upper = sum(Fraction(math.comb(n, i), 2 ** n) for i in range(b, n + 1))
    assert stats.mcnemar_exact(b, c) == pytest.approx(float(2 * upper), rel=1e-12)


def test_mcnemar_at_20000_discordant_pairs_matches_the_normal_approximation() -> None:
    b, c = 10_150, 9_850
    z = (abs(b - c) - 1) / math.sqrt(b + c)  # continuity-corrected normal approximation
    approx = 2 * (1 - NormalDist().cdf(z))
    exact = stats.mcnemar_exact(b, c)
    assert 0.02 < exact < 0.05
    assert exact == pytest.approx(approx, rel=0.02)
    assert stats.mcnemar_exact(20_000, 0) == 0.0  # 2/2^20000 is below the float range, not an error


@pytest.mark.parametrize("b, c", [(-1, 3), (2.5, 1), (True, 0)])
def test_mcnemar_rejects_counts_that_are_not_counts(b: object, c: object) -> None:
    with pytest.raises(ValueError, match="non-negative int"):
        stats.mcnemar_exact(b, c)


def test_sign_test_drops_ties_and_counts_signs_only() -> None:
    # six positive, one negative, two ties dropped: p = 2·(C(7,0) + C(7,1)) / 2^7 = 0.125
    assert stats.sign_test([5, 3, -60, 0, 0.0, 8, 1, 4, 0.5]) == pytest.approx(0.125)
    assert stats.sign_test([0, 0, 0]) == 1.0
    with pytest.raises(ValueError, match="difference 2"):
        stats.sign_test([1.0, float("nan")])


def test_paired_bootstrap_is_seeded_and_covers_the_true_difference() -> None:
    rng = random.Random(7)
    b = [rng.uniform(20, 80) for _ in range(1500)]
    a = [x + 2.0 + rng.gauss(0, 10) for x in b]  # A is 2 points better, noisily
    mean, low, high = stats.paired_bootstrap(a, b, seed=3)
    assert mean == pytest.approx(sum(x - y for x, y in zip(a, b)) / len(a))
    assert 0 < low < 2.0 < high
    assert high - low == pytest.approx(2 * 1.96 * 10 / math.sqrt(1500), rel=0.15)
    assert stats.paired_bootstrap(a, b, seed=3) == (mean, low, high)
    assert stats.paired_bootstrap(a, b, seed=4)[1:] != (low, high)
    with pytest.raises(ValueError, match="must be paired"):
        stats.paired_bootstrap(a, b[:-1])


def mcq(item_id: str, dimension: str, correct: bool) -> ItemResult:
    return ItemResult(id=item_id, question_type="mcq", dimension=dimension, status=ItemStatus.ANSWERED,
                      extracted="A" if correct else "B", answer="A", correct=correct)


def open_item(item_id: str, score: float | None) -> ItemResult:
    return ItemResult(id=item_id, question_type="open", dimension="causal",
                      status=ItemStatus.JUDGED if score is not None else ItemStatus.FAILED, score=score)


def hand_lists() -> tuple[list[ItemResult], list[ItemResult]]:
    """12 shared MCQs (6 spatial only A right; temporal 3 both right, 3 both wrong) and 25 shared open."""
    a = [mcq(f"s{i}", "spatial", True) for i in range(6)]
    b = [mcq(f"s{i}", "spatial", False) for i in range(6)]
    for i in range(6):
        a.append(mcq(f"t{i}", "temporal", i < 3))
        b.append(mcq(f"t{i}", "temporal", i < 3))
    a.append(mcq("only-a", "temporal", True))
    for i in range(24):
        a.append(open_item(f"o{i}", 70.0 + i % 3))
        b.append(open_item(f"o{i}", 60.0 + i % 5 if i != 5 else 40.0))
    a.append(open_item("o-failed", None))
    b.append(open_item("o-failed", 55.0))
    return a, b


def test_compare_counts_agreement_and_says_when_mcq_is_significant() -> None:
    a, b = hand_lists()
    result = stats.compare(a, b, name_a="GPT-5", name_b="Lingshu-7B")
    m = result.mcq
    assert (m.n, m.both_right, m.only_a, m.only_b, m.both_wrong) == (12, 3, 6, 0, 3)
    assert (m.accuracy_a, m.accuracy_b, m.diff) == (75.0, 25.0, 50.0)
    assert m.p == pytest.approx(2 / 64)
    assert m.sentence == ("GPT-5 is ahead of Lingshu-7B on MCQ by 50.0 points (p = 0.031, 12 shared "
                          "questions): significant at 95%.")
    assert list(m.by_dimension) == ["spatial", "temporal"]
    spatial = m.by_dimension["spatial"]
    assert (spatial.n, spatial.only_a, spatial.only_b, spatial.diff) == (6, 6, 0, 100.0)
    assert spatial.p == pytest.approx(2 / 64) and spatial.significant
    assert m.by_dimension["temporal"].p == 1.0 and not m.by_dimension["temporal"].significant
    assert m.disagree_ids == [f"s{i}" for i in range(6)]
    assert (result.shared, result.only_in_a, result.only_in_b) == (37, 1, 0)


def test_compare_open_pairs_only_items_scored_for_both() -> None:
    a, b = hand_lists()
    o = stats.compare(a, b, name_a="GPT-5", name_b="Lingshu-7B").open
    assert (o.n, o.paired, o.unscored) == (25, 24, 1)
    assert o.mean_diff == pytest.approx(o.mean_a - o.mean_b)
    assert o.ci95[0] > 0 and o.significant
    assert o.p == pytest.approx(2 / 2 ** 24)  # A scores higher on all 24 pairs
    assert o.sentence.startswith(f"GPT-5 is ahead of Lingshu-7B on Open by {o.mean_diff:.1f} points (95% CI ")
    assert o.sentence.endswith("): significant at 95%.")
    assert o.disagree_ids == ["o5"]  # 70 vs 40; every other pair differs by under 20


def test_compare_names_the_leader_and_says_when_the_board_cannot_tell() -> None:
    a = [mcq("q1", "causal", True), mcq("q2", "causal", False), mcq("q3", "causal", False),
         mcq("q4", "causal", True)]
    b = [mcq("q1", "causal", False), mcq("q2", "causal", True), mcq("q3", "causal", True),
         mcq("q4", "causal", True)]
    b += [open_item(f"o{i}", 50.0 + (i % 7) * 5) for i in range(40)]
    a += [open_item(f"o{i}", 50.0 + (i % 5) * 7) for i in range(40)]
    result = stats.compare(a, b, name_a="Model-X", name_b="Model-Y")
    assert result.mcq.sentence == ("Model-Y is ahead of Model-X on MCQ by 25.0 points (p = 1.000, "
                                   "4 shared questions): not significant at 95%: the board cannot "
                                   "tell them apart.")
    o = result.open
    assert o.ci95[0] < 0 < o.ci95[1] and not o.significant
    assert o.sentence.endswith("not significant at 95%: the board cannot tell them apart.")


def test_compare_declines_with_too_few_open_pairs_and_handles_none() -> None:
    a = [open_item(f"o{i}", 90.0) for i in range(5)]
    b = [open_item(f"o{i}", 10.0) for i in range(5)]
    o = stats.compare(a, b).open
    assert not o.significant and o.ci95 == [80.0, 80.0]
    assert o.sentence == ("Only 5 open answers are scored for both A and B: too few (under 20) "
                          "to tell them apart on Open.")
    empty = stats.compare([], [])
    assert empty.mcq.sentence == "A and B share no scored MCQ: nothing to compare on MCQ."
    assert empty.open.sentence == "No open answer is scored for both A and B: nothing to compare on Open."


def test_compare_keeps_the_given_dimension_order() -> None:
    a, b = hand_lists()
    dims = stats.compare(a, b, order=["temporal", "causal", "spatial"]).mcq.by_dimension
    assert list(dims) == ["temporal", "spatial"]  # "causal" has no MCQ here


@pytest.mark.parametrize("bad, message", [
    ({"id": "q1", "question_type": "mcq", "correct": "yes"}, r"items_b record 2 \(id 'q1'\): field 'correct'"),
    ({"id": "q0", "question_type": "mcq", "correct": True}, r"items_b record 2 \(id 'q0'\): field 'id' repeats"),
    ({"id": "q1", "question_type": "open", "score": 140}, r"items_b record 2 \(id 'q1'\): field 'score'"),
    ({"id": "q1", "question_type": "essay"}, r"items_b record 2 \(id 'q1'\): field 'question_type'"),
    ({"question_type": "mcq", "correct": True}, r"items_b record 2: field 'id'"),
])
def test_compare_names_the_record_and_field_of_bad_input(bad: dict, message: str) -> None:
    good = [mcq("q0", "causal", True)]
    with pytest.raises(ValueError, match=message):
        stats.compare(good, [mcq("q0", "causal", True), ItemResult(**{"id": None, "status": ItemStatus.ANSWERED, **bad})])


def test_compare_refuses_submissions_from_different_releases() -> None:
    with pytest.raises(ValueError, match="'q0' is 'mcq' in items_a but 'open' in items_b"):
        stats.compare([mcq("q0", "causal", True)], [open_item("q0", 50.0)])


def test_overlapping_intervals_share_a_band_and_separated_ones_do_not() -> None:
    assert stats.rank_bands([(60.0, 58.0, 62.0), (59.0, 57.0, 61.0)]) == [(1, 2), (1, 2)]
    assert stats.rank_bands([(50.0, 48.0, 52.0), (60.0, 58.0, 62.0)]) == [(2, 2), (1, 1)]
    assert stats.rank_bands([(60.0, 58.0, 60.0), (58.0, 56.0, 58.0)]) == [(1, 2), (1, 2)]  # touching overlaps


def test_a_chain_of_overlaps_gives_nested_bands() -> None:
    # A overlaps B, B overlaps C, A and C are separated
    bands = stats.rank_bands([(9.0, 8.0, 10.0), (7.0, 6.0, 8.5), (5.0, 4.0, 7.0)])
    assert bands == [(1, 2), (1, 3), (2, 3)]
    assert [stats.band_label(*band) for band in bands] == ["1–2", "1–3", "2–3"]
    assert stats.band_label(3, 3) == "3"


def test_bands_order_separated_rows_and_let_overlapping_rows_share_a_rank() -> None:
    rng = random.Random(5)
    rows = []
    for _ in range(150):
        score, half = rng.uniform(20, 80), rng.choice([0.5, 2.0, 8.0, 30.0])
        rows.append((score, score - half, score + half))
    bands = stats.rank_bands(rows)
    for (_, low_i, high_i), (best_i, worst_i) in zip(rows, bands):
        for (_, low_j, high_j), (best_j, worst_j) in zip(rows, bands):
            if low_i > high_j:  # i is certainly ahead of j
                assert best_i < best_j and worst_i < worst_j
            elif low_j <= high_i:  # overlap: some rank is in both bands
                assert max(best_i, best_j) <= min(worst_i, worst_j)


def test_rows_without_an_interval_get_no_band_and_do_not_count() -> None:
    nan = math.nan
    bands = stats.rank_bands([(nan, nan, nan), (50.0, 48.0, 52.0), (30.0, nan, nan)])
    assert bands == [None, (1, 1), None]
    with pytest.raises(ValueError, match="row 1 has low above high"):
        stats.rank_bands([(5.0, 6.0, 4.0)])


def test_wilson_interval_is_newcombes_worked_example() -> None:
    """Newcombe (1998), Statistics in Medicine 17:857, example: 81 of 263, Wilson score 0.2553 to 0.3662."""
    low, high = stats.wilson_interval(100 * 81 / 263, 263)
    assert (round(low / 100, 4), round(high / 100, 4)) == (0.2553, 0.3662)
    assert stats.wilson_interval(0.0, 20)[0] == 0.0 and stats.wilson_interval(100.0, 20)[1] == 100.0


def test_the_boards_interval_is_the_results_documents() -> None:
    """The board (scipy) and the judge's results document (its own formula) give one interval to a row."""
    for correct, n in ((9628, 16655), (0, 20), (20, 20), (1, 3), (7_000, 16_655)):
        accuracy = round(100 * correct / n, 4)  # as the results document stores it
        assert list(stats.wilson_interval(accuracy, n)) == pytest.approx(wilson_ci(correct, n), abs=1e-4)
    assert all(math.isnan(v) for v in stats.wilson_interval(math.nan, stats.PAPER_MCQ_N))
    with pytest.raises(ValueError, match="n must be a positive"):
        stats.wilson_interval(50.0, 0)


def test_the_bootstrap_of_two_values_is_the_textbook_distribution() -> None:
    """Resampling [1, 3]: means 1, 2, 3 with chances 1/4, 1/2, 1/4, so the 95% percentile interval is 1 to 3."""
    assert stats.paired_bootstrap([1.0, 3.0], [0.0, 0.0], resamples=4000) == (2.0, 1.0, 3.0)
    assert stats.paired_bootstrap([5.0], [2.0]) == (3.0, 3.0, 3.0)  # one pair: nothing to resample


def test_spearman_of_the_audit_is_the_textbook_value() -> None:
    """The IQ and television hours example of Spearman's rho (Wikipedia's worked example): -29/165."""
    from judge.audit import spearman

    iq = [106, 100, 86, 101, 99, 103, 97, 113, 112, 110]
    hours = [7, 27, 2, 50, 28, 29, 20, 12, 6, 17]
    assert spearman(iq, hours) == pytest.approx(-29 / 165, abs=1e-12)


def test_paper_rows_get_mcq_bands_from_their_published_accuracy() -> None:
    paper = board.rank(board.paper_frame(PAPER_CSV))
    bands = stats.rank_bands([(m, *stats.wilson_interval(m, stats.PAPER_MCQ_N)) for m in paper["MCQ"]])
    labels = dict(zip(paper["Model"], (stats.band_label(*band) for band in bands)))
    assert labels["GPT-5"] == "1"  # 57.81% is eight points clear of the next model
    assert labels["Gemini-2.5-Pro"] == labels["Qwen3-VL-235B-A22B"] == "2–3"  # 49.87% vs 49.34%
    assert labels["MedGemma-4B"] == "18"
