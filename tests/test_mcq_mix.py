"""The realistic mix of MCQ outputs (tests/mcq_mix.py) reads as a careful reader reads it: no wrong letter."""
from __future__ import annotations

from collections import Counter

import pytest

from judge.answers import normalise_answer
from judge.extract import extract_choice
from tests.mcq_mix import STYLES, MixCase, realistic_mix


def read(case: MixCase) -> str | None:
    """What scoring reads: the output normalised, then its letter extracted."""
    answer = normalise_answer(case.output)
    return None if answer.not_answered else extract_choice(answer.text, case.options)


MIX = realistic_mix(16_655)
BY_STYLE = {style: [case for case in MIX if case.style == style][:5] for style, *_ in STYLES}


@pytest.mark.parametrize("style", sorted(BY_STYLE))
def test_each_style_reads_as_a_reader_reads_it(style: str) -> None:
    cases = BY_STYLE[style]
    assert cases, f"the mix has no {style} output"
    assert [(case.output, read(case)) for case in cases] == [(case.output, case.expected) for case in cases]


def test_the_full_mix_has_no_wrong_letter_and_reads_almost_all() -> None:
    got = [read(case) for case in MIX]
    wrong = Counter(case.style for letter, case in zip(got, MIX) if letter is not None and letter != case.expected)
    unread = Counter(case.style for letter, case in zip(got, MIX) if letter is None and case.expected is not None)
    assert not wrong, f"wrong letters by style: {dict(wrong)}"
    assert sum(unread.values()) <= len(MIX) // 100, f"unread by style: {dict(unread)}"


def test_the_mix_is_realistic_in_size_and_variety() -> None:
    """The bench's claim rests on the mix: full size, every style present, answers spread over A-E."""
    assert len(MIX) == 16_655
    assert {case.style for case in MIX} == {style for style, *_ in STYLES}
    expected = Counter(case.expected for case in MIX)
    assert set(expected) == {"A", "B", "C", "D", "E", None}
    assert min(expected[letter] for letter in "ABCDE") > len(MIX) // 7
    long = [case for case in MIX if len(case.output) > 400]
    assert len(long) > len(MIX) // 20
