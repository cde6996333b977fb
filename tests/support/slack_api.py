"""Slack on loopback, for tests: its Web API as a small server, and its Events API deliveries.

`SlackApi` answers ``chat.postMessage`` and ``auth.test`` the way Slack does (bearer token or
``token`` argument, JSON or form body, ``{"ok": false, "error": ...}`` with HTTP 200 for a
refused call) and can be told to fail the next posts: HTTP 500, an ``ok: false`` error, or
429 with ``Retry-After``. Every call is recorded.

`SlackEvents` builds event payloads as Slack sends them to a request URL, signs them with the
app's signing secret (v0 HMAC-SHA256 of ``v0:{timestamp}:{body}``) and delivers them, with
Slack's retry headers when asked.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import requests

TEAM_ID = "T0LEADBOT"
BOT_USER_ID = "U0LEADBOT"
BOT_ID = "B0LEADBOT"
_TS = re.compile(r"^\d+\.\d+$")
# Message timestamps and event ids are unique across every `SlackEvents`, as in Slack.
_SEQUENCE = itertools.count(1)


@dataclass(frozen=True)
class ApiCall:
    """One Web API call as the stand-in received it, and how it answered."""

    method: str
    arguments: dict[str, Any]
    authorization: str | None
    status: int
    ok: bool
    at: float


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None


@dataclass
class SlackApi:
    """The stand-in's state: the bot token it accepts, planned failures and recorded calls."""

    token: str
    port: int = 0
    calls: list[ApiCall] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        """The Web API's base URL, as ``https://slack.com/api/`` is Slack's."""
        return f"http://127.0.0.1:{self.port}/api/"

    def fail(
        self,
        times: int,
        status: int = 500,
        error: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Fails the next `times` chat.postMessage calls.

        Args:
            times: how many calls fail.
            status: the HTTP status: 500 (a plain-text body), 429 (with `retry_after`), or 200
                with ``{"ok": false, "error": error}``.
            error: Slack's error code, for status 200 and 429.
            retry_after: the ``Retry-After`` header's seconds, for 429.
        """
        with self._lock:
            self._failures.extend(_Failure(status, error, retry_after) for _ in range(times))

    def heal(self) -> None:
        """Forgets the failures not used yet."""
        with self._lock:
            self._failures.clear()

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The messages posted (accepted chat.postMessage calls), to `channel` when given."""
        with self._lock:
            calls = list(self.calls)
        return [
            call.arguments
            for call in calls
            if call.method == "chat.postMessage"
            and call.ok
            and (channel is None or call.arguments.get("channel") == channel)
        ]

    def attempts(self, channel: str) -> list[ApiCall]:
        """Every chat.postMessage call to `channel`, accepted or not."""
        with self._lock:
            return [
                call
                for call in self.calls
                if call.method == "chat.postMessage" and call.arguments.get("channel") == channel
            ]

    def wait_for_posts(self, channel: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        """The posts to `channel` once there are `count` or more; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            posts = self.posts(channel)
            if len(posts) >= count:
                return posts
            time.sleep(0.05)
        raise AssertionError(f"{len(self.posts(channel))} of {count} posts to {channel}")

    def answer(
        self, method: str, arguments: dict[str, Any], authorization: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of Slack's answer to one call; records the call."""
        status, headers, body = self._answer(method, arguments, authorization)
        ok = status == 200 and json.loads(body).get("ok") is True
        with self._lock:
            self.calls.append(
                ApiCall(method, arguments, authorization, status, ok, time.monotonic())
            )
        return status, headers, body

    def _answer(
        self, method: str, arguments: dict[str, Any], authorization: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        token = arguments.get("token")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme != "Bearer":
                return _refused("invalid_auth")
        if not token:
            return _refused("not_authed")
        if token != self.token:
            return _refused("invalid_auth")
        if method == "auth.test":
            return _json(
                {
                    "ok": True,
                    "url": "https://leadbot-test.slack.com/",
                    "team": "leadbot test",
                    "user": "leadbot",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID,
                }
            )
        if method != "chat.postMessage":
            return (
                404,
                {"Content-Type": "application/json"},
                b'{"ok":false,"error":"unknown_method"}',
            )
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return _failed(failure)
        return self._post_message(arguments)

    def _post_message(self, arguments: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        channel = arguments.get("channel")
        if not channel:
            return _refused("channel_not_found")
        if not (arguments.get("text") or arguments.get("blocks") or arguments.get("attachments")):
            return _refused("no_text")
        thread_ts = arguments.get("thread_ts")
        if thread_ts is not None and not _TS.match(str(thread_ts)):
            return _refused("invalid_thread_ts")
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": arguments.get("text", ""),
            "ts": ts,
        }
        if thread_ts is not None:
            message["thread_ts"] = str(thread_ts)
        return _json({"ok": True, "channel": channel, "ts": ts, "message": message})


def _json(answer: dict[str, Any], status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(answer).encode()


def _refused(error: str) -> tuple[int, dict[str, str], bytes]:
    # Slack refuses a call with HTTP 200 and `ok: false`.
    return _json({"ok": False, "error": error})


def _failed(failure: _Failure) -> tuple[int, dict[str, str], bytes]:
    if failure.status == 429:
        status, headers, body = _json({"ok": False, "error": failure.error or "ratelimited"}, 429)
        return status, {**headers, "Retry-After": str(failure.retry_after or 1)}, body
    if failure.status >= 500:
        return failure.status, {"Content-Type": "text/plain"}, b"Internal Server Error"
    return _json({"ok": False, "error": failure.error or "internal_error"}, failure.status)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        if not self.path.startswith("/api/"):
            self._send(404, {"Content-Type": "text/plain"}, b"not found")
            return
        method = self.path.removeprefix("/api/").split("?")[0]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type = self.headers.get("Content-Type", "")
        try:
            if content_type.startswith("application/json"):
                arguments = json.loads(body or b"{}")
            else:
                arguments = dict(parse_qsl(body.decode()))
        except ValueError:
            self._send(*_refused("invalid_json"))
            return
        self._send(*self.server.slack.answer(method, arguments, self.headers.get("Authorization")))

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded calls say what happened."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, slack: SlackApi) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.slack = slack


@contextmanager
def running_slack_api(token: str) -> Iterator[SlackApi]:
    """The stand-in listening on a free loopback port, accepting `token`; stopped afterwards."""
    slack = SlackApi(token)
    server = _Server(slack)
    slack.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="slack-api", daemon=True)
    thread.start()
    try:
        yield slack
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class SlackEvents:
    """Slack's side of the Events API for one app: payloads as Slack builds them, signed."""

    def __init__(self, request_url: str, signing_secret: str) -> None:
        self.request_url = request_url
        self.signing_secret = signing_secret

    @staticmethod
    def _next_ts() -> str:
        return f"{int(time.time())}.{next(_SEQUENCE):06d}"

    def callback(self, event: dict[str, Any]) -> dict[str, Any]:
        """The `event_callback` wrapper Slack delivers `event` in, with a fresh event id."""
        return {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0LEADBOT",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def direct_message(
        self, user: str, text: str, channel: str, thread_ts: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A `message.im` event: `user` wrote `text` to the app in direct message `channel`."""
        ts = self._next_ts()
        event = {
            "client_msg_id": f"msg-{ts}",
            "type": "message",
            "text": text,
            "user": user,
            "ts": ts,
            "team": TEAM_ID,
            "channel": channel,
            "event_ts": ts,
            "channel_type": "im",
            **({"thread_ts": thread_ts} if thread_ts else {}),
            **extra,
        }
        return self.callback(event)

    def mention(
        self, user: str, text: str, channel: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """An `app_mention` event: `user` wrote ``<@app> text`` in `channel`."""
        ts = self._next_ts()
        event = {
            "client_msg_id": f"msg-{ts}",
            "type": "app_mention",
            "text": f"<@{BOT_USER_ID}> {text}",
            "user": user,
            "ts": ts,
            "team": TEAM_ID,
            "channel": channel,
            "event_ts": ts,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        }
        return self.callback(event)

    def sign(self, body: bytes, timestamp: int) -> str:
        """Slack's signature of `body` sent at `timestamp`."""
        base = b"v0:" + str(timestamp).encode() + b":" + body
        return "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()

    def deliver(
        self,
        payload: dict[str, Any],
        retry: tuple[int, str] | None = None,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
    ) -> requests.Response:
        """Posts `payload` to the request URL as Slack does: JSON, signed now (or at `timestamp`).

        Args:
            retry: Slack's retry number and reason, for a redelivery.
            headers: replace the signature headers (or add others); a None value leaves one out.
            timestamp: when the request claims to be signed (Unix seconds).
        """
        body = json.dumps(payload).encode()
        sent_at = int(time.time()) if timestamp is None else timestamp
        sent: dict[str, str | None] = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(sent_at),
            "X-Slack-Signature": self.sign(body, sent_at),
        }
        if retry is not None:
            sent["X-Slack-Retry-Num"] = str(retry[0])
            sent["X-Slack-Retry-Reason"] = retry[1]
        sent.update(headers or {})
        return requests.post(
            self.request_url,
            data=body,
            headers={name: value for name, value in sent.items() if value is not None},
            timeout=10,
        )
