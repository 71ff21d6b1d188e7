"""The MCQ extraction cascade on realistic model outputs: what a reader would say the model chose."""
from __future__ import annotations

import pytest

from judge import extract_choice

OPTIONS = ["Pneumonia", "Pleural effusion", "Pneumothorax", "Normal study", "Aspiration pneumonia"]

CASES = [
    # the whole output is a letter
    ("C", "C"),
    ("c", "C"),
    (" B\n", "B"),
    ("(D)", "D"),
    ("[E]", "E"),
    ("A.", "A"),
    ("A", "A"),
    ("b)", "B"),
    ("**C**", "C"),
    ("`B`", "B"),
    ("Ｃ", "C"),
    ("（Ｄ）", "D"),
    ("C) Pneumothorax", "C"),
    ("B. Pleural effusion", "B"),
    ("E: Aspiration pneumonia", "E"),
    ("$\\boxed{B}$", "B"),
    # explicit answers, the last one wins
    ("Answer: C", "C"),
    ("Answer: C) Pneumothorax", "C"),
    ("ANSWER: d", "D"),
    ("answer: b", "B"),
    ("The answer is B.", "B"),
    ("The correct answer is (E).", "E"),
    ("The correct answer is: **A. Pneumonia**", "A"),
    ("**Answer:** C", "C"),
    ("### Final Answer\nThe answer is D", "D"),
    ("Final answer: Option B", "B"),
    ("Answer - E", "E"),
    ("The best option is C because the lung edge is visible.", "C"),
    ("I would choose B.", "B"),
    ("I'll go with option D.", "D"),
    ("Option C is correct: there is a visible pleural line.", "C"),
    ("Answer: A", "A"),
    ("The answer is A.", "A"),
    ("Answer: A, lobar consolidation is present.", "A"),
    ("Looking at the image, the answer is probably A. Wait, the costophrenic angle is blunted. "
     "Answer: B", "B"),
    ("Final Answer: $\\boxed{\\text{E}}$", "E"),
    ("答案：C", "C"),
    ("答案是Ｂ", "B"),
    ('{"answer": "D"}', "D"),
    ("Reasoning: the right lung is collapsed with no lung markings.\nAnswer: C", "C"),
    ("Answer: (b)", "B"),
    ("The answer is e.", "E"),
    # reasoning traces
    ("<think>Maybe A, since there is consolidation. But the angle is blunted...</think>\nB", "B"),
    ("<think>The answer is A.</think>\n\nAnswer: D", "D"),
    ("Thinking about it carefully.</think>Answer: E", "E"),
    ("<think>The answer is A because of consolidation, but I should check the", None),
    ("<THINK>hmm</THINK> c", "C"),
    # bold and bracketed letters
    ("After reviewing the findings, I select **D** as the most consistent option.", "D"),
    ("Findings suggest (C) over the alternatives.", "C"),
    ("It is not (A), so it must be (B).", "B"),
    # first line is the letter, then an explanation
    ("B\n\nThe blunted costophrenic angle indicates fluid.", "B"),
    ("D.\nNo acute abnormality is seen.", "D"),
    ("B) Pleural effusion\n\nExplanation: the costophrenic angle is blunted.", "B"),
    ("C, because the visceral pleural line is visible and there are no lung markings beyond it.", "C"),
    ("Answer:\nC", "C"),
    ("Correct option: D", "D"),
    ("The final answer is $\\boxed{C}$.", "C"),
    ("**Final answer: B**", "B"),
    ("B is the answer.", "B"),
    ("Neither A nor B; the answer is C.", "C"),
    ("Option B.", "B"),
    ("A, C", None),
    ("(B)(C)", None),
    ("Answer: (A), (B)", None),
    ("Based on the image, the most likely diagnosis is pleural effusion (B).", "B"),
    ("So the answer should be B rather than A.", "B"),
    ("Both B and C are possible, but B is more likely.", "B"),
    ("The correct choice is E - aspiration pneumonia.", "E"),
    ("It's C.", "C"),
    # letters inside medical terms
    ("Type A aortic dissection is seen.", None),
    ("Grade C lesion.", None),
    ("The findings suggest vitamin D deficiency.", None),
    ("Consistent with hepatitis B infection", None),
    # a lone letter among the last words
    ("Based on the lung markings, I pick D", "D"),
    ("The findings are most consistent with choice E.", "E"),
    ("Given the meniscus sign, B is my choice", "B"),
    # the English article "A" and the pronoun "I" are not choices
    ("A mass is seen in the right upper lobe.", None),
    ("A small fluid collection is present", None),
    ("The answer is a mass in the left lung.", None),
    ("I think this is a difficult case.", None),
    ("There is a lesion in the liver.", None),
    # option text on short outputs
    ("Pneumothorax", "C"),
    ("pleural effusion.", "B"),
    ("The image shows a pneumothorax.", "C"),
    ("Aspiration pneumonia", "E"),
    ("The diagnosis is aspiration pneumonia.", "E"),
    ("Pneumonia", "A"),
    ("Not pneumonia, probably something else.", None),
    ("Pneumonia or pleural effusion", None),
    # several answers, refusals, format failures, empty
    ("Answer: A and C", None),
    ("B, D", None),
    ("Answer: B/C", None),
    ("AB", None),
    ("I'm sorry, but I cannot determine the diagnosis from this image.", None),
    ("I cannot provide a medical diagnosis. Please consult a radiologist.", None),
    ("As an AI, I am unable to interpret medical images.", None),
    ("I can't be certain, but the answer is B.", "B"),
    ("/S", None),
    ("", None),
    ("   \n ", None),
    (None, None),
    ("F", None),
    ("Answer: F", None),
    ("The answer is unclear.", None),
    ("e.g. pneumonia or effusion could be considered", None),
    ("Options A and B are both plausible.", None),
    # other languages, markdown analyses and hedges, as in tests/mcq_mix.py
    ("La respuesta correcta es D.", "D"),
    ("La bonne réponse est C.", "C"),
    ("Die richtige Antwort ist E.", "E"),
    ("根据图像所见，正确答案是B。", "B"),
    ("## Analysis\nThe margins are smooth.\n\n- **A)** not consistent\n- **C)** consistent\n- **E)** not "
     "consistent\n\n**Final answer: C**", "C"),
    ("Option A (Pneumonia) would show air bronchograms, so it is less likely. Option E does not fit either.\n\n"
     "Option B (Pleural effusion) explains the findings best.\n\nTherefore, the answer is B.", "B"),
    ("A and D are unlikely given the findings; C fits. Answer: C", "C"),
    ("The answer is either B or D; the image alone cannot separate them.", None),
    ("<think>\nFirst, the margins are smooth. Option A seems possible, but let me check option", None),
    ("Considering the image carefully, there is increased opacity in the left lower zone with an air "
     "bronchogram, which would fit a number of conditions, including pneumonia and aspiration, and I am "
     "not confident enough to decide between them without more history.", None),
]


@pytest.mark.parametrize("output, expected", CASES)
def test_extracts_the_choice_a_reader_would_see(output: str | None, expected: str | None) -> None:
    assert extract_choice(output, OPTIONS) == expected


def test_the_table_is_large_and_covers_every_letter_and_no_answer() -> None:
    expected = [e for _, e in CASES]
    assert len(CASES) >= 60
    assert set("ABCDE") <= set(expected) and None in expected



def test_option_texts_that_open_like_a_letter_are_read_as_text() -> None:
    options = ["Viral gastroenteritis", "C. difficile colitis", "E. coli sepsis", "Ischemic colitis", "Crohn disease"]
    assert extract_choice("C. difficile colitis", options) == "B"
    assert extract_choice("E. coli sepsis.", options) == "C"
    assert extract_choice("C. Ischemic colitis", options) == "C"
    assert extract_choice("Answer: B) C. difficile colitis", options) == "B"
    assert extract_choice("Answer: E. coli sepsis", options) == "C"
    assert extract_choice("The answer is C. difficile colitis.", options) == "B"
    assert extract_choice("E. coli sepsis is the most likely diagnosis", options) == "C"
    assert extract_choice("Answer: E. Crohn disease", options) == "E"
    lymphomas = ["Hodgkin lymphoma", "T-cell lymphoma", "Burkitt lymphoma", "B-cell lymphoma", "Metastasis"]
    assert extract_choice("Answer: B-cell lymphoma", lymphomas) == "D"
    assert extract_choice("Answer: B) T-cell lymphoma", lymphomas) == "B"


# Outputs that open with (or contain) a genus abbreviation or a term that begins with an option letter.
MICROBES = ["Staphylococcus aureus", "Streptococcus pneumoniae", "Klebsiella pneumoniae", "Pseudomonas aeruginosa",
            "Mycobacterium tuberculosis"]
TERM_CASES = [
    ("E. coli is the most common cause of this picture, but here the answer is B.", "B"),
    ("C. difficile colitis is unlikely here. Answer: D", "D"),
    ("E. coli sepsis was considered.\nAnswer: A", "A"),
    ("H. pylori is unrelated; the answer is C.", "C"),
    ("S. aureus can cause cavities, but the answer is (E).", "E"),
    ("D. immitis can cause a coin lesion; final answer: C", "C"),
    ("A. fumigatus colonisation is possible. I choose E", "E"),
    ("B. anthracis causes mediastinal widening, so the answer is D", "D"),
    ("C. neoformans is rare here.\n\n**D**", "D"),
    ("E. faecalis would not give this; the correct option is A.", "A"),
    ("A. baumannii\nThe answer is B", "B"),
    ("B. pertussis is excluded.\nFinal answer: Option C", "C"),
    ("The answer is E. coli", None),
    ("Answer: C. diff colitis", None),
    ("C. diff colitis", None),
    ("E. coli", None),
    ("D. immitis", None),
    ("Most consistent with B. anthracis", None),
    ("Likely organism: A. fumigatus", None),
    ("I would choose E. coli as the organism.", None),
    ("E. coli pneumonia is seen.", "A"),  # the output names option A's text
    ("C. pneumothorax", "C"),  # lower-case option text after a choice letter stays that choice
    ("Answer: B. pleural effusion", "B"),
    ("B. because the costophrenic angle is blunted", "B"),
    ("C. the visceral pleural line is visible.", "C"),
    ("B-cell lymphoma is possible, but the answer is C.", "C"),
    ("C-reactive protein is high; answer is A", "A"),
    ("A-line placement is unrelated.\nAnswer: D", "D"),
    ("E-cadherin loss is not relevant. Answer: C", "C"),
    ("D-dimer is elevated. The answer is (B).", "B"),
    ("B-cell lymphoma", None),
    ("C-reactive protein is elevated.", None),
    ("A-line in place.", None),
    ("E-cadherin negative.", None),
    ("D-dimer raised", None),
]


@pytest.mark.parametrize("output, expected", TERM_CASES)
def test_genus_abbreviations_and_letter_terms_are_not_choices(output: str, expected: str | None) -> None:
    assert extract_choice(output, OPTIONS) == expected


def test_genus_abbreviations_among_microbe_options() -> None:
    assert extract_choice("S. aureus is the answer? No: the answer is D", MICROBES) == "D"
    assert extract_choice("E. coli is not listed; answer: A", MICROBES) == "A"
    assert extract_choice("C. difficile would not cause cavitation.\nAnswer: E", MICROBES) == "E"
    assert extract_choice("E. Mycobacterium tuberculosis", MICROBES) == "E"
    assert extract_choice("D. aeruginosa", MICROBES) is None  # not option D's own text: no guess
    assert extract_choice("E. coli", MICROBES) is None


def test_no_wrong_letter_anywhere_in_the_corpus() -> None:
    """A wrong letter is worse than no letter: count them over every case in this file."""
    corpus = [(output, OPTIONS, expected) for output, expected in CASES + TERM_CASES]
    wrong = [output for output, options, expected in corpus
             if (got := extract_choice(output, options)) is not None and got != expected]
    assert len(corpus) >= 140 and wrong == []
