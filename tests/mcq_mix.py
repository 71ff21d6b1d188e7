"""A realistic mix of MCQ outputs, each labelled with the letter a careful reader sees in it (or none).

What vision-language models answer to the paper's MCQ prompt, in the proportions a leaderboard
receives them: mostly the bare letter, then explicit answers, long reasoning that discusses other
options by letter before committing, markdown, the option's text instead of its letter, several
letters mentioned, other languages, refusals, reasoning blocks, chat-template leaks, LaTeX. Every
style knows what it commits to; an output that names no single choice (a refusal, a hedge, a
trace cut off before its answer, two letters) is labelled None, and a letter read there is wrong.

The options are drawn from medical terms, including ones that open like a choice letter
("E. coli sepsis", "B-cell lymphoma", "Type A aortic dissection", "Vitamin D deficiency").
Used by tests/test_mcq_mix.py and bench/bench_extract.py.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

LETTERS = "ABCDE"

TERMS = [
    "Pneumonia", "Pleural effusion", "Pneumothorax", "Pulmonary edema", "Atelectasis", "Lung abscess",
    "Pulmonary embolism", "Sarcoidosis", "Tuberculosis", "Lung adenocarcinoma", "Mesothelioma",
    "Aspiration pneumonia", "Bronchiectasis", "Emphysema", "Interstitial lung disease", "Normal study",
    "Acute appendicitis", "Diverticulitis", "Small bowel obstruction", "Crohn disease", "Ulcerative colitis",
    "Hepatocellular carcinoma", "Liver cirrhosis", "Hepatic hemangioma", "Cholecystitis", "Pancreatitis",
    "Renal cell carcinoma", "Angiomyolipoma", "Hydronephrosis", "Renal cyst", "Kidney stone",
    "Glioblastoma", "Meningioma", "Ischemic stroke", "Intracerebral hemorrhage", "Subdural hematoma",
    "Multiple sclerosis", "Brain abscess", "Pituitary adenoma", "Acoustic neuroma", "Hydrocephalus",
    "Osteosarcoma", "Ewing sarcoma", "Osteomyelitis", "Stress fracture", "Rheumatoid arthritis",
    "Osteoarthritis", "Gout", "Meniscal tear", "Rotator cuff tear", "Fibroadenoma", "Invasive ductal carcinoma",
    "Breast cyst", "Papillary thyroid carcinoma", "Thyroid nodule", "Diabetic retinopathy", "Glaucoma",
    "Retinal detachment", "Macular degeneration", "Retinitis pigmentosa", "Aortic dissection",
    "Abdominal aortic aneurysm", "Cardiomegaly", "Pericardial effusion", "Myocardial infarction",
    "E. coli sepsis", "C. difficile colitis", "B-cell lymphoma", "T-cell lymphoma", "Type A aortic dissection",
    "Vitamin D deficiency", "Hepatitis B infection", "Grade C esophagitis", "Stage D heart failure",
    "A-line artifact", "Increased", "Decreased", "Unchanged", "Left", "Right", "Both sides",
]
# Words of reasoning, as long outputs ramble through them.
FINDINGS = [
    "The image shows a well-defined opacity with smooth margins.",
    "There is no evidence of an air-fluid level.",
    "The surrounding tissue appears preserved, without significant mass effect.",
    "Signal intensity is heterogeneous on the provided sequence.",
    "The distribution of the abnormality is asymmetric.",
    "Clinical context matters here, and the history suggests an acute process.",
    "Enhancement is seen at the periphery of the lesion.",
    "Adjacent structures are displaced rather than invaded.",
    "The cortical outline is intact and there is no periosteal reaction.",
    "Comparison with the contralateral side helps to confirm the asymmetry.",
]
REFUSALS = [
    "I'm sorry, but I can't help with interpreting this medical image.",
    "I cannot provide a medical diagnosis. Please consult a qualified radiologist.",
    "As an AI, I am unable to interpret medical images with certainty.",
    "I'm unable to determine the answer from the image provided.",
    "Sorry, I can't identify the finding in this image. A specialist should review it.",
]


@dataclass(frozen=True)
class MixCase:
    """One model output, the question's options, and the letter a careful reader sees (None: no choice)."""

    style: str
    output: str
    options: list[str]
    expected: str | None


@dataclass(frozen=True)
class _Draw:
    """What one style gets to write with: the chosen letter and text, another letter and its text."""

    letter: str
    text: str
    other: str
    other_text: str
    third: str
    rng: random.Random

    def reasoning(self, sentences: int) -> str:
        return " ".join(self.rng.sample(FINDINGS, min(sentences, len(FINDINGS))))


def _long_reasoning(d: _Draw) -> str:
    body = "\n\n".join([
        f"Let me analyze the image step by step. {d.reasoning(3)}",
        f"Option {d.other} ({d.other_text}) would usually show a different pattern, so it is less likely. "
        f"Option {d.third} does not fit the distribution either. {d.reasoning(2)}",
        f"Option {d.letter} ({d.text}) explains the findings best."])
    return body + f"\n\nTherefore, the answer is {d.letter}."


def _chain_of_thought(d: _Draw, options: list[str]) -> str:
    """A reasoning model's long walk through every option before it commits (1,500-2,500 characters)."""
    steps = [f"Step 1: describe the image. {d.reasoning(4)}", f"Step 2: weigh each option. {d.reasoning(2)}"]
    for letter, text in zip(LETTERS, options):
        verdict = ("this matches the findings" if letter == d.letter else
                   "this would look different, so it is unlikely")
        steps.append(f"- Option {letter} ({text}): {d.reasoning(2)} Overall, {verdict}.")
    steps.append(f"Step 3: conclude. {d.reasoning(2)} The findings are best explained by {d.text.lower()}.")
    return "\n\n".join(steps) + f"\n\nFinal answer: {d.letter}"


def _markdown_reasoning(d: _Draw) -> str:
    rows = "\n".join(f"- **{x})** {'consistent' if x == d.letter else 'not consistent'} with the image"
                     for x in sorted({d.letter, d.other, d.third}))
    return f"## Analysis\n{d.reasoning(2)}\n\n{rows}\n\n**Final answer: {d.letter}**"


def _think(d: _Draw) -> str:
    return (f"<think>\nThe question asks for the most likely finding. Could it be {d.other}? {d.reasoning(2)} "
            f"Maybe {d.other_text.lower()}... no, {d.text.lower()} fits better.\n</think>\n\n{d.letter}")


def _think_cut(d: _Draw) -> str:
    return f"<think>\nFirst, {d.reasoning(3)} Option {d.other} seems possible, but let me check option"


def _several(d: _Draw) -> str:
    first, second = sorted({d.other, d.third})
    return f"{first} and {second} are unlikely given the findings; {d.letter} fits. Answer: {d.letter}"


def _hedge(d: _Draw) -> str:
    first, second = sorted({d.letter, d.other})
    return f"The answer is either {first} or {second}; the image alone cannot separate them."


# (style, weight, writer, commits): `commits` False means the output names no single choice.
STYLES: list[tuple[str, int, Callable[[_Draw], str], bool]] = [
    ("letter", 300, lambda d: d.letter, True),
    ("letter-dot", 60, lambda d: f"{d.letter}.", True),
    ("letter-text", 90, lambda d: f"{d.letter}. {d.text}", True),
    ("paren-letter-text", 40, lambda d: f"({d.letter}) {d.text}", True),
    ("letter-paren-text", 40, lambda d: f"{d.letter}) {d.text}", True),
    ("answer-colon", 80, lambda d: f"Answer: {d.letter}", True),
    ("answer-paren", 30, lambda d: f"Answer: ({d.letter})", True),
    ("answer-is", 50, lambda d: f"The answer is {d.letter}.", True),
    ("correct-answer", 40, lambda d: f"The correct answer is {d.letter}. {d.text}", True),
    ("bold-answer", 30, lambda d: f"**Answer:** {d.letter}", True),
    ("bold-letter-text", 30, lambda d: f"**{d.letter}. {d.text}**", True),
    ("boxed", 20, lambda d: f"The final answer is $\\boxed{{{d.letter}}}$.", True),
    ("json", 10, lambda d: f'{{"answer": "{d.letter}"}}', True),
    ("long-reasoning", 60, _long_reasoning, True),
    ("chain-of-thought", 30, None, True),
    ("reasoning-then-answer", 40,
     lambda d: f"Reasoning: {d.reasoning(3)}\nAnswer: {d.letter}) {d.text}", True),
    ("markdown-reasoning", 30, _markdown_reasoning, True),
    ("option-text", 30, lambda d: d.text, True),
    ("diagnosis-sentence", 20, lambda d: f"The most likely diagnosis is {d.text.lower()}.", True),
    ("several-letters", 20, _several, True),
    ("not-this-but", 10, lambda d: f"It is not ({d.other}); the findings point to ({d.letter}).", True),
    ("chinese", 15, lambda d: f"答案：{d.letter}", True),
    ("chinese-sentence", 10, lambda d: f"根据图像所见，正确答案是{d.letter}。", True),
    ("spanish", 8, lambda d: f"La respuesta correcta es {d.letter}.", True),
    ("french", 8, lambda d: f"La bonne réponse est {d.letter}.", True),
    ("german", 8, lambda d: f"Die richtige Antwort ist {d.letter}.", True),
    ("fullwidth", 5, lambda d: "（" + chr(ord("Ａ") + LETTERS.index(d.letter)) + "）", True),
    ("think", 25, _think, True),
    ("chat-template", 15, lambda d: f"<|im_start|>assistant\n{d.letter}<|im_end|>", True),
    ("i-choose", 10, lambda d: f"Based on the findings, I would choose {d.letter}.", True),
    ("lowercase", 10, lambda d: f"the answer is ({d.letter.lower()})", True),
    ("refusal", 25, lambda d: d.rng.choice(REFUSALS), False),
    ("hedge", 10, _hedge, False),
    ("think-cut-off", 10, _think_cut, False),
    ("two-letters", 10, lambda d: f"{min(d.letter, d.other)}, {max(d.letter, d.other)}", False),
    ("empty", 5, lambda d: "", False),
    ("tool-failure", 5, lambda d: "Failed to obtain answer via API.", False),
]


def _options(rng: random.Random) -> list[str]:
    return rng.sample(TERMS, len(LETTERS))


def realistic_mix(n: int = 16_655, seed: int = 0) -> list[MixCase]:
    """`n` labelled outputs in the styles' proportions, deterministic for a seed."""
    rng = random.Random(seed)
    names = [style for style, weight, _, _ in STYLES for _ in range(weight)]
    writers = {style: (write, commits) for style, _, write, commits in STYLES}
    cases = []
    for _ in range(n):
        options = _options(rng)
        letter, other, third = rng.sample(LETTERS, 3)
        style = rng.choice(names)
        write, commits = writers[style]
        draw = _Draw(letter, options[LETTERS.index(letter)], other, options[LETTERS.index(other)], third, rng)
        output = _chain_of_thought(draw, options) if style == "chain-of-thought" else write(draw)
        cases.append(MixCase(style, output, options, letter if commits else None))
    return cases
