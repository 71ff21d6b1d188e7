"""Folding text before looking at it, so a spelling cannot hide what it says.

Shared by model-name identity (leaderboard) and the answer screen (judge). Folding decodes JSON
`\\uXXXX` escapes and HTML character references, applies Unicode NFKC (full-width forms become
ASCII), maps look-alike letters to the Latin letter they imitate (Unicode's confusables data,
UTS #39, as shipped by `confusable-homoglyphs`), drops invisible characters and folds case.
`fold` keeps, for every folded character, where it came from, so what is found in the folded
text can be cut out of the original text and nothing else changes.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# Zero-width and bidi controls, soft hyphen, word joiners, BOM, variation selectors, tag characters.
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                       "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]")
_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}(?:\\u[0-9a-fA-F]{4})?|\\[\"\\/]|&#[xX][0-9a-fA-F]{1,6};|&#[0-9]{1,7};"
                     r"|&[A-Za-z][A-Za-z0-9]{1,31};")


@lru_cache(maxsize=1)
def latin_lookalikes() -> dict[str, str]:
    """Non-ASCII character -> the ASCII letter or digit it imitates (from Unicode's confusables)."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    mapping = {}
    for character, entries in data.items():
        if len(character) != 1 or character.isascii():
            continue
        for entry in entries:
            target = entry.get("c", "")
            if len(target) == 1 and target.isascii() and target.isalnum():
                mapping[character] = target
                break
    return mapping


def _decode(escape: str) -> str:
    if escape.startswith("\\u"):
        try:
            return json.loads(f'"{escape}"')
        except json.JSONDecodeError:  # a lone surrogate: keep it visible as it was written
            return escape
    if escape.startswith("\\"):
        return escape[1]
    decoded = html.unescape(escape)
    return decoded if decoded != escape else escape


def fold_chars(piece: str, lookalikes: bool = True) -> str:
    """NFKC, look-alikes to Latin (unless `lookalikes` is False), invisible characters dropped, casefold
    (no escapes decoded)."""
    lookalikes = latin_lookalikes() if lookalikes else {}
    normal = unicodedata.normalize("NFKC", piece)
    mapped = "".join(lookalikes.get(ch, lookalikes.get(ch.casefold(), ch)) for ch in normal)
    return INVISIBLE.sub("", mapped).casefold()


@dataclass(frozen=True)
class Folded:
    """Folded text and, per folded character, the span [start, end) of the original it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind folded characters [start, end)."""
        return self.starts[start], self.ends[max(start, end - 1)]


def fold(text: str, rounds: int = 3, lookalikes: bool = True) -> Folded:
    """`text` folded for looking (escapes decoded, NFKC, look-alikes, no invisibles, casefold), with its map.

    Escapes are decoded again while some remain (up to `rounds` times), so a doubly encoded text
    ("&amp;quot;") is read as a model that decodes it twice would read it. Without `lookalikes`,
    text in Cyrillic or Greek stays in its own script (to be read as words of that language).
    """
    folded = _fold_once(text, lookalikes)
    for _ in range(rounds - 1):
        if not _ESCAPE.search(folded.text):
            break
        again = _fold_once(folded.text, lookalikes)
        folded = Folded(again.text, tuple(folded.starts[start] for start in again.starts),
                        tuple(folded.ends[end - 1] for end in again.ends))
    return folded


def _fold_once(text: str, lookalikes: bool) -> Folded:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for match in _ESCAPE.finditer(text):
        _fold_run(text, position, match.start(), out, starts, ends, lookalikes)
        folded = fold_chars(_decode(match.group(0)), lookalikes)
        out.append(folded)
        starts.extend([match.start()] * len(folded))
        ends.extend([match.end()] * len(folded))
        position = match.end()
    _fold_run(text, position, len(text), out, starts, ends, lookalikes)
    return Folded("".join(out), tuple(starts), tuple(ends))


def _fold_run(text: str, start: int, end: int, out: list[str], starts: list[int], ends: list[int],
              lookalikes: bool) -> None:
    if text[start:end].isascii():
        out.append(text[start:end].lower())
        starts.extend(range(start, end))
        ends.extend(range(start + 1, end + 1))
        return
    for index in range(start, end):
        folded = fold_chars(text[index], lookalikes)
        out.append(folded)
        starts.extend([index] * len(folded))
        ends.extend([index + 1] * len(folded))
