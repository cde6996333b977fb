"""What the action server reads from a tracker: intent, channel, transcript, visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from rasa_sdk import Tracker

from qualifying.lead_source import Visit, visit_from_metadata

# Rasa's mark on a message it made itself (a reminder's intent), which nobody typed.
IS_EXTERNAL: Final = "is_external"


@dataclass(frozen=True)
class Utterance:
    """One line of the conversation as the visitor and the bot wrote it."""

    speaker: str  # "visitor" | "bot"
    text: str
    at: datetime


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    """The intent of the visitor's latest message and the model's confidence in it."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def channel(tracker: Tracker) -> str:
    """The channel the visitor last wrote on ("rest", "socketio", "slack", ...)."""
    return tracker.get_latest_input_channel() or "unknown"


def transcript(tracker: Tracker) -> list[Utterance]:
    """Every visitor and bot message of the conversation, oldest first."""
    lines = []
    for event in tracker.events:
        speaker = {"user": "visitor", "bot": "bot"}.get(event.get("event", ""))
        if speaker and event.get("text") and not is_external(event):
            at = datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=timezone.utc)
            lines.append(Utterance(speaker, str(event["text"]), at))
    return lines


def is_external(event: dict[str, Any]) -> bool:
    """True for a user event that Rasa made itself (a reminder firing), not the visitor."""
    return bool((event.get("metadata") or {}).get(IS_EXTERNAL))


def visit(tracker: Tracker) -> Visit | None:
    """The page, referrer and UTM values the conversation's first described visit carried."""
    for event in tracker.events:
        if event.get("event") == "user":
            described = visit_from_metadata(event.get("metadata"))
            if described is not None:
                return described
    return None


def value_before_latest_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value as it stood before the visitor's latest message."""
    events = list(tracker.events)
    latest_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    for event in reversed(events[: max(latest_user, 0)]):
        if event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None
