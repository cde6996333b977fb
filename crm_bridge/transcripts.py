"""What the store keeps of a conversation's transcript: what a rep needs, bounded, the cut marked.

- A message longer than ``LEADBOT_TRANSCRIPT_MESSAGE_CHARS`` (2000 by default, the channels'
  own limit) keeps its beginning and ends with ``[… N more characters not kept]``.
- A transcript longer in all than ``LEADBOT_TRANSCRIPT_CHARS`` (20000 by default) keeps its
  first messages (how the conversation began, a quarter of the room) and its latest ones (the
  rest); one line of speaker ``cut`` stands where messages were left out and says how many.

Bounding is idempotent: a bounded transcript is kept as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

MESSAGE_CHARS_VARIABLE: Final = "LEADBOT_TRANSCRIPT_MESSAGE_CHARS"
TRANSCRIPT_CHARS_VARIABLE: Final = "LEADBOT_TRANSCRIPT_CHARS"
DEFAULT_MESSAGE_CHARS: Final = 2000
DEFAULT_TRANSCRIPT_CHARS: Final = 20000
CUT_SPEAKER: Final = "cut"
MESSAGE_CUT: Final = " [… {count} more characters not kept]"
TRANSCRIPT_CUT: Final = "[… {count} messages not kept]"
# How much of the room goes to the beginning of the conversation; the rest to its end.
HEAD_SHARE: Final = 4


@dataclass(frozen=True)
class Limits:
    """The longest message and the longest transcript (all its messages' text) kept."""

    message_chars: int = DEFAULT_MESSAGE_CHARS
    transcript_chars: int = DEFAULT_TRANSCRIPT_CHARS


def configured_limits() -> Limits:
    """The limits from the environment, else the defaults.

    Raises:
        ValueError: When a limit is not a whole number of at least 100.
    """
    limits = Limits(
        int(os.environ.get(MESSAGE_CHARS_VARIABLE) or DEFAULT_MESSAGE_CHARS),
        int(os.environ.get(TRANSCRIPT_CHARS_VARIABLE) or DEFAULT_TRANSCRIPT_CHARS),
    )
    if min(limits.message_chars, limits.transcript_chars) < 100:
        raise ValueError(f"{MESSAGE_CHARS_VARIABLE} and {TRANSCRIPT_CHARS_VARIABLE} must be >= 100")
    return limits


def bounded(
    lines: Sequence[Mapping[str, Any]], limits: Limits | None = None
) -> list[dict[str, Any]]:
    """The transcript as the store keeps it: long messages shortened, and when the whole is
    still too long, the middle left out; every cut says what it left out.

    Args:
        lines: ``{"speaker", "text", "at"}`` per message, oldest first.
        limits: The limits; `configured_limits()` when None.
    """
    limits = limits or configured_limits()
    kept = [_bounded_line(line, limits.message_chars) for line in lines]
    if sum(len(line["text"]) for line in kept) <= limits.transcript_chars:
        return kept
    room = limits.transcript_chars - len(TRANSCRIPT_CUT.format(count=len(kept)))
    head = _fitting(kept, room // HEAD_SHARE)
    tail = _fitting(kept[len(head) :][::-1], room - _chars(head))[::-1]
    left_out = kept[len(head) : len(kept) - len(tail)]
    marker = {
        "speaker": CUT_SPEAKER,
        "text": TRANSCRIPT_CUT.format(count=len(left_out)),
        "at": left_out[0].get("at") if left_out else None,
    }
    return [*head, marker, *tail]


def _bounded_line(line: Mapping[str, Any], limit: int) -> dict[str, Any]:
    text = str(line.get("text") or "")
    if len(text) <= limit or line.get("speaker") == CUT_SPEAKER:
        return dict(line)
    # Room for the marker, which itself says how much was left out.
    keep = limit - len(MESSAGE_CUT.format(count=len(text)))
    return {**line, "text": text[:keep] + MESSAGE_CUT.format(count=len(text) - keep)}


def _fitting(lines: Sequence[dict[str, Any]], room: int) -> list[dict[str, Any]]:
    """The first lines whose text fits in `room` characters."""
    fitting: list[dict[str, Any]] = []
    for line in lines:
        room -= len(line["text"])
        if room < 0:
            break
        fitting.append(line)
    return fitting


def _chars(lines: Sequence[Mapping[str, Any]]) -> int:
    return sum(len(line["text"]) for line in lines)
