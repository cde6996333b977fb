"""What the store keeps of a transcript: bounded per message and per conversation, the cut
marked (crm_bridge/transcripts.py)."""

from __future__ import annotations

from typing import Any

import pytest

from crm_bridge import transcripts
from crm_bridge.transcripts import Limits

LIMITS = Limits(message_chars=100, transcript_chars=1000)


def _line(
    text: str, speaker: str = "visitor", at: str = "2026-12-02T05:00:00+00:00"
) -> dict[str, Any]:
    return {"speaker": speaker, "text": text, "at": at}


def test_a_transcript_within_the_limits_is_kept_whole() -> None:
    lines = [_line("hello"), _line("Hi! What would you like to solve?", "bot")]
    assert transcripts.bounded(lines, LIMITS) == lines


def test_a_long_message_keeps_its_beginning_and_says_how_much_was_cut() -> None:
    [kept] = transcripts.bounded([_line("x" * 500)], LIMITS)
    assert len(kept["text"]) <= LIMITS.message_chars
    cut = 500 - kept["text"].count("x")
    assert kept["text"].endswith(f" [… {cut} more characters not kept]")
    assert kept["text"].startswith("x" * 50)


def test_a_long_conversation_keeps_its_beginning_and_its_end_and_marks_the_gap() -> None:
    lines = [
        _line(f"message {i:03d} " + "y" * 80, at=f"2026-12-02T05:{i % 60:02d}:00")
        for i in range(100)
    ]
    kept = transcripts.bounded(lines, LIMITS)
    assert sum(len(line["text"]) for line in kept) <= LIMITS.transcript_chars
    [gap] = [i for i, line in enumerate(kept) if line["speaker"] == transcripts.CUT_SPEAKER]
    head, tail = kept[:gap], kept[gap + 1 :]
    assert head and head[0] == lines[0]
    assert tail and tail[-1] == lines[-1]
    left_out = len(lines) - len(head) - len(tail)
    assert kept[gap]["text"] == f"[… {left_out} messages not kept]"
    assert kept[gap]["at"] == lines[len(head)]["at"]


@pytest.mark.parametrize("size", [1, 50, 150, 5000])
def test_bounding_twice_changes_nothing(size: int) -> None:
    lines = [_line("z" * size, speaker=("visitor", "bot")[i % 2]) for i in range(40)]
    once = transcripts.bounded(lines, LIMITS)
    assert transcripts.bounded(once, LIMITS) == once


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBOT_TRANSCRIPT_MESSAGE_CHARS", "300")
    monkeypatch.setenv("LEADBOT_TRANSCRIPT_CHARS", "3000")
    assert transcripts.configured_limits() == Limits(300, 3000)
    monkeypatch.setenv("LEADBOT_TRANSCRIPT_CHARS", "5")
    with pytest.raises(ValueError):
        transcripts.configured_limits()
