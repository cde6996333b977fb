"""Recognising a visitor who will not, or cannot, answer a question."""

from __future__ import annotations

import re
from functools import cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

from qualifying.meaning import embed, similarity
from qualifying.wordlists import word_list


class Declined:
    """The visitor answered, but chose not to give a value ("rather not say", "no idea")."""

    _instance: Declined | None = None

    def __new__(cls) -> Declined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DECLINED"


DECLINED: Final = Declined()

# An unread answer at least this alike to a way of not answering is a decline.
_DECLINE_MEANT: Final = 0.55

_DECLINE_PATTERNS: Final = re.compile(
    r"""
    \b(
        (i\s*(?:'d|would)\s*)?rather\s+not(\s+(say|tell|share|answer|disclose))?
      | prefer\s+not\s+to\s+(say|tell|share|answer|disclose)
      | (i\s*)?(do\s*n[o']?t|dont|don't|dunno)\s+(know|want\s+to\s+(say|share|tell)|wanna\s+say)
      | dunno | idk | no\s+idea | not\s+sure | unsure | no\s+clue | not\s+certain
      | can'?t\s+(say|tell|share) | cannot\s+(say|tell|share)
      | no\s+comment | pass | skip(\s+(this|that|it))? | next\s+question
      | none\s+of\s+your\s+business | private | confidential | n/?a
      | not\s+telling | won'?t\s+say | hard\s+to\s+say
      | tbd | tba | to\s+be\s+(decided|determined) | beats\s+me | who\s+knows
      | (can'?t|cannot|won'?t)\s+disclose | not\s+comfortable\s+(sharing|saying|telling)
      | (do\s*n[o']?t|dont)\s+kn[oa]?w | no\s+ide[ae]
    )\b
    | 🤷
    """,
    re.IGNORECASE | re.VERBOSE,
)


def is_decline(text: str) -> bool:
    """True when the text refuses or cannot give an answer, e.g. "I'd rather not say"."""
    return bool(_DECLINE_PATTERNS.search(text.replace("’", "'")))


# A short "no" to a contact question, in any of its everyday forms.
_SHORT_NO: Final = re.compile(
    r"(?:no|nope|nah|nay|no\s+thanks?|no\s+thank\s+you|no\s+way|not\s+now|never|"
    r"(?:i'?d\s+)?rather\s+not|(?:i'?d\s+)?prefer\s+not(?:\s+to)?|not\s+(?:giving|sharing|telling)|"
    r"no\s+(?:email|name|company)|none|anonymous|anon|skip|pass|-+)"
    r"(?:\s+(?:thanks|thank\s+you|sorry|mate|please))*"
)


def is_refusal(text: str) -> bool:
    """True when the whole answer is a short "no" ("no thanks", "rather not", "anonymous")."""
    core = re.sub(r"[^\w\s'/-]", " ", " ".join(text.replace("\u2019", "'").lower().split()))
    return bool(_SHORT_NO.fullmatch(" ".join(core.split())))


def means_decline(text: str) -> bool:
    """True when the answer means "I won't or can't say" in words no fixed phrase covers
    ("I'd prefer not to get into that", "we haven't worked that out")."""
    if not text.strip():
        return False
    return float(similarity(text, _decline_vectors()).max()) >= _DECLINE_MEANT


@cache
def _decline_vectors() -> NDArray[np.float32]:
    return embed(sorted(word_list("decline_examples")))
