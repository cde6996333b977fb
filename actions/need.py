"""Classifying what a visitor wants to solve into one of the offerings the business sells.

The word tools the other answer parsers share live here too: `words`, `correct_spelling`
(typos against a small domain vocabulary), `is_question` and `is_gibberish`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from actions.declines import DECLINED, Declined, is_decline
from actions.numbers import prepare

# The category of a need that was stated but matches none of the offerings.
OTHER: Final = "other"

_WORD: Final = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")

_QUESTION_WORDS: Final = frozenset(
    [
        "what",
        "what's",
        "whats",
        "who",
        "who's",
        "whom",
        "whose",
        "where",
        "when",
        "why",
        "how",
        "which",
        "is",
        "are",
        "am",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "will",
        "should",
        "shall",
        "may",
        "might",
    ]
)

# Keyboard rows: a word typed along one of them is mashing, not language.
_KEYBOARD_ROWS: Final = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS: Final = frozenset("aeiouy")
_CONSONANT_RUN: Final = re.compile(r"[b-df-hj-np-tv-xz]{6,}")
_REPEATED_LETTER: Final = re.compile(r"(.)\1{3,}")

# Words that say nothing about a need: function words, greetings, acknowledgements, hedges.
_NO_CONTENT: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "so",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "about",
        "into",
        "over",
        "than",
        "then",
        "as",
        "i",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "me",
        "my",
        "mine",
        "we",
        "we're",
        "we've",
        "we'd",
        "we'll",
        "us",
        "our",
        "ours",
        "you",
        "you're",
        "your",
        "it",
        "it's",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "is",
        "are",
        "am",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "can",
        "could",
        "would",
        "will",
        "should",
        "shall",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "yeah",
        "yep",
        "ok",
        "okay",
        "sure",
        "hi",
        "hello",
        "hey",
        "hiya",
        "howdy",
        "morning",
        "afternoon",
        "evening",
        "good",
        "thanks",
        "thank",
        "please",
        "what",
        "what's",
        "whats",
        "who",
        "where",
        "when",
        "why",
        "how",
        "which",
        "just",
        "only",
        "really",
        "very",
        "much",
        "more",
        "some",
        "any",
        "something",
        "anything",
        "nothing",
        "everything",
        "thing",
        "things",
        "stuff",
        "kind",
        "sort",
        "maybe",
        "perhaps",
        "well",
        "um",
        "uh",
        "hmm",
        "oh",
        "ah",
        "lol",
        "blah",
        "right",
        "now",
        "yet",
        "still",
        "also",
        "too",
        "all",
        "know",
        "sure",
        "idea",
        "clue",
        "certain",
        "unsure",
        "dunno",
        "idk",
        "rather",
        "say",
        "tell",
        "share",
        "answer",
        "pass",
        "skip",
        "private",
        "confidential",
        "comment",
        "browsing",
        "browse",
        "looking",
        "look",
        "around",
        "checking",
        "check",
        "out",
        "curious",
        "particular",
        "specific",
        "need",
        "needs",
        "want",
        "wants",
        "like",
        "get",
        "got",
        "go",
        "going",
        "looking",
        "let's",
        "lets",
        "let",
        "think",
        "offer",
        "see",
    ]
)

# A question that names a wish ("can you help us track deals?") still states a need.
_NEED_CUE: Final = re.compile(
    r"\b(?:need|needs|want|wants|looking\s+for|help\s+(?:us|me|with)|solve|problem|tool|"
    r"software|system|platform|solution|manage|track|automate|improve|organi[sz]e)\b",
    re.IGNORECASE,
)

# Saying there is nothing to solve ("just browsing") rather than refusing to say.
_NOTHING_NEEDED: Final = re.compile(
    r"\b(?:browsing|looking\s+around|just\s+looking|checking\s+(?:\w+\s+)?out|window\s+shopping|"
    r"having\s+a\s+look|nothing|no\s+need|just\s+curious)\b",
    re.IGNORECASE,
)

# Everyday words one typo away from a keyword, which must not be "corrected" into it.
_LOOKALIKES: Final = frozenset({"contract", "resort", "trucking"})


@dataclass(frozen=True)
class Need:
    """What the visitor wants to solve, in their words, and the offering it falls into."""

    text: str
    category: str


def classify_need(text: str, offerings: Mapping[str, Sequence[str]]) -> Need | Declined | None:
    """Classify a visitor's need into the offering whose keywords it mentions most.

    Keywords match whole words, case-insensitively, in singular or plural, and through small
    typos ("dashbords", "pipline").

    Args:
        text: the visitor's answer, a sentence or an extracted entity.
        offerings: offering key -> keywords, from the rules file.

    Returns:
        A `Need` with an offering key, or `"other"` for a real need that matches none;
        `DECLINED` for "just browsing" or "rather not say"; None when the text states nothing
        (empty, a greeting, a bare question, gibberish).
    """
    said = " ".join(prepare(text).split())
    if not said:
        return None
    category = best_offering(said, offerings)
    if category is not None:
        return Need(text=said, category=category)
    content = _content_words(said)
    # A refusal may come with a word or two ("no idea, sorry mate"); more words are a need.
    if (is_decline(said) or _NOTHING_NEEDED.search(said)) and len(content) < 2:
        return DECLINED
    if not content or (is_question(said) and not _NEED_CUE.search(said)):
        return None
    return Need(text=said, category=OTHER)


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


def words(text: str) -> list[str]:
    """The lower-cased words of the text: letters with inner apostrophes, no digits."""
    return _WORD.findall(text.replace("\u2019", "'").lower())


def stem(word: str) -> str:
    """The word without a possessive or plural ending: "dashboards" -> "dashboard"."""
    word = word.removesuffix("'s").rstrip("'")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@lru_cache(maxsize=8192)
def correct_spelling(word: str, vocabulary: frozenset[str]) -> str:
    """The vocabulary word a typo was meant to be, or the word itself.

    Only words of five letters or more are corrected, to one with the same first letter within one
    edit (two for nine letters or more), so short everyday words never turn into keywords.
    """
    if word in vocabulary or len(word) < 5:
        return word
    best, best_distance = word, 3
    for candidate in vocabulary:
        allowed = 2 if min(len(word), len(candidate)) >= 8 and len(candidate) >= 9 else 1
        if (
            candidate[0] != word[0]
            or len(candidate) < 6
            or abs(len(candidate) - len(word)) > allowed
        ):
            continue
        distance = _edit_distance(word, candidate, allowed)
        if distance <= allowed and (distance, candidate) < (best_distance, best):
            best, best_distance = candidate, distance
    return best


def is_question(text: str) -> bool:
    """True when the text asks something: it starts with a question word, or ends with "?"
    and has one ("what's the weather?", "and you are?")."""
    found = words(text)
    if not found:
        return False
    if found[0] in _QUESTION_WORDS:
        return True
    return text.rstrip().endswith("?") and any(word in _QUESTION_WORDS for word in found)


def is_gibberish(text: str) -> bool:
    """True when the text has words and every one of them is keyboard mashing ("asdfgh")."""
    found = words(text)
    return bool(found) and all(_is_mashed(word) for word in found)


def _is_mashed(word: str) -> bool:
    if _REPEATED_LETTER.search(word):
        return True
    if not word.isascii():
        return False
    for row in _KEYBOARD_ROWS:
        if (len(word) >= 4 and (word in row or word in row[::-1])) or any(
            row[i : i + 5] in word for i in range(len(row) - 4)
        ):
            return True
    return (len(word) >= 5 and not _VOWELS.intersection(word)) or bool(_CONSONANT_RUN.search(word))


def _content_words(text: str) -> list[str]:
    return [
        word
        for word in words(text)
        if len(word) > 1 and word not in _NO_CONTENT and not _is_mashed(word)
    ]


def _spelled_stems(found: Iterable[str], offerings: Mapping[str, Sequence[str]]) -> list[str]:
    vocabulary = frozenset(
        stem(word)
        for keywords in offerings.values()
        for keyword in keywords
        for word in words(keyword)
    ).union(_LOOKALIKES)
    return [correct_spelling(stem(word), vocabulary) for word in found]


def _occurrences(stems: Sequence[str], keyword: tuple[str, ...]) -> Iterable[int]:
    if not keyword:
        return
    size = len(keyword)
    for start, word in enumerate(stems):
        if word == keyword[0] and tuple(stems[start : start + size]) == keyword:
            yield start


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours counts once), capped at limit + 1."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]
