"""Conversations as the action server receives them, for driving our rasa_sdk actions directly:
a tracker right after the visitor's latest message was read, and one action run on it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Final

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import lead_store

DOMAIN: Final = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8")
)


def tracker_after(
    said: str,
    *,
    sender_id: str,
    requested: str | None = None,
    slots: dict[str, Any] | None = None,
    intent: str = "inform",
    confidence: float = 0.95,
    entities: list[dict[str, Any]] | None = None,
    extracted: dict[str, Any] | None = None,
    channel: str = "rest",
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    """The tracker after the visitor said `said` while the form asked for `requested`.

    `slots` were filled before this message. Rasa has filled the requested slot with the whole
    message and every slot the model marked in `entities` with its words; `extracted` replaces
    both when given.
    """
    now = time.time()
    entities = entities or []
    if extracted is None:
        extracted = {e["entity"]: e["value"] for e in entities}
        extracted |= {requested: said} if requested else {}
    user = {
        "event": "user",
        "text": said,
        "timestamp": now,
        "input_channel": channel,
        "metadata": metadata or {},
        "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": entities},
    }
    events = [
        {"event": "bot", "text": "Hi!", "timestamp": now - 2},
        *(
            {"event": "slot", "name": k, "value": v, "timestamp": now - 1}
            for k, v in (slots or {}).items()
        ),
        user,
        *({"event": "slot", "name": k, "value": v, "timestamp": now} for k, v in extracted.items()),
    ]
    return Tracker(
        sender_id=sender_id,
        slots={**(slots or {}), "requested_slot": requested, **extracted},
        latest_message=user | {"intent": user["parse_data"]["intent"], "entities": entities},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "qualification_form"} if requested else {},
        latest_action_name="action_listen",
    )


def run_action(
    action: Action, tracker: Tracker
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events `action` returns and the messages it sent, once its writes are done."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    lead_store.wait_for_writes(timeout=30)
    return events, dispatcher.messages


def responses(messages: list[dict[str, Any]]) -> list[str]:
    """The names of the responses sent, in order."""
    return [message["response"] for message in messages]


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slots the events set, by name."""
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}
