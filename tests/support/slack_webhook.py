"""A loopback stand-in for a Slack incoming webhook that checks each payload as Slack does.

Slack answers 200 ``ok`` to a JSON object with a non-empty ``text`` (and well-formed
``blocks``), 400 ``invalid_payload`` otherwise. A test scripts the answers to give first
(a 500, a 429 with ``Retry-After``, ...); after those it accepts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BLOCK_TYPES = {"section", "actions", "context", "divider", "header"}
MAX_SECTION_TEXT = 3000


@dataclass
class Answer:
    status: int
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    at: float
    payload: Any
    status: int


@dataclass
class SlackWebhook:
    """What the stand-in received, and the answers it will give next."""

    url: str = ""
    script: list[Answer] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def delivered(self) -> list[Any]:
        """Payloads Slack accepted (posted to the channel)."""
        return [r.payload for r in self.received if r.status == 200]

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} requests arrived")
            time.sleep(0.02)


def payload_problem(content_type: str, body: bytes) -> str | None:
    """Why Slack would refuse this request, or None when it would post it."""
    if not content_type.startswith("application/json"):
        return "invalid_payload: not JSON"
    try:
        payload = json.loads(body)
    except ValueError:
        return "invalid_payload: not JSON"
    if not isinstance(payload, dict):
        return "invalid_payload: not an object"
    if not isinstance(payload.get("text"), str) or not payload["text"].strip():
        return "no_text"
    for block in payload.get("blocks", []):
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            return "invalid_blocks"
        text = block.get("text")
        if text is not None and (
            text.get("type") not in ("mrkdwn", "plain_text")
            or len(text.get("text", "")) > MAX_SECTION_TEXT
        ):
            return "invalid_blocks"
        for element in block.get("elements", []):
            if element.get("type") == "button" and not str(element.get("url", "")).startswith(
                ("http://", "https://")
            ):
                return "invalid_blocks"
    return None


@contextmanager
def slack_webhook() -> Iterator[SlackWebhook]:
    """Serve the stand-in on a free loopback port for the block."""
    hook = SlackWebhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            problem = payload_problem(self.headers.get("Content-Type", ""), body)
            with hook.lock:
                answer = hook.script.pop(0) if hook.script else Answer(200)
                if problem:
                    answer = Answer(400, problem)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                hook.received.append(Received(time.monotonic(), payload, answer.status))
            data = answer.body.encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
