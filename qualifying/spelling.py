"""Typos in the words a parser looks for, corrected once for every parser.

A word is corrected only into a word of the parser's own vocabulary, only when it is close
(one edit, two from six letters on, with the same first letter) and only when English uses it
far less than the word it would become: "weaks" becomes "weeks" and "dashbords" "dashboards",
but "contract" never becomes "contact" nor "resort" "report". The frequencies are the English
word list that ships with symspellpy.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib.resources import files
from typing import Final

from symspellpy import SymSpell, Verbosity

_SHORTEST_CORRECTED: Final = 4
_LONGEST_CORRECTED: Final = 20
_MOST_WORDS: Final = 100
# A typo is corrected only when the intended word is this many times more common in English.
_COMMONER_BY: Final = 40
_LETTERS: Final = re.compile(r"[^\W\d_]+")
# As common as "hoping" or "agency": an everyday English word, not a made-up brand name.
_EVERYDAY_COUNT: Final = 5_000_000


def corrected(text: str, vocabulary: frozenset[str]) -> str:
    """The text with every misspelt vocabulary word spelt right; other words untouched.

    Args:
        text: any text; a corrected word comes out in lower case.
        vocabulary: the words the calling parser looks for.
    """
    # An answer is a few dozen words: past that, text is noise and is left as it is.
    return _LETTERS.sub(
        lambda word: _corrected_match(word.group(), vocabulary), text, count=_MOST_WORDS
    )


def _corrected_match(word: str, vocabulary: frozenset[str]) -> str:
    right = corrected_word(word.lower(), vocabulary)
    return word if right == word.lower() else right


def corrected_word(word: str, vocabulary: frozenset[str]) -> str:
    """The vocabulary word a lower-case word was meant to be, or the word itself."""
    if word in vocabulary or not _SHORTEST_CORRECTED <= len(word) <= _LONGEST_CORRECTED:
        return word
    return _best_correction(word, vocabulary)


@lru_cache(maxsize=16384)
def _best_correction(word: str, vocabulary: frozenset[str]) -> str:
    speller = _speller(vocabulary)
    limit = 2 if len(word) >= 6 else 1
    frequency = _english_frequency()
    seen = frequency.get(word, 0)
    for suggestion in speller.lookup(word, Verbosity.CLOSEST, max_edit_distance=limit):
        candidate = suggestion.term
        if candidate[0] != word[0] or candidate not in vocabulary:
            continue
        if seen * _COMMONER_BY <= frequency.get(candidate, 1):
            return candidate
    return word


@cache
def _speller(vocabulary: frozenset[str]) -> SymSpell:
    speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=10)
    for word in vocabulary:
        if _LETTERS.fullmatch(word) and len(word) >= _SHORTEST_CORRECTED - 1:
            speller.create_dictionary_entry(word, 1)
    return speller


def is_everyday_word(word: str) -> bool:
    """True for a word English uses every day ("agency", "hoping"), false for rare words and
    made-up names ("Acme", "Initech")."""
    return _english_frequency().get(word.lower(), 0) >= _EVERYDAY_COUNT


@cache
def _english_frequency() -> dict[str, int]:
    """How often each English word occurs, from symspellpy's 82,765-word frequency list."""
    listing = files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt")
    counts: dict[str, int] = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        word, _, count = line.partition(" ")
        counts[word] = int(count)
    return counts
