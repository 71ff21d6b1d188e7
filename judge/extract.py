"""From a model's free-form MCQ output to one option letter, or None. Deterministic; never guesses.

The cascade, first hit wins (SPEC §2.2):
1. a one-line output is exactly one option's text, or opens with a letter ("C", "(c)", "**C.**",
   "C) Pneumonia", "C, because…", "Ｃ");
2. the last explicit answer: "Answer: X", "the answer is X", "\\boxed{X}", "答案：X",
   "I choose X", "option X is correct";
3. the last "**X**", then the last "(X)";
4. a first line that opens with a letter, followed by an explanation;
5. refusals stop here (an explicit answer above still counts);
6. the one option letter of the last sentence, among its last few words;
7. on short outputs, the text of exactly one option.
Two different letters in one answer ("A and C") or anything else is no answer. A genus-style
abbreviation ("E. coli", "C. difficile": capital, dot, space, lower-case word) is never a letter
unless the word opens that letter's own option text.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from core.vocabulary import LETTERS

EXTRACTION_VERSION = "medcmr-extract-v3"
LAST_TOKENS = 4
SHORT_OUTPUT_WORDS = 25
TAIL_CHARS = 200  # an explicit answer is looked for in the last line, at most this much of it, first

# A letter that is clearly a choice: optionally bracketed, not part of a word.
_LETTER = r"[\(\[\{]?\s*([A-Ea-e])(?![A-Za-z0-9])"
# Explicit answers, one alternation (each alternative captures only its letter). The lookahead names the
# first characters of the alternatives: the regex engine then skips every other position at C speed.
_ANSWER = re.compile(r"(?=[abcimor\\答])(?:" + "|".join([
    r"\banswer[\"']?\s*(?:is|would be|should be|will be|appears to be|seems to be)?\s*"
    r"[:=\-–—]?\s*[\"']?\s*(?:(?:option|choice|letter)\s*)?" + _LETTER,
    r"\b(?:correct|best|right|most likely|most appropriate)\s+(?:option|choice)\s*"
    r"(?:is|would be|:|=)?\s*(?:(?:option|choice)\s*)?" + _LETTER,
    r"\bI(?:'d|'ll| would| will)?\s+(?:choose|select|pick|go with)\s+(?:(?:option|choice)\s*)?" + _LETTER,
    r"\b(?:option|choice)\s+([A-Ea-e])\s+(?:is|seems|appears)\s+(?:the\s+)?(?:correct|right|best|most)",
    r"\\boxed\{\s*(?:\\text(?:bf)?\{\s*)?\(?([A-Ea-e])\)?\s*\}",
    r"答案\s*(?:是|为|:)?\s*" + _LETTER,
]) + ")", re.I)
_BOLD = re.compile(r"\*\*\s*\(?([A-E])\s*[\).:]?\s*\*\*")
_PAREN = re.compile(r"\(([A-E])\)")
# A line that starts with a delimited letter: "C", "(c)", "C) Pneumonia", "C. ...", "C, because ..."
_LEADING = re.compile(r"^[\(\[]?\s*([A-Ea-e])\s*(?:[\)\]]|[\.:,\-–—](?=\s|$)|$)")
_BARE_LETTER = re.compile(r"[\(\[]?\s*([A-Ea-e])\s*[\)\].:]?")
_LINE_BREAK = re.compile(r"[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # where str.splitlines splits
_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_THINK_END = re.compile(r"</think>", re.I)
_THINK_START = re.compile(r"<think>", re.I)
_MARKDOWN = str.maketrans("", "", "*`#$")  # emphasis, code, headings and LaTeX delimiters dropped
_ABBREVIATION = re.compile(r"^\.[A-Za-z]")
# "E. coli", "C. difficile", "B. anthracis": a capital, a dot, a space, a lower-case word.
_GENUS = re.compile(r"^\.[ \t]+([a-z][a-z'-]*)")
# Lower-case words that may follow "C. " when C is a choice ("C. the pleural line ..."); never a species.
_CHOICE_PROSE = {"the", "this", "that", "these", "those", "it", "its", "there", "here", "because", "since", "as",
                 "so", "thus", "therefore", "hence", "given", "due", "based", "according", "with", "and", "or",
                 "both", "which", "in", "on", "at", "for", "from", "by", "is", "was", "a", "an", "explanation",
                 "reasoning", "rationale", "note", "see"}
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_FOLLOWING_WORD = re.compile(r"^[ \t]+([A-Za-z][A-Za-z'-]*)")
_WORD_AFTER_LETTER = re.compile(r"^[ \t.\-–—]*[A-Za-z]")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9]+")
_REFUSAL = re.compile(
    r"(?=[iuncac])\b(?:I\s*(?:am|'m)\s+(?:sorry|unable|not able)|I\s+(?:cannot|can ?not|can't|can’t|won't)|"
    r"unable to (?:determine|answer|provide|identify)|cannot be determined|not possible to (?:determine|tell)|"
    r"as an AI|consult (?:a|your) (?:doctor|physician|radiologist))",
    re.I,
)
# Negations and hedges make a named option unreliable ("not pneumonia", "pneumonia or effusion").
_HEDGE = re.compile(r"\b(?:not|no|unlikely|excluded?|rule[sd]? out|without|or|either|versus|vs|differential)\b", re.I)
_MULTIPLE_AFTER = re.compile(r"^[\)\]]?\s*(?:(?:,|&|/|\+|(?i:and|or))\s*[\(\[]?|[\(\[])[A-E](?![A-Za-z0-9])")
# Words that may follow a choice letter; after "A" anything else makes it the English article.
_LETTER_FOLLOWERS = {"is", "was", "and", "or", "seems", "appears", "because", "since", "as", "would",
                     "fits", "matches", "corresponds", "best", "which", "with"}
# Words before a letter that make it part of a term ("grade C", "vitamin D", "hepatitis B").
_TERM_PREFIXES = {"grade", "type", "stage", "class", "vitamin", "hepatitis", "zone", "group", "segment",
                  "level", "phase", "factor", "protein", "category", "score", "lead", "complex", "point",
                  "cell", "cells", "influenza", "pattern", "figure", "panel", "image", "series"}


def _normalise(text: str) -> str:
    """NFKC folds full-width letters and punctuation (Ｃ, （Ｃ）, ：) into ASCII; drops reasoning traces."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if ">" in text and "think>" in text.lower():
        text = _THINK_END.split(text)[-1]
        text = _THINK.sub(" ", text)
        if _THINK_START.search(text):  # a reasoning trace cut off before its answer
            return ""
    return text.strip()


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


@lru_cache(maxsize=65536)
def _option_words(options: tuple[str, ...]) -> dict[str, str]:
    """Letter -> normalised option text; the same options recur across thousands of outputs."""
    return {LETTERS[i]: _words(option) for i, option in enumerate(options[:len(LETTERS)]) if _words(option)}


@lru_cache(maxsize=65536)
def _option_names(options: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Normalised option text -> the letters of the options that read so (two when options repeat)."""
    names: dict[str, tuple[str, ...]] = {}
    for letter, name in _option_words(options).items():
        names[name] = names.get(name, ()) + (letter,)
    return names


@lru_cache(maxsize=65536)
def _letter_word_options(options: tuple[str, ...]) -> dict[str, list[tuple[str, str]]]:
    """Lower-case first word -> (letter, text) of options whose text opens with a one-letter word."""
    found: dict[str, list[tuple[str, str]]] = {}
    for letter, name in _option_words(options).items():
        if len(name) > 1 and name[1] == " ":
            found.setdefault(name[0], []).append((letter, name))
    return found


def _spells_another_option(letter: str, rest: str, options: tuple[str, ...]) -> bool:
    """The letter opens another option's text ("E. coli sepsis", "B-cell lymphoma"), not its own."""
    if not _WORD_AFTER_LETTER.match(rest):  # "C", "C) …", "C, because …": a choice, whatever the options
        return False
    candidates = _letter_word_options(options).get(letter.lower())
    if not candidates:
        return False
    own = _option_words(options).get(letter.upper())
    if own and (_words(rest) + " ").startswith(own + " "):
        return False
    spelled = _words(letter + rest) + " "
    return any(other != letter.upper() and spelled.startswith(name + " ") for other, name in candidates)


def _genus_abbreviation(letter: str, rest: str, options: tuple[str, ...]) -> bool:
    """A species name ("E. coli", "C. difficile"), not choice E or C, unless it opens that option's own text."""
    match = _GENUS.match(rest)
    if not match or match.group(1) in _CHOICE_PROSE:
        return False
    own = _option_words(options).get(letter.upper())
    return not (own and (_words(rest) + " ").startswith(own + " "))


def _letter_at(text: str, match: re.Match, options: tuple[str, ...]) -> str | None:
    """The match's letter if what follows keeps it a choice (not "a mass", not "e.g."); "" if several."""
    group = match.lastindex or 1
    letter = match.group(group)
    rest = text[match.end(group):]
    if not _ASCII_LETTER.search(rest):  # "Answer: B", "(B).": every check below reads a word that follows
        return letter.upper()
    if _MULTIPLE_AFTER.match(rest):
        return ""
    if (_ABBREVIATION.match(rest) or _spells_another_option(letter, rest, options)
            or _genus_abbreviation(letter, rest, options)):
        return None
    following = _FOLLOWING_WORD.match(rest)
    if following:
        option = _option_words(options).get(letter.upper())
        if option and _words(rest).startswith(option):
            return letter.upper()
        if letter.islower() or (letter == "A" and following.group(1).lower() not in _LETTER_FOLLOWERS):
            return None
    return letter.upper()


def _last_valid(text: str, pattern: re.Pattern, options: tuple[str, ...]) -> str | None:
    """The last match that stands as a choice; "" when that answer names several letters. The last
    line is read first: a long output commits at its end, and the rest is read only when it does not."""
    tail = max(text.rfind("\n") + 1, len(text) - TAIL_CHARS)  # the last line, at most TAIL_CHARS of it
    letter = _last_standing(text, pattern.finditer(text, tail), options)
    if letter is None and tail:
        letter = _last_standing(text, (m for m in pattern.finditer(text) if m.start() < tail), options)
    return letter


def _last_standing(text: str, matches: Iterable[re.Match], options: tuple[str, ...]) -> str | None:
    for match in reversed(list(matches)):
        letter = _letter_at(text, match, options)
        if letter is not None:
            return letter
    return None


def _lone_letter(text: str) -> str | None:
    """The one letter of the last sentence, standing alone among its last few words (not "grade C")."""
    sentence = [p for p in _SENTENCES.split(text) if p.strip()][-1]
    tokens = [t.strip("()[]{}.,:;!?\"'`") for t in sentence.split()]
    letters = {}
    for position, token in enumerate(tokens):
        if len(token) != 1 or token not in LETTERS:
            continue
        after = tokens[position + 1].lower() if position + 1 < len(tokens) else ""
        before = tokens[position - 1].lower() if position else ""
        if (after.isalpha() and after not in _LETTER_FOLLOWERS) or before in _TERM_PREFIXES:
            continue
        letters[token] = position
    if len(letters) != 1:
        return None
    letter, position = letters.popitem()
    return letter if position >= len(tokens) - LAST_TOKENS else None


def _option_text(text: str, options: tuple[str, ...]) -> str | None:
    said = _words(text)
    if not said or len(said.split()) > SHORT_OUTPUT_WORDS:
        return None
    names = _option_words(options)
    exact = [letter for letter, name in names.items() if name == said]
    if len(exact) == 1:
        return exact[0]
    if _HEDGE.search(text):
        return None
    contained = [letter for letter, name in names.items() if f" {name} " in f" {said} "]
    # "aspiration pneumonia" also contains the option "pneumonia": keep only the longest names.
    contained = [a for a in contained if not any(a != b and names[a] in names[b] for b in contained)]
    return contained[0] if len(contained) == 1 else None


def _leading_letter(line: str, options: tuple[str, ...]) -> str | None:
    """The letter a line opens with ("C) Pneumonia"); never "A mass", "e.g.", "E. coli"; "" for "A, C"."""
    match = _LEADING.match(line)
    if not match:
        return None
    rest = line[match.end(1):]
    if _MULTIPLE_AFTER.match(rest):
        return ""
    if _spells_another_option(match.group(1), rest, options) or _genus_abbreviation(match.group(1), rest, options):
        return None
    letter = match.group(1)
    if letter.islower() and len(rest.split()) > 8:  # "a: ..." opening a long sentence is prose
        return None
    return letter.upper()


def extract_choice(text: str | None, options: list[str]) -> str | None:
    """The option letter a model's output commits to, or None (unparsed, counted as wrong)."""
    if not isinstance(text, str):
        return None
    text = _normalise(text)
    if not text:
        return None
    options = tuple(options)  # the key of the per-question caches, made once
    plain = text.translate(_MARKDOWN).strip()
    brk = _LINE_BREAK.search(plain)  # `plain` is stripped: a break means two lines with text
    one_line = brk is None and len(plain) <= 200
    if one_line and (letter := _one_line(plain, options)) is not None:
        return letter or None
    for pattern, source, needs in ((_ANSWER, plain, ""), (_BOLD, text, "**"), (_PAREN, plain, "(")):
        if needs in source and (letter := _last_valid(source, pattern, options)) is not None:
            return letter or None
    first_line = plain[:brk.start()].strip() if brk else plain
    if not one_line and (letter := _leading_letter(first_line, options)) is not None:
        return letter or None
    if _REFUSAL.search(plain):
        return None
    return _lone_letter(plain) or _option_text(plain, options)


def _one_line(plain: str, options: tuple[str, ...]) -> str | None:
    """A one-line output that is exactly one option's text (even one like "E. coli sepsis") or opens
    with a letter; "" for several letters, None to read on."""
    bare = _BARE_LETTER.fullmatch(plain)
    named = _option_names(options).get(bare.group(1).lower() if bare else _words(plain), ())
    if len(named) == 1:
        return named[0]
    if bare:  # "C", "(c)", "B.": what `_leading_letter` reads, without its checks of what follows
        return bare.group(1).upper()
    return _leading_letter(plain, options)
