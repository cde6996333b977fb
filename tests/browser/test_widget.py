"""The website widget on the demo page, in a real browser, against the real bot.

Each test is a visitor: they open Acme Software's demo page, open the chat with its launcher
button and talk to the bot as a person would (typing, clicking the bot's buttons, reloading
the page), and the lead they leave is read back as an operator reads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect

from bot.settings import PROJECT_ROOT
from tests.browser.conftest import BusinessSite, WebBot
from tests.browser.visitor import (
    EXPECTED_LEAD,
    LeadbotWidget,
    lead_mismatches,
    qualify,
    wait_for_lead,
    wait_for_turn,
)
from tests.support.chromium import PageProblems

pytestmark = pytest.mark.rasa

DOCS = PROJECT_ROOT / "docs"
CAMPAIGN = "?utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch&utm_term=crm"
HOSTILE = "<img src=x onerror=alert(1)>"
OFFLINE = re.compile(r"can't reach our assistant", re.IGNORECASE)


def _check_lead(web_bot: WebBot, sender_id: str) -> None:
    lead = wait_for_lead(web_bot.lead, sender_id)
    assert lead_mismatches(lead, EXPECTED_LEAD) == []
    assert {"sender_id": sender_id, "channel": "socketio"} in [
        {key: conversation.get(key) for key in ("sender_id", "channel")}
        for conversation in lead["conversations"]
    ]


def _screenshot(page: Page, name: str) -> None:
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / name))


def test_a_visitor_qualifies_on_the_demo_page(
    web_bot: WebBot, desktop_page: Page, problems: PageProblems
) -> None:
    page = desktop_page
    page.goto(web_bot.web_url + "/" + CAMPAIGN)
    expect(page).to_have_title(re.compile("Acme Software"))
    chat = LeadbotWidget(page)

    # Only the launcher shows until the visitor opens the chat; then the textbox has focus.
    expect(chat.textbox).to_be_hidden()
    expect(chat.launcher).to_have_attribute("aria-expanded", "false")
    chat.launcher.click()
    expect(chat.textbox).to_be_focused()
    expect(chat.launcher).to_have_attribute("aria-expanded", "true")
    expect(chat.log).to_have_attribute("aria-live", "polite")

    sender_id = qualify(
        chat,
        web_bot.tracker,
        reload_after=3,
        on_consent=lambda: _screenshot(page, "widget-desktop.png"),
    )

    _check_lead(web_bot, sender_id)
    # Every message carried the page it was sent from and the campaign the visit came from.
    user_events = [e for e in web_bot.tracker(sender_id)["events"] if e.get("event") == "user"]
    for event in user_events:
        metadata = event.get("metadata") or {}
        assert urlsplit(metadata.get("page_url", "")).path == "/", metadata
        assert metadata.get("utm") == {
            "source": "newsletter",
            "medium": "email",
            "campaign": "spring-launch",
            "term": "crm",
            "content": None,
        }, metadata
        assert parse_qs(urlsplit(metadata["page_url"]).query)["utm_source"] == ["newsletter"]
    assert problems.errors == [] and problems.dialogs == []


def test_a_visitor_qualifies_on_a_phone(
    web_bot: WebBot, phone_page: Page, problems: PageProblems
) -> None:
    page = phone_page
    page.goto(web_bot.web_url + "/")
    chat = LeadbotWidget(page)
    chat.launcher.tap()
    expect(chat.textbox).to_be_visible()

    # The open chat takes the whole screen, and the launcher makes way for it.
    panel = page.get_by_role("dialog")
    # The panel rises into place; measure where it comes to rest.
    panel.evaluate("panel => Promise.all(panel.getAnimations().map(a => a.finished))")
    box = panel.bounding_box()
    assert box is not None
    assert [round(box[key]) for key in ("x", "y", "width", "height")] == [0, 0, 375, 667]
    expect(chat.launcher).to_be_hidden()

    # Reloaded without the page's own copy: what shows then is the history the server sent.
    sender_id = qualify(
        chat,
        web_bot.tracker,
        reload_after=2,
        forget_local_copy=True,
        on_consent=lambda: _screenshot(page, "widget-phone.png"),
    )

    _check_lead(web_bot, sender_id)
    assert problems.errors == [] and problems.dialogs == []


def test_the_widget_is_used_with_the_keyboard_alone(web_bot: WebBot, desktop_page: Page) -> None:
    page = desktop_page
    page.goto(web_bot.web_url + "/")
    chat = LeadbotWidget(page)

    chat.launcher.focus()
    page.keyboard.press("Enter")
    expect(chat.textbox).to_be_focused()
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    expect(chat.messages().first).to_contain_text("hello")
    expect(chat.textbox).to_have_value("")
    expect(chat.textbox).to_be_focused()

    # Escape closes the chat and gives focus back to the launcher.
    page.keyboard.press("Escape")
    expect(chat.textbox).to_be_hidden()
    expect(chat.launcher).to_be_focused()
    # Focus is visible: the focused launcher is outlined.
    outline = chat.launcher.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline not in ("none", ""), outline


def test_what_a_visitor_types_is_shown_as_text(
    web_bot: WebBot, desktop_page: Page, problems: PageProblems
) -> None:
    page = desktop_page
    page.goto(web_bot.web_url + "/")
    chat = LeadbotWidget(page)
    chat.open()
    chat.say(HOSTILE)
    wait_for_turn(chat, web_bot.tracker, 1)
    expect(chat.messages().first).to_contain_text(HOSTILE)

    # Shown again from the server's history after a reload: still text.
    page.evaluate("localStorage.removeItem('leadbot.transcript')")
    page.reload()
    chat.open()
    expect(chat.messages().first).to_contain_text(HOSTILE)

    assert page.locator("img").count() == 0
    assert problems.dialogs == []
    assert problems.errors == []


def test_when_the_bot_is_away_the_visitor_is_told_and_their_message_waits(
    web_bot: WebBot, desktop_page: Page
) -> None:
    page = desktop_page
    page.goto(web_bot.web_url + "/")
    chat = LeadbotWidget(page)
    chat.open()
    chat.say("hello")
    wait_for_turn(chat, web_bot.tracker, 1)
    notice = page.get_by_role("status").filter(has_text=OFFLINE)

    with web_bot.rasa_stopped():
        expect(notice).to_be_visible(timeout=15_000)
        chat.say("we need a better way to track deals")
        waiting = chat.messages().last
        expect(waiting).to_contain_text("we need a better way to track deals")
        expect(waiting).to_contain_text("Not sent yet")
        # Still there, still waiting, after a reload while the bot is away.
        page.reload()
        chat.open()
        expect(chat.messages().last).to_contain_text("Not sent yet")

    # Back: the widget reconnects by itself, sends the message, and the bot answers it.
    expect(notice).to_be_hidden(timeout=60_000)
    expect(chat.messages().filter(has_text="Not sent yet")).to_have_count(0)
    sender_id = chat.session_id()
    assert sender_id
    # The Rasa server's memory went with it: the message is the new server's first.
    wait_for_turn(chat, web_bot.tracker, 1)
    said = [e["text"] for e in web_bot.tracker(sender_id)["events"] if e.get("event") == "user"]
    assert said == ["we need a better way to track deals"]


@pytest.mark.parametrize("path", ["/widget.js", "/widget.css"])
def test_the_widget_files_are_served_for_any_website(web_bot: WebBot, path: str) -> None:
    response = requests.get(web_bot.web_url + path, timeout=10)
    assert response.ok
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_socket_io_client_comes_from_node_modules(web_bot: WebBot) -> None:
    served = requests.get(
        web_bot.web_url + "/vendor/socket.io-client/socket.io.esm.min.js", timeout=10
    )
    assert served.ok
    installed = Path(PROJECT_ROOT, "node_modules/socket.io-client/dist/socket.io.esm.min.js")
    assert served.content == installed.read_bytes()


def test_the_one_tag_works_on_a_business_website(
    web_bot: WebBot, business_site: BusinessSite, desktop_page: Page, problems: PageProblems
) -> None:
    tag = f'<script src="{web_bot.web_url}/widget.js" data-bot-url="{web_bot.rasa_url}" defer>'
    page_html = f"<!doctype html><title>Northwind</title><h1>Northwind</h1>{tag}</script>"
    url = business_site.publish("/pricing.html", "text/html; charset=utf-8", page_html.encode())
    page = desktop_page
    page.goto(url)
    chat = LeadbotWidget(page)
    chat.open()
    chat.say("hello")
    wait_for_turn(chat, web_bot.tracker, 1)
    expect(chat.messages()).not_to_have_count(1)
    assert problems.errors == []


def test_the_bots_buttons_are_buttons(
    web_bot: WebBot, desktop_page: Page, problems: PageProblems
) -> None:
    page = desktop_page
    page.goto(web_bot.web_url + "/")
    chat = LeadbotWidget(page)
    chat.open()
    chat.say("hello")
    wait_for_turn(chat, web_bot.tracker, 1)
    sender_id = chat.session_id()
    assert sender_id

    # The bot offers a choice, as a rep's reply or a response with buttons would.
    offer = {
        "event": "bot",
        "text": "Would you like a demo?",
        "data": {
            "buttons": [
                {"title": "Yes, please", "payload": "/affirm"},
                {"title": "No thanks", "payload": "/deny"},
            ]
        },
    }
    requests.post(
        f"{web_bot.rasa_url}/conversations/{sender_id}/tracker/events",
        params={
            "token": web_bot.running.token,
            "output_channel": "socketio",
            "execute_side_effects": "true",
        },
        json=[offer],
        timeout=30,
    ).raise_for_status()
    yes = chat.reply_button(re.compile("Yes, please"))
    expect(yes).to_be_visible()
    expect(chat.reply_button(re.compile("No thanks"))).to_be_visible()

    # Still offered after a reload: the last thing the bot said was the question.
    page.reload()
    chat.open()
    expect(yes).to_be_visible()

    yes.click()
    expect(chat.messages().filter(has_text="Yes, please")).to_have_count(1)
    expect(yes).to_be_hidden()
    expect(chat.textbox).to_be_focused()
    wait_for_turn(chat, web_bot.tracker, 2)
    user_events = [e for e in web_bot.tracker(sender_id)["events"] if e.get("event") == "user"]
    # The payload was sent, not the title: Rasa read the intent the button stands for.
    assert user_events[-1]["parse_data"]["intent"]["name"] == "affirm"
    # The server's history shows the visitor's choice as they saw it.
    page.evaluate("localStorage.removeItem('leadbot.transcript')")
    page.reload()
    chat.open()
    expect(chat.messages().filter(has_text="Yes, please")).to_have_count(1)
    expect(chat.messages().filter(has_text="/affirm")).to_have_count(0)
    assert problems.errors == []


def test_the_widget_keeps_still_for_visitors_who_ask_for_less_motion(
    web_bot: WebBot, desktop_page: Page
) -> None:
    page = desktop_page
    page.emulate_media(reduced_motion="reduce")
    page.goto(web_bot.web_url + "/")
    chat = LeadbotWidget(page)
    chat.open()
    panel = page.get_by_role("dialog")
    assert panel.evaluate("element => getComputedStyle(element).animationName") == "none"

    page.emulate_media(reduced_motion="no-preference")
    chat.launcher.click()
    chat.open()
    assert panel.evaluate("element => getComputedStyle(element).animationName") != "none"
