"""Slack as a visitor channel: direct messages to the app and @mentions of it, answered in Slack.

The Rasa server loads this module from `.venv-rasa` (credentials key
``bot.channels.slack.SlackVisitorInput``); it imports nothing of ours but `bot.channels.intake`
(the message limit, its refusal and typed intents, as on every channel). Slack posts events to
``/webhooks/slack/webhook``:

- Every request must carry Slack's signature (v0 HMAC-SHA256 of ``v0:{timestamp}:{body}`` with
  the app's signing secret, at most five minutes old); anything else gets 401 before it is read.
- Slack wants a 200 within three seconds, so a message is acknowledged at once and its turn runs
  in the background, one at a time per conversation and in the order Slack sent them.
- A retried delivery (``X-Slack-Retry-Num``, whatever the reason) and an event seen before are
  acknowledged and dropped: one reply and one write per message. Seen events are remembered for
  an hour: in Redis when a Redis URL is configured, shared by every Rasa worker; otherwise in
  this process only, so with several workers a repeated event without retry headers can reach
  a worker that has not seen it.
- Replies are posted with ``chat.postMessage`` from a queue per Slack conversation, retried with
  backoff (``Retry-After`` on 429). A reply that cannot be delivered is logged and dropped; it
  never fails the turn, so the tracker keeps the visitor's message and the bot's answer.
- Messages acknowledged but not yet handled, and replies not yet posted, are lost when the
  server stops (Slack does not send an acknowledged event again).
- A turn in which an action failed (the action server is down or restarting), or that came
  before any model was loaded, is answered with `bot.channels.intake.ACTION_FAILED_REPLY`
  too, never with silence.

Conversation (sender) ids: ``slack_<user>`` for direct messages, one conversation per Slack user;
``slack_<user>_<channel>`` for mentions in a channel, one per user and channel, answered in a
thread under the mention.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from html import unescape
from typing import Any

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels import intake

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
SENDER_PREFIX = "slack_"
# Message subtypes a person writes; edits, deletions, joins and bot posts are not answered.
VISITOR_SUBTYPES = {None, "file_share", "thread_broadcast"}
# `ok: false` errors of chat.postMessage that a later attempt may not get.
TRANSIENT_ERRORS = {
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
}


@dataclass(frozen=True)
class VisitorMessage:
    """One message a visitor wrote to the app, and where the answer goes."""

    sender_id: str
    text: str
    channel: str
    thread_ts: str | None
    event_keys: tuple[str, ...]


def visitor_text(text: str, bot_user_ids: Iterable[str] = ()) -> str:
    """What the visitor typed, from Slack's message text, ready for NLU.

    Mentions of the app go, links become what the visitor saw (``<mailto:a@b.co|a@b.co>`` is
    ``a@b.co``), Slack's ``&amp;``, ``&lt;``, ``&gt;`` are undone, and typed Rasa intent syntax
    (``/inform{"email": ...}``) is read as words, as on every channel (no buttons are offered).
    """
    for user_id in bot_user_ids:
        text = re.sub(rf"\s*<@{re.escape(user_id)}(\|[^>]*)?>\s*", " ", text)
    text = re.sub(r"<([^<>|]+)\|([^<>]*)>", _label, text)
    text = re.sub(r"<([^<>]+)>", _label, text)
    return intake.visitor_text(intake.storable(unescape(text)).strip(), offered=()).strip()


def _label(link: re.Match[str]) -> str:
    """What Slack shows for `<target|label>`: a person, a channel, a link or a special word."""
    target = link.group(1)
    label = link.group(2) if link.lastindex == 2 else None
    if target[:1] in ("@", "#"):
        return target[0] + (label or target[1:]).lstrip("@#")
    if target.startswith("!"):
        return label or "@" + target[1:].split("^")[0]
    return label or target.removeprefix("mailto:")


def slack_text(text: str) -> str:
    """Text for Slack's `text` field: `&`, `<` and `>` escaped, so nothing we say pings or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_channel_of(recipient: str) -> str:
    """The Slack channel a conversation id stands for, when only the id is known.

    Used when the Rasa HTTP API sends to the latest channel (a rep's reply): ``slack_U1`` posts
    to the app's direct messages with U1, ``slack_U1_C2`` to channel C2.
    """
    if not recipient.startswith(SENDER_PREFIX):
        return recipient
    return recipient.removeprefix(SENDER_PREFIX).split("_")[-1]


def visitor_message(payload: dict[str, Any]) -> VisitorMessage | None:
    """The visitor's message in an Events API `event_callback`, or None when it is not one.

    Answered: direct messages to the app (``message`` in an ``im``) and mentions of the app
    elsewhere (``app_mention``). Ignored: the app's own messages and other bots', edits,
    deletions and every other subtype, and mentions inside direct messages (their ``message``
    event is answered).
    """
    event = payload.get("event")
    if not isinstance(event, dict):
        return None
    bot_users = _bot_user_ids(payload)
    user = event.get("user")
    channel = event.get("channel")
    ts = event.get("ts")
    if (
        not isinstance(user, str)
        or not isinstance(channel, str)
        or not isinstance(ts, str)
        or event.get("bot_id")
        or event.get("hidden")
        or event.get("subtype") not in VISITOR_SUBTYPES
        or user in bot_users
    ):
        return None
    thread_ts = event.get("thread_ts")
    if event.get("type") == "message" and event.get("channel_type") == "im":
        sender_id = f"{SENDER_PREFIX}{user}"
    elif event.get("type") == "app_mention" and not channel.startswith("D"):
        sender_id = f"{SENDER_PREFIX}{user}_{channel}"
        # A mention in a channel is answered in a thread under it, not in front of everyone.
        thread_ts = thread_ts or ts
    else:
        return None
    keys = [f"message:{channel}:{ts}"]
    if isinstance(payload.get("event_id"), str):
        keys.insert(0, f"event:{payload['event_id']}")
    return VisitorMessage(
        sender_id=sender_id,
        text=visitor_text(str(event.get("text") or ""), bot_users),
        channel=channel,
        thread_ts=thread_ts if isinstance(thread_ts, str) else None,
        event_keys=tuple(keys),
    )


def _bot_user_ids(payload: dict[str, Any]) -> set[str]:
    """The app's own user ids, from the installations the event was delivered for."""
    return {
        str(authorization["user_id"])
        for authorization in payload.get("authorizations") or []
        if isinstance(authorization, dict)
        and authorization.get("user_id")
        and authorization.get("is_bot", True)
    }


class SeenEvents:
    """The Slack events already taken, each remembered for `ttl_s`, at most `capacity` of them.

    With a Redis URL the memory is shared by every Rasa worker (``SET NX EX``); without one, or
    while Redis cannot be reached, it is this process's own.
    """

    def __init__(
        self, redis_url: str | None = None, ttl_s: float = 3600.0, capacity: int = 10_000
    ) -> None:
        self._redis_url = redis_url
        self._redis: Any = None
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._local: OrderedDict[str, float] = OrderedDict()

    async def first_time(self, keys: Iterable[str]) -> bool:
        """Records `keys`; True when none of them was seen before."""
        keys = list(keys)
        if self._redis_url:
            try:
                return await self._first_time_in_redis(keys)
            except Exception as error:  # Redis down: dropping every event would be worse.
                logger.warning("slack.seen_events.unavailable error=%s", type(error).__name__)
        return self._first_time_here(keys)

    async def _first_time_in_redis(self, keys: list[str]) -> bool:
        if self._redis is None:
            import redis.asyncio

            # Slack wants its answer within 3 s: a slow Redis must not hold it up.
            self._redis = redis.asyncio.from_url(
                self._redis_url, socket_timeout=1, socket_connect_timeout=1
            )
        pipeline = self._redis.pipeline(transaction=False)
        for key in keys:
            pipeline.set(f"leadbot:slack:seen:{key}", 1, nx=True, ex=int(self._ttl_s))
        return all(await pipeline.execute())

    def _first_time_here(self, keys: list[str]) -> bool:
        now = time.monotonic()
        while self._local and (
            next(iter(self._local.values())) < now or len(self._local) >= self._capacity
        ):
            self._local.popitem(last=False)
        new = not any(key in self._local for key in keys)
        for key in keys:
            self._local[key] = now + self._ttl_s
            self._local.move_to_end(key)
        return new


class ConversationQueue:
    """Runs jobs one at a time per conversation, in the order they were put; conversations
    run side by side."""

    def __init__(self) -> None:
        self._last: dict[str, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def put(self, conversation: str, job: Callable[[], Awaitable[None]]) -> None:
        """Schedules `job` after the jobs already put for `conversation`; returns at once."""
        task = asyncio.create_task(self._after(self._last.get(conversation), job))
        self._last[conversation] = task
        self._running.add(task)
        task.add_done_callback(lambda done: self._forget(conversation, done))

    def _forget(self, conversation: str, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._last.get(conversation) is task:
            del self._last[conversation]

    @staticmethod
    async def _after(
        previous: asyncio.Task[None] | None, job: Callable[[], Awaitable[None]]
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await job()
        except Exception as error:  # a background job has nobody else to tell
            logger.error("slack.job.failed error=%s", type(error).__name__)


@dataclass(frozen=True)
class _Failure:
    kind: str
    transient: bool
    retry_after_s: float | None = None


def _failure_of(error: Exception) -> _Failure:
    """What went wrong with a Web API call, named without quoting the response body."""
    if isinstance(error, SlackApiError):
        answer = error.response
        status = getattr(answer, "status_code", None) or getattr(answer, "status", None)
        headers = getattr(answer, "headers", None) or {}
        data = getattr(answer, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        if status == 429:
            retry_after = headers.get("Retry-After") or headers.get("retry-after") or "1"
            try:
                wait = float(retry_after)
            except ValueError:
                wait = 1.0
            return _Failure("ratelimited", True, wait)
        if isinstance(status, int) and status >= 500:
            return _Failure(f"http_{status}", True)
        if code:
            return _Failure(str(code), str(code) in TRANSIENT_ERRORS)
        return _Failure(f"http_{status}", False)
    if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return _Failure(type(error).__name__, True)
    return _Failure(type(error).__name__, False)


class SlackDeliveries:
    """Posts replies to Slack in order per Slack conversation, retrying what may pass later.

    A reply is tried `attempts` times, waiting `backoff_s`, then twice that, and so on, or what
    a 429's ``Retry-After`` asks for (up to `longest_wait_s`). A reply that still fails is
    logged with the conversation id and the kind of error only, and dropped.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        attempts: int = 4,
        backoff_s: float = 0.5,
        longest_wait_s: float = 30.0,
    ) -> None:
        self.client = client
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._longest_wait_s = longest_wait_s
        self._queue = ConversationQueue()

    def post(self, sender_id: str, **message: Any) -> None:
        """Queues one ``chat.postMessage`` call; returns at once, never raises."""
        self._queue.put(str(message.get("channel")), lambda: self._deliver(sender_id, message))

    async def _deliver(self, sender_id: str, message: dict[str, Any]) -> None:
        for attempt in range(1, self._attempts + 1):
            try:
                await self.client.chat_postMessage(**message)
                return
            except Exception as error:
                failure = _failure_of(error)
                wait = failure.retry_after_s or self._backoff_s * 2 ** (attempt - 1)
                if (
                    not failure.transient
                    or attempt == self._attempts
                    or wait > self._longest_wait_s
                ):
                    logger.error(
                        "slack.reply.dropped sender_id=%s error=%s attempts=%d",
                        sender_id,
                        failure.kind,
                        attempt,
                    )
                    return
                logger.warning(
                    "slack.reply.retrying sender_id=%s error=%s attempt=%d/%d wait_s=%.1f",
                    sender_id,
                    failure.kind,
                    attempt,
                    self._attempts,
                    wait,
                )
                await asyncio.sleep(wait)


class SlackVisitorOutput(SlackBot):
    """Rasa's Slack output, posting through `SlackDeliveries`: a failed post never fails a turn."""

    def __init__(
        self,
        deliveries: SlackDeliveries,
        slack_channel: str | None = None,
        thread_ts: str | None = None,
        sender_id: str | None = None,
    ) -> None:
        # Not SlackBot.__init__: it builds a client for slack.com; `deliveries` holds ours.
        OutputChannel.__init__(self)
        self.sender_id = sender_id
        self.slack_channel = slack_channel
        self.thread_id = thread_ts
        self.proxy = None
        self.client = deliveries.client
        self._deliveries = deliveries

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        # `as_user` is for classic apps only, `type` is no argument of chat.postMessage.
        kwargs.pop("as_user", None)
        kwargs.pop("type", None)
        if self.thread_id:
            kwargs["thread_ts"] = self.thread_id
        self._deliveries.post(
            self.sender_id or channel, channel=slack_channel_of(channel), **kwargs
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Posts the text, one Slack message per paragraph, escaped."""
        await super().send_text_message(recipient_id, slack_text(text), **kwargs)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Lists the buttons' titles under the text: the visitor answers by typing."""
        titles = "\n".join(f"• {button.get('title', '')}" for button in buttons)
        await self.send_text_message(recipient_id, f"{text}\n{titles}", **kwargs)


class SlackVisitorInput(SlackInput):
    """Slack's Events API as a visitor channel (see the module's docstring)."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackVisitorInput:
        """The channel from its credentials entry, with the environment's values as defaults.

        Keys: ``slack_token`` and ``slack_signing_secret`` (required; ``LEADBOT_SLACK_TOKEN``,
        ``LEADBOT_SLACK_SIGNING_SECRET``), ``slack_api_url`` (``LEADBOT_SLACK_API_URL``, else
        Slack's), ``max_message_chars`` (``LEADBOT_MAX_MESSAGE_CHARS``, else 2000),
        ``redis_url`` (``LEADBOT_REDIS_URL``).
        """
        credentials = credentials or {}

        def setting(key: str, variable: str) -> Any:
            return credentials.get(key) or os.environ.get(variable) or None

        token = setting("slack_token", "LEADBOT_SLACK_TOKEN")
        secret = setting("slack_signing_secret", "LEADBOT_SLACK_SIGNING_SECRET")
        if not token or not secret:
            raise InvalidConfigException(
                "the Slack channel needs a bot token and the app's signing secret: "
                "set LEADBOT_SLACK_TOKEN and LEADBOT_SLACK_SIGNING_SECRET"
            )
        return cls(
            slack_token=str(token),
            slack_signing_secret=str(secret),
            api_url=str(setting("slack_api_url", "LEADBOT_SLACK_API_URL") or DEFAULT_API_URL),
            max_message_chars=intake.max_message_chars(credentials.get("max_message_chars")),
            redis_url=setting("redis_url", "LEADBOT_REDIS_URL"),
        )

    def __init__(
        self,
        slack_token: str,
        slack_signing_secret: str,
        api_url: str = DEFAULT_API_URL,
        max_message_chars: int = intake.DEFAULT_MAX_MESSAGE_CHARS,
        redis_url: str | None = None,
    ) -> None:
        super().__init__(slack_token, slack_signing_secret=slack_signing_secret, use_threads=True)
        self.max_message_chars = max_message_chars
        self._verifier = SignatureVerifier(slack_signing_secret)
        # Retries are ours (SlackDeliveries), not the client's.
        client = AsyncWebClient(slack_token, base_url=api_url, timeout=10, retry_handlers=[])
        self._deliveries = SlackDeliveries(client)
        self._seen = SeenEvents(redis_url)
        self._turns = ConversationQueue()

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> OutputChannel:
        """Where replies go: `channel` and thread, or (no channel) the conversation's own."""
        return SlackVisitorOutput(self._deliveries, channel, thread_id)

    def _output_for(self, message: VisitorMessage) -> SlackVisitorOutput:
        return SlackVisitorOutput(
            self._deliveries, message.channel, message.thread_ts, message.sender_id
        )

    def is_signed_by_slack(self, request: Request) -> bool:
        """True when the request carries Slack's signature of its body, made in the last 5 min."""
        try:
            return bool(
                self._verifier.is_valid(
                    body=request.body,
                    timestamp=request.headers.get("X-Slack-Request-Timestamp"),
                    signature=request.headers.get("X-Slack-Signature"),
                )
            )
        except ValueError:  # a timestamp that is no number
            return False

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack_webhook = Blueprint("slack_webhook", __name__)

        @slack_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @slack_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.is_signed_by_slack(request):
                return response.text("not signed by Slack", status=401)
            if not (request.content_type or "").startswith("application/json"):
                # Interactive payloads: no buttons are rendered (their titles are listed).
                return response.text("")
            try:
                payload = json.loads(request.body)
            except ValueError:
                return response.text("not JSON", status=400)
            if not isinstance(payload, dict):
                return response.text("not an event", status=400)
            if payload.get("type") == "url_verification":
                return response.json({"challenge": payload.get("challenge")})
            if payload.get("type") != "event_callback":
                return response.text("")
            return await self._take(request, payload, on_new_message)

        return slack_webhook

    async def _take(
        self,
        request: Request,
        payload: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> HTTPResponse:
        retry = request.headers.get("X-Slack-Retry-Num")
        if retry is not None:
            # We answer within 3 s, so the first delivery reached us or another worker.
            logger.info(
                "slack.retry.dropped retry_num=%s reason=%s",
                retry,
                request.headers.get("X-Slack-Retry-Reason"),
            )
            return response.text("")
        message = visitor_message(payload)
        if message is None:
            return response.text("")
        if not await self._seen.first_time(message.event_keys):
            logger.info("slack.event.duplicate sender_id=%s", message.sender_id)
            return response.text("")
        if not message.text:
            return response.text("")
        output = self._output_for(message)
        if len(message.text) > self.max_message_chars:
            # Refused before NLU; the conversation is left as it was.
            logger.info(
                "slack.message.too_long sender_id=%s chars=%d",
                message.sender_id,
                len(message.text),
            )
            refusal = intake.too_long_reply(self.max_message_chars)
            self._turns.put(
                message.sender_id,
                lambda: output.send_text_message(message.sender_id, refusal),
            )
            return response.text("")
        user_message = UserMessage(
            message.text,
            output,
            message.sender_id,
            input_channel=self.name(),
            metadata={"slack": {"channel": message.channel, "thread_ts": message.thread_ts}},
        )
        self._turns.put(message.sender_id, lambda: self._run_turn(on_new_message, user_message))
        return response.text("")

    @staticmethod
    async def _run_turn(
        on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage
    ) -> None:
        try:
            with intake.watching_actions() as turn:
                await on_new_message(message)
            if turn.unanswered:
                logger.warning(
                    "slack.message.unanswered sender_id=%s failed_actions=%d no_model=%s",
                    message.sender_id,
                    turn.failed_actions,
                    turn.no_model,
                )
                await message.output_channel.send_text_message(
                    message.sender_id, intake.ACTION_FAILED_REPLY
                )
        except Exception as error:  # a background turn has nobody else to tell
            logger.error(
                "slack.turn.failed sender_id=%s error=%s",
                message.sender_id,
                type(error).__name__,
            )
