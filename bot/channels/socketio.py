"""The website's socket.io channel: Rasa's, with session persistence that works, and guarded.

The Rasa server loads it from `.venv-rasa` (credentials key
``bot.channels.socketio.WebsiteChannel``); it imports nothing of ours but `bot.channels.intake`.
It keeps Rasa's channel name, ``socketio``, so it listens at ``/socket.io`` and widgets made for
Rasa's channel (rasa-webchat) work unchanged. What differs from Rasa 3.6.21's channel:

- With ``session_persistence: true`` the socket really joins its session's room (Rasa forgets to
  await python-socketio 5's ``enter_room``, RasaHQ/rasa#13027, so no reply ever arrived), and
  the replies of a conversation reach every socket of its session: after a reconnect, in
  another tab, after a page reload.
- Only pages of the origins in ``cors_allowed_origins`` (credentials) or
  ``LEADBOT_ALLOWED_ORIGINS`` (a comma-separated list, which the launcher sets; "*" for any; when
  neither is set, the server's own origin only) may connect: any other ``Origin`` gets 403 before
  python-socketio reads the request, for polling and websocket alike. The channel checks it
  itself rather than through python-socketio's ``cors_allowed_origins``, because python-socketio
  then adds CORS headers of its own next to those of Rasa's ``--cors`` (Sanic-CORS), and a
  browser refuses a response with two ``Access-Control-Allow-Origin`` headers. The CORS headers
  come from ``--cors``, which the launcher sets to the same origins.
- A message longer than ``max_message_chars`` (credentials) or ``LEADBOT_MAX_MESSAGE_CHARS``
  (2000 by default) is answered with a polite refusal and never reaches NLU.
- A typed message is text: see `bot.channels.intake.visitor_text`.
- A turn in which an action failed (the action server is down or restarting), or that came
  before any model was loaded, is answered with `bot.channels.intake.ACTION_FAILED_REPLY`
  too, never with silence.

Events (the names of ``user_message_evt`` and ``bot_message_evt`` are configurable; the
defaults are shown):

client → server
    ``session_request`` ``{"session_id": str | null}``: start or resume a conversation. A
    session id is 16 to 128 letters, digits, ``-`` or ``_`` (a UUID works); null, anything else,
    or the id of a conversation held on another channel gets a new id.
    ``user_uttered`` ``{"message": str, "session_id": str, "metadata": object?}``: a visitor's
    message. It belongs to the session this socket requested (a socket that requested none is
    given the ``session_id`` it names, or a new one, and told so with ``session_confirm``).
server → client
    ``session_confirm`` ``str``: the session id, as Rasa sends it; keep it (e.g. in
    ``localStorage``) and send it again in the next ``session_request``.
    ``history`` ``{"session_id": str, "messages": [message, ...]}``: right after
    ``session_confirm``, when the session already has messages: the latest session's messages
    (at most 200), oldest first, each ``{"sender": "user" | "bot", "text": str,
    "timestamp": float}``, a bot message possibly with ``quick_replies`` or ``attachment`` as
    in ``bot_uttered``. A page shows them before anything new. Widgets that do not know the
    event ignore it.
    ``bot_uttered`` ``{"text": str, "quick_replies"?: [...], "attachment"?: {...}}``: a reply,
    as in Rasa's channel.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import urlsplit

from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels import intake

logger = logging.getLogger(__name__)

SESSION_ID: Final = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
SESSION_CONFIRM_EVENT: Final = "session_confirm"
HISTORY_EVENT: Final = "history"
# A message a little over the limit must arrive to be refused politely; a flood need not.
MIN_BUFFER_BYTES: Final = 64 * 1024
BUFFER_BYTES_PER_CHAR: Final = 16


class _WebsiteBlueprint(SocketBlueprint):
    """Rasa's socket.io blueprint, remembering the app it joins (its agent reads trackers) and
    checking the origin of every socket.io request to it."""

    def __init__(
        self,
        origin_check: Callable[[Request], Awaitable[HTTPResponse | None]],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.origin_check = origin_check

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.app = app
        # python-socketio's route is the app's, not the blueprint's: so is this middleware.
        app.register_middleware(self.ctx.origin_check, "request")
        super().register(app, options)


class WebsiteChannel(SocketIOInput):
    """Rasa's socket.io input channel, with working session persistence and a guarded door."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebsiteChannel:
        """The channel from its credentials: Rasa's keys, plus ``cors_allowed_origins`` and
        ``max_message_chars`` (when absent, from the environment)."""
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            namespace=credentials.get("namespace"),
            session_persistence=bool(credentials.get("session_persistence", False)),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            jwt_key=credentials.get("jwt_key"),
            jwt_method=credentials.get("jwt_method", "HS256"),
            metadata_key=credentials.get("metadata_key", "metadata"),
            allowed_origins=intake.allowed_origins(credentials.get("cors_allowed_origins")),
            max_message_chars=intake.max_message_chars(credentials.get("max_message_chars")),
        )

    def __init__(
        self,
        *args: Any,
        allowed_origins: list[str] | str | None = None,
        max_message_chars: int = intake.DEFAULT_MAX_MESSAGE_CHARS,
        **kwargs: Any,
    ) -> None:
        """Rasa's channel arguments, plus the origins allowed and the longest message read.

        Args:
            allowed_origins: Browser origins that may connect; "*" for all, None for the
                server's own origin only.
            max_message_chars: Longer messages are refused before NLU.
        """
        super().__init__(*args, **kwargs)
        self.allowed_origins = allowed_origins
        self.max_message_chars = max_message_chars
        self._blueprint: _WebsiteBlueprint | None = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The socket.io server at ``socketio_path`` and a health route, as a Sanic blueprint."""
        sio = AsyncServer(
            async_mode="sanic",
            # [] turns python-socketio's CORS handling off: `refuse_other_origins` checks origins.
            cors_allowed_origins=[],
            max_http_buffer_size=max(
                MIN_BUFFER_BYTES, BUFFER_BYTES_PER_CHAR * self.max_message_chars
            ),
        )
        blueprint = _WebsiteBlueprint(
            self._refuse_other_origins, sio, self.socketio_path, "socketio_webhook", __name__
        )
        self.sio = sio
        self._blueprint = blueprint
        namespace = self.namespace

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> bool:
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                if not token or not decode_bearer_token(token, self.jwt_key, self.jwt_algorithm):
                    return False
            return True

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            if not self.session_persistence:
                session_id = requested if _valid_session_id(requested) else uuid.uuid4().hex
                await sio.emit(SESSION_CONFIRM_EVENT, session_id, room=sid, namespace=namespace)
                return
            session_id, events = await self._claim(requested)
            await self._bind(sid, session_id)
            await sio.emit(SESSION_CONFIRM_EVENT, session_id, room=sid, namespace=namespace)
            history = intake.conversation_history(events)
            if history:
                await sio.emit(
                    HISTORY_EVENT,
                    {"session_id": session_id, "messages": history},
                    room=sid,
                    namespace=namespace,
                )
            logger.debug(
                "socketio.session.joined sender_id=%s history=%d", session_id, len(history)
            )

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
                logger.warning("socketio.message.malformed sid=%s", sid)
                return
            text = intake.storable(data.get("message", ""))
            if not text.strip():
                return  # rasa-webchat sends an empty message when it opens: nothing was said
            sender_id = await self._sender(sid, data)
            if len(text.strip()) > self.max_message_chars:
                logger.info("socketio.message.too_long sender_id=%s chars=%d", sender_id, len(text))
                await sio.emit(
                    self.bot_message_evt,
                    {"text": intake.too_long_reply(self.max_message_chars)},
                    room=sid,
                    namespace=namespace,
                )
                return
            if intake.looks_like_intent(text):
                offered = intake.offered_payloads(await self._events(sender_id))
                text = intake.visitor_text(text, offered)
            output = SocketIOOutput(sio, self.bot_message_evt)
            with intake.watching_actions() as turn:
                await on_new_message(
                    UserMessage(
                        text,
                        output,
                        sender_id,
                        input_channel=self.name(),
                        metadata=_metadata(data.get(self.metadata_key)),
                    )
                )
            if turn.unanswered:
                logger.warning(
                    "socketio.message.unanswered sender_id=%s failed_actions=%d no_model=%s",
                    sender_id,
                    turn.failed_actions,
                    turn.no_model,
                )
                await output.send_text_message(sender_id, intake.ACTION_FAILED_REPLY)

        return blueprint

    async def _refuse_other_origins(self, request: Request) -> HTTPResponse | None:
        """403 for a socket.io request from a page of an origin that is not allowed."""
        if not request.path.startswith(self.socketio_path or "/socket.io"):
            return None
        # A browser sends one Origin; a request with several is judged by every one of them.
        origins: list[str] = request.headers.getall("origin", [])
        refused = [o for o in origins if not _origin_allowed(o, self.allowed_origins, request.host)]
        if not refused:
            return None
        logger.info("socketio.origin.refused origin=%s", refused[0][:200])
        return response.json(
            {"error": f"{refused[0][:200]} is not an accepted origin."}, status=403
        )

    async def _sender(self, sid: str, data: dict[str, Any]) -> str:
        """The conversation a socket's message belongs to (see the module's event list)."""
        if not self.session_persistence:
            return sid
        assert self.sio is not None
        bound = (await self.sio.get_session(sid, namespace=self.namespace)).get("session_id")
        if isinstance(bound, str):
            return bound
        session_id, _ = await self._claim(data.get("session_id"))
        await self._bind(sid, session_id)
        await self.sio.emit(SESSION_CONFIRM_EVENT, session_id, room=sid, namespace=self.namespace)
        return session_id

    async def _claim(self, requested: Any) -> tuple[str, list[dict[str, Any]]]:
        """The session a visitor asked for with its events, or a new one when it may not be had.

        A conversation whose visitor wrote on another channel (REST, Slack) is never joined from
        a socket: its history is not the socket's to read.
        """
        if _valid_session_id(requested):
            events = await self._events(requested)
            written_on = {e.get("input_channel") for e in events if e.get("event") == "user"}
            if written_on <= {None, self.name()}:
                return requested, events
            logger.warning("socketio.session.refused sender_id=%s", requested)
        return uuid.uuid4().hex, []

    async def _bind(self, sid: str, session_id: str) -> None:
        """Puts the socket in its session's room (leaving any other) and remembers the session."""
        assert self.sio is not None
        session = await self.sio.get_session(sid, namespace=self.namespace)
        previous = session.get("session_id")
        if previous and previous != session_id:
            await self.sio.leave_room(sid, previous, namespace=self.namespace)
        await self.sio.enter_room(sid, session_id, namespace=self.namespace)
        await self.sio.save_session(sid, {**session, "session_id": session_id}, self.namespace)

    async def _events(self, sender_id: str) -> list[dict[str, Any]]:
        app = self._blueprint.ctx.app if self._blueprint is not None else None
        return await intake.tracker_events(app.ctx if app is not None else None, sender_id)


def _origin_allowed(origin: str, allowed: list[str] | str | None, host: str) -> bool:
    """Whether a page of `origin` may connect: one of `allowed`, any for "*", the server's own
    (`host`, the request's Host) for None."""
    if allowed == "*":
        return True
    if allowed is None:
        return urlsplit(origin).netloc == host
    return origin.rstrip("/") in allowed


def _valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and SESSION_ID.match(value) is not None


def _metadata(raw: Any) -> dict[str, Any] | None:
    """The message's metadata: an object, or a JSON string of one; anything else is dropped."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return intake.storable_metadata(raw) if isinstance(raw, dict) else None
