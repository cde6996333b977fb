"""The REST channel: Rasa's, refusing what is not a visitor's message with a clear 400.

The Rasa server loads it from `.venv-rasa` (credentials key ``bot.channels.rest.RestChannel``);
it imports nothing of ours but `bot.channels.intake`. It keeps Rasa's channel name, ``rest``,
so it listens where Rasa's does: ``POST /webhooks/rest/webhook`` with
``{"sender": "<conversation id>", "message": "<text>", "metadata": {...}?}`` answers the
bot's replies as ``[{"recipient_id": ..., "text": ...}, ...]`` (``?stream=true`` streams them).
What differs from Rasa 3.6.21's channel:

- A body that is empty, not JSON, not a JSON object, without a ``sender`` (a non-blank string
  of at most 255 printable characters, or a whole number), or with a ``message`` that is not a
  string, or ``metadata`` that is not an object, gets 400 and ``{"error": "<what to fix>"}``.
  Rasa's channel put a message without a sender into one conversation shared by everybody
  ("default"), answered a missing message silently, and answered a malformed body with 500.
- A body over 64 KiB (or 16 bytes per allowed character, when more) gets 413.
- A message longer than ``max_message_chars`` (credentials) or ``LEADBOT_MAX_MESSAGE_CHARS``
  (2000 by default) is answered with a polite refusal and never reaches NLU.
- A typed message is text: see `bot.channels.intake.visitor_text`.
- The conversation's channel is always ``rest``: the body's ``input_channel`` is ignored.
- A failed turn is logged with its sender id only, never with the visitor's words.
- A turn in which an action failed (the action server is down or restarting), or that came
  before any model was loaded, is answered with `bot.channels.intake.ACTION_FAILED_REPLY`
  too, never with silence.
- A REST caller only hears the answers to its own requests, so what a sales rep wrote to the
  visitor since their previous message comes first in the answer to the next one, marked
  ``"rep": true``.
"""

from __future__ import annotations

import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import intake

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS: Final = 255  # the store's conversation id column
MIN_BODY_BYTES: Final = 64 * 1024
BODY_BYTES_PER_CHAR: Final = 16
EXAMPLE: Final = '{"sender": "visitor-42", "message": "hello"}'


@dataclass(frozen=True)
class _VisitorMessage:
    sender_id: str
    text: str
    metadata: dict[str, Any] | None


class BadRequest(ValueError):
    """A request that is not a visitor's message; its text says what to fix."""


class RestChannel(RestInput):
    """Rasa's REST input channel, with clear errors for bad requests and a guarded door."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestChannel:
        """The channel from its credentials: ``max_message_chars`` (else the environment)."""
        credentials = credentials or {}
        return cls(intake.max_message_chars(credentials.get("max_message_chars")))

    def __init__(self, max_message_chars: int = intake.DEFAULT_MAX_MESSAGE_CHARS) -> None:
        self.max_message_chars = max_message_chars

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health route and ``POST /webhook``, as a Sanic blueprint."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            if len(request.body or b"") > self._max_body_bytes():
                return _error(413, f"The request body is over {self._max_body_bytes()} bytes.")
            try:
                message = _visitor_message(request.body or b"")
            except BadRequest as error:
                return _error(400, str(error))
            if len(message.text.strip()) > self.max_message_chars:
                logger.info(
                    "rest.message.too_long sender_id=%s chars=%d",
                    message.sender_id,
                    len(message.text),
                )
                reply = intake.too_long_reply(self.max_message_chars)
                return response.json([{"recipient_id": message.sender_id, "text": reply}])
            text = intake.storable(message.text)
            if intake.looks_like_intent(text):
                events = await intake.tracker_events(request.app.ctx, message.sender_id)
                offered = intake.offered_payloads(events)
                text = intake.visitor_text(text, offered)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(
                        on_new_message, text, message.sender_id, self.name(), message.metadata
                    ),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                with intake.watching_actions() as turn:
                    await on_new_message(
                        UserMessage(
                            text,
                            collector,
                            message.sender_id,
                            input_channel=self.name(),
                            metadata=message.metadata,
                        )
                    )
                if turn.unanswered:
                    logger.warning(
                        "rest.message.unanswered sender_id=%s failed_actions=%d no_model=%s",
                        message.sender_id,
                        turn.failed_actions,
                        turn.no_model,
                    )
                    await collector.send_text_message(message.sender_id, intake.ACTION_FAILED_REPLY)
            except CancelledError:
                logger.error("rest.message.timeout sender_id=%s", message.sender_id)
            except Exception:
                logger.exception("rest.message.failure sender_id=%s", message.sender_id)
            events = await intake.tracker_events(request.app.ctx, message.sender_id)
            reps_words = [
                {"recipient_id": message.sender_id, "text": text, "rep": True}
                for text in intake.reps_words_before_this_message(events)
            ]
            return response.json(reps_words + collector.messages)

        return webhook

    def _max_body_bytes(self) -> int:
        return max(MIN_BODY_BYTES, BODY_BYTES_PER_CHAR * self.max_message_chars)


def _visitor_message(body: bytes) -> _VisitorMessage:
    """The sender, text and metadata of a request body.

    Raises:
        BadRequest: When the body is not a JSON object with a sender and a text message.
    """
    if not body.strip():
        raise BadRequest(f"The request body is empty. Send a JSON object such as {EXAMPLE}.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(
            f"The request body is not valid JSON. Send a JSON object such as {EXAMPLE}."
        ) from None
    if not isinstance(payload, dict):
        raise BadRequest(f"The request body must be a JSON object such as {EXAMPLE}.")
    return _VisitorMessage(
        _sender_id(payload.get("sender")),
        _text(payload.get("message", _MISSING)),
        _metadata(payload.get("metadata")),
    )


_MISSING: Final = object()


def _sender_id(sender: Any) -> str:
    if sender is None:
        raise BadRequest(
            '"sender" is missing: every conversation needs its own id, such as "visitor-42".'
        )
    if isinstance(sender, int) and not isinstance(sender, bool):
        return str(sender)
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest('"sender" must be a non-blank string, such as "visitor-42".')
    if len(sender) > MAX_SENDER_CHARS or not sender.isprintable():
        raise BadRequest(f'"sender" must be at most {MAX_SENDER_CHARS} printable characters long.')
    return sender


def _text(message: Any) -> str:
    if message is _MISSING:
        raise BadRequest('"message" is missing: send the visitor\'s text, such as "hello".')
    if not isinstance(message, str):
        raise BadRequest('"message" must be a string, such as "hello".')
    return message


def _metadata(metadata: Any) -> dict[str, Any] | None:
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest('"metadata", when given, must be a JSON object.')
    return intake.storable_metadata(metadata)


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)
