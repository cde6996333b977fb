"""One gentle nudge for a visitor who goes quiet in the middle of the qualification.

After every turn of the form that still has a question open, a Rasa reminder is (re)scheduled;
any message of the visitor's cancels it (``kill_on_user_message``), so it fires only after
``LEADBOT_NUDGE_AFTER_S`` seconds of silence. When it fires, Rasa runs the form with the
reminder's intent; the form answers with the nudge and asks its question again. A conversation
is nudged once at most, and what the visitor said stays as it was.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from typing import Final

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, ReminderScheduled, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import conversation

log = logging.getLogger(__name__)

NUDGE_INTENT: Final = "EXTERNAL_quiet_visitor"
NUDGE_SENT_SLOT: Final = "nudge_sent"
NUDGE_AFTER_VARIABLE: Final = "LEADBOT_NUDGE_AFTER_S"
DEFAULT_NUDGE_AFTER_S: Final = 120.0
# Only channels that can push a message the visitor did not ask for: the widget shows it at
# once, while a REST client would never see it (its replies come back with its own requests).
PUSH_CHANNELS: Final = frozenset({"socketio"})


def nudge_after_s() -> float | None:
    """Seconds of silence before the nudge: ``LEADBOT_NUDGE_AFTER_S`` (120 when unset); 0 turns
    nudges off.

    Raises:
        ValueError: the variable is set but is not a number.
    """
    raw = os.environ.get(NUDGE_AFTER_VARIABLE, "").strip()
    seconds = float(raw) if raw else DEFAULT_NUDGE_AFTER_S
    return seconds if seconds > 0 else None


def is_nudge(tracker: Tracker) -> bool:
    """True when the latest message is the reminder firing, not the visitor."""
    return conversation.latest_intent(tracker)[0] == NUDGE_INTENT


def schedule(tracker: Tracker, still_asking: bool) -> list[EventType]:
    """The reminder for this conversation's nudge, when the form still asks and none was sent.

    Every call replaces the conversation's earlier reminder (they share a name), so the
    silence is counted from the latest turn.
    """
    after = nudge_after_s()
    if (
        after is None
        or not still_asking
        or tracker.get_slot(NUDGE_SENT_SLOT)
        or conversation.channel(tracker) not in PUSH_CHANNELS
    ):
        return []
    return [
        ReminderScheduled(
            NUDGE_INTENT,
            trigger_date_time=datetime.now(timezone.utc) + timedelta(seconds=after),
            # Rasa keys reminders by name alone: one per conversation.
            name=f"quiet_visitor_{tracker.sender_id}",
            kill_on_user_message=True,
        )
    ]


def nudge(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Sends the nudge once, and puts back the answer the reminder's message took the place of.

    Rasa reads the reminder's message into the question being asked, as it does any text; the
    value the question held before is restored, so nothing the visitor said changes.
    """
    asked = tracker.get_slot("requested_slot")
    events: list[EventType] = []
    if asked:
        events.append(SlotSet(asked, conversation.value_before_latest_message(tracker, asked)))
    if not tracker.get_slot(NUDGE_SENT_SLOT):
        dispatcher.utter_message(response="utter_nudge")
        events.append(SlotSet(NUDGE_SENT_SLOT, True))
        log.info("quiet visitor nudged sender_id=%s", tracker.sender_id)
    return events
