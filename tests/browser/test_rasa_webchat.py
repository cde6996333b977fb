"""Widgets made for Rasa keep working: rasa-webchat 1.0.1 holds the same conversation.

It runs on a business's website (the tests' own small HTTP server, on another origin), from
its npm package's UMD bundle in `node_modules/` (a development dependency installed by
`npm ci`), pointed at the Rasa server's socket.io URL unchanged.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

import pytest
from playwright.sync_api import Page

from bot.settings import PROJECT_ROOT
from tests.browser.conftest import BusinessSite, WebBot
from tests.browser.visitor import (
    EXPECTED_LEAD,
    RasaWebchat,
    lead_mismatches,
    qualify,
    wait_for_lead,
)
from tests.support.chromium import PageProblems

pytestmark = pytest.mark.rasa

PAGE = Path(__file__).parent / "pages" / "rasa_webchat.html"
BUNDLE = PROJECT_ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"


def test_rasa_webchat_qualifies_a_visitor_on_the_same_channel(
    web_bot: WebBot, business_site: BusinessSite, desktop_page: Page, problems: PageProblems
) -> None:
    assert BUNDLE.is_file(), "rasa-webchat is missing: run `npm ci` (make test does)"
    html = Template(PAGE.read_text(encoding="utf-8")).substitute(socket_url=web_bot.rasa_url)
    business_site.publish("/rasa-webchat.js", "text/javascript", BUNDLE.read_bytes())
    url = business_site.publish("/rasa-webchat.html", "text/html; charset=utf-8", html.encode())
    page = desktop_page
    page.goto(url)
    chat = RasaWebchat(page)
    chat.open()

    sender_id = qualify(chat, web_bot.tracker)

    lead = wait_for_lead(web_bot.lead, sender_id)
    assert lead_mismatches(lead, EXPECTED_LEAD) == []
    assert problems.errors == []
