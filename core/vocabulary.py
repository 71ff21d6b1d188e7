"""The benchmark's facts, stated once: dimensions, medical-intelligence classes, criteria and their
weights, option letters, the paper's prompts and figures. Configs, the card, the board's columns,
plots, the About text and the order of every breakdown are derived from here."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

LETTERS = "ABCDE"
QUESTION_TYPES = ("mcq", "open")
PERCEPTION, REASONING = "perception", "reasoning"


@dataclass(frozen=True)
class Dimension:
    """One of the seven dimensions, under every name it goes by."""

    release_name: str  # the release's `task` value
    slug: str          # config and results key
    abbr: str          # the paper's abbreviation, the board's column
    group: str         # the paper's split: perception (visual) or reasoning

    @property
    def name(self) -> str:
        return self.release_name


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("Small-object Detection", "small_object", "SOD", PERCEPTION),
    Dimension("Fine-detail Discrimination", "fine_detail", "FDD", PERCEPTION),
    Dimension("Spatial Understanding", "spatial", "SU", PERCEPTION),
    Dimension("Temporal Prediction", "temporal", "TP", REASONING),
    Dimension("Causal Reasoning", "causal", "CR", REASONING),
    Dimension("Long-tail Generalization", "long_tail", "LTG", REASONING),
    Dimension("Multi-source Integration", "multi_source", "MSI", REASONING),
)
DIMENSION_BY_TASK = {d.release_name: d for d in DIMENSIONS}
DIMENSION_BY_SLUG = {d.slug: d for d in DIMENSIONS}
SLUGS = tuple(d.slug for d in DIMENSIONS)


@dataclass(frozen=True)
class MedicalIntelligenceClass:
    """A class of the paper's medical-intelligence taxonomy (Table 3)."""

    name: str
    abbr: str


MEDICAL_INTELLIGENCE: tuple[MedicalIntelligenceClass, ...] = (
    MedicalIntelligenceClass("clinical decision support", "CDS"),
    MedicalIntelligenceClass("diagnosis", "DX"),
    MedicalIntelligenceClass("pathophysiologic analysis", "PA"),
    MedicalIntelligenceClass("procedural risk assessment", "PRA"),
    MedicalIntelligenceClass("staging and extent evaluation", "SEE"),
    MedicalIntelligenceClass("treatment response evaluation", "TRE"),
)


@dataclass(frozen=True)
class Criterion:
    """One of the open-ended judge's four criteria and its weight in S."""

    key: str
    abbr: str
    name: str
    weight: int


CRITERIA: tuple[Criterion, ...] = (
    Criterion("consistency", "Con", "Consistency", 1),
    Criterion("coherence", "Coh", "Coherence", 1),
    Criterion("visual_accuracy", "VA", "Visual Accuracy", 4),
    Criterion("ground_truth", "GT", "Ground-truth correctness", 4),
)
CRITERION_KEYS = tuple(c.key for c in CRITERIA)
WEIGHTS = {c.key: c.weight for c in CRITERIA}


def weighted_score(criteria: dict[str, float]) -> float:
    """The paper's S = (Con + Coh + 4·VA + 4·GT) / 10, on 0-100."""
    return sum(WEIGHTS[key] * criteria[key] for key in CRITERION_KEYS) / sum(WEIGHTS.values())


# The fields of a question that results break down by, in the order reports show them.
BREAKDOWNS = {"by_dimension": "dimension", "by_medical_intelligence": "medical_intelligence",
              "by_modality": "modality", "by_organ_system": "organ_system"}
TAXONOMY_FIELDS = tuple(field for field in BREAKDOWNS.values() if field != "dimension")

# --------------------------------------------------------------------------- the paper's prompts
PROMPT_VERSION = "med-cmr-paper-2025-12"
_PROMPT_HEAD = ("Please carefully observe this medical image and answer the following question:\n\n"
                "Question: {question}\n\n")
MCQ_PROMPT = (_PROMPT_HEAD + "Options:\n" + "".join(f"{letter}) {{{letter}}}\n" for letter in LETTERS)
              + "\nAnswer only with the option letter (A\u2013E).")
OPEN_PROMPT = (_PROMPT_HEAD + "Think step by step, integrating both visual features and medical knowledge "
               "to reach your conclusion. Then provide the final answer to the question in one short "
               "sentence or a single medical term.\n\nOutput format (Must follow strictly):\n"
               "Reasoning: <visual and diagnostic reasoning process>\nAnswer: <final answer to the question>")


def format_prompt(row: dict) -> str:
    """The paper's prompt for one row (`question_type`, `question`, `options`)."""
    if row["question_type"] == "mcq":
        return MCQ_PROMPT.format(question=row["question"], **dict(zip(LETTERS, row["options"])))
    return OPEN_PROMPT.format(question=row["question"])


# --------------------------------------------------------------------------- configs
def config_name(slug: str | None = None, question_type: str | None = None) -> str:
    """Config name of a (dimension, format) selection: all, mcq, long_tail, long_tail_mcq..."""
    return "_".join(part for part in (slug, question_type) if part) or "all"


def configs(counts: Counter) -> dict[str, dict]:
    """Every config that has rows -> its rows and (dimension, format) parts; `all` first."""
    selections = [(None, None), *((None, kind) for kind in QUESTION_TYPES)]
    for slug in SLUGS:
        selections += [(slug, None), *((slug, kind) for kind in QUESTION_TYPES)]
    result = {}
    for slug, kind in selections:
        parts = [(s, k) for s in SLUGS for k in QUESTION_TYPES
                 if slug in (None, s) and kind in (None, k) and counts[s, k]]
        if parts:
            result[config_name(slug, kind)] = {"rows": sum(counts[part] for part in parts), "parts": parts}
    return result


# --------------------------------------------------------------------------- the paper and the release
@dataclass(frozen=True)
class Paper:
    """The paper's figures, and where the release differs from them."""

    title: str = ("Med-CMR: A Fine-Grained Benchmark Integrating Visual Evidence and Clinical Logic for "
                  "Medical Complex Multimodal Reasoning")
    arxiv: str = "2512.00818"
    url: str = "https://arxiv.org/abs/2512.00818"
    project_url: str = "https://github.com/LsmnBmnc/Med-CMR"
    venue: str = "CVPR 2026"
    questions: int = 20_653
    mcq: int = 16_655
    open: int = 3_998
    organ_systems: int = 11
    modalities: int = 12
    judge: str = "DeepSeek-V3.2-Exp"


PAPER = Paper()
RELEASE_QUESTIONS = {"mcq": 16_655, "open": 3_999}  # the official release, counted from its JSON lists

# What the board says of a model beside its scores (the paper's Table 2 columns).
OPEN_WEIGHTS, CLOSED_WEIGHTS = "open", "closed"
MODEL_WEIGHTS = (OPEN_WEIGHTS, CLOSED_WEIGHTS)
GENERAL, MEDICAL = "general", "medical"
MODEL_DOMAINS = (GENERAL, MEDICAL)
PAPER_JUDGE_MARK = f"{PAPER.judge} (paper)"
RELEASE_LABEL_NOTE = ("SU/MSI: the paper's percentages fit SU = 709 and MSI = 371 questions; "
                      "the release labels (kept here) say the reverse")

# The official release on the Hub (SPEC §1); nothing downloads it in tests.
HUB_REPO = "aaassddaadf/Med-CMR"
HUB_REVISION = "a9b2d6e610c6c5dcf4f3e5aa89c7ec9fd7a05b73"
HUB_FILE = "dataset.zip"
HUB_SHA256 = "8495f3b6b2901a095918ab27c600e42da7287a87f6aea490912ba60d27de3775"
DATASET_URL = f"https://huggingface.co/datasets/{HUB_REPO}"

CITATION = """@misc{gong2025medcmr,
  title         = {Med-CMR: A Fine-Grained Benchmark Integrating Visual Evidence and Clinical
                   Logic for Medical Complex Multimodal Reasoning},
  author        = {Gong, Haozhen and Ji, Xiaozhong and Liu, Yuansen and Wu, Wenbin and
                   Yan, Xiaoxiao and Liu, Jingjing and Wu, Kai and Pan, Jiazhen and
                   Jian, Bailiang and Zhang, Jiangning and Hu, Xiaobin and Li, Hongwei Bran},
  year          = {2025},
  eprint        = {2512.00818},
  archivePrefix = {arXiv},
}"""
