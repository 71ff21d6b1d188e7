"""Simulated MCQ answers of models of every ability, honest, related and copied: the calibration bed of
the integrity checks (`leaderboard.integrity`) and the item analysis (`leaderboard.items`).

A model knows a question with a probability that rises with its ability in the question's dimension
(a 2PL item response: difficulty, discrimination), shifted by what its family happens to know and by
its own quirks; when it does not know, it picks an option by how tempting each is (distractors are not
equally attractive, and a family shares its taste). A share of questions is mis-keyed: the key is the
most tempting wrong option, so a model that knows the truth gets it "wrong".

Related honest rows agree more than chance: two sizes of one family share the family's knowledge and
taste; a fine-tune keeps most of its base model's quirks; a rerun with other settings is the same model
answering again, a share of its answers redrawn. Copies paste the public key, or another row's answers,
over a share of a model's own answers (and change a few at random, as a copier hiding the copy would).

`bench/bench_integrity.py` reads the held rates off these; the tests submit such rows to the real Space.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.vocabulary import LETTERS

OPTIONS = len(LETTERS)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Build:
    """A simulated build: per question its truth, key, dimension, difficulty, discrimination and how
    tempting each option is to a model that does not know."""

    truth: np.ndarray
    key: np.ndarray
    dimension: np.ndarray
    difficulty: np.ndarray
    discrimination: np.ndarray
    temptation: np.ndarray  # questions x options, rows sum to 1

    @classmethod
    def make(cls, questions: int, rng: np.random.Generator, *, miskeyed: float = 0.02,
             dimensions: int = 7) -> "Build":
        truth = rng.integers(0, OPTIONS, questions)
        temptation = rng.dirichlet(np.full(OPTIONS, 1.2), questions)
        wrong = temptation.copy()
        wrong[np.arange(questions), truth] = 0.0
        key = truth.copy()
        chosen = rng.random(questions) < miskeyed
        key[chosen] = wrong[chosen].argmax(axis=1)
        return cls(truth, key, rng.integers(0, dimensions, questions), rng.normal(0.0, 1.3, questions),
                   np.exp(rng.normal(0.0, 0.3, questions)), temptation)

    @property
    def size(self) -> int:
        return len(self.key)

    @property
    def miskeyed(self) -> np.ndarray:
        return self.key != self.truth


@dataclass
class Family:
    """What models of one family share: knowledge beyond their ability, and a taste among options."""

    knowledge: np.ndarray
    taste: np.ndarray

    @classmethod
    def make(cls, build: Build, rng: np.random.Generator, spread: float = 0.6) -> "Family":
        taste = 0.5 * build.temptation + 0.5 * rng.dirichlet(np.full(OPTIONS, 2.0), build.size)
        return cls(rng.normal(0.0, spread, build.size), taste)


@dataclass
class Model:
    """One model: its ability per dimension, its family and its own quirks per question."""

    ability: np.ndarray
    family: Family
    quirks: np.ndarray

    @classmethod
    def make(cls, build: Build, rng: np.random.Generator, ability: float, family: Family | None = None,
             *, quirks: float = 0.6, dimensions: float = 0.35) -> "Model":
        spread = rng.normal(0.0, dimensions, int(build.dimension.max()) + 1)
        return cls(ability + spread, family or Family.make(build, rng), rng.normal(0.0, quirks, build.size))

    def fine_tune(self, build: Build, rng: np.random.Generator, gain: float = 0.5, kept: float = 0.7) -> "Model":
        """The same family and most of the base model's quirks, a little stronger."""
        quirks = kept * self.quirks + np.sqrt(1 - kept ** 2) * rng.normal(0.0, 0.6, build.size)
        return Model(self.ability + gain, self.family, quirks)

    def answer(self, build: Build, rng: np.random.Generator) -> np.ndarray:
        """A letter index per question."""
        knows = rng.random(build.size) < _logistic(build.discrimination * (self.ability[build.dimension]
                                                                            - build.difficulty)
                                                   + self.family.knowledge + self.quirks)
        guess = (self.family.taste.cumsum(axis=1) < rng.random(build.size)[:, None]).sum(axis=1)
        return np.where(knows, build.truth, np.minimum(guess, OPTIONS - 1))


def rerun(answers: np.ndarray, model: Model, build: Build, rng: np.random.Generator,
          redrawn: float = 0.15) -> np.ndarray:
    """The same model asked again with other settings: a share of its answers drawn afresh."""
    again = model.answer(build, rng)
    return np.where(rng.random(build.size) < redrawn, again, answers)


def paste(answers: np.ndarray, source: np.ndarray, share: float, rng: np.random.Generator,
          changed: float = 0.0) -> np.ndarray:
    """`source` pasted over a `share` of `answers`, then a `changed` share of all letters set at random."""
    copied = np.where(rng.random(answers.size) < share, source, answers)
    noise = rng.random(answers.size) < changed
    return np.where(noise, rng.integers(0, OPTIONS, answers.size), copied)


def abilities(count: int, rng: np.random.Generator) -> np.ndarray:
    """Abilities of `count` models spread from chance (about 25% right) to expert (about 90%)."""
    return rng.uniform(-3.0, 3.0, count)
