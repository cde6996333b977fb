"""Text tools every answer parser shares: clipping and unifying what was typed, its words,
and telling a question or keyboard mashing from an answer."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from qualifying.wordlists import word_list

# An answer to one question is short; reading only its start keeps every parser fast on junk.
MAX_ANSWER_CHARS: Final = 2000

_DASHES: Final = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_QUOTES: Final = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# Control characters and stray bytes: binary-ish text must read as plain noise, not crash.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd]")
_SPACED_DIGIT_GROUPS: Final = re.compile(r"\b\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+\b")

_ACKNOWLEDGEMENT: Final = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|sure|ok|okay|yes|yeah|yep|of\s+course|certainly|absolutely|"
    r"well|so|um|uh)\b[\s,.!:-]*)+",
    re.IGNORECASE,
)
_WORD: Final = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")

# Markup, script, template and query syntax, and data structures: typed into a chat, these
# are tests or attacks, never an answer.
_CODE: Final = re.compile(
    r"""<\s*/?\s*[a-z!?][^>]*>            # an HTML or XML tag
      | \b(?:javascript|vbscript|data)\s*:  # a script URL
      | \{\{ | \}\} | \$\{ | <% | %>        # template syntax
      | \b(?:union\s+(?:all\s+)?select|drop\s+table|insert\s+into|delete\s+from)\b
      | '\s*or\s*'?\d*'?\s*=\s*'?\d       # ' OR '1'='1
      | ;\s*--                             # a statement end and a comment
      | ^\s*[\[{].*[\]}]\s*$              # JSON-looking text
      | ^[-+]?(?:\d+(?:\.\d+)?e[-+]?\d+|0x[0-9a-f]+)$  # a number in a programmer's notation
    """,
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)

# Keyboard rows: a word typed along one of them is mashing, not language.
_KEYBOARD_ROWS: Final = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS: Final = frozenset("aeiouy")
_CONSONANT_RUN: Final = re.compile(r"[b-df-hj-np-tv-xz]{6,}")
_REPEATED_LETTER: Final = re.compile(r"(.)\1{3,}")


def prepare(text: str) -> str:
    """Clip an answer to a readable length and unify its dashes, quotes and spaces.

    Args:
        text: what the visitor typed, possibly empty or full of noise.

    Returns:
        The text with one kind of dash ("-"), straight quotes, no control characters and
        space-separated digit groups ("50 000") joined; case and wording are kept.
    """
    clipped = unicodedata.normalize("NFKC", text[:MAX_ANSWER_CHARS])
    clipped = _CONTROL.sub(" ", _DASHES.sub("-", clipped.translate(_QUOTES)))
    return _SPACED_DIGIT_GROUPS.sub(lambda groups: re.sub(r"\D", "", groups[0]), clipped)


def lowered(text: str) -> str:
    """The text in lower case with straight apostrophes and single spaces."""
    return " ".join(text.replace("\u2019", "'").lower().split())


def without_symbols(text: str) -> str:
    """The text without emoji and pictographs, which are never part of a name or company."""
    kept = "".join(
        " " if unicodedata.category(char) in ("So", "Sk", "Cs") else char for char in text
    )
    return " ".join(kept.split())


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


# A sentence this long that ends with "?" asks something even without a question word.
_QUESTION_SENTENCE_WORDS: Final = 5

# Where one thought ends and the next starts: a sentence's end, a comma, "but", or "and" before
# a new subject ("... we lose enquiries and I forget to call back").
_CLAUSE_BREAK: Final = re.compile(
    r"\s*(?:[.!?;:]+(?=\s|$)|,|\bbut\b|\band\s+(?=(?:i|we|they|it|our|my)\b))\s*", re.IGNORECASE
)
# A shorter piece says too little to mean anything alone ("Hi", "thanks").
_CLAUSE_WORDS: Final = 3


def clauses(text: str) -> list[str]:
    """The text's thoughts said apart, each of at least three words: "I run a driving school,
    I need to track every enquiry" -> ["I run a driving school", "I need to track every
    enquiry"]. A text of one thought gives an empty list."""
    pieces = [piece for piece in _CLAUSE_BREAK.split(text) if len(words(piece)) >= _CLAUSE_WORDS]
    return pieces if len(pieces) > 1 else []


def is_question(text: str) -> bool:
    """True when the text asks something: it starts with a question word, or ends with "?"
    and has one ("what's the weather?", "and you are?") or is a sentence ("any good films to
    watch?"), not a hedged answer ("50k?")."""
    found = words(text)
    if not found:
        return False
    question_words = word_list("question_words")
    if found[0] in question_words:
        return True
    if not text.rstrip().endswith("?"):
        return False
    return len(found) >= _QUESTION_SENTENCE_WORDS or any(word in question_words for word in found)


def is_gibberish(text: str) -> bool:
    """True when the text has words and every one of them is keyboard mashing ("asdfgh")."""
    found = words(text)
    return bool(found) and all(is_mashed(word) for word in found)


def is_mashed(word: str) -> bool:
    """True for a word typed by running along the keyboard or holding a key ("sdfgh", "aaaaa")."""
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


def without_acknowledgement(text: str) -> str:
    """The text without an opening "sure", "ok", "hi" or "well" before the answer."""
    return _ACKNOWLEDGEMENT.sub("", text)


def is_not_an_answer(text: str) -> bool:
    """True for text that is code, markup, a query or a program's empty value ("NaN", "null")
    rather than anything a person would answer: it is asked again and never stored."""
    stripped = " ".join(text.split()).lower()
    return bool(_CODE.search(stripped)) or stripped in word_list("non_values")
