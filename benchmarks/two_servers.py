"""Two Rasa servers behind one address: visitors' turns alternate between them.

The topology of deploy/docker-compose.yml on one machine: two Rasa servers on their own ports,
each with its own action server, sharing a Redis lock store and a PostgreSQL tracker store, all
writing to one PostgreSQL CRM store. A round-robin router in front sends each visitor's turns to
the servers in turn, as a load balancer without sticky sessions would, so every turn after the
first is answered by a server that did not answer the one before. The same visitors are played
through the same router with one server behind it, for comparison.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import requests

from benchmarks.conversations import BenchBot, latency_ms, tree_memory
from benchmarks.load import Level, as_visitor, play_level, qualifying_personas, redis_server
from benchmarks.report import Section, Target
from crm_bridge.store import make_engine, make_session_factory
from tests.support import pg_server
from tests.support.bot import running_bot
from tests.support.scenario_player import Persona

SERVERS: Final = 2
# Visitors in all, and how many at once.
VISITORS: Final = {"full": (200, 20), "smoke": (4, 2)}
BUDGET_S: Final = {"full": 1800.0, "smoke": 300.0}
# The settings every server of the topology shares, as deploy/ sets them too, by the field of
# `bot.settings.Settings` each one fills.
SHARED_SETTINGS: Final = {
    "LEADBOT_DATABASE_URL": "database_url",
    "LEADBOT_REDIS_URL": "redis_url",
    "LEADBOT_TRACKER_STORE_URL": "tracker_store_url",
}
CRM_DATABASE: Final = "leadbot"
TRACKER_DATABASE: Final = "rasa_trackers"
FORWARD_TIMEOUT_S: Final = 120.0
WEBHOOK: Final = "/webhooks/rest/webhook"


class _RouterServer(ThreadingHTTPServer):
    # Every turn is a new connection (HTTP/1.0), and socketserver's default backlog of 5 is too
    # short for a crowd: with 40 visitors at once 2 of 400 conversations broke off on
    # "Connection reset by peer" from this router, counted as leads lost by the bot. A bare
    # ThreadingHTTPServer under 40 such clients reset 2 of 600 requests with a backlog of 5
    # and none with 256.
    request_queue_size = 256


@dataclass
class Router:
    """Sends each visitor's REST turns to the servers in turn; their tracker reads go to the
    server that takes the next turn, which did not answer the last one.

    `turns` records, per sender id, which server (by index) answered each turn.
    """

    backends: Sequence[str]
    turns: dict[str, list[int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def backend_for(self, method: str, path: str, body: bytes) -> str:
        """The server a request goes to: a turn advances its conversation to the next one."""
        if method == "POST" and urlsplit(path).path == WEBHOOK:
            sender = str(json.loads(body or b"{}").get("sender", ""))
            with self._lock:
                served = self.turns.setdefault(sender, [])
                index = len(served) % len(self.backends)
                served.append(index)
            return self.backends[index]
        # /conversations/<sender>/tracker and the like.
        parts = urlsplit(path).path.split("/")
        sender = unquote(parts[2]) if len(parts) > 2 and parts[1] == "conversations" else ""
        with self._lock:
            index = len(self.turns.get(sender, ())) % len(self.backends)
        return self.backends[index]

    @contextmanager
    def listening(self) -> Iterator[str]:
        """Serves on a free loopback port until the context ends; yields its URL."""
        router = self

        class Forward(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                backend = router.backend_for(self.command, self.path, body)
                answer = requests.request(
                    self.command,
                    backend + self.path,
                    data=body,
                    headers={"Content-Type": self.headers.get("Content-Type", "")},
                    timeout=FORWARD_TIMEOUT_S,
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the servers log the turns; the router would only repeat sender ids

        server = _RouterServer(("127.0.0.1", 0), Forward)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


@dataclass(frozen=True)
class Topology:
    """The running servers of the two-server topology."""

    servers: tuple[BenchBot, ...]

    def behind(self, router_url: str) -> BenchBot:
        """The topology as one bot whose Rasa URL is the router's; its store is the shared one."""
        first = self.servers[0]
        port = int(urlsplit(router_url).port or 80)
        running = dataclasses.replace(
            first.running, settings=dataclasses.replace(first.running.settings, rasa_port=port)
        )
        return dataclasses.replace(first, running=running)


@contextmanager
def two_servers(workdir: Path, servers: int = SERVERS) -> Iterator[Topology]:
    """Starts PostgreSQL, Redis and `servers` Rasa servers, each with its own action server,
    sharing the lock, tracker and CRM stores; stops them all when the context ends.

    Raises:
        RuntimeError: a server did not start (the message carries its logs).
        pg_server.PostgresUnavailable: PostgreSQL is not installed or did not start.
    """
    with ExitStack() as stack:
        postgres = stack.enter_context(pg_server.running())
        crm_url = postgres.create_database(CRM_DATABASE)
        postgres.create_database(TRACKER_DATABASE)
        redis_url = stack.enter_context(redis_server(workdir / "redis"))
        environment = {
            "LEADBOT_DATABASE_URL": crm_url,
            "LEADBOT_REDIS_URL": redis_url,
            # Rasa's own driver for its tracker store is psycopg2: a plain postgresql:// URL.
            "LEADBOT_TRACKER_STORE_URL": (
                f"postgresql://postgres@127.0.0.1:{postgres.port}/{TRACKER_DATABASE}"
            ),
        }
        overrides: dict[str, Any] = {
            SHARED_SETTINGS[name]: value for name, value in environment.items()
        }
        engine = make_engine(crm_url)
        stack.callback(engine.dispose)
        started = []
        # One after another: the first creates the tracker tables the second then finds.
        for number in range(servers):
            began = time.perf_counter()
            running = stack.enter_context(
                running_bot(workdir / f"server-{number + 1}", **overrides)
            )
            started.append(
                BenchBot(
                    running=running,
                    startup_s=time.perf_counter() - began,
                    sessions=make_session_factory(engine),
                    setup="Redis lock store, PostgreSQL tracker and CRM stores",
                )
            )
        yield Topology(tuple(started))


def run(size: str, workdir: Path) -> Section:
    """Starts the topology and plays the same crowd over one server and over two.

    Args:
        size: "full" (200 visitors, 20 at once) or "smoke" (4 visitors, 2 at once).
        workdir: Scratch space for the servers' stores and logs.

    Returns:
        The section, with its target: no visitor lost over two servers.
    """
    visitors, at_once = VISITORS[size]
    with two_servers(workdir) as topology:
        return compare(topology, visitors, at_once, BUDGET_S[size])


def compare(topology: Topology, visitors: int, at_once: int, budget_s: float) -> Section:
    """Plays `visitors` visitors, `at_once` at a time, through a router to the first server
    alone, then the same crowd (with emails of its own) through a router to every server.

    Visitors not started within `budget_s` of their run are not played, and counted so.
    """
    levels: dict[str, Level] = {}
    alternated = 0
    for run_number, (name, backends) in enumerate(
        (("1 server", topology.servers[:1]), (f"{len(topology.servers)} servers", topology.servers))
    ):
        router = Router([server.rasa_url for server in backends])
        with router.listening() as url:
            levels[name] = play_level(
                topology.behind(url),
                strangers(qualifying_personas(), run_number),
                at_once,
                visitors,
                budget_s,
            )
        alternated = sum(len(set(served)) == len(backends) for served in router.turns.values())
    memory = {
        f"server {n + 1}": (tree_memory(s.rasa_pid).rss_mb, tree_memory(s.actions_pid).rss_mb)
        for n, s in enumerate(topology.servers)
    }
    return _section(levels, memory, alternated)


def strangers(personas: Sequence[Persona], run_number: int) -> list[Persona]:
    """The personas with emails of this run's own: the same store keeps every run's leads, and
    a known email would return to an earlier run's lead instead of making one."""
    return [as_visitor(persona, run_number).persona for persona in personas]


def _section(
    levels: dict[str, Level], memory: dict[str, tuple[float, float]], alternated: int
) -> Section:
    together, pair = list(levels.items())[-1]
    rows = [
        f"The topology of `deploy/docker-compose.yml` on this machine: {len(memory)} Rasa "
        "servers, each with its own action server, a Redis lock store, a PostgreSQL tracker "
        "store and one PostgreSQL CRM store (durable settings off: a throwaway server). The "
        "crowd went first through a router to the first server alone, then, with emails of its "
        "own, through a round-robin router to all of them: each visitor's turns go to the "
        "servers in turn, so every turn after the first is answered by a server that did not "
        "answer the one before. All servers share this machine's cores. "
        f"{alternated} of {pair.played} conversations were answered by every server.",
        "",
        "| setup | visitors at once | played | turns | seconds | turns/s | p50 ms | p95 ms "
        "| errors | lost | wrong fields |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, level in levels.items():
        ms = latency_ms(level.latencies)
        rows.append(
            f"| {name} | {level.concurrency} | {level.played} of {level.visitors} "
            f"| {level.turns} | {level.seconds:.1f} | {level.turns_per_s:.1f} | {ms['p50']:.0f} "
            f"| {ms['p95']:.0f} | {level.errors} | {level.lost} | {level.wrong_fields} |"
        )
    rows += [
        "",
        "| server | Rasa server RSS MB | action server RSS MB |",
        "| --- | --- | --- |",
        *(f"| {name} | {rasa:.0f} | {actions:.0f} |" for name, (rasa, actions) in memory.items()),
    ]
    met = pair.played == pair.visitors and pair.lost == 0 and pair.errors == 0
    why = None
    if not met:
        why = (
            f"{pair.played} of {pair.visitors} visitors played within the time budget, "
            f"{pair.errors} conversations broke off, {pair.lost} visitors without a lead"
        )
        if pair.breaks:
            why += f" (broke off: {'; '.join(sorted(set(pair.breaks)))})"
    target = Target(
        f"lost leads over {together}, {pair.concurrency} visitors at once",
        "0",
        f"{pair.lost} lost of {pair.played} ({pair.wrong_fields} with a wrong field)",
        met,
        why,
    )
    data = {
        "levels": {name: level.as_json() for name, level in levels.items()},
        "alternated": alternated,
        "rss_mb": {name: {"rasa": r, "actions": a} for name, (r, a) in memory.items()},
    }
    return Section("Two Rasa servers", "\n".join(rows), [target], data)
