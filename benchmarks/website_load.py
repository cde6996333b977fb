"""Website visitors: many socket.io conversations at once, and the widget's first answer in a
real browser.

Each visitor is a python-socketio client speaking the widget's protocol (`session_request`,
then `user_uttered`) to the running Rasa server's socket.io channel, and plays a whole
qualification as one of the consenting, finishing personas under a session id and an email of
its own (as the load section's visitors do over REST). A turn's reply time runs from sending
the message to the first bot message arriving on the visitor's socket; the turn counts as
received when every bot message the tracker holds for it arrived, in order. Afterwards every
visitor's lead is looked up in the store. The clients are threads of one process (the sync
client: python-socketio's AsyncClient needs aiohttp, which the project does not install).

The browser part opens the demo page that the web process serves at `/` in headless Chromium,
with fresh storage each time (a new visitor), clicks the chat launcher, says hello and waits
for the bot's first message in the widget's `role="log"` element: times are from navigation
start, as the page's own clock (`performance.now()`) reads them.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import requests
import socketio
from playwright.sync_api import ViewportSize

from benchmarks.conversations import BenchBot, latency_ms
from benchmarks.load import Visitor, _check_leads, as_visitor, qualifying_personas
from benchmarks.report import Section, Target
from bot import launcher
from tests.support.bot import RunningBot
from tests.support.chromium import headless_chromium
from tests.support.website_visitor import TURN_TIMEOUT_S, WebsiteVisitor

VISITORS: Final = {"full": 100, "smoke": 3}
AT_ONCE: Final = {"full": 10, "smoke": 3}
PAGE_LOADS: Final = {"full": 10, "smoke": 1}
BUDGET_S: Final = {"full": 600.0, "smoke": 120.0}  # visitors not started by then are skipped
MAX_TURNS: Final = 25
WEB_START_TIMEOUT_S: Final = 60.0
GREETING: Final = "hi"
VIEWPORT: Final[ViewportSize] = {"width": 1280, "height": 800}
# Resolves with the page's clock once a bot message shows in the widget's log (shadow DOM).
FIRST_BOT_MESSAGE_JS: Final = """() => {
  const host = document.getElementById("leadbot-widget");
  const found = host && host.shadowRoot &&
    host.shadowRoot.querySelector('[role="log"] .message--bot');
  return found ? performance.now() : false;
}"""


@dataclass
class SocketVisit:
    """One visitor's conversation over socket.io: its turns and what arrived."""

    visitor: Visitor
    reply_s: list[float] = field(default_factory=list)  # per turn, to the first bot message
    turns: int = 0
    replies_expected: int = 0
    replies_received: int = 0
    turns_incomplete: int = 0  # turns where a bot message never arrived, or out of order
    broke_off: str | None = None


@dataclass(frozen=True)
class PageLoad:
    """One page load in Chromium, in milliseconds from navigation start."""

    loaded_ms: float  # the page's load event
    opened_ms: float  # the launcher clicked, the widget open
    sent_ms: float  # the greeting sent
    first_bot_ms: float  # the bot's first message shown in the log

    @property
    def reply_ms(self) -> float:
        return self.first_bot_ms - self.sent_ms


class _TimedTab(WebsiteVisitor):
    """A website visitor's tab that notes when each bot message arrives on its socket."""

    arrivals: list[float]

    def __post_init__(self) -> None:
        self.arrivals = []
        super().__post_init__()

    def _collector(self, event: str) -> Any:
        collect = super()._collector(event)

        def stamped(data: Any) -> None:
            if event == "bot_uttered":
                self.arrivals.append(time.monotonic())
            collect(data)

        return stamped

    def timed_turn(self, text: str, visit: SocketVisit) -> None:
        """Says `text`, then counts the turn's bot messages as they arrive.

        Raises:
            AssertionError: No bot message arrived within TURN_TIMEOUT_S, or the turn did
                not finish (the conversation cannot go on).
        """
        users_before = len(self.user_events())
        arrived_before = len(self.arrivals)
        sent = time.monotonic()
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})
        visit.turns += 1
        # Waiting for the first message before reading the tracker keeps the polling light.
        received = [self.bot_text(TURN_TIMEOUT_S)]
        visit.reply_s.append(self.arrivals[arrived_before] - sent)
        expected = self._finished_turn(users_before)
        while len(received) < len(expected):
            try:
                received.append(self.bot_text())
            except AssertionError:
                break
        visit.replies_expected += len(expected)
        visit.replies_received += min(len(received), len(expected))
        visit.turns_incomplete += received != expected


def run(size: str, workdir: Path, bot: BenchBot) -> Section:
    """The website section: socket.io visitors at once, then page loads in Chromium.

    Args:
        size: "full" plays 100 visitors, 10 at once, and loads the page 10 times; "smoke" 3
            visitors at once and one page load.
        workdir: Holds the web process's log.
        bot: The running bot; its web process is started here when it runs without one.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with demo_page(bot.running, workdir):
        started = time.perf_counter()
        visits = play_visitors(bot.running, VISITORS[size], AT_ONCE[size], BUDGET_S[size])
        seconds = time.perf_counter() - started
        lost, wrong = _check_leads(bot, [visit.visitor for visit in visits])
        # After the visitors: Playwright's sync API holds an event loop in this thread.
        loads = page_loads(bot.running.web_url, PAGE_LOADS[size])
    return _section(size, visits, seconds, lost, wrong, loads)


@contextmanager
def demo_page(bot: RunningBot, workdir: Path) -> Iterator[str]:
    """The bot's web process, started on the port its socket.io channel already accepts as the
    demo page's origin when it is not running yet; yields the page's URL."""
    if _answers(f"{bot.web_url}/health"):
        yield bot.web_url
        return
    config = bot.settings
    with (workdir / "web.log").open("ab") as log:
        process = subprocess.Popen(
            launcher.web_command(config),
            cwd=launcher.PROJECT_ROOT,
            env={**os.environ, **launcher.web_environment(config)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WEB_START_TIMEOUT_S
        while not _answers(f"{bot.web_url}/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the web process did not start; see {workdir / 'web.log'}")
            time.sleep(0.2)
        yield bot.web_url
    finally:
        launcher.stop([process])


def play_visitors(bot: RunningBot, count: int, at_once: int, budget_s: float) -> list[SocketVisit]:
    """Plays `count` visitors, `at_once` at a time; those not started within `budget_s` are
    left out of the result."""
    personas = qualifying_personas()
    crowd = [as_visitor(personas[n % len(personas)], n) for n in range(count)]
    deadline = time.monotonic() + budget_s

    def visit(visitor: Visitor) -> SocketVisit | None:
        return None if time.monotonic() > deadline else play_visitor(bot, visitor)

    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return [v for v in pool.map(visit, crowd) if v is not None]


def play_visitor(bot: RunningBot, visitor: Visitor) -> SocketVisit:
    """One whole qualification over socket.io, the session id being the visitor's sender id."""
    persona, visit = visitor.persona, SocketVisit(visitor)
    tab = _TimedTab(bot, session_id=visitor.sender_id)
    try:
        tab.connect()
        if tab.session_id != visitor.sender_id:
            raise AssertionError(f"the server gave another session id: {tab.session_id}")
        tab.timed_turn(persona.opening, visit)
        interrupt = persona.interrupt
        slot = tab.requested_slot()
        while slot is not None and visit.turns < MAX_TURNS:
            if interrupt is not None and slot == interrupt["at"]:
                tab.timed_turn(interrupt["say"], visit)
                interrupt = None
            else:
                tab.timed_turn(persona.answer_for(slot), visit)
            slot = tab.requested_slot()
    except (AssertionError, socketio.exceptions.SocketIOError, requests.RequestException) as error:
        visit.broke_off = f"{type(error).__name__}: {str(error)[:200]}"
    finally:
        if tab.client.connected:
            tab.disconnect()
    return visit


def page_loads(web_url: str, count: int) -> list[PageLoad]:
    """Loads the demo page `count` times in headless Chromium, each as a new visitor."""
    loads = []
    with headless_chromium() as browser:
        for _ in range(count):
            context = browser.new_context(viewport=VIEWPORT)  # fresh storage: a new visitor
            try:
                page = context.new_page()
                page.goto(f"{web_url}/")
                loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                page.get_by_role("button", name="chat").first.click()
                opened = page.evaluate("performance.now()")
                textbox = page.get_by_role("textbox", name="message")
                textbox.fill(GREETING)
                textbox.press("Enter")
                sent = page.evaluate("performance.now()")
                shown = page.wait_for_function(
                    FIRST_BOT_MESSAGE_JS, polling="raf", timeout=TURN_TIMEOUT_S * 1000
                )
                loads.append(PageLoad(loaded, opened, sent, float(shown.json_value())))
            finally:
                context.close()
    return loads


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def _section(
    size: str,
    visits: Sequence[SocketVisit],
    seconds: float,
    lost: int,
    wrong: int,
    loads: Sequence[PageLoad],
) -> Section:
    wanted, at_once = VISITORS[size], AT_ONCE[size]
    replies = latency_ms([s for v in visits for s in v.reply_s])
    expected = sum(v.replies_expected for v in visits)
    received = sum(v.replies_received for v in visits)
    turns = sum(v.turns for v in visits)
    incomplete = sum(v.turns_incomplete for v in visits)
    broke_off = [v for v in visits if v.broke_off]
    first = latency_ms([load.first_bot_ms / 1000 for load in loads])
    lines = [
        f"{wanted} visitors, {at_once} at once, each a whole qualification over the socket.io "
        "channel with python-socketio's client (one thread per visitor, on the same machine). "
        "*Reply time* = from sending a message to the first bot message arriving on the "
        "visitor's socket. *Replies received* = bot messages that arrived, of those the "
        "tracker holds for the visitors' turns. *Lost* = a visitor without exactly one lead of "
        "its own in the store; *wrong fields* = a lead whose fields differ from the persona's.",
        "",
        "| visitors played | seconds | turns | replies received | turns missing a reply "
        "| reply p50 ms | reply p95 ms | broke off | lost | wrong fields |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {len(visits)} of {wanted} | {seconds:.1f} | {turns} | {received} of {expected} "
        f"| {incomplete} | {replies['p50']:.0f} | {replies['p95']:.0f} | {len(broke_off)} "
        f"| {lost} | {wrong} |",
        "",
        *(f"- broke off: {v.visitor.persona.id}: {v.broke_off}" for v in broke_off[:5]),
        *([""] if broke_off else []),
        f"The demo page loaded {len(loads)} times in headless Chromium (Debian's, through "
        "Playwright), each with fresh storage: a visitor clicks the chat launcher, types "
        f'"{GREETING}" and presses Enter. Milliseconds from navigation start (medians):',
        "",
        "| page loads | load event | widget open | greeting sent | first bot message "
        "(p50) | first bot message (p95) | of which the bot's reply (p50) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {len(loads)} | {_median([x.loaded_ms for x in loads]):.0f} "
        f"| {_median([x.opened_ms for x in loads]):.0f} "
        f"| {_median([x.sent_ms for x in loads]):.0f} | {first['p50']:.0f} | {first['p95']:.0f} "
        f"| {_median([x.reply_ms for x in loads]):.0f} |",
    ]
    lost_ok = len(visits) == wanted and lost == 0
    targets = [
        Target(
            f"website leads lost, {wanted} socket.io visitors {at_once} at once",
            "0",
            f"{lost} lost of {len(visits)} ({wrong} with a wrong field, "
            f"{len(broke_off)} broke off)",
            lost_ok,
            None if lost_ok else _why_lost(visits, wanted, lost),
        ),
        Target(
            "website replies received",
            "every bot message reaches the visitor's socket",
            f"{received} of {expected}",
            received == expected and expected > 0 and not broke_off,
            None
            if received == expected and expected > 0 and not broke_off
            else f"{incomplete} turns missed a message; {len(broke_off)} visitors broke off",
        ),
    ]
    data = {
        "visitors": wanted,
        "at_once": at_once,
        "played": len(visits),
        "seconds": seconds,
        "turns": turns,
        "replies_expected": expected,
        "replies_received": received,
        "turns_incomplete": incomplete,
        "reply_ms": replies,
        "broke_off": len(broke_off),
        "lost": lost,
        "wrong_fields": wrong,
        "page_loads": [load.__dict__ for load in loads],
        "first_bot_message_ms": first,
    }
    return Section("Website: socket.io visitors and the widget", "\n".join(lines), targets, data)


def _why_lost(visits: Sequence[SocketVisit], wanted: int, lost: int) -> str:
    if len(visits) < wanted:
        return f"only {len(visits)} of {wanted} visitors started within the time budget"
    broke_off = sum(1 for v in visits if v.broke_off)
    if broke_off:
        return f"{broke_off} conversations broke off before the end; see the table"
    return f"{lost} visitors have no lead of their own in the store"


def _median(values: Sequence[float]) -> float:
    return latency_ms([v / 1000 for v in values])["p50"]
