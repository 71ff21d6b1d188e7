"""Scores that were earned: copies of the key, of the references or of another row are held, honest rows are not.

Simulated models of every ability, in families, answer a 1,400-MCQ release through the real store and the
real worker lanes (tests/population.py); copies are assembled as an attacker would: the public key pasted
over part of a model's own answers, another row's answers reworded, shuffled and 5% changed, the reference
answers pasted as open answers. Honest look-alikes (a declared fine-tune answering much like its base, the
same submitter's rerun) are noted, never held.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import medcmr
from core.settings import Settings
from leaderboard.integrity import (KEY_DISPUTED, KEY_FIT, REFERENCES, ROW_MCQ, ROW_OPEN, Answers, Population,
                                   Questions, reproduces, shingle_similarity)
from leaderboard.intake import SubmissionError, SubmissionMeta
from leaderboard.service import Leaderboard
from leaderboard.simulate import Family, Model, paste, rerun
from release.built import load_questions
from tests.population import own_words, simulated_build, write_release, write_row

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def population_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("population")
    data_dir = folder / "medcmr"
    medcmr.build(write_release(folder / "dataset.zip"), data_dir)
    return data_dir


@pytest.fixture(scope="module")
def scored(population_build: Path, tmp_path_factory: pytest.TempPathFactory):
    """22 honest rows in families of two, then the copies and the look-alikes, scored by a real board."""
    folder = tmp_path_factory.mktemp("rows")
    questions = load_questions(population_build)
    ids, build = simulated_build(questions)
    rng = np.random.default_rng(11)
    board = Leaderboard(folder / "home", population_build, Settings(rate_limit=(1000, 3600.0)))
    board.start()
    families = [Family.make(build, rng) for _ in range(11)]
    models, letters, made = [], [], {}

    def send(name: str, submitter: str, answers: np.ndarray, open_answers: dict[str, str], **meta) -> str:
        path = write_row(folder / f"{name}.jsonl", ids, answers, open_answers, seed=len(made),
                         shuffle=meta.pop("shuffle", False))
        made[name] = board.submit(path, SubmissionMeta(model=name, **meta), submitter)["id"]
        return made[name]

    try:
        for index, ability in enumerate(np.linspace(-2.8, 2.8, 22)):
            model = Model.make(build, rng, float(ability), families[index // 2])
            models.append(model)
            letters.append(model.answer(build, rng))
            send(f"Honest-{index}", f"lab-{index}", letters[-1], own_words(questions, index))
        assert board.wait_idle(240)
        own = Model.make(build, rng, 0.0).answer(build, rng)
        send("Key-Copy", "mallory", paste(own, build.key, 0.6, rng), own_words(questions, 100))
        send("Row-Copy", "trudy", paste(own, letters[5], 1.0, rng, changed=0.05), own_words(questions, 101),
             shuffle=True)
        references = {q["id"]: q["answer"] for q in questions if q["question_type"] == "open"}
        send("Reference-Copy", "eve", Model.make(build, rng, 0.5).answer(build, rng), references)
        send("Honest-7-tuned", "lab-x", rerun(letters[7], models[7], build, rng), own_words(questions, 102),
             related_to="Honest-7", relation="fine-tune")
        send("Honest-9-t0.7", "lab-9", rerun(letters[9], models[9], build, rng), own_words(questions, 103))
        send("Unrelated-Strong", "lab-y", Model.make(build, rng, 2.5).answer(build, rng), own_words(questions, 104))
        assert board.wait_idle(240)
        yield board, made, {row["id"]: row for row in board.status()}
    finally:
        board.stop()


def test_honest_rows_of_every_ability_are_never_held(scored) -> None:
    _, made, status = scored
    honest = [made[f"Honest-{i}"] for i in range(22)] + [made["Unrelated-Strong"]]
    assert [status[i]["integrity"] for i in honest if status[i]["integrity"] == "held"] == []


def test_a_pasted_key_is_held_with_its_evidence(scored) -> None:
    board, made, status = scored
    row = status[made["Key-Copy"]]
    assert row["integrity"] == "held" and "public key" in row["integrity_reason"]
    held = [finding for finding in board.findings(made["Key-Copy"]) if finding.held]
    assert {finding.check for finding in held} & {KEY_FIT, KEY_DISPUTED} and all(f.items for f in held)
    board_row = board.board().set_index("Id").loc[made["Key-Copy"]]
    assert "held: " in board_row["Unranked"] and board_row["Rank"] != board_row["Rank"]  # unranked (NaN)


def test_a_reworded_shuffled_copy_of_another_row_is_held_and_the_earlier_row_named(scored) -> None:
    board, made, status = scored
    row = status[made["Row-Copy"]]
    assert row["integrity"] == "held"
    [finding] = [f for f in board.findings(made["Row-Copy"]) if f.check == ROW_MCQ]
    assert finding.held and finding.source == made["Honest-5"] and "Honest-5" in finding.reason
    assert finding.statistics["share"] > 0.8 and len(finding.items) > 0
    assert status[made["Honest-5"]]["integrity"] != "held"  # the earlier row is the source, not the copy


def test_pasted_reference_answers_are_held(scored) -> None:
    board, made, status = scored
    assert status[made["Reference-Copy"]]["integrity"] == "held"
    [finding] = [f for f in board.findings(made["Reference-Copy"]) if f.check == REFERENCES]
    assert finding.statistics["reproduced"] == finding.statistics["eligible"] == 24


def test_declared_and_own_reruns_are_noted_not_held(scored) -> None:
    board, made, status = scored
    for name, because in (("Honest-7-tuned", "declared related"), ("Honest-9-t0.7", "same submitter")):
        row = status[made[name]]
        assert row["integrity"] == "noted" and because in row["integrity_reason"], (name, row)
        assert all(not f.held for f in board.findings(made[name]))


def test_the_operator_clears_a_held_row_from_the_command_line(scored) -> None:
    board, made, _ = scored
    done = subprocess.run([sys.executable, "-m", "space.moderate", "--home", str(board.home), "clear",
                           made["Reference-Copy"]], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [row] = board.status(made["Reference-Copy"])
    assert row["integrity"] == "cleared"
    assert "held" not in board.board().set_index("Id").loc[made["Reference-Copy"]]["Unranked"]


def test_a_relation_must_name_a_row_on_the_board(scored, tmp_path: Path, population_build: Path) -> None:
    board, _, _ = scored
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"id": "mcq-0", "prediction": "A"}) + "\n")
    with pytest.raises(SubmissionError, match="no submission id or model on the board"):
        board.submit(path, SubmissionMeta(model="Tuned", related_to="Nobody-7B", relation="fine-tune"), "zed")
    with pytest.raises(SubmissionError, match="Relation: choose"):
        board.submit(path, SubmissionMeta(model="Tuned", related_to="Honest-3", relation="cousin"), "zed")


# -- the statistics on their own ------------------------------------------------------------------------

def test_reproducing_a_reference_is_told_from_saying_the_same_in_other_words() -> None:
    reference = "Clearing of the consolidation, which can lag clinical recovery by weeks."
    description = "Dense consolidation of the right lower lobe with air bronchograms and no effusion."
    assert reproduces("Answer: Clearing of the consolidation, which can lag clinical recovery by weeks.",
                      reference, description)
    assert reproduces("Reasoning: dense consolidation of the right lower lobe with air bronchograms. Answer: pneumonia",
                      "pneumonia", description)
    assert not reproduces("Reasoning: the opacity should resolve, though imaging lags the clinical course.\n"
                          "Answer: resolution of the consolidation over weeks", reference, description)
    assert not reproduces("Answer: The humerus.", "The humerus.", "Coronal T1 image of the shoulder.")  # too short


def test_near_identical_answers_are_told_from_different_ones() -> None:
    a = "Reasoning: a homogeneous opacity with a meniscus at the left base.\nAnswer: left pleural effusion"
    assert shingle_similarity(a, a.replace("Reasoning", "REASONING").replace("\n", "  ")) == 1.0
    assert shingle_similarity(a, "Reasoning: the left costophrenic angle is blunted by fluid.\nAnswer: effusion") < 0.5


def test_a_row_with_fewer_other_rows_than_needed_is_read_only_for_copies() -> None:
    questions = Questions(tuple(f"mcq-{i}" for i in range(300)), np.zeros(300, dtype=np.int8),
                          np.zeros(300, dtype=np.int16))
    rows = [Answers(f"sub-{i}", f"M{i}", f"u{i}", np.random.default_rng(i).integers(0, 5, 300).astype(np.int8))
            for i in range(5)]
    copy = Answers("sub-x", "Copy", "mallory", rows[2].letters.copy())
    findings = Population(questions, [*rows, copy]).check(5)
    assert {f.check for f in findings} == {ROW_MCQ} and findings[0].held and findings[0].source == "sub-2"
    assert all(f.check != KEY_FIT for f in findings)


def test_open_answers_copied_from_another_row_are_held() -> None:
    questions = Questions((), np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int16))
    texts = {f"open-{i}": f"Reasoning: finding {i} seen on the CT at the right base, probably benign.\nAnswer: x{i}"
             for i in range(10)}
    other = {key: f"Reasoning: a different model says {i} in its own words entirely here.\nAnswer: y{i}"
             for i, key in enumerate(texts)}
    rows = [Answers("sub-1", "A", "alice", np.zeros(0, dtype=np.int8), texts),
            Answers("sub-2", "B", "bob", np.zeros(0, dtype=np.int8), other),
            Answers("sub-3", "C", "carol", np.zeros(0, dtype=np.int8), dict(texts))]
    findings = Population(questions, rows).check(2)
    assert [(f.check, f.held, f.source) for f in findings] == [(ROW_OPEN, True, "sub-1")]
    assert Population(questions, rows).check(1) == []
