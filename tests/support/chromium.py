"""Debian's Chromium, headless, driven by Playwright (which never downloads a browser here)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

CHROMIUM: Final = Path("/usr/bin/chromium")
# No sandbox (tests run as root); nothing that reaches for the network beyond loopback.
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every address but this machine's (rasa-webchat's stylesheet asks for a web font, for one).
ELSEWHERE: Final = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])")


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """Chromium, closed afterwards.

    Playwright's sync API holds an event loop in this thread while it runs: open it for a test
    module, never for the whole session, or later tests that run asyncio stop.

    Raises:
        FileNotFoundError: Debian's chromium package is not installed (`make test` installs it).
    """
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def local_context(browser: Browser, **options: Any) -> BrowserContext:
    """A fresh context (its own storage) that reaches this machine only, waiting up to 30 s."""
    context = browser.new_context(**options)
    context.set_default_timeout(30_000)
    context.route(ELSEWHERE, _refuse)
    return context


def _refuse(route: Route) -> None:
    route.abort()


@dataclass
class PageProblems:
    """What went wrong inside watched pages: script errors and dialogs (alert, confirm, prompt)."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        """Collect the page's script errors and dismiss and collect its dialogs."""
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dismiss)
        return page

    def _dismiss(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()
