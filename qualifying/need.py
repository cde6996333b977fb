"""Classifying what a visitor wants to solve into one of the offerings the business sells."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

from qualifying.declines import DECLINED, Declined, is_decline, means_decline
from qualifying.meaning import embed, similarity
from qualifying.spelling import corrected_word
from qualifying.text import clauses, is_mashed, is_question, prepare, stem, words
from qualifying.wordlists import word_list

# The category of a need that was stated but matches none of the offerings.
OTHER: Final = "other"

# A need at least this alike to an offering's closest example falls into it.
_CLOSE_ENOUGH: Final = 0.45
# Unasked, a need is taken only when it is at least this alike to an example.
_CLEARLY_CLOSE: Final = 0.55
# Naming a keyword counts as at least this close, and closer than its examples alone would be:
# only a clearly closer example of another offering beats it.
_NAMED_KEYWORD: Final = 0.6
_KEYWORD_BONUS: Final = 0.15
# A keyword counts for nothing when another offering's examples are this much closer in meaning.
_MEANING_OVER_KEYWORD: Final = 0.15
# A need not clearly closer to an offering than to what the business does not sell is `other`.
_UNSOLD_MARGIN: Final = 0.05

# A question that names a wish ("can you help us track deals?") still states a need.
_NEED_CUE: Final = re.compile(
    r"\b(?:need|needs|want|wants|looking\s+for|help\s+(?:us|me|with)|solve|problem|tool|"
    r"software|system|platform|solution|manage|track|automate|improve|organi[sz]e)\b",
    re.IGNORECASE,
)

_WH_WORDS: Final = frozenset(
    {"what", "what's", "whats", "who", "who's", "whose", "when", "where", "why", "how", "which"}
)
_SPEAKS_OF_VISITOR: Final = re.compile(r"\b(?:we|i|us|me|our|my|i'm|we're|ours)\b", re.IGNORECASE)
# "how does your CRM handle deals?" asks about what the visitor may buy.
_ABOUT_THE_PRODUCT: Final = re.compile(
    r"\b(?:your|you)\s+(?:\w+\s+)?(?:crm|product|tool|software|platform)", re.IGNORECASE
)

# Saying there is nothing to solve ("just browsing") rather than refusing to say.
_NOTHING_NEEDED: Final = re.compile(
    r"\b(?:browsing|looking\s+around|just\s+looking|checking\s+(?:\w+\s+)?out|window\s+shopping|"
    r"having\s+a\s+look|nothing|no\s+need|just\s+curious)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Need:
    """What the visitor wants to solve, in their words, and the offering it falls into."""

    text: str
    category: str


def classify_need(
    text: str,
    offerings: Mapping[str, Sequence[str]],
    examples: Mapping[str, Sequence[str]] | None = None,
    other_needs: Sequence[str] = (),
) -> Need | Declined | None:
    """Classify a visitor's need into the offering it means.

    Each offering is described by example needs: the need falls into the offering whose
    example it means most alike (sentence meaning, see `qualifying.meaning`), when that is
    close enough and closer than any of `other_needs`. Naming an offering's keyword ("crm",
    "help desk", "dashbords" with its typo) counts as a close example of it.

    Args:
        text: the visitor's answer, a sentence or an extracted entity.
        offerings: offering key -> keywords, from the rules file.
        examples: offering key -> example needs in visitors' words, from the rules file.
        other_needs: example needs the business does not sell.

    Returns:
        A `Need` with an offering key, or `"other"` for a real need that matches none;
        `DECLINED` for "just browsing" or "rather not say"; None when the text states nothing
        (empty, a greeting, a bare question, gibberish).
    """
    said = " ".join(prepare(text).split())
    if not said:
        return None
    if _asks_about_something_else(said):
        return None  # "what is a prime number": a question, whatever words it shares
    content = _content_words(said)
    category = _closest_offering(said, offerings, examples or {}, other_needs) if content else None
    if category is not None:
        return Need(text=said, category=category)
    # A refusal may come with a word or two ("no idea, sorry mate"); more words are a need.
    if (is_decline(said) or _NOTHING_NEEDED.search(said)) and len(content) < 2:
        return DECLINED
    if not content or (is_question(said) and not _NEED_CUE.search(said)):
        return None
    return DECLINED if means_decline(said) else Need(text=said, category=OTHER)


def _asks_about_something_else(said: str) -> bool:
    """True for a question like "who invented radio?" that says nothing of the visitor: a need
    asked as a question speaks of them ("how can we track our deals?", "do you do ticketing?")."""
    found = words(said)
    return (
        bool(found)
        and found[0] in _WH_WORDS
        and not _SPEAKS_OF_VISITOR.search(said)
        and not _ABOUT_THE_PRODUCT.search(said)
    )


def names_offering_clearly(
    text: str, offerings: Mapping[str, Sequence[str]], examples: Mapping[str, Sequence[str]]
) -> bool:
    """True when the text names an offering's keyword or means one of its examples closely:
    enough to take it as a need the visitor volunteered before being asked."""
    said = " ".join(prepare(text).split())
    if best_offering(said, offerings) is not None:
        return True
    return any(_closeness(said, tuple(phrases)) >= _CLEARLY_CLOSE for phrases in examples.values())


def _closest_offering(
    said: str,
    offerings: Mapping[str, Sequence[str]],
    examples: Mapping[str, Sequence[str]],
    other_needs: Sequence[str],
) -> str | None:
    """The offering the need means, or None when it means none of them.

    A need told with its story ("learners enquire online and I forget to get back to them, I
    need to track every enquiry") may mean nothing clearly as a whole, its meaning diluted by
    the rest: then the clause that means an offering most clearly decides.
    """
    whole = _offering_meant(said, offerings, examples, other_needs)
    if whole is not None:
        return whole[0]
    in_clauses = [
        meant
        for clause in clauses(said)
        if (meant := _offering_meant(clause, offerings, examples, other_needs)) is not None
    ]
    return max(in_clauses, key=lambda meant: meant[1])[0] if in_clauses else None


def _offering_meant(
    said: str,
    offerings: Mapping[str, Sequence[str]],
    examples: Mapping[str, Sequence[str]],
    other_needs: Sequence[str],
) -> tuple[str, float] | None:
    """The offering the text means and how closely, or None when it means none of them."""
    named = best_offering(said, offerings)
    closeness = {
        offering: _closeness(said, tuple(examples.get(offering, ()))) for offering in offerings
    }
    if named is not None and not _means_other_clearly(named, closeness):
        closeness[named] = max(closeness[named] + _KEYWORD_BONUS, _NAMED_KEYWORD)
    best = max(closeness, key=lambda offering: closeness[offering], default=None)
    if best is None or closeness[best] < _CLOSE_ENOUGH:
        return None
    unsold = _closeness(said, tuple(other_needs))
    if closeness[best] < _NAMED_KEYWORD and unsold + _UNSOLD_MARGIN > closeness[best]:
        return None
    return best, closeness[best]


def _means_other_clearly(named: str, closeness: Mapping[str, float]) -> bool:
    """True when the words mean another offering clearly more than the one a keyword names:
    "a chat on the website to deal with them" is support, whatever "deal" names."""
    return any(
        offering != named
        and alike >= _CLOSE_ENOUGH
        and alike >= closeness[named] + _MEANING_OVER_KEYWORD
        for offering, alike in closeness.items()
    )


def _closeness(said: str, phrases: tuple[str, ...]) -> float:
    """How alike in meaning the text is to the closest of the phrases (cosine, -1 to 1)."""
    if not phrases:
        return -1.0
    return float(similarity(said, _phrase_vectors(phrases)).max())


@lru_cache(maxsize=64)
def _phrase_vectors(phrases: tuple[str, ...]) -> NDArray[np.float32]:
    return embed(phrases)


def best_offering(text: str, offerings: Mapping[str, Sequence[str]]) -> str | None:
    """The offering whose keywords cover most of the text's words, or None when none match.

    Ties go to the offering with the longer matched keywords, then to the first listed.
    """
    stems = _spelled_stems(words(text), offerings)
    best: tuple[int, int] = (0, 0)
    choice: str | None = None
    for offering, keywords in offerings.items():
        covered: set[int] = set()
        matched_chars = 0
        for keyword in keywords:
            keyword_stems = tuple(stem(word) for word in words(keyword))
            for start in _occurrences(stems, keyword_stems):
                covered.update(range(start, start + len(keyword_stems)))
                matched_chars += len(keyword)
        if (len(covered), matched_chars) > best:
            best, choice = (len(covered), matched_chars), offering
    return choice


def _content_words(text: str) -> list[str]:
    return [
        word
        for word in words(text)
        if len(word) > 1 and word not in word_list("no_content") and not is_mashed(word)
    ]


def _spelled_stems(found: Iterable[str], offerings: Mapping[str, Sequence[str]]) -> list[str]:
    vocabulary = frozenset(
        stem(word)
        for keywords in offerings.values()
        for keyword in keywords
        for word in words(keyword)
    )
    return [corrected_word(stem(word), vocabulary) for word in found]


def _occurrences(stems: Sequence[str], keyword: tuple[str, ...]) -> Iterable[int]:
    if not keyword:
        return
    size = len(keyword)
    for start, word in enumerate(stems):
        if word == keyword[0] and tuple(stems[start : start + size]) == keyword:
            yield start
