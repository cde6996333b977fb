"""A website visitor's browser tab, played with python-socketio's real client: the widget's
protocol over the Rasa server's socket.io channel (see bot/channels/socketio.py)."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from typing import Any

import socketio

from tests.support.bot import RunningBot

TURN_TIMEOUT_S = 60.0
EVENT_TIMEOUT_S = 15.0


@dataclass
class WebsiteVisitor:
    """One tab: connects, asks for its session, says things and collects what the bot says.

    Every turn waits until the Rasa server has finished it (its tracker says so) and then until
    every part of every bot message of the turn has arrived on this socket, in order.
    """

    bot: RunningBot
    session_id: str | None = None
    origin: str | None = None
    transports: list[str] = field(default_factory=lambda: ["websocket"])
    history: list[dict[str, Any]] | None = None
    # Sent with every message as the widget sends it: page_url, referrer and utm.
    custom_data: dict[str, Any] | None = None
    client: socketio.Client = field(init=False)
    _events: queue.Queue[tuple[str, Any]] = field(init=False, default_factory=queue.Queue)

    def __post_init__(self) -> None:
        # A browser sends one Origin header; websocket-client sends its own unless told this one.
        self.client = socketio.Client(
            reconnection=False,
            websocket_extra_options={"origin": self.origin} if self.origin else {},
        )
        for event in ("bot_uttered", "session_confirm", "history"):
            self.client.on(event, self._collector(event))

    def _collector(self, event: str) -> Any:
        def collect(data: Any) -> None:
            self._events.put((event, data))

        return collect

    def connect(self, expect_history: bool = False) -> WebsiteVisitor:
        """Opens the socket and asks for the session (a new one when `session_id` is None).

        Raises:
            socketio.exceptions.ConnectionError: When the server refuses the connection.
        """
        headers = {"Origin": self.origin} if self.origin and "polling" in self.transports else {}
        self.client.connect(
            self.bot.rasa_url, headers=headers, transports=self.transports, wait_timeout=10
        )
        self.client.emit("session_request", {"session_id": self.session_id})
        event, confirmed = self._next()
        assert event == "session_confirm", (event, confirmed)
        self.session_id = confirmed
        if expect_history:
            event, data = self._next()
            assert event == "history", (event, data)
            assert data["session_id"] == confirmed
            self.history = data["messages"]
        return self

    def disconnect(self) -> None:
        self.client.disconnect()

    def say(self, text: str) -> list[str]:
        """Sends one message and returns the texts of every bot message of the turn."""
        assert self.session_id is not None, "connect first"
        turns_before = len(self.user_events())
        message: dict[str, Any] = {"message": text, "session_id": self.session_id}
        if self.custom_data is not None:
            message["customData"] = self.custom_data
        self.client.emit("user_uttered", message)
        expected = self._finished_turn(turns_before)
        received = [self.bot_text() for _ in expected]
        assert received == expected, f"received {received}, the bot said {expected}"
        return received

    def bot_text(self, timeout: float = EVENT_TIMEOUT_S) -> str:
        """The next bot message that arrives on this socket."""
        event, data = self._next(timeout)
        assert event == "bot_uttered", (event, data)
        return str(data.get("text", ""))

    def nothing_more(self, wait: float = 2.0) -> bool:
        """Whether nothing else arrives within `wait` seconds."""
        try:
            event = self._events.get(timeout=wait)
        except queue.Empty:
            return True
        self._events.put(event)
        return False

    def tracker(self) -> dict[str, Any]:
        assert self.session_id is not None
        return self.bot.tracker(self.session_id)

    def user_events(self) -> list[dict[str, Any]]:
        return [e for e in self.tracker()["events"] if e.get("event") == "user"]

    def requested_slot(self) -> str | None:
        """The slot the active form asks for, or None when no form is active."""
        tracker = self.tracker()
        if not (tracker.get("active_loop") or {}).get("name"):
            return None
        slot: str | None = tracker["slots"].get("requested_slot")
        return slot

    def _finished_turn(self, turns_before: int) -> list[str]:
        """Waits until the tracker holds the new turn, ended by action_listen; its bot texts."""
        deadline = time.monotonic() + TURN_TIMEOUT_S
        while time.monotonic() < deadline:
            events = self.tracker()["events"]
            users = [i for i, e in enumerate(events) if e.get("event") == "user"]
            last = events[-1] if events else {}
            if (
                len(users) > turns_before
                and last.get("event") == "action"
                and last.get("name") == "action_listen"
            ):
                return [
                    part
                    for event in events[users[-1] + 1 :]
                    if event.get("event") == "bot" and (event.get("text") or "").strip()
                    for part in event["text"].strip().split("\n\n")
                ]
            time.sleep(0.2)
        raise AssertionError(f"the bot did not finish the turn within {TURN_TIMEOUT_S:.0f} s")

    def _next(self, timeout: float = EVENT_TIMEOUT_S) -> tuple[str, Any]:
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing arrived on the socket within {timeout:.0f} s") from None
