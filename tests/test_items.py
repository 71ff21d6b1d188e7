"""Item analysis on data where the answer is known: planted wrong keys are found, sound questions rarely flagged."""
from __future__ import annotations

import random

import numpy as np
import pytest

from leaderboard.items import FDR, MIN_SUBMISSIONS, analyse, items_csv

LETTERS = "ABCDE"


def simulated(n_questions: int, n_models: int, wrong_keys: set[int], seed: int,
              pull: float = 0.0) -> dict[str, dict[str, bool]]:
    """Models of abilities from weak to strong answer a build whose key is wrong on `wrong_keys`: a model
    picks the true answer with its ability, else (with `pull`) the plausible wrong option, else a random other
    letter; right means equal to the key. A wrong key is the plausible wrong option."""
    rng = random.Random(seed)
    truth = [rng.choice(LETTERS) for _ in range(n_questions)]
    plausible = [rng.choice([x for x in LETTERS if x != t]) for t in truth]
    key = [plausible[q] if q in wrong_keys else t for q, t in enumerate(truth)]
    responses = {}
    for model in range(n_models):
        ability = 0.25 + 0.7 * model / max(n_models - 1, 1)
        answers = {}
        for q in range(n_questions):
            easiness = 0.15 * ((q % 7) - 3) / 3  # some questions easier, some harder
            if rng.random() < min(0.98, max(0.02, ability + easiness)):
                chosen = truth[q]
            else:
                chosen = plausible[q] if rng.random() < pull else rng.choice([x for x in LETTERS if x != truth[q]])
            answers[f"mcq-{q}"] = chosen == key[q]
        responses[f"sub-{model}"] = answers
    return responses


def test_difficulty_and_discrimination_match_a_hand_computation() -> None:
    responses = {"a": {"q1": True, "q2": True, "q3": False}, "b": {"q1": True, "q2": False, "q3": False},
                 "c": {"q1": False, "q2": False, "q3": True}, "d": {"q1": True, "q2": True, "q3": True}}
    stats = {item.id: item for item in analyse(responses)}
    assert stats["q1"].difficulty == pytest.approx(0.75) and stats["q1"].n == 4
    right = [1, 1, 0, 1]
    rest = [(1 + 0) / 2, (0 + 0) / 2, (0 + 1) / 2, (1 + 1) / 2]  # accuracy on q2, q3
    assert stats["q1"].discrimination == pytest.approx(float(np.corrcoef(right, rest)[0, 1]))
    assert not any(item.suspect for item in stats.values())  # too few submissions to call anything


@pytest.mark.parametrize("models", [20, 30, 60, 100])
def test_planted_wrong_keys_are_flagged_with_a_stated_false_discovery_rate(models: int) -> None:
    """20 wrong keys among 400 questions (weak models pick the plausible wrong option the key names): at every
    number of submissions at most one flagged question in twenty is sound; with 100 submissions nearly every
    wrong key is found (with 20, only the most blatant: the evidence per question is thin)."""
    planted = set(range(0, 400, 20))
    stats = analyse(simulated(400, models, planted, seed=models, pull=1.0))
    flagged = {int(item.id.split("-")[1]) for item in stats if item.suspect}
    assert len(flagged - planted) <= max(1, FDR * len(flagged))
    assert all(item.rule == "negative discrimination" and item.q_value <= FDR for item in stats if item.suspect)
    assert all(not item.suspect and item.rule == "" for item in stats if item.q_value > FDR)
    if models >= 100:
        assert len(flagged & planted) >= 0.9 * len(planted)


def test_a_clean_build_flags_almost_nothing_at_any_size() -> None:
    """No wrong key: under the null the procedure flags anything at all in at most FDR of builds."""
    false = [sum(item.suspect for item in analyse(simulated(400, models, set(), seed=seed)))
             for models in (20, 30, 45) for seed in range(4)]
    assert sum(count > 0 for count in false) <= 1 and max(false) <= 2


def test_a_question_nobody_gets_right_is_not_suspect_by_itself_and_the_download_lists_suspects() -> None:
    """Nobody right is a hard question, not evidence of a wrong key; the download lists the suspects."""
    responses = simulated(50, MIN_SUBMISSIONS + 2, {11}, seed=3)
    for answers in responses.values():
        answers["mcq-7"] = False
    stats = analyse(responses)
    [nobody] = [item for item in stats if item.id == "mcq-7"]
    assert not nobody.suspect and nobody.difficulty == 0.0 and nobody.rule == ""
    text = items_csv(stats, {"mcq-11": {"answer": "C", "question": "Which lobe?"}}, suspects_only=True).decode()
    assert text.splitlines()[0] == "id,n,difficulty,discrimination,suspect,rule,answer,question"
    assert sum(1 for line in text.splitlines()[1:] if line) == sum(item.suspect for item in stats)
    if any(item.suspect for item in stats):
        assert "mcq-11" in text and "Which lobe?" in text


def test_the_board_finds_a_question_strong_models_get_wrong(tmp_path, built_dataset, questions) -> None:
    """Submissions through the real store and scorer: on one question the key is the plausible wrong option,
    so weak models pick it and strong ones pick the right one (another letter); the item analysis flags it."""
    import json

    from core.settings import Settings
    from leaderboard.explore import ExploreError, Explorer
    from leaderboard.intake import SubmissionMeta
    from leaderboard.service import Leaderboard

    mcqs = [q for q in questions if q["question_type"] == "mcq"]
    broken = mcqs[3]["id"]
    board = Leaderboard(tmp_path / "home", built_dataset, Settings(rate_limit=(1000, 3600.0)))
    board.start()
    try:
        rng = random.Random(5)
        for model in range(24):
            ability = 0.2 + 0.75 * model / 23
            lines = []
            for question in mcqs:
                key = question["answer"].strip().upper()
                wrong = [x for x in LETTERS if x != key]
                if question["id"] == broken:  # the key is wrong: weak models pick it, strong ones the true option
                    letter = wrong[0] if rng.random() < min(1.0, max(0.0, 2 * ability - 0.6)) else key
                else:
                    letter = key if rng.random() < ability else rng.choice(wrong)
                lines.append(json.dumps({"id": question["id"], "prediction": f"Answer: {letter}"}))
            path = tmp_path / f"m{model}.jsonl"
            path.write_text("\n".join(lines) + "\n")
            board.submit(path, SubmissionMeta(model=f"Model-{model}"), f"lab-{model}")
        assert board.wait_idle(120)
        stats = {item.id: item for item in board.item_analysis()}
        explorer = Explorer(board, tmp_path / "explore-files")
        strongest = board.status()[0]["id"]  # Model-23, sent last
        suspects = explorer.page(strongest, suspect_only=True)
        by_discrimination = explorer.page(strongest, order="discrimination")["rows"]
        by_difficulty = explorer.page(strongest, order="difficulty", status=["correct", "wrong"])["rows"]
        with pytest.raises(ExploreError, match="Order by one of question, difficulty, discrimination"):
            explorer.page(strongest, order="random")
    finally:
        board.stop()
    assert set(stats) == {q["id"] for q in mcqs} and stats[broken].n == 24
    assert stats[broken].suspect and stats[broken].rule == "negative discrimination" and stats[broken].q_value <= 0.05
    assert sum(item.suspect for item in stats.values()) <= 2  # the sample's 20 other questions: at most a stray one
    # Explore: the suspects alone, or every question ordered by its statistics, each row carrying them.
    assert {row["id"] for row in suspects["rows"]} == {i for i, item in stats.items() if item.suspect} >= {broken}
    assert by_discrimination[0]["id"] == min(stats, key=lambda i: stats[i].discrimination)
    assert by_discrimination[0]["discrimination"] == round(stats[by_discrimination[0]["id"]].discrimination, 3) < 0
    assert [row["difficulty"] for row in by_difficulty] == sorted(row["difficulty"] for row in by_difficulty)
    assert all(row["difficulty"] is None for row in by_discrimination if row["format"] == "open")  # MCQ only
