"""Honest open answers as real vision-language models write them, for the grader defences' other side.

Every answer here is honest: none tries to influence a grader. They use clinical words an
overeager screen would trip on (consistency, coherence, ground truth, system, reviewer, score,
grade, rating, marks, points, instructions), markdown, tables, LaTeX, CJK and other languages,
JSON a model chose to write, very long reasoning, and reasoning blocks. Each is also served
through the chat-template leaks of open-source model servers. `content` is what the answer says
once pure format is normalised away; the judge must score every case exactly as it scores that.
"""
from __future__ import annotations

from dataclasses import dataclass


def _question(n: int, question: str, answer: str, description: str, dimension: str, mi: str, modality: str,
              organ: str) -> dict:
    return {"id": f"open-{n}", "index": n, "question_type": "open", "question": question, "options": [],
            "answer": answer, "visual_description": description, "dimension": dimension, "subtype": "finding",
            "medical_intelligence": mi, "modality": modality, "organ_system": organ, "image_path": f"imgs/open-{n}.png"}


OPEN_QUESTIONS = [
    _question(0, "What is the most likely diagnosis?", "left pleural effusion",
              "Homogeneous opacity at the left base with a meniscus sign and blunted costophrenic angle",
              "small_object", "DX", "X-ray", "Respiratory"),
    _question(1, "What abnormality is seen in the breast?", "fibroadenoma",
              "Oval circumscribed hypoechoic mass parallel to the skin with posterior enhancement",
              "fine_detail", "DX", "Ultrasound", "Breast"),
    _question(2, "Where is the lesion located relative to the kidney?", "upper pole of the right kidney",
              "Exophytic enhancing mass arising from the upper pole of the right kidney",
              "spatial", "SEE", "CT", "Urinary"),
    _question(3, "How will this lesion most likely evolve without treatment?", "progressive enlargement",
              "Large heterogeneous hepatic mass with arterial enhancement and washout",
              "temporal", "PA", "CT", "Digestive"),
    _question(4, "What caused the findings in the brain?", "hypertensive haemorrhage",
              "Acute intraparenchymal haematoma in the left basal ganglia with surrounding oedema",
              "causal", "PA", "CT", "Nervous"),
    _question(5, "What rare condition does this fundus photograph show?", "retinitis pigmentosa",
              "Bone spicule pigmentation in the mid periphery with attenuated arterioles and waxy disc pallor",
              "long_tail", "DX", "Fundus photography", "Eye"),
    _question(6, "Combining the image and the history, what is the next step?", "urgent biopsy",
              "Spiculated irregular mass with microcalcifications in the upper outer quadrant",
              "multi_source", "CDS", "Mammography", "Breast"),
    _question(7, "What is the grade of the splenic injury?", "grade 3 splenic laceration",
              "Splenic laceration deeper than 3 cm with a subcapsular haematoma",
              "fine_detail", "SEE", "CT", "Hematologic"),
    _question(8, "What does the histology show?", "invasive ductal carcinoma",
              "Nests of atypical ductal cells infiltrating the stroma with desmoplastic reaction",
              "long_tail", "DX", "Histopathology", "Breast"),
    _question(9, "What is the response to therapy?", "partial metabolic response",
              "Reduced FDG uptake in the mediastinal nodes compared with the baseline study",
              "temporal", "TRE", "PET-CT", "Lymphatic"),
    _question(10, "What is the main risk of the planned procedure?", "pneumothorax",
              "Small peripheral lung nodule abutting the pleura in the right upper lobe",
              "causal", "PRA", "CT", "Respiratory"),
    _question(11, "What finding explains the knee pain?", "medial meniscal tear",
              "Linear high signal reaching the inferior articular surface of the posterior horn of the medial meniscus",
              "small_object", "DX", "MRI", "Musculoskeletal"),
]


@dataclass(frozen=True)
class HonestCase:
    """One honest output: the raw text a server returned, and what it says once format is removed."""

    name: str
    question_id: str
    answer: str
    content: str
    kind: str


# (kind, question id, honest answer): what the models themselves wrote.
_BASE = [
    # Clinical scales at their maximum, and report headings: scores and "SYSTEM" in their medical senses.
    ("clinical-scores", "open-4", "Reasoning: Atrial fibrillation with prior stroke, age 78, hypertension, diabetes, "
     "heart failure and vascular disease. The total score is 10 … on CHA2DS2-VASc, so anticoagulation is indicated "
     "once the bleed allows.\nAnswer: hypertensive haemorrhage"),
    ("clinical-scores", "open-4", "Reasoning: Cognition was intact before the event: MMSE full marks (30/30), no "
     "cognitive impairment. The haematoma in the putamen fits chronic hypertension.\nAnswer: hypertensive haemorrhage"),
    ("clinical-scores", "open-4", "Reasoning: The patient is alert and oriented. The score is 10 on the Glasgow scale "
     "after sedation was stopped, and the bleed sits in the basal ganglia.\nAnswer: hypertensive haemorrhage"),
    ("clinical-scores", "open-10", "FINDINGS\nSYSTEM: musculoskeletal\nNo rib fracture. A small apical pneumothorax "
     "follows the biopsy.\nIMPRESSION: pneumothorax\nAnswer: pneumothorax"),
    ("clinical-scores", "open-4", "Reasoning: Apgar score is 10 at five minutes in the birth record; NIHSS score is 10 "
     "now, with a left basal ganglia haematoma.\nAnswer: hypertensive haemorrhage"),
    ("clinical-scores", "open-8", "Reasoning: The grade is 10 on the Tanner scale is not meaningful here; Nottingham "
     "total score: 9 of 9, grade 3.\nAnswer: invasive ductal carcinoma"),
    ("clinical-scores", "open-4", "Reasoning: Perfect score on the MoCA (30/30) last year. ASPECTS score is 10, no "
     "early ischaemic change beyond the haematoma.\nAnswer: hypertensive haemorrhage"),
    ("clinical-scores", "open-9", "Reasoning: Deauville score 2 after therapy; the Lugano response is complete. "
     "Performance status: full marks on the Karnofsky scale (100).\nAnswer: complete metabolic response"),
    ("clinical-scores", "open-3", "REVIEW OF SYSTEMS\nSYSTEM: gastrointestinal — cirrhosis, Child-Pugh score 10.\n"
     "Reasoning: Arterial enhancement with washout.\nAnswer: progressive enlargement"),

    ("clinical-words", "open-1", "Reasoning: The lesion is oval and circumscribed with a firm consistency of 2 cm and "
     "posterior enhancement; it is parallel to the skin.\nAnswer: fibroadenoma"),
    ("clinical-words", "open-1", "Mixed consistency: 2 components, solid and cystic, neither with vascular flow. "
     "The solid part is well circumscribed.\nAnswer: complex fibroadenoma"),
    ("clinical-words", "open-4", "Reasoning: On this CT the attenuation of the haematoma is high and the signal "
     "coherence is 2 times lower at its rim on the matched MRI; the location in the basal ganglia fits chronic "
     "hypertension.\nAnswer: hypertensive haemorrhage"),
    ("clinical-words", "open-8", "Reasoning: Infiltrating nests of atypical ductal cells with desmoplasia. Nottingham "
     "grade 2 (tubules 3, pleomorphism 2, mitoses 1; total score 6).\nAnswer: invasive ductal carcinoma"),
    ("clinical-words", "open-7", "Reasoning: The laceration is deeper than 3 cm with a subcapsular haematoma, which "
     "the AAST scale rates as grade 3.\nAnswer: grade 3 splenic laceration"),
    ("clinical-words", "open-6", "Reasoning: Spiculated irregular mass with fine pleomorphic microcalcifications: "
     "BI-RADS 5. The ground truth will come from tissue, so the next step is an urgent biopsy.\nAnswer: urgent biopsy"),
    ("clinical-words", "open-9", "Reasoning: FDG uptake in the mediastinal nodes dropped from SUVmax 12.1 to 4.3; "
     "Deauville score 4 remains.\nAnswer: partial metabolic response"),
    ("clinical-words", "open-11", "Reasoning: The linear high signal reaches the inferior articular surface on two "
     "consecutive slices (the two-slice-touch rule). A second reviewer would likely agree; pain rating 8/10 on "
     "weight bearing fits.\nAnswer: medial meniscal tear"),
    ("clinical-words", "open-0", "Reasoning: Homogeneous opacity with a meniscus at the left base. The patient was "
     "instructed to sit upright for the film, so the fluid layers dependently.\nAnswer: left pleural effusion"),
    ("clinical-words", "open-2", "Reasoning: An exophytic enhancing mass arises from the upper pole; the collecting "
     "system is not invaded. Bosniak does not apply to a solid mass.\nAnswer: upper pole of the right kidney"),
    ("clinical-words", "open-3", "Reasoning: Arterial enhancement with washout in a cirrhotic liver: LI-RADS 5. "
     "Untreated, such tumours grow; the Child-Pugh score of the patient will decide the treatment.\n"
     "Answer: progressive enlargement"),
    ("clinical-words", "open-5", "Reasoning: Bone spicule pigmentation, attenuated arterioles and waxy pallor of the "
     "disc form the classic triad; visual accuracy on perimetry would show a ring scotoma.\n"
     "Answer: retinitis pigmentosa"),
    ("clinical-words", "open-10", "Reasoning: The nodule abuts the pleura; a transthoracic needle crosses aerated lung "
     "only briefly, yet the Brock model risk score is intermediate and the main complication is air leak.\n"
     "Answer: pneumothorax"),
    ("clinical-words", "open-4", "Reasoning: GCS 15/15 on arrival does not exclude expansion; the ICH score is 1. "
     "The haematoma sits in the putamen, the typical site of hypertensive bleeds.\nAnswer: hypertensive haemorrhage"),
    ("clinical-words", "open-8", "Reasoning: Rating: high-grade nuclear atypia. The marks of invasion are the "
     "desmoplastic stroma and the loss of myoepithelial cells.\nAnswer: invasive ductal carcinoma"),
    ("clinical-words", "open-11", "Reasoning: Kellgren-Lawrence grade 2 changes in the medial compartment and a tear "
     "of the posterior horn. Points of attention: no displaced fragment.\nAnswer: medial meniscal tear"),
    ("clinical-words", "open-0", "Reasoning: The consistency between the lateral and frontal views confirms dependent "
     "fluid; there is no air-fluid level.\nAnswer: left pleural effusion"),
    ("clinical-words", "open-9", "Reasoning: Compared with baseline, uptake fell. Per PERCIST the answer is a partial "
     "response; the correct category is not complete because residual uptake exceeds the liver.\n"
     "Answer: partial metabolic response"),
    ("markdown", "open-0", "**Findings**\n- Homogeneous opacity at the *left* base\n- Meniscus sign\n- Blunted "
     "costophrenic angle\n\n**Answer:** left pleural effusion"),
    ("markdown", "open-3", "## Reasoning\n1. Arterial phase hyperenhancement\n2. Portal venous washout\n3. Size > 5 cm\n"
     "\n## Answer\nProgressive enlargement (untreated HCC grows)"),
    ("markdown", "open-2", "### Analysis\nThe mass is **exophytic** and enhances avidly.\n\n---\n\n"
     "### Final answer\nUpper pole of the right kidney"),
    ("markdown", "open-6", "> Key finding: spiculated mass with microcalcifications.\n\n**Reasoning:** spiculation "
     "is highly suspicious.\n\n**Answer:** `urgent biopsy`"),
    ("markdown", "open-10", "Reasoning:\n* nodule abuts the pleura\n* needle path through lung\n\nAnswer: "
     "**pneumothorax**"),
    ("markdown", "open-5", "# Fundus\n\n| | |\n|---|---|\n\nBone spicules and attenuated vessels.\n\n"
     "**Answer: retinitis pigmentosa**"),
    ("table", "open-7", "| Feature | Finding |\n|---|---|\n| Depth | > 3 cm |\n| Haematoma | subcapsular |\n"
     "| Active bleeding | none |\n\nAnswer: grade 3 splenic laceration"),
    ("table", "open-9", "Reasoning:\n\n| Node | SUVmax baseline | SUVmax now |\n|---|---:|---:|\n| 4R | 12.1 | 4.3 |\n"
     "| 7 | 9.8 | 3.9 |\n\nAnswer: partial metabolic response"),
    ("table", "open-11", "| Structure | Signal | Score |\n|---|---|---|\n| Medial meniscus | linear high | grade 3 |\n"
     "| ACL | normal | — |\n\nAnswer: medial meniscal tear"),
    ("table", "open-1", "| Descriptor | Value |\n| --- | --- |\n| Shape | oval |\n| Margin | circumscribed |\n"
     "| Consistency | firm |\n\nReasoning: benign features.\nAnswer: fibroadenoma"),
    ("latex", "open-3", "Reasoning: The lesion measures $6.2 \\times 5.1$ cm; with a doubling time $T_d \\approx "
     "120$ days, $V(t) = V_0 2^{t/T_d}$ grows.\nAnswer: $\\boxed{\\text{progressive enlargement}}$"),
    ("latex", "open-7", "Reasoning: depth $d > 3\\,\\text{cm}$ $\\Rightarrow$ AAST grade 3.\n"
     "Answer: \\boxed{\\text{grade 3 splenic laceration}}"),
    ("latex", "open-4", "The haematoma volume by $ABC/2 = (4 \\times 3 \\times 3)/2 = 18$ mL.\n\n"
     "Answer: \\(\\text{hypertensive haemorrhage}\\)"),
    ("latex", "open-9", "Reasoning: $\\Delta SUV_{max} = \\frac{4.3 - 12.1}{12.1} \\approx -64\\%$.\n"
     "Final answer: $\\boxed{\\text{partial metabolic response}}$"),
    ("cjk", "open-0", "推理：左下肺野均匀致密影，可见半月征，肋膈角变钝。\n答案：左侧胸腔积液 (left pleural effusion)"),
    ("cjk", "open-4", "推理：左侧基底节区急性脑实质内血肿，周围水肿，患者有高血压病史。\n答案：高血压性脑出血（hypertensive haemorrhage）"),
    ("cjk", "open-5", "推論：中間周辺部に骨小体様色素沈着、動脈の狭細化、蝋様視神経乳頭。\n答え：網膜色素変性症 (retinitis pigmentosa)"),
    ("cjk", "open-11", "추론: 내측 반월판 후각에 하관절면까지 이어지는 선형 고신호가 보입니다.\n답: 내측 반월판 파열 (medial meniscal tear)"),
    ("cjk", "open-7", "推理：脾脏裂伤深度超过３ｃｍ，伴包膜下血肿，AAST分级为３级。\n答案：３级脾裂伤（grade 3 splenic laceration）"),
    ("cjk", "open-8", "推理：浸润性导管癌，Nottingham评分６分，组织学分级２级。\n答案：浸润性导管癌 (invasive ductal carcinoma)"),
    ("multilingual", "open-0", "Raisonnement : opacité homogène de la base gauche avec un ménisque ; la note "
     "clinique mentionne une dyspnée.\nRéponse : épanchement pleural gauche (left pleural effusion)"),
    ("multilingual", "open-1", "Begründung: ovale, glatt begrenzte Raumforderung; die Punkte der Verkalkung fehlen.\n"
     "Antwort: Fibroadenom (fibroadenoma)"),
    ("multilingual", "open-11", "Razonamiento: señal lineal que alcanza la superficie articular inferior; la "
     "puntuación de dolor es 7/10.\nRespuesta: rotura del menisco medial (medial meniscal tear)"),
    ("multilingual", "open-9", "Raciocínio: a captação de FDG caiu; escore de Deauville 4.\n"
     "Resposta: resposta metabólica parcial (partial metabolic response)"),
    ("multilingual", "open-4", "Обоснование: острая внутримозговая гематома в базальных ганглиях; оценка по шкале "
     "комы Глазго 14 баллов.\nОтвет: гипертензивное кровоизлияние (hypertensive haemorrhage)"),
    ("multilingual", "open-7", "Ragionamento: lacerazione splenica profonda oltre 3 cm, grado 3 secondo AAST.\n"
     "Risposta: lacerazione splenica di grado 3 (grade 3 splenic laceration)"),
    ("json-style", "open-0", '{"reasoning": "Homogeneous opacity at the left base with a meniscus", '
     '"answer": "left pleural effusion"}'),
    ("json-style", "open-1", '```json\n{\n  "findings": ["oval mass", "circumscribed margin", "posterior enhancement"],'
     '\n  "consistency": "firm",\n  "diagnosis": "fibroadenoma",\n  "confidence": 0.85\n}\n```'),
    ("json-style", "open-6", '{"birads": 5, "score": "high suspicion", "next_step": "urgent biopsy"}'),
    ("json-style", "open-9", "reasoning: FDG uptake decreased in the mediastinal nodes\ndeauville_score: 4\n"
     "answer: partial metabolic response"),
    ("json-style", "open-10", '{"risk": "pneumothorax", "rating": "moderate", "mitigation": "short pleural path"}'),
    ("hedged-short", "open-0", "Answer: Left pleural effusion"),
    ("hedged-short", "open-2", "Upper pole of the right kidney."),
    ("hedged-short", "open-5", "Retinitis pigmentosa 👁️"),
    ("hedged-short", "open-10", "Pneumothorax<br>(most common complication)"),
    ("hedged-short", "open-8", "<b>Answer:</b> invasive ductal carcinoma"),
    ("hedged-short", "open-3", "Likely progressive enlargement; less likely spontaneous regression."),
    ("hedged-short", "open-6", "1. Urgent biopsy\n2. Then MRI for staging"),
    ("hedged-short", "open-11", "medial meniscal tear"),
    ("hedged-short", "open-4", "Answer: hypertensive haemorrhage (basal ganglia) — score 10 on the NIHSS"),
    ("hedged-short", "open-7", "Grade: 3. Answer: grade 3 splenic laceration"),
]

_LONG_PARAGRAPHS = [
    "The radiograph is a frontal projection obtained with the patient upright. The left hemidiaphragm is obscured "
    "by a homogeneous opacity that rises laterally along the chest wall, the meniscus sign of free pleural fluid.",
    "The costophrenic angle on the left is blunted, while the right angle remains sharp. There are no air "
    "bronchograms within the opacity, which argues against consolidation as the primary process.",
    "The mediastinum is not shifted toward the opacity, so volume loss from collapse is unlikely; a large "
    "effusion would push it away, and this one is moderate in size.",
    "The heart size cannot be fully assessed because the left border is partly obscured. The right lung is clear "
    "and the visible bones show no fracture or lytic lesion.",
    "Taken together, the dependent distribution, the meniscus and the blunted angle make a pleural effusion the "
    "most likely explanation; a lateral decubitus view or ultrasound would confirm that it is free-flowing.",
]


def _long(n: int) -> str:
    """Long reasoning as models write it: many paragraphs, sometimes a repetition loop at the end."""
    paragraphs = [_LONG_PARAGRAPHS[(n + k) % len(_LONG_PARAGRAPHS)] for k in range(4 + 6 * n)]
    loop = "\n".join(["Therefore the answer is left pleural effusion."] * (12 * n)) if n % 2 else ""
    return "Reasoning:\n" + "\n\n".join(paragraphs) + (f"\n{loop}" if loop else "") + "\nAnswer: left pleural effusion"


_BASE += [("long", "open-0", _long(n)) for n in range(1, 7)]
_BASE += [
    ("think", "open-2", "<think>\nThe mass is exophytic. Is it upper or lower pole? The image shows it above the "
     "renal hilum, so upper pole.\n</think>\n\nAnswer: upper pole of the right kidney"),
    ("think", "open-4", "<think>Hyperdense blood in the basal ganglia. Hypertension is the usual cause there. "
     "Amyloid would be lobar.</think>Reasoning: typical location.\nAnswer: hypertensive haemorrhage"),
    ("think", "open-5", "Okay, the fundus shows bone spicules, attenuated vessels and a pale disc. That is the "
     "classic triad.\n</think>\n\nAnswer: retinitis pigmentosa"),
    ("think", "open-10", "<thinking>\nNeedle biopsy of a peripheral nodule: pneumothorax is the commonest "
     "complication.\n</thinking>\nAnswer: pneumothorax"),
    ("think", "open-8", "<think>\n**Step 1**: infiltrative nests. **Step 2**: desmoplasia.\n</think>\n"
     "**Answer:** invasive ductal carcinoma"),
]


def _content(kind: str, answer: str) -> str:
    """What a reasoning trace leaves once its block is removed (the rest is the answer as written)."""
    if kind != "think":
        return answer
    for closing in ("</think>", "</thinking>"):
        if closing in answer:
            return answer.split(closing, 1)[1].strip()
    return answer


# Leaks of open-source model servers around an answer: (name, how the server returned `text`).
_LEAKS = [
    ("llava-assistant-prefix", lambda text: f"ASSISTANT: {text}"),
    ("llava-echoed-turn", lambda text: "USER: <image>\nPlease carefully observe this medical image and answer the "
     f"following question:\n\nQuestion: What is shown? ASSISTANT: {text}</s>"),
    ("chatml-leading", lambda text: f"<|im_start|>assistant\n{text}<|im_end|>"),
    ("llama3-double-turn", lambda text: f"{text}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{text}"
     "<|eot_id|>"),
    ("trailing-user-turn", lambda text: f"{text}</s>\nUSER: thanks"),
    ("llama2-inst", lambda text: f"[INST] <image>\nWhat is shown? [/INST] {text}"),
    ("gemma-turn", lambda text: f"<start_of_turn>model\n{text}<end_of_turn>"),
    ("phi-assistant", lambda text: f"<|assistant|>{text}<|end|>"),
    ("vicuna-header", lambda text: f"### Assistant: {text}"),
    ("endoftext", lambda text: f"{text}<|endoftext|>"),
    ("bos-prefix", lambda text: f"<s> {text}"),
    ("deepseek-tokens", lambda text: f"<｜Assistant｜>{text}<｜end▁of▁sentence｜>"),
]


def _cases() -> list[HonestCase]:
    cases = []
    for number, (kind, question_id, answer) in enumerate(_BASE):
        content = _content(kind, answer)
        cases.append(HonestCase(f"{kind}-{number}", question_id, answer, content, kind))
        for offset in (0, 5):
            leak, wrap = _LEAKS[(number + offset) % len(_LEAKS)]
            expected = f"{content}\n\n{content}" if leak == "llama3-double-turn" else content
            cases.append(HonestCase(f"{kind}-{number}-{leak}", question_id, wrap(answer), expected, "role-leak"))
    return cases


HONEST_CASES = _cases()
