"""Browser tests: headless Debian Chromium, driven by Playwright, against the real servers.

The Rasa server, the action server and the web process run once for all browser tests, on free
ports (`tests.support.bot.running_bot(web=True)`), with the socket.io channel open to one more
origin: a business's website, a small HTTP server of the tests' own on another free port. Every
test gets a fresh browser context, so its own localStorage and its own conversation. Playwright
never downloads a browser here: it drives /usr/bin/chromium.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page

from bot import launcher, training
from tests.support.bot import RunningBot, free_port, running_bot
from tests.support.chromium import PageProblems, local_context

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}
RASA_RESTART_TIMEOUT_S = 180.0


@dataclass
class WebBot:
    """The running servers, with the web process, and a way to take the Rasa server away."""

    running: RunningBot
    restarted: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def web_url(self) -> str:
        return self.running.web_url

    @property
    def rasa_url(self) -> str:
        return self.running.rasa_url

    def lead(self, sender_id: str) -> dict[str, Any] | None:
        return self.running.lead(sender_id)

    def tracker(self, sender_id: str) -> dict[str, Any]:
        return self.running.tracker(sender_id)

    @contextmanager
    def rasa_stopped(self) -> Iterator[None]:
        """Stops the Rasa server for the block, then starts it again on the same port.

        The tracker store is in memory: conversations begun before the outage start afresh.
        """
        current = self.restarted[-1] if self.restarted else self.running.processes[1]
        launcher.stop([current])
        try:
            yield
        finally:
            self._start_rasa()

    def _start_rasa(self) -> None:
        config = self.running.settings
        _, command = launcher.server_commands(config, training.ensure_model(config))
        log = (self.running.workdir / "rasa-restarted.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=launcher.PROJECT_ROOT,
            env=launcher.rasa_environment(config),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.restarted.append(process)
        deadline = time.monotonic() + RASA_RESTART_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"{self.rasa_url}/", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the Rasa server did not come back\n{self.running.logs()}")


class BusinessSite:
    """Another website on this machine, whose pages the tests publish as they need them."""

    def __init__(self) -> None:
        self.port = free_port()
        self.pages: dict[str, tuple[str, bytes]] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                content_type, body = site.pages.get(
                    self.path.split("?")[0], ("text/plain", b"not found")
                )
                found = self.path.split("?")[0] in site.pages
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def publish(self, path: str, content_type: str, body: bytes) -> str:
        """Serves `body` at `path` from now on; returns its URL."""
        self.pages[path] = (content_type, body)
        return self.origin + path


@pytest.fixture(scope="session")
def business_site() -> Iterator[BusinessSite]:
    """A business's website on a free port: where a widget is embedded outside our own pages."""
    site = BusinessSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture(scope="session")
def web_bot(
    tmp_path_factory: pytest.TempPathFactory, business_site: BusinessSite
) -> Iterator[WebBot]:
    """The real servers and the web process on free ports, stopped after the session.

    The socket.io channel accepts the demo page's origin and the business site's.
    """
    try:
        with running_bot(
            tmp_path_factory.mktemp("web-bot"),
            web=True,
            allowed_origins=(business_site.origin,),
        ) as running:
            bot = WebBot(running)
            try:
                yield bot
            finally:
                launcher.stop(bot.restarted)
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def desktop_page(browser: Browser, problems: PageProblems) -> Iterator[Page]:
    """A page in a fresh desktop browser context (its own storage)."""
    context = local_context(browser, viewport=DESKTOP)
    yield problems.watch(context.new_page())
    context.close()


@pytest.fixture
def phone_page(browser: Browser, problems: PageProblems) -> Iterator[Page]:
    """A page in a fresh 375×667 touch-screen context, as on a small phone."""
    context = local_context(
        browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield problems.watch(context.new_page())
    context.close()
