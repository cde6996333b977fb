"""Reading a visitor's name from their answer."""

from __future__ import annotations

import re
from typing import Final

from qualifying.declines import DECLINED, Declined, is_decline, is_refusal
from qualifying.text import (
    is_gibberish,
    is_question,
    prepare,
    without_acknowledgement,
    without_symbols,
)
from qualifying.wordlists import word_list, word_table

# A name answer longer than this is a message about something else.
_MAX_NAME_CHARS: Final = 120
_MAX_NAME_WORDS: Final = 5
# Job titles and departments ("VP Sales", "SDR manager") are roles, never a person's name.
_ROLE_WORDS: Final = (
    frozenset(word_table("job_titles"))
    | word_list("chief_officers")
    | word_list("departments")
    | word_list("upper_case_words")
)

_NAME_INTRODUCTION: Final = re.compile(
    r"^(?:my\s+(?:full\s+|first\s+)?name\s+is|my\s+name's|(?:the\s+)?name\s+is|(?:the\s+)?name's|"
    r"name\s*:|i'm|i\s+am|im|it's|its|it\s+is|this\s+is|(?:you\s+can\s+|just\s+|please\s+)?call\s+me|"
    r"they\s+call\s+me|people\s+call\s+me|i\s+go\s+by)\s+",
    re.IGNORECASE,
)
# Where a name ends inside a sentence: "Dana here", "Leo from Acme", "Jo, VP of Sales".
_AFTER_NAME: Final = re.compile(
    r"[,;!?()\[\]\"]|\s[-\u2013]\s|\s+(?:from|at|with|and|here|but|btw|thanks|thank\s+you|please|"
    r"speaking)\b",
    re.IGNORECASE,
)
_NAME_WORD: Final = re.compile(r"[^\W\d_]+(?:['\u2019.\-][^\W\d_]+)*\.?")


def parse_person_name(text: str) -> str | Declined | None:
    """Read the visitor's name from their answer ("my name is leo" -> "Leo").

    A name typed all in lower (or upper) case is capitalised ("dana whitfield" -> "Dana Whitfield",
    "o'brien" -> "O'Brien", particles such as "van der" kept lower); any other casing is kept.

    Returns:
        The name; `DECLINED` for "no", "rather not say" or "anonymous"; None when the answer is
        not a name (digits, an email, a question, more than five words).
    """
    said = without_symbols(prepare(text))
    if is_refusal(said):
        return DECLINED
    name = _name_in(said)
    if name is not None:
        return name
    return DECLINED if is_decline(said) else None


def _name_in(said: str) -> str | None:
    if len(said) > _MAX_NAME_CHARS or "@" in said or any(char.isdigit() for char in said):
        return None
    if is_question(said):
        return None
    candidate = without_acknowledgement(said)
    candidate = _NAME_INTRODUCTION.sub("", candidate, count=1)
    candidate = _AFTER_NAME.split(candidate, maxsplit=1)[0].strip(" .!:")
    name_words = candidate.split()
    if not 1 <= len(name_words) <= _MAX_NAME_WORDS:
        return None
    if not all(_NAME_WORD.fullmatch(word) for word in name_words):
        return None
    not_names = word_list("not_name_words") | word_list("greetings") | _ROLE_WORDS
    if any(word.lower() in not_names for word in name_words) or is_gibberish(candidate):
        return None
    if candidate.islower() or candidate.isupper():
        return " ".join(_capitalised(word, position) for position, word in enumerate(name_words))
    return candidate


def _capitalised(word: str, position: int) -> str:
    lowered = word.lower()
    if position > 0 and lowered in word_list("name_particles"):
        return lowered
    # Every part after a hyphen or apostrophe starts a name too: "Anne-Marie", "O'Brien".
    parts = re.split(r"(['\u2019-])", lowered)
    capitalised = "".join(part[:1].upper() + part[1:] for part in parts)
    if capitalised.startswith("Mc") and len(capitalised) > 3:
        capitalised = "Mc" + capitalised[2].upper() + capitalised[3:]
    return capitalised
