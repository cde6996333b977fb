"""A visitor taking back an earlier answer: "sorry, make that 80k not 50k", "scratch that, my
manager decides", "actually we'd need it by March, not next year".

Only the words are read here: which answer they change is for the caller to find out, by
reading the new words with the usual parsers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

from qualifying.wordlists import alternation, word_list

# Up to the end of the clause: the answer taken back ("not next year", "instead of 50k").
_CLAUSE: Final = r"[^,.;:!?()]+"
# "not 50k but 80k": the old answer with its "but".
_NOT_BUT: Final = re.compile(rf"\bnot\s+{_CLAUSE}?\s+but\b", re.IGNORECASE)
_INSTEAD_OF: Final = re.compile(rf"\b(?:instead\s+of|rather\s+than)\s+{_CLAUSE}", re.IGNORECASE)
# "not" after a comma or an amount ("80k not 50k", "by March, not next year"); elsewhere it is
# part of the answer ("I'm not the one who decides").
_NOT_AFTER: Final = re.compile(rf"(?P<kept>[,;]|\d[km]?\b)\s*not\s+{_CLAUSE}", re.IGNORECASE)
_EDGES: Final = " \t\n,.;:!-–—"


@dataclass(frozen=True)
class Correction:
    """A message that may change an earlier answer.

    Attributes:
        words: the new answer's words, without the words that mark the correction and without
            the answer taken back ("80k" in "sorry, make that 80k not 50k"); may be empty.
        takes_back: the message can only mean that an earlier answer was wrong ("scratch that",
            "make that ..."), where "sorry" or "actually" may also start a first answer.
    """

    words: str
    takes_back: bool


def correction(message: str) -> Correction | None:
    """The correction a message makes, or None when nothing in it marks one: correction words,
    or an answer taken back ("80k, not 50k", "not 50k but 80k", "80k instead of 50k")."""
    taking_back = _marker("taking_back").search(message) is not None
    words = _new_words(message)
    if taking_back or _marker("correcting").search(message) or _takes_back_answer(message):
        return Correction(words, taking_back)
    return None


def _new_words(text: str) -> str:
    """The text without correction words and without the answer it takes back."""
    text = _NOT_BUT.sub(" ", text)
    text = _INSTEAD_OF.sub(" ", text)
    text = _NOT_AFTER.sub(lambda found: found.group("kept"), text)
    text = _marker("taking_back").sub(" ", text)
    text = _marker("correcting").sub(" ", text)
    # What the markers leave between them (", ,") is no part of the answer.
    text = re.sub(r"\s*([,;])(?:\s*[,;])+", r"\1", text)
    return " ".join(text.split()).strip(_EDGES)


def _takes_back_answer(text: str) -> bool:
    return any(pattern.search(text) for pattern in (_NOT_BUT, _INSTEAD_OF, _NOT_AFTER))


@cache
def _marker(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w'])(?:{alternation(word_list(name))})(?![\w'])", re.IGNORECASE)
