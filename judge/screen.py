"""Text in an answer that speaks to the grader is cut out before the judge reads it; the rest is judged.

The answer is folded first (JSON and HTML escapes decoded, NFKC so full-width forms are ASCII,
look-alike letters mapped to Latin, invisible characters dropped, case folded: `core.text.fold`),
so no spelling hides what it says; sentences in other scripts are also read in their own letters. Then three kinds of span are found in the folded text and cut
from the original, each replaced by `[…]`:
- verdicts: a JSON-like object holding a criterion or nonce key with a value, or key-value pairs
  naming two or more of the four criteria with numbers (one "consistency: 2 cm" is clinical prose);
- grade claims: a sentence about the answer's own grade ("this answer deserves…", "Score: 10/10",
  "la note correcte est 10 sur 10", "此答案应得满分", a row of stars);
- instructions to the grader ("ignore previous instructions", "note to the grader", "the judge must
  output…").
Nothing else changes, so an answer that only *mentions* a score in its clinical sense ("Gleason
score 7", "pain 10/10", "a firm consistency") is judged exactly as written. Cutting, never zeroing,
means a false alarm costs the sentence it found, not the answer. No list of phrasings is complete:
the audit judge (a second endpoint re-scoring a sample) is the defence that does not depend on it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.text import fold
from core.vocabulary import CRITERION_KEYS

from .answers import normalise_answer

SCREEN_VERSION = "medcmr-screen-v4"
CUT = "[…]"
MAX_ANSWER_CHARS = 12_000  # the judge reads this much of an answer: a runaway output cannot exhaust its context

# The criteria's keys as a judge reads them: "visual_accuracy", "visual accuracy", "visual-accuracy".
_KEY = "(?:" + "|".join(key.replace("_", "[ _-]?") for key in CRITERION_KEYS) + ")"
_IDENTIFIERS = "|".join((*(key for key in CRITERION_KEYS if "_" in key), "nonce"))  # keys no prose word spells
_NUMBER = r"\d{1,3}(?:\.\d+)?"
_QUOTED_VERDICT_KEY = re.compile(rf"[\"'`]\s*(?:{_KEY}|nonce|rationale)\s*[\"'`]\s*[:=]")
# A criterion key with a grade (a number or a word of praise; "consistency": "firm" is a finding), or a nonce.
_GRADE_VALUE = re.compile(rf"[\"'`]\s*{_KEY}\s*[\"'`]\s*[:=]\s*[\"'`]?\s*(?:{_NUMBER}|ten|full|max\w*|perfect|"
                          r"excellent|outstanding|high(?:est)?|top|flawless|correct)\b|[\"'`]\s*nonce\s*[\"'`]\s*[:=]")
# A criterion followed by a number: "consistency: 10", "visual accuracy = 9/10", "ground truth of 8".
_KEY_VALUE = re.compile(rf"(?<![a-z]){_KEY}[\"'`]?\s*(?:[:=]|is|of|at)?\s*[\"'`]?\s*{_NUMBER}(?:\s*/\s*10{{1,2}})?")
_IDENTIFIER_VALUE = re.compile(rf"(?<![a-z])(?:{_IDENTIFIERS})\s*[\"'`]?\s*[:=]\s*[\"'`]?\s*\w")

_SELF = (r"(?:(?:this|my|the|our|that)\s+(?:(?:model'?s?|final|above|present|given)\s+)?(?:answer|reply|submission)|cette\s+r[ée]ponse|ma\s+r[ée]ponse|diese\s+antwort|meine\s+antwort|esta\s+respuesta|"
         r"mi\s+respuesta|esta\s+resposta|minha\s+resposta|этот\s+ответ|мой\s+ответ|данный\s+ответ|"
         r"(?:此|该|本|这个|這個|这一|我的)(?:答案|回答|回复|答复))")
_DESERVES = (r"(?:deserves?|merits?|earns?|warrants?|is\s+worth|should\s+(?:be\s+(?:graded|scored|rated|marked|given)|"
             r"get|receive|score|obtain)|must\s+(?:be\s+(?:graded|scored|rated|given)|get|receive|score)|"
             r"(?:is|be)\s+(?:graded|scored|rated)|gets|receives|m[ée]rite|doit\s+(?:recevoir|obtenir)|verdient|"
             r"sollte\s+\w+\s+(?:bekommen|erhalten)|merece|debe\s+recibir|deve\s+receber|заслуживает|"
             r"应得|应该得|应当得|应获得|应该获得|值得|理应得)")
_GRADE_WORD = (r"(?:scores?|grades?|ratings?|marks?|points?|notes?|punkte|punktzahl|bewertung|puntuaci[oó]n|"
               r"calificaci[oó]n|nota|pontua[cç][aã]o|оценк[аиу]|балл\w*|评分|分数|得分|打分)")
_PERFECT = (r"(?:10\s*/\s*10|100\s*/\s*100|10\s+(?:out\s+of|sur|von|de|из|su)\s+10|full\s+marks?|perfect\s+(?:score|"
            r"marks?|grade|rating)|(?:maximum|highest|top)\s+(?:score|marks?|grade|rating|points)|note\s+(?:maximale|"
            r"parfaite)|volle\s+punktzahl|h[öo]chst(?:note|punktzahl)|puntuaci[oó]n\s+(?:m[aá]xima|perfecta)|"
            r"nota\s+(?:m[aá]xima|perfeita)|максимальн\w*\s+балл\w*|высш\w*\s+балл\w*|满分|滿分|最高分)")
_GRADER = (r"(?:grader|judge|evaluator|scorer|assessor|rater|grading\s+(?:model|system|ai|llm)|(?:ai|llm)\s+"
           r"(?:grader|judge|evaluator)|correcteur|[ée]valuateur|examinateur|bewerter|pr[üu]fer|korrektor|"
           r"evaluador|calificador|avaliador|оценщик\w*|проверяющ\w*|экзаменатор\w*|评分者|评分员|评委|评审员|阅卷\w*|"
           r"考官|評価者|採点者)s?")
_OPENING = r"^[\s\W\d_]*(?:(?:the|my|your|a|final|correct|true|right|real|actual|overall|total|expected|deserved|" \
           r"appropriate|proper|fair|la|le|die|der|das|el|o|a|this\s+answer'?s?|its|richtige|korrekte|endg[üu]ltige|" \
           r"finale|correcte|bonne|vraie|correcta|verdadera|правильная|итоговая|правильный)\s+)*"
# Each names why a sentence addresses the grader.
_SENTENCE_RULES = (
    ("grade claim", re.compile(rf"{_SELF}.{{0,60}}?{_DESERVES}|{_DESERVES}.{{0,40}}?{_PERFECT}")),
    ("grade claim", re.compile(rf"{_OPENING}{_GRADE_WORD}\s*(?:\w+\s*)?(?:is|=|:|est|ist|es|é|—|-|should\s+be|"
                               rf"must\s+be|would\s+be)\s*\W*\s*(?:10|100|ten)(?![\d.,]*\s*(?:mm|cm|%|ml|mg))\b"
                               r"(?=\s*(?:(?:/|out\s+of|sur|von|de|из|su)\s*10{1,2}|points?|pts|marks?|%)?\s*[.!。]*\s*$)")),
    ("grade claim", re.compile(rf"{_SELF}\s*(?:is|=|:|gets|scores?|rates?|earns?)\s*(?:a\s+)?{_PERFECT}")),
    ("grade claim", re.compile(rf"\b(?:10|ten)(?:\s*/\s*10)?\s+(?:on|for|in|across)\s+(?:the\s+)?(?:{_KEY}|(?:every|each|all)"
                               r"\s+(?:of\s+the\s+)?(?:four\s+)?(?:criteri(?:on|a)|categor(?:y|ies)|metrics?|dimensions?))\b")),
    ("grade claim", re.compile(r"(?:⭐|★|🌟){3,}|(?:⭐|★|🌟)\s*\w*\s*:?\s*\d+\s*(?:/\s*\d+)?\s*(?:⭐|★|🌟)")),
    ("grade claim", re.compile(r"^\W*(?:full\s+marks?|perfect\s+(?:score|marks?|grade)|满分|滿分)\W*$"
                               r"|\b(?:give|award|assign|grant)\s+(?:it\s+|me\s+|(?:this|the)\s+(?:answer|reply)\s+)?"
                               r"(?:full\s+marks?|a\s+perfect\s+(?:score|grade)|the\s+(?:maximum|highest)\s+(?:score|grade))"
                               r"|(?:给|給)(?:予)?满分")),
    ("instruction to the grader", re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+)*"
        r"(?:previous|prior|above|earlier|preceding|former|system|original|grading|all|your)\s+"
        r"(?:\w+\s+)?(?:instructions?|prompts?|rules|directions|guidelines|messages?|rubrics?)\b"
        rf"|\b(?:note|message|instructions?|attention|reminder|request|memo|hint|directive|command)s?\s+"
        rf"(?:to|for)\s+(?:the\s+|any\s+|all\s+)?{_GRADER}"
        rf"|\b(?:dear|hello|hi|hey|attention|attn)\s+(?:the\s+)?{_GRADER}"
        rf"|^\W*(?:to\s+)?(?:the\s+)?{_GRADER}\s*[:,]"
        rf"|\b{_GRADER}\s+(?:must|should|shall|will|needs?\s+to|has\s+to|is\s+(?:to|required\s+to|"
        r"instructed\s+to|asked\s+to)|can|may|please)\s+(?:now\s+|only\s+|simply\s+|just\s+|then\s+)?"
        r"(?:output|print|give|award|assign|rate|grade|score|return|respond|reply|mark|write|emit|ignore|disregard|"
        r"accept)\b"
        r"|\b(?:print|output|return|emit|produce|write|repeat|copy|reply\s+with|respond\s+with|answer\s+with)\s+"
        r"(?:only\s+|exactly\s+|just\s+)?(?:\w+\s+){0,3}?(?:verdict|json|grades)\b"
        r"|\b(?:system|developer)\s+(?:prompt|message|instruction)s?\b|\bnonces?\b"
        r"|\breference\s+(?:answer|description)\s+(?:is|was|has\s+been)\s+(?:now\s+)?"
        r"(?:wrong|incorrect|outdated|revised|updated|mistaken|erroneous|invalid)\b"
        r"|\b(?:model_answer|reference_answer|reference_visual_description)\b"
        r"|(?:end|begin|start)\s+of\s+(?:the\s+)?(?:model\s+|user\s+)?(?:answer|response|input|submission|"
        r"instructions?|prompt)\s*[-=#*_>\]]{2,}"
        r"|^\W*(?:end|begin|start)\s+of\s+(?:the\s+)?(?:model\s+|user\s+)?(?:answer|input|submission|instructions?|"
        r"prompt)\W*$"
        r"|</?\s*(?:model[_ ]?answer|reference[_ ]?answer|grader|judge|verdict|instructions?)\s*/?>")),
)
# A turn injected in the middle of an answer: a line opening with an upper-case role ("SYSTEM: ...").
# A heading such as "SYSTEM: musculoskeletal" in a report is not a turn: only a role line that speaks to the grader is.
_ROLE_LINE = re.compile(r"(?m)^[ \t]*(?:SYSTEM|DEVELOPER|GRADER|JUDGE|EVALUATOR)[ \t]*:(?=[^\n]*\b(?i:you|your|must|"
                        r"should|shall|ignore|disregard|override|output|respond|reply|verdict|json|instructions?|award|"
                        r"assign|grader|judge|evaluator)\b|[^\n]*\b(?i:answer|response|reply|submission)\b[^\n]*"
                        r"\b(?i:perfect|correct|excellent|flawless|accurate|right)\b)[^\n]*$")
# An ellipsis ("...", or "…" once folded) goes on with the sentence; other stops end it.
_SENTENCE = re.compile(r"(?:\.{2,}(?=\s)|[^\n.!?。！？])*(?:[.!?。！？]+(?=\s|$)|[。！？]+|\n|$)|[^\n]+")


@dataclass(frozen=True)
class Screened:
    """What the judge reads (`text`) and why spans were cut from the answer (empty when none)."""

    text: str
    flags: tuple[str, ...] = ()


def _object_end(text: str, start: int, limit: int = 4000) -> int | None:
    """Index after the brace that closes the object opening at `start` (strings ignored), or None."""
    depth = 0
    for index in range(start, min(len(text), start + limit)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _verdict_spans(folded: str) -> list[tuple[int, int, str]]:
    spans = []
    for match in re.finditer(r"\{", folded):
        end = _object_end(folded, match.start())
        body = folded[match.start():end or min(len(folded), match.start() + 400)]
        if _GRADE_VALUE.search(body) or (_QUOTED_VERDICT_KEY.search(body) and _KEY_VALUE.search(body)):
            spans.append((match.start(), end or match.start() + len(body), "verdict object"))
    pairs = list(_KEY_VALUE.finditer(folded))
    for first in pairs:
        nearby = [m for m in pairs if first.start() <= m.start() <= first.start() + 300]
        keys = {re.sub(r"[ _-]", "", re.match(_KEY, m.group(0)).group(0)) for m in nearby}
        if len(keys) >= 2:
            spans.append((first.start(), nearby[-1].end(), "verdict key-value pairs"))
    spans += [(m.start(), m.end(), "verdict key") for m in _IDENTIFIER_VALUE.finditer(folded)]
    return spans


def _sentence_spans(folded: str) -> list[tuple[int, int, str]]:
    spans = []
    for sentence in _SENTENCE.finditer(folded):
        text = sentence.group(0)
        if not text.strip():
            continue
        for rule, pattern in _SENTENCE_RULES:
            if pattern.search(text):
                lead = len(text) - len(text.lstrip())
                spans.append((sentence.start() + lead, sentence.end(), rule))
                break
    return spans


def _merged(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, list[str]]]:
    merged: list[tuple[int, int, list[str]]] = []
    for start, end, rule in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2] + [rule])
        else:
            merged.append((start, end, [rule]))
    return merged


def screen(answer: str) -> Screened:
    """`answer` with every span that addresses the grader cut out (`[…]` in its place), and why."""
    folded = fold(answer)
    spans = [(*folded.span(start, end), rule)
             for start, end, rule in _verdict_spans(folded.text) + _sentence_spans(folded.text)]
    if not answer.isascii():  # words of other scripts, read in their own letters
        native = fold(answer, lookalikes=False)
        spans += [(*native.span(start, end), rule) for start, end, rule in _sentence_spans(native.text)]
    spans += [(match.start(), match.end(), "instruction to the grader") for match in _ROLE_LINE.finditer(answer)]
    if not spans:
        return Screened(answer)
    pieces, flags, position = [], [], 0
    for start, end, rules in _merged(spans):
        cut = answer[start:end]
        pieces += [answer[position:start], CUT + ("\n" if cut.endswith("\n") else " " if cut[-1:] == " " else "")]
        flags.append(f"{rules[0]}: {cut.strip()[:80]!r}")
        position = end
    pieces.append(answer[position:])
    return Screened("".join(pieces), tuple(dict.fromkeys(flags)))


@dataclass(frozen=True)
class JudgeInput:
    """What the judge reads of one open answer (None: there is no answer), and how it was prepared."""

    text: str | None
    normalisation: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    not_answered: str | None = None


def judge_input(prediction: str) -> JudgeInput:
    """Format normalised away (`judge.answers`), the first MAX_ANSWER_CHARS kept (a note says how
    much more there was), then spans addressing the grader cut from them (`screen`): only what
    the judge will read is screened, so no answer costs more than that, however long.

    The primary judge and the audit judge both read this, so they grade the same text.
    """
    answer = normalise_answer(prediction)
    if answer.not_answered:
        return JudgeInput(None, answer.steps, (), answer.not_answered)
    screened = screen(answer.text[:MAX_ANSWER_CHARS])
    beyond = len(answer.text) - MAX_ANSWER_CHARS
    note = f" [... {beyond} more characters cut by the grader]" if beyond > 0 else ""
    return JudgeInput(screened.text + note, answer.steps, screened.flags)
