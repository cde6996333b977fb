"""Reading a visitor's company from their answer, or from a job title that names it."""

from __future__ import annotations

import re
from typing import Final

from qualifying.declines import DECLINED, Declined, is_decline, is_refusal
from qualifying.text import (
    is_gibberish,
    is_question,
    lowered,
    prepare,
    without_acknowledgement,
    without_symbols,
    words,
)
from qualifying.wordlists import word_list

# A company answer longer than this is a message about something else.
_MAX_COMPANY_CHARS: Final = 120
_MAX_COMPANY_WORDS: Final = 8

_COMPANY_INTRODUCTION: Final = re.compile(
    r"^(?:i\s+work\s+(?:at|for|with|in)|i'?m\s+(?:at|with|from|working\s+(?:at|for))|"
    r"i\s+am\s+(?:at|with|from|working\s+(?:at|for))|working\s+(?:at|for)|i\s+represent|"
    r"we'?re\s+called|we\s+are\s+called|we'?re|we\s+are|it'?s\s+called|it\s+is\s+called|it'?s|"
    r"it\s+is|(?:the\s+|our\s+|my\s+)?company(?:'s)?(?:\s+name)?\s+is(?:\s+called)?|"
    r"company\s*:|the\s+name\s+is|called|from|at)\s+",
    re.IGNORECASE,
)
_CALLED: Final = re.compile(r"\b(?:called|named)\s+(?=\S)", re.IGNORECASE)
_AFTER_COMPANY: Final = re.compile(
    r"[,;!?()\[\]]|\s[-\u2013]\s|\s+(?:as\s+(?:a|an|the|our|their|its)|where|and\s+(?:i|we)|but|"
    r"which|who|because|since|so|thanks|thank\s+you|(?:based|located|headquartered)\s+in)\b",
    re.IGNORECASE,
)
_LOWER_IN_COMPANY: Final = frozenset({"and", "of", "the", "for", "de", "und"})
_NO_COMPANY: Final = re.compile(
    r"^(?:none|no|n/?a|nil|nothing|-+|not\s+applicable|no\s+company(?:\s+\w+)?|just\s+me|myself|"
    r"personal|private\s+person|individual)$|\bno\s+name(?:\s+yet)?\b"
    r"|\b(?:self[\s-]?employed|freelanc\w*|student|unemployed|retired|between\s+jobs|sole\s+trader|"
    r"work\s+for\s+myself|on\s+my\s+own|independent\s+(?:consultant|contractor)|"
    r"(?:don't|do\s+not)\s+(?:work\s+(?:for|at|anywhere)|have\s+(?:one|a\s+company|an?\s+employer|a\s+job))|"
    r"not\s+(?:working|employed)|looking\s+for\s+(?:work|a\s+job))\b",
)

# Words after "at" / "of" that are not the start of a company's name ("Head of Sales").
_NOT_AN_EMPLOYER: Final = word_list("departments") | {"the", "my", "our", "a", "an", "i"}
_EMPLOYER: Final = re.compile(
    r"\b(?:at|of|from|with|for)\s+"
    r"(?P<name>[A-Z][\w&'.\-]*(?:\s+(?:&|and|of|[A-Z0-9][\w&'.\-]*))*)"
)
_TRAILING_JOINERS: Final = re.compile(r"(?:\s+(?:&|and|of))+$")


def parse_company(text: str) -> str | Declined | None:
    """Read the visitor's company from their answer ("I work at Acme Inc." -> "Acme Inc.").

    The company is kept as typed, only capitalised when typed all in lower case
    ("northwind labs" -> "Northwind Labs"); the words around it are dropped.

    Returns:
        The company; `DECLINED` when there is none to give ("none", "n/a", "self-employed",
        "I'm a student") or the visitor will not say; None when the answer is not a company.
    """
    said = without_symbols(prepare(text))
    if not said:
        return None
    said_lower = lowered(said)
    if _NO_COMPANY.search(said_lower) or is_refusal(said):
        return DECLINED
    company = _company_in(said)
    # "Private Label Co" names a company even though "private" is a refusal word.
    if is_decline(said) and not (company and _has_proper_noun(company, said)):
        return DECLINED
    return company


def employer_named_in(text: str) -> str | None:
    """The company that a job title or an introduction names: "CEO of Copperline" -> "Copperline".

    Only a capitalised name after "at", "of", "from", "with" or "for" counts, and not a
    department ("Head of Sales"); None when there is no such name.
    """
    for match in _EMPLOYER.finditer(prepare(text)):
        name = _TRAILING_JOINERS.sub("", match.group("name").rstrip(" .,"))
        if not name or name.split()[0].lower() in _NOT_AN_EMPLOYER:
            continue
        company = parse_company(name)
        if isinstance(company, str):
            return company
    return None


def _company_in(said: str) -> str | None:
    if len(said) > _MAX_COMPANY_CHARS or "@" in said or is_question(said):
        return None
    candidate = without_acknowledgement(said)
    called = _CALLED.search(candidate)
    if called:
        candidate = candidate[called.end() :]
    else:
        candidate = _COMPANY_INTRODUCTION.sub("", candidate, count=1)
    candidate = _AFTER_COMPANY.split(candidate, maxsplit=1)[0].strip(" !:\"'")
    if candidate.endswith(".") and not _ends_with_abbreviation(candidate):
        candidate = candidate.rstrip(".")
    company_words = candidate.split()
    if not 1 <= len(company_words) <= _MAX_COMPANY_WORDS:
        return None
    if not any(char.isalpha() for char in candidate) or is_gibberish(candidate):
        return None
    if any(word in word_list("not_company_words") for word in words(candidate)):
        return None
    if not candidate.islower():
        return candidate
    return " ".join(
        word if position > 0 and word in _LOWER_IN_COMPANY else word[:1].upper() + word[1:]
        for position, word in enumerate(company_words)
    )


def _ends_with_abbreviation(candidate: str) -> bool:
    last = candidate.split()[-1].lower()
    return last in word_list("company_suffixes") or "." in last[:-1]


def _has_proper_noun(company: str, said: str) -> bool:
    """True when a capitalised word of the company is not merely the answer's first word."""
    first_word = said.split()[0]
    return any(
        word[:1].isupper() and word != first_word and not word.lower().startswith("i'")
        for word in company.split()
    )
