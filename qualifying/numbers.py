"""Reading the numbers in a visitor's answer: spelled-out words, vague quantities, separators."""

from __future__ import annotations

import re
from typing import Final

from price_parser import Price
from text_to_num import alpha2digit

# Longer digit runs are ids, phone numbers or noise, never a quantity someone said.
_LONGEST_FIGURE: Final = 24

# A figure as people type it: "50000", "50,000", "50.000", "1.5", "12,500.50", "2,5".
NUMBER_PATTERN: Final = r"\d+(?:[.,']\d+)*"


# Vague quantities a visitor uses instead of a figure, as the figure a sales rep would read.
_QUANTIFIERS: Final = (
    (re.compile(r"\b(?:a\s+)?couple\s+(?:of\s+)?", re.IGNORECASE), "2 "),
    (re.compile(r"\b(?:(?:a\s+)?few|several)\s+(?:of\s+)?", re.IGNORECASE), "3 "),
    (re.compile(r"\ba\s+dozen\s+", re.IGNORECASE), "12 "),
    (re.compile(r"\bhalf\s+an?\s+", re.IGNORECASE), "0.5 "),
    (re.compile(r"\ba\s+quarter\s+of\s+an?\s+", re.IGNORECASE), "0.25 "),
    # "a grand", "a thousand": the article is the figure one before a magnitude.
    (re.compile(r"\ban?\s+(?=(?:grand|thousand|million|k)\b)", re.IGNORECASE), "1 "),
)
_AND_A_HALF: Final = re.compile(r"\b(\d+)\s+and\s+a\s+half\b", re.IGNORECASE)
# "a hundred" reads as "a 100": the article is the figure one.
_ARTICLE_BEFORE_FIGURE: Final = re.compile(r"\ban?\s+(?=\d)", re.IGNORECASE)
# text2num leaves "1.5 million" as "1.5 1000000": a lone power of ten after a figure multiplies it.
_SPELLED_MAGNITUDE: Final = re.compile(r"\b(\d+(?:\.\d+)?)\s+(100|1000|1000000|1000000000)\b")


def digitise(text: str) -> str:
    """Write every spelled-out or vague quantity in the text as digits.

    "fifty thousand dollars" -> "50000 dollars", "a couple thousand" -> "2000",
    "one point five million" -> "1500000", "two and a half months" -> "2.5 months",
    "half a year" -> "0.5 year". Figures already in digits, and all other words, are kept.

    Args:
        text: a prepared answer (see `prepare`).

    Returns:
        The same text with its quantities as digits.
    """
    for pattern, figure in _QUANTIFIERS:
        text = pattern.sub(figure, text)
    # threshold=0 so that "one" and "two" ("in two months") become digits too.
    text = alpha2digit(text, "en", threshold=0)
    text = _AND_A_HALF.sub(r"\1.5", text)
    text = _ARTICLE_BEFORE_FIGURE.sub("", text)
    return _SPELLED_MAGNITUDE.sub(_multiply, text)


def read_number(figure: str) -> float | None:
    """Read one typed figure, guessing separators: "50,000" and "50.000" are 50000, "2,5" is 2.5.

    Args:
        figure: digits with optional "," "." or "'" separators (see `NUMBER_PATTERN`).

    Returns:
        The value, or None when the text is not a figure or is too long to be a quantity.
    """
    if len(figure) > _LONGEST_FIGURE:
        return None
    amount = Price.fromstring(figure.replace("'", "")).amount
    return float(amount) if amount is not None else None


def _multiply(match: re.Match[str]) -> str:
    value = float(match.group(1)) * int(match.group(2))
    return f"{value:.0f}" if value.is_integer() else str(value)
