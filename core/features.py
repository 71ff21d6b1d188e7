"""The dataset's declared features (one row per question), so `datasets` decodes images as PIL."""
from __future__ import annotations

import datasets

FEATURES = datasets.Features({
    "id": datasets.Value("string"),
    "index": datasets.Value("int64"),
    "question_type": datasets.Value("string"),
    "question": datasets.Value("string"),
    "options": datasets.List(datasets.Value("string")),
    "answer": datasets.Value("string"),
    "visual_description": datasets.Value("string"),
    "dimension": datasets.Value("string"),
    "subtype": datasets.Value("string"),
    "medical_intelligence": datasets.Value("string"),
    "modality": datasets.Value("string"),
    "organ_system": datasets.Value("string"),
    "image_path": datasets.Value("string"),
    "image": datasets.Image(),
})
TEXT_FIELDS = tuple(name for name in FEATURES if name != "image")
