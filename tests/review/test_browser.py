"""The review app in real headless Chromium (Debian's, driven by Playwright), against the real
servers: a visitor qualifies in the website widget, the lead appears in a rep's open queue
without a reload, the rep claims it, writes to the visitor who reads it in the widget, hands
the chat back and accepts the lead, then looks at the funnel. A second rep cannot claim it; a
visitor's markup shows as text; without a login the rep gets the login page. Screenshots of
the queue, the lead page and the funnel go to docs/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bot.settings import PROJECT_ROOT
from crm_bridge.store import make_engine, make_session_factory
from tests.browser.visitor import ANSWERS, LeadbotWidget, requested_slot, wait_for_turn
from tests.review.factories import COLD, PASSWORD, WARM, add_user, make_lead
from tests.support.bot import RunningBot, running_bot
from tests.support.chromium import PageProblems, local_context

pytestmark = pytest.mark.rasa

DOCS = PROJECT_ROOT / "docs"
SCRIPT = "<script>alert(1)</script>"
DESKTOP = {"width": 1360, "height": 900}


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """The real servers with the web process, three accounts and a few earlier leads."""
    try:
        with running_bot(tmp_path_factory.mktemp("review-browser"), web=True) as running:
            engine = make_engine(running.database_url)
            sessions = make_session_factory(engine)
            add_user(sessions, "ann@example.com")
            add_user(sessions, "bob@example.com")
            add_user(sessions, "boss@example.com", role="admin")
            make_lead(sessions, scoring=WARM, handoff=None, name="Priya Shah", company="Fernleaf")
            make_lead(sessions, scoring=COLD, handoff=None, name="Tom Berg", company="Berg & Co")
            make_lead(sessions, need=SCRIPT, name="Mallory", company="Evil Corp")
            make_lead(sessions, scoring=WARM, handoff=None, consent=False, channel="socketio")
            engine.dispose()
            yield running
    except RuntimeError as error:
        pytest.fail(str(error))


class Watched:
    """A page in a fresh context of its own, its script errors and dialogs collected."""

    def __init__(self, context: BrowserContext) -> None:
        self.problems = PageProblems()
        self.page = self.problems.watch(context.new_page())


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def _context(browser: Browser, opened: list[BrowserContext]) -> BrowserContext:
    context = local_context(browser, viewport=DESKTOP)
    opened.append(context)
    return context


def _log_in(page: Page, bot: RunningBot, email: str) -> None:
    page.goto(f"{bot.web_url}/review/")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # no session: the login page
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("^Queue"))).to_be_visible()


def test_a_rep_takes_a_lead_from_the_queue_to_an_accepted_customer_conversation(
    bot: RunningBot, browser: Browser, contexts: list[BrowserContext]
) -> None:
    rep = Watched(_context(browser, contexts))
    _log_in(rep.page, bot, "ann@example.com")
    queue = rep.page.locator("#queue-rows")
    # The store's earlier lead with a script as its need is shown as text, and nothing ran.
    expect(queue.get_by_text("Mallory")).to_be_visible()
    rep.page.evaluate("window.stillTheSamePage = true")

    visitor_context = _context(browser, contexts)
    visitor = Watched(visitor_context)
    visitor.page.goto(f"{bot.web_url}/?utm_source=newsletter&utm_campaign=spring")
    chat = LeadbotWidget(visitor.page)
    chat.launcher.click()
    sender_id = _qualify_by_typing(chat, bot)
    lead_id = _wait_for_handoff(bot, sender_id)

    # The hot lead the conversation produced arrives in the open queue, without a reload.
    row = queue.locator(f"tr[data-lead-id='{lead_id}']")
    expect(row).to_be_visible(timeout=20_000)
    expect(row).to_contain_text("pending")
    expect(row).to_contain_text("hot")
    assert rep.page.evaluate("window.stillTheSamePage") is True
    name = (bot.lead(sender_id) or {}).get("person_name") or "Anonymous visitor"
    DOCS.mkdir(exist_ok=True)
    rep.page.screenshot(path=str(DOCS / "review-queue.png"), full_page=True)

    row.get_by_role("link").first.click()
    expect(rep.page.get_by_role("heading", name=re.compile(name))).to_be_visible()
    expect(rep.page.get_by_text("Need matches the CRM offering")).to_be_visible()
    rep.page.get_by_role("button", name="Claim").click()
    expect(rep.page.locator("#handoff-status")).to_have_text("claimed")

    # A second rep sees it claimed: no claim button, and a forged claim is refused.
    other = Watched(_context(browser, contexts))
    _log_in(other.page, bot, "bob@example.com")
    other.page.goto(rep.page.url)
    expect(other.page.get_by_text("claimed by ann@example.com")).to_be_visible()
    expect(other.page.get_by_role("button", name="Claim")).to_have_count(0)
    token = other.page.locator("input[name=csrf_token]").first.get_attribute("value")
    handoff_path = other.page.url.replace(bot.web_url, "")
    lead = bot.lead(sender_id)
    assert lead is not None and lead["handoff"] == "claimed"
    claim_url = f"{bot.web_url}{handoff_path}/handoffs/"
    forged = other.page.request.post(
        claim_url + str(_handoff_id(bot, sender_id)) + "/claim",
        form={"csrf_token": token or ""},
        max_redirects=0,
    )
    assert forged.status == 409

    rep.page.get_by_role("button", name="Take over the chat").click()
    message = "Hi, Ann from Acme sales here. Shall we book a demo this week?"
    rep.page.get_by_label("Message to the visitor").fill(message)
    rep.page.get_by_role("button", name="Send").click()
    expect(chat.log).to_contain_text(message, timeout=20_000)  # in the visitor's own chat

    chat.say("Yes please, Thursday works. <b>Thanks!</b>")
    live = rep.page.locator(".live-lines")
    expect(live).to_contain_text("Yes please, Thursday works. <b>Thanks!</b>", timeout=20_000)
    rep.page.screenshot(path=str(DOCS / "review-lead.png"), full_page=True)

    rep.page.get_by_role("button", name="Hand back to the bot").click()
    expect(rep.page.get_by_text("The bot answers the visitor again.")).to_be_visible()
    rep.page.get_by_role("button", name="Accept").click()
    expect(rep.page.locator("#handoff-status")).to_have_text("accepted")
    rep.page.get_by_role("button", name="Mark customer").click()
    expect(rep.page.get_by_role("heading", name=re.compile(name))).to_be_visible()
    expect(rep.page.get_by_text("stage changed").first).to_be_visible()
    lead = bot.lead(sender_id)
    assert lead is not None and (lead["stage"], lead["handoff"]) == ("customer", "accepted")

    rep.page.get_by_role("link", name="Funnel").click()
    expect(rep.page.locator("svg.funnel-chart")).to_be_visible()
    expect(rep.page.locator("figcaption")).to_contain_text("1 customers")
    rep.page.screenshot(path=str(DOCS / "review-funnel.png"), full_page=True)

    for watched in (rep, other, visitor):
        assert watched.problems == PageProblems()


def test_markup_a_visitor_typed_is_shown_as_text(
    bot: RunningBot, browser: Browser, contexts: list[BrowserContext]
) -> None:
    rep = Watched(_context(browser, contexts))
    _log_in(rep.page, bot, "boss@example.com")
    rep.page.get_by_role("link", name="Mallory").click()
    expect(rep.page.locator("td.said").first).to_have_text(SCRIPT)
    assert rep.page.locator("main script").count() == 0
    assert rep.problems == PageProblems()


def test_a_visitor_without_consent_is_shown_as_chat_only(
    bot: RunningBot, browser: Browser, contexts: list[BrowserContext]
) -> None:
    rep = Watched(_context(browser, contexts))
    _log_in(rep.page, bot, "bob@example.com")
    rep.page.get_by_label("Handoff").select_option("none")
    rep.page.get_by_label("Channel").select_option("socketio")
    rep.page.get_by_role("button", name="Filter").click()
    rows = rep.page.locator("#queue-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Anonymous visitor")
    expect(rows.first).to_contain_text("chat only: no consent")
    rows.first.get_by_role("link").click()
    expect(rep.page.get_by_text("No consent to be contacted.")).to_be_visible()
    assert rep.page.locator("a[href^='mailto:']").count() == 0


def _handoff_id(bot: RunningBot, sender_id: str) -> int:
    import requests

    from tests.support.bot import API_TOKEN

    listing = requests.get(
        f"{bot.web_url}/api/handoffs?status=claimed",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
    ).json()
    [handoff] = listing["items"]
    return int(handoff["id"])


def _qualify_by_typing(chat: LeadbotWidget, bot: RunningBot) -> str:
    """A hot visitor answers every question by typing (consent too); returns the sender id."""
    chat.say("Hi! We need a better way to track deals")
    turns = 1
    tracker = wait_for_turn(chat, bot.tracker, turns)
    while (slot := requested_slot(tracker)) is not None:
        assert turns < 20, f"the form still asks for {slot}"
        chat.say("yes, that's fine" if slot == "consent" else ANSWERS.get(slot, "rather not say"))
        turns += 1
        tracker = wait_for_turn(chat, bot.tracker, turns)
    sender_id = chat.session_id()
    assert sender_id
    return sender_id


def _wait_for_handoff(bot: RunningBot, sender_id: str, timeout_s: float = 20.0) -> int:
    """The lead's id once its handoff is saved (the store's writes may trail the replies)."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lead = bot.lead(sender_id)
        if lead and lead["handoff"] == "pending" and (lead["consent"] is not None):
            return int(lead["id"])
        time.sleep(0.5)
    lead = bot.lead(sender_id)
    assert lead and lead["handoff"] == "pending", lead
    return int(lead["id"])
