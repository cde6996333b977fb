"""What every public channel does with a visitor's message before Rasa reads it.

Standard library only, and pure but for `tracker_events` (which reads a tracker through the
Rasa server's agent): the channels of the Rasa server use it, and tests can too.

- A message longer than the limit (`LEADBOT_MAX_MESSAGE_CHARS`, 2000 by default) is refused at
  the channel, before NLU, with `too_long_reply`: the same words on every channel.
- Rasa reads a message that starts with "/" as an intent with entities of the sender's choosing
  (`/inform{"email": "x@y.com"}`). On a public channel a typed message is text: only the exact
  payload of a button the bot offered in its latest turn passes as it is; any other such message
  loses its slashes and the part Rasa would read as entities or a confidence
  (`visitor_text`), so no intent and no entity is the visitor's choice.
- `conversation_history` turns tracker events into the messages a reloaded page shows again.
- When an action of the turn failed (the action server is down or restarting), Rasa logs it
  and goes on without a word; so it does when no model is loaded yet (the Rasa server started
  while the model trains). `watching_actions` notices either, and the channel then answers
  `ACTION_FAILED_REPLY` instead of silence. What the visitor said before is kept in the tracker.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS_VARIABLE: Final = "LEADBOT_MAX_MESSAGE_CHARS"
ALLOWED_ORIGINS_VARIABLE: Final = "LEADBOT_ALLOWED_ORIGINS"
DEFAULT_MAX_MESSAGE_CHARS: Final = 2000
TOO_LONG_REPLY: Final = (
    "Sorry, that message is too long for me to read. "
    "Could you say it in fewer words (at most {limit} characters)?"
)
INTENT_PREFIX: Final = "/"
# Rasa's own reading of "/intent@confidence{entities}rest" (rasa.shared YAMLStoryReader).
_RASA_INTENT_SYNTAX: Final = re.compile(
    r"^(?P<intent>[^{@]+)(?P<confidence>@[0-9.]+)?(?P<entities>\{.+\})?(?P<rest>.*)$", re.DOTALL
)
HISTORY_LIMIT: Final = 200
ACTION_FAILED_REPLY: Final = (
    "Sorry, one moment please: I couldn't take that in just now. "
    "Could you send it again in a few seconds?"
)
# What Rasa 3.6's processor logs (rasa.core.processor) when an action raised, before it goes on.
_RASA_PROCESSOR_LOGGER: Final = "rasa.core.processor"
_RASA_ACTION_FAILED: Final = "Encountered an exception while running action"
# What Rasa 3.6's agent logs (rasa.core.agent) when a message arrives before any model is loaded.
_RASA_AGENT_LOGGER: Final = "rasa.core.agent"
_RASA_NO_MODEL: Final = "Ignoring message as there is no agent to handle it"


def max_message_chars(configured: Any = None) -> int:
    """The longest message a channel lets through: `configured`, else the environment, else 2000.

    Raises:
        ValueError: When the limit is not a positive whole number.
    """
    raw = configured if configured is not None else os.environ.get(MAX_MESSAGE_CHARS_VARIABLE)
    if raw is None or raw == "":
        return DEFAULT_MAX_MESSAGE_CHARS
    limit = int(raw)
    if limit < 1:
        raise ValueError(f"{MAX_MESSAGE_CHARS_VARIABLE} must be at least 1, not {limit}")
    return limit


def too_long_reply(limit: int) -> str:
    """What the bot says, on every channel, to a message longer than `limit` characters."""
    return TOO_LONG_REPLY.format(limit=limit)


def allowed_origins(configured: Any = None) -> list[str] | str | None:
    """The web origins a browser may open the channel from, in python-socketio's terms.

    Args:
        configured: A list or a comma-separated string from the channel's credentials; when
            None, `LEADBOT_ALLOWED_ORIGINS` from the environment (the launcher always sets it).

    Returns:
        A list of `scheme://host[:port]` origins, "*" for every origin when that is what was
        configured, or None (the page's own origin only) when nothing was.
    """
    raw = configured if configured is not None else os.environ.get(ALLOWED_ORIGINS_VARIABLE)
    if raw is None:
        return None
    items = raw.split(",") if isinstance(raw, str) else [str(item) for item in raw]
    origins = [item.strip().rstrip("/") for item in items if item.strip()]
    if "*" in origins:
        return "*"
    return origins or None


def said_by_visitor(event: Mapping[str, Any]) -> bool:
    """Whether the event is a message the visitor wrote, not one a reminder (a nudge) or
    another external trigger put in the conversation on the visitor's behalf."""
    return event.get("event") == "user" and not (event.get("metadata") or {}).get("is_external")


def offered_payloads(events: Iterable[Mapping[str, Any]]) -> set[str]:
    """The payloads of the buttons the bot sent since the visitor's last message.

    Args:
        events: The conversation's events as Rasa serialises them, oldest first.
    """
    offered: set[str] = set()
    for event in events:
        if said_by_visitor(event):
            offered = set()
        elif event.get("event") == "bot":
            for button in (event.get("data") or {}).get("buttons") or ():
                payload = button.get("payload") if isinstance(button, Mapping) else None
                if isinstance(payload, str) and payload.strip():
                    offered.add(payload.strip())
    return offered


def reps_words_before_this_message(events: Sequence[Mapping[str, Any]]) -> list[str]:
    """What a sales rep wrote (through the Rasa HTTP API) between the visitor's previous
    message and their latest one: a channel that can only answer requests (REST) hands these
    over with the answer to the latest message, so the rep's words reach the visitor once.

    Args:
        events: The conversation's events as Rasa serialises them, oldest first, the visitor's
            latest message included.
    """
    said = [i for i, event in enumerate(events) if said_by_visitor(event)]
    if len(said) < 2:
        return []
    between = events[said[-2] + 1 : said[-1]]
    return [
        str(event.get("text"))
        for event in between
        if event.get("event") == "bot"
        and event.get("text")
        and (event.get("metadata") or {}).get("rep")
    ]


@dataclass
class Turn:
    """What `watching_actions` noticed while a turn ran."""

    failed_actions: int = 0
    no_model: bool = False  # the message was dropped: no model is loaded yet

    @property
    def unanswered(self) -> bool:
        """Whether Rasa left (part of) the turn without a word: the visitor must hear why."""
        return self.failed_actions > 0 or self.no_model


_CURRENT_TURN: ContextVar[Turn | None] = ContextVar("leadbot_current_turn", default=None)


class _FailedTurnWatch(logging.Filter):
    """Notes, on the turn running in the current context, the actions Rasa reports failed and
    a message it drops for want of a model."""

    def filter(self, record: logging.LogRecord) -> bool:
        turn = _CURRENT_TURN.get()
        if turn is not None:
            said = str(record.msg)
            if said.startswith(_RASA_ACTION_FAILED):
                turn.failed_actions += 1
            elif said.startswith(_RASA_NO_MODEL):
                turn.no_model = True
        return True


_WATCH: Final = _FailedTurnWatch()


@contextmanager
def watching_actions() -> Iterator[Turn]:
    """Notices what Rasa leaves unanswered while the turn run in this context (the same asyncio
    task) is handled: failed actions, and a message dropped because no model is loaded."""
    for name in (_RASA_PROCESSOR_LOGGER, _RASA_AGENT_LOGGER):
        rasa_log = logging.getLogger(name)
        if _WATCH not in rasa_log.filters:
            rasa_log.addFilter(_WATCH)
    turn = Turn()
    token = _CURRENT_TURN.set(turn)
    try:
        yield turn
    finally:
        _CURRENT_TURN.reset(token)


def storable(text: str) -> str:
    """The text with every lone UTF-16 surrogate (half an emoji from a broken client) replaced
    by one U+FFFD and every pair of halves joined into its character, so that whatever a
    channel accepts can be stored and sent on."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def storable_metadata(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """The message's metadata (page, referrer, UTM values) with every text made `storable`,
    keys and nested values included: it is kept in the tracker with the message."""
    return _storable_value(metadata) if metadata is not None else None


def _storable_value(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {_storable_value(key): _storable_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable_value(item) for item in value]
    return value


def looks_like_intent(text: str) -> bool:
    """Whether Rasa would read `text` as a typed intent (it strips the text first)."""
    return text.strip().startswith(INTENT_PREFIX)


def visitor_text(text: str, offered: Collection[str]) -> str:
    """The message Rasa should read for what the visitor sent.

    Args:
        text: What arrived on the channel.
        offered: The button payloads of the bot's latest turn (see `offered_payloads`).

    Returns:
        `text` itself, unless it starts with "/" and is not exactly one of `offered`: then the
        text without its leading slashes and without what Rasa would read as a confidence or
        entities (`/inform{"email": "x@y.com"}` becomes "inform").
    """
    stripped = text.strip()
    if not stripped.startswith(INTENT_PREFIX) or stripped in offered:
        return text
    while stripped.startswith(INTENT_PREFIX):
        stripped = stripped[len(INTENT_PREFIX) :].strip()
    match = _RASA_INTENT_SYNTAX.match(stripped)
    if match is None:
        return stripped
    return (match["intent"] + match["rest"]).strip()


def conversation_history(
    events: Iterable[Mapping[str, Any]], limit: int = HISTORY_LIMIT
) -> list[dict[str, Any]]:
    """The visitor's and the bot's messages of the latest session, as a reloaded page shows them.

    Args:
        events: The conversation's events as Rasa serialises them, oldest first.
        limit: The most messages returned (the latest ones).

    Returns:
        Oldest first: ``{"sender": "user", "text", "timestamp"}`` for the visitor (a button
        they clicked reads as its title) and ``{"sender": "bot", "text", "timestamp"}`` for
        the bot, split into parts as the socket.io channel sends them, the last part carrying
        ``quick_replies`` when the message had buttons and ``attachment`` when it had an image.
    """
    messages: list[dict[str, Any]] = []
    titles: dict[str, str] = {}
    for event in events:
        kind = event.get("event")
        if kind == "session_started":
            messages, titles = [], {}
        elif said_by_visitor(event):
            text = str(event.get("text") or "").strip()
            if text:
                shown = titles.get(text, text)
                messages.append({"sender": "user", "text": shown, **_when(event)})
            titles = {}
        elif kind == "bot":
            bot_messages, offered = _bot_messages(event)
            messages.extend(bot_messages)
            titles.update(offered)
    return messages[-limit:] if limit > 0 else []


async def tracker_events(app_context: Any, sender_id: str) -> list[dict[str, Any]]:
    """The conversation's events as Rasa serialises them, oldest first; none without a tracker.

    Args:
        app_context: The Rasa server's Sanic ``app.ctx`` (its ``agent`` holds the tracker store).
        sender_id: The conversation.
    """
    tracker_store = getattr(getattr(app_context, "agent", None), "tracker_store", None)
    if tracker_store is None:
        return []
    try:
        tracker = await tracker_store.retrieve(sender_id)
    except Exception:
        # Without the tracker nothing is offered (a typed intent is read as text) and no
        # history is shown; the turn itself reports the store's failure.
        logger.exception("channel.tracker.unreadable sender_id=%s", sender_id)
        return []
    return [event.as_dict() for event in tracker.events] if tracker is not None else []


def _bot_messages(event: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One bot event as the messages the channel sent for it, and its buttons' titles."""
    data = event.get("data") or {}
    text = str(event.get("text") or "").strip()
    buttons = [b for b in data.get("buttons") or () if isinstance(b, Mapping) and "payload" in b]
    parts: list[dict[str, Any]] = [
        {"sender": "bot", "text": part, **_when(event)} for part in text.split("\n\n") if part
    ]
    if not parts and (buttons or data.get("image")):
        parts.append({"sender": "bot", "text": "", **_when(event)})
    if buttons:
        parts[-1]["quick_replies"] = [
            {"content_type": "text", "title": str(b.get("title", "")), "payload": b["payload"]}
            for b in buttons
        ]
    if data.get("image"):
        parts[-1]["attachment"] = {"type": "image", "payload": {"src": data["image"]}}
    titles = {str(b["payload"]).strip(): str(b.get("title") or b["payload"]) for b in buttons}
    return parts, titles


def _when(event: Mapping[str, Any]) -> dict[str, Any]:
    timestamp = event.get("timestamp")
    return {"timestamp": timestamp} if isinstance(timestamp, (int, float)) else {}
