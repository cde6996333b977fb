"""A visitor in the browser: opens a chat widget, answers what the qualifying form asks.

What the bot asks is read from the tracker (`requested_slot`) through the Rasa HTTP API, as
`tests/support/scenario_player.py` does; what the visitor says is typed into the page, or
clicked when the bot offers it as a button.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from playwright.sync_api import Locator, Page, expect

TURN_TIMEOUT_S = 30.0
# rasa-webchat shows each reply after a delay of its own (up to 3 s).
SHOWN_TIMEOUT_MS = 15_000
MAX_TURNS = 20

# Dana qualifies as a hot lead for the CRM; consent is given with the bot's button.
OPENING = "Hi! We need a better way to track deals"
ANSWERS = {
    "need": "we need a better way to track deals",
    "budget": "around $50k a year",
    "timeline": "next quarter",
    "authority": "I sign off on this",
    "person_name": "Dana Whitfield",
    "email": "dana.whitfield@northwind-logistics.com",
    "company": "Northwind Logistics",
}
CONSENT_BUTTON = re.compile(r"^\s*yes\b", re.IGNORECASE)
EXPECTED_LEAD = {
    "need_category": "crm",
    "budget_min": 50000,
    "budget_max": 50000,
    "budget_currency": "USD",
    "budget_period": "yearly",
    "timeline_months": 3,
    "authority": "decision_maker",
    "person_name": "Dana Whitfield",
    "email": "dana.whitfield@northwind-logistics.com",
    "email_is_business": True,
    "company": "Northwind Logistics",
    "consent": True,
    "temperature": "hot",
}


class ChatWindow(Protocol):
    """A chat widget on a page, as a visitor uses it."""

    page: Page

    def open(self) -> None: ...
    def say(self, text: str) -> None: ...
    def reply_button(self, name: re.Pattern[str]) -> Locator: ...
    def messages(self) -> Locator: ...
    def session_id(self) -> str | None: ...


@dataclass
class LeadbotWidget:
    """Our widget (bot/web/static/widget.js), found by roles and names as a person finds it."""

    page: Page

    @property
    def launcher(self) -> Locator:
        return self.page.get_by_role("button", name=re.compile("chat", re.IGNORECASE))

    @property
    def textbox(self) -> Locator:
        return self.page.get_by_role("textbox", name=re.compile("message", re.IGNORECASE))

    @property
    def log(self) -> Locator:
        return self.page.get_by_role("log")

    def open(self) -> None:
        if not self.textbox.is_visible():
            self.launcher.click()
        expect(self.textbox).to_be_visible()

    def say(self, text: str) -> None:
        self.textbox.fill(text)
        self.textbox.press("Enter")

    def reply_button(self, name: re.Pattern[str]) -> Locator:
        return self.page.get_by_role("group", name="Suggested answers").get_by_role(
            "button", name=name
        )

    def messages(self) -> Locator:
        return self.log.locator(".message")

    def session_id(self) -> str | None:
        stored = self.page.evaluate("localStorage.getItem('leadbot.session')")
        return json.loads(stored) if stored else None


@dataclass
class RasaWebchat:
    """rasa-webchat 1.0.1, Rasa's own widget, pointed at the same socket.io channel."""

    page: Page

    def open(self) -> None:
        textbox = self.page.locator("textarea.rw-new-message")
        if not textbox.is_visible():
            self.page.locator("button.rw-launcher").click()
        expect(textbox).to_be_visible()

    def say(self, text: str) -> None:
        textbox = self.page.locator("textarea.rw-new-message")
        textbox.fill(text)
        textbox.press("Enter")

    def reply_button(self, name: re.Pattern[str]) -> Locator:
        return self.page.locator(".rw-replies .rw-reply").filter(has_text=name)

    def messages(self) -> Locator:
        return self.page.locator(".rw-messages-container .rw-message:not(.rw-typing-indication)")

    def session_id(self) -> str | None:
        stored = self.page.evaluate("localStorage.getItem('chat_session')")
        return (json.loads(stored) or {}).get("session_id") if stored else None


def user_turns(tracker: dict[str, Any]) -> int:
    """Messages the visitor sent; rasa-webchat's opening message without text is not one."""
    return sum(
        1
        for event in tracker.get("events") or []
        if event.get("event") == "user" and (event.get("text") or "").strip()
    )


def last_bot_text(tracker: dict[str, Any]) -> str | None:
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "bot" and event.get("text"):
            text: str = event["text"]
            return text
    return None


def requested_slot(tracker: dict[str, Any]) -> str | None:
    if not (tracker.get("active_loop") or {}).get("name"):
        return None
    slot: str | None = (tracker.get("slots") or {}).get("requested_slot")
    return slot


def wait_for_turn(
    chat: ChatWindow, read_tracker: Callable[[str], dict[str, Any]], turns: int
) -> dict[str, Any]:
    """Waits until the bot has handled `turns` visitor messages and the page shows its last
    words; returns the tracker then."""
    deadline = time.monotonic() + TURN_TIMEOUT_S
    tracker: dict[str, Any] = {}
    while time.monotonic() < deadline:
        sender_id = chat.session_id()
        if sender_id:
            tracker = read_tracker(sender_id)
            done = tracker.get("latest_action_name") == "action_listen"
            if user_turns(tracker) >= turns and done:
                break
        time.sleep(0.25)
    else:
        raise AssertionError(
            f"the bot did not finish turn {turns} within {TURN_TIMEOUT_S:.0f} s; "
            f"the page shows: {chat.messages().all_inner_texts()}"
        )
    said = last_bot_text(tracker)
    if said:
        # Rasa's socket.io output splits a reply at blank lines; the last part comes last.
        expect(chat.messages().last).to_contain_text(
            said.strip().split("\n\n")[-1].strip(), timeout=SHOWN_TIMEOUT_MS
        )
    return tracker


def qualify(
    chat: ChatWindow,
    read_tracker: Callable[[str], dict[str, Any]],
    reload_after: int | None = None,
    forget_local_copy: bool = False,
    on_consent: Callable[[], None] | None = None,
) -> str:
    """Holds the whole qualifying conversation; returns the conversation's sender id.

    Args:
        chat: The widget, already open.
        read_tracker: The Rasa HTTP API's tracker of a sender id.
        reload_after: Reload the page after this many visitor messages and go on.
        forget_local_copy: Before reloading, drop the widget's local copy of the conversation,
            so what shows after the reload is the history the server sent.
        on_consent: Called when the consent buttons are on screen (e.g. for a screenshot).
    """
    chat.say(OPENING)
    turns = 1
    tracker = wait_for_turn(chat, read_tracker, turns)
    while (slot := requested_slot(tracker)) is not None:
        assert turns < MAX_TURNS, f"the form still asks for {slot} after {turns} messages"
        if reload_after is not None and turns == reload_after:
            shown_before = chat.messages().all_inner_texts()
            if forget_local_copy:
                chat.page.evaluate("localStorage.removeItem('leadbot.transcript')")
            chat.page.reload()
            chat.open()
            # The conversation so far is still there after the reload (the widget shows its own
            # copy first, then the server's history: waited for until it reads the same).
            expect(chat.messages()).to_have_text(
                shown_before, use_inner_text=True, timeout=SHOWN_TIMEOUT_MS
            )
        if slot == "consent":
            if on_consent:
                on_consent()
            button = chat.reply_button(CONSENT_BUTTON)
            expect(button, "the consent question offers a Yes button").to_be_visible()
            button.click()
        else:
            chat.say(ANSWERS.get(slot, "I'd rather not say"))
        turns += 1
        tracker = wait_for_turn(chat, read_tracker, turns)
    sender_id = chat.session_id()
    assert sender_id
    return sender_id


def wait_for_lead(
    read_lead: Callable[[str], dict[str, Any] | None], sender_id: str, timeout_s: float = 20.0
) -> dict[str, Any]:
    """The conversation's lead once its contact details are saved (writes may trail replies)."""
    deadline = time.monotonic() + timeout_s
    lead = read_lead(sender_id)
    while time.monotonic() < deadline and not (lead and lead.get("email")):
        time.sleep(0.5)
        lead = read_lead(sender_id)
    assert lead is not None, f"no lead for {sender_id}"
    return lead


def lead_mismatches(lead: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """One sentence per expected field that the lead does not have."""
    problems = []
    for name, value in expected.items():
        actual = lead.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            same = actual is not None and abs(float(actual) - value) < 1e-6
        else:
            same = actual == value
        if not same:
            problems.append(f"{name}: expected {value!r}, got {actual!r}")
    return problems
