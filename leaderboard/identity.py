"""Who a row claims to be: model names that cannot impersonate another row or hide characters.

A name is refused when it equals a paper model's or another submitter's model name once both
are folded the same way: Unicode NFKC, case folding, look-alike letters mapped to the Latin
letter they imitate, Latin letters of every form (small capitals, modifier and subscript letters,
dotless and accented letters) read as their base letter, digits of every script read as 0-9,
and spaces and punctuation ignored. The look-alike map comes from
Unicode's confusables data (UTS #39) as shipped by the `confusable-homoglyphs` package; it is
applied to non-ASCII letters only, so plain ASCII names fold by case and punctuation alone.
Names and descriptions may not carry control, format (bidi overrides, zero-width) or line/
paragraph separator characters (Unicode categories Cc, Cf, Zl, Zp); a description may keep
line breaks and tabs.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Iterable

from core.text import fold_chars

FORBIDDEN_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible formatting character",
                        "Zl": "a line separator", "Zp": "a paragraph separator"}
DESCRIPTION_ALLOWED = {"\n", "\t"}


class IdentityError(ValueError):
    """A name or text that is refused; the message names the field and the rule."""


def identity_key(name: str) -> str:
    """The folded form two names must not share: NFKC, casefold, look-alikes, base Latin letters, digits of
    any script as 0-9, no spaces or punctuation."""
    return "".join(_base(ch) for ch in fold_chars(name) if unicodedata.category(ch)[0] in "LN")


@lru_cache(maxsize=4096)
def _base(ch: str) -> str:
    """A digit of any script as its ASCII digit; a Latin letter of any form (ɢ, ᴘ, ᵗ, ı, é) as its base letter."""
    if ch.isascii():
        return ch
    digit = unicodedata.decimal(ch, None)
    if digit is not None:
        return str(digit)
    words = unicodedata.name(ch, "").split()
    if words[:1] in (["LATIN"], ["MODIFIER"]) and "LETTER" in words:
        letter = next((w for w in words[words.index("LETTER") + 1:] if len(w) == 1 and w.isalpha()), None)
        if letter is not None:
            return letter.lower()
    return ch


def check_characters(field: str, text: str, allowed: set[str] = frozenset()) -> None:
    """Refuse `text` when it holds a character of a forbidden category (naming it and its code point)."""
    for ch in text:
        category = unicodedata.category(ch)
        if category in FORBIDDEN_CATEGORIES and ch not in allowed:
            raise IdentityError(f"{field}: {FORBIDDEN_CATEGORIES[category]} (U+{ord(ch):04X}) is not allowed; "
                                "names and descriptions are shown as plain visible text.")


def check_model_name(name: str, reserved: Iterable[str], taken: Iterable[str], reference: Iterable[str] = ()) -> None:
    """Refuse a name that folds to a paper model's name (`reserved`), a reference row's (`reference`)
    or another submitter's model name (`taken`)."""
    check_characters("Model name", name)
    key = identity_key(name)
    if not key:
        raise IdentityError("Model name: needs at least one letter or digit.")
    for label, names in (("a model reported in the paper", reserved), ("a reference row of the board", reference),
                         ("another submitter's model", taken)):
        clash = next((other for other in names if identity_key(other) == key), None)
        if clash is not None:
            raise IdentityError(f"Model name: {name!r} reads the same as {label} ({clash!r}) once case, spacing, "
                                "punctuation and look-alike letters are ignored; choose a name that tells them apart.")
